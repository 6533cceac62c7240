#!/usr/bin/env bash
# mqtt-fleet.sh: issue 3's MQTT load with more devices than one process
# may hold connections for (`bench` runs node and devices in one process:
# two open files a device). One node (`iotledger start`, a fresh home) and
# the fleet (`iotledger sim --via mqtt`, every device its own connection)
# run as two processes on loopback; the script prints sim's figures and the
# node's own CPU seconds per 1,000 committed readings (from /proc) and its
# peak resident memory.
#
#   scripts/mqtt-fleet.sh                          # 10,000 devices, 12,000 readings/s, 60 s
#   DEVICES=10000 RATE=15000 DURATION=30s QOS=0 scripts/mqtt-fleet.sh
#
# QOS is the devices' receipt subscription QoS (sim --receipt-qos). The
# home is a temporary folder, removed at the end unless KEEP=1. Needs go
# (or IOTLEDGER=path to a built binary) and curl.
set -euo pipefail

DEVICES=${DEVICES:-10000}
RATE=${RATE:-12000}
DURATION=${DURATION:-60s}
QOS=${QOS:-1}
API=${API:-127.0.0.1:28080}
RPC=${RPC:-127.0.0.1:28657}
P2P=${P2P:-127.0.0.1:28656}
MQTT=${MQTT:-127.0.0.1:28883}

work=$(mktemp -d -t iotledger-mqtt-XXXXXX)
node_pid=""
cleanup() {
	if [ -n "$node_pid" ]; then
		kill -INT "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "mqtt-fleet: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

. "$(dirname "$0")/node.sh"
start_node --mqtt-addr "$MQTT"

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$node_pid/stat"; }
logsize() { curl -sf "http://$API/v1/status" | sed -n 's/.*"log_size":\([0-9]*\).*/\1/p'; }

# sim signs every reading before it sends: the node's CPU and log are read
# when the sending starts (sim says so on stderr) and when sim ends.
start_mark=$work/started
"$bin" sim --home "$home" --api "http://$API" --rpc "$RPC" --mqtt "tcp://$MQTT" --via mqtt \
	--devices "$DEVICES" --rate "$RATE" --duration "$DURATION" --receipt-qos "$QOS" \
	2> >(while IFS= read -r line; do
		echo "$line" >&2
		case "$line" in *"sending "*) echo "$(cpu) $(logsize)" >"$start_mark" ;; esac
	done) | tee "$work/sim.out"
sleep 1
read -r cpu0 log0 <"$start_mark"
cpu1=$(cpu)
log1=$(logsize)
committed=$((log1 - log0))
echo "node: $committed readings committed while sim sent and after; $(awk -v c=$((cpu1 - cpu0)) -v t="$ticks" -v n="$committed" 'BEGIN {printf "%.3f", c / t / (n / 1000)}') CPU s per 1000 (node process alone)"
echo "node: peak resident memory $(awk '/^VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$node_pid/status")"
