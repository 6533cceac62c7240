#!/usr/bin/env bash
# soak.sh: the long run of issue 3. One node (`iotledger start`) takes
# READINGS readings from a simulated fleet (`iotledger sim`, a separate
# process, so the node's memory is the node's alone) at RATE readings a
# second. Every 10 s it samples the node's log size and resident memory;
# at the end it prints the throughput of the first and the last minute,
# their ratio, the node's peak resident memory and its disk per store.
#
#   scripts/soak.sh                      # 10,000,000 readings at 18,000/s
#   READINGS=2000000 RATE=15000 scripts/soak.sh
#
# Everything listens on loopback; the home is a temporary folder, removed at
# the end unless KEEP=1. Needs go (or IOTLEDGER=path to a built binary),
# curl and awk. Takes READINGS/RATE seconds plus the time the simulator
# needs to sign the readings first (about 4 minutes for 10 million on 2
# cores).
set -euo pipefail

READINGS=${READINGS:-10000000}
RATE=${RATE:-18000}
DEVICES=${DEVICES:-10000}
API=${API:-127.0.0.1:28080}
RPC=${RPC:-127.0.0.1:28657}
P2P=${P2P:-127.0.0.1:28656}

work=$(mktemp -d -t iotledger-soak-XXXXXX)
node_pid=""
sampler_pid=""
cleanup() {
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
	if [ -n "$node_pid" ]; then
		kill -INT "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "soak: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

. "$(dirname "$0")/node.sh"
start_node

samples=$work/samples.csv
echo "unix_s,log_size,rss_kib,hwm_kib" >"$samples"
(
	while kill -0 "$node_pid" 2>/dev/null; do
		size=$(curl -sf "http://$API/v1/status" | sed -n 's/.*"log_size":\([0-9]*\).*/\1/p')
		rss=$(awk '/^VmRSS/ {print $2}' "/proc/$node_pid/status")
		hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$node_pid/status")
		echo "$(date +%s),${size:-0},$rss,$hwm" >>"$samples"
		sleep 10
	done
) &
sampler_pid=$!

duration=$(( (READINGS + RATE - 1) / RATE ))
echo "soak: $READINGS readings from $DEVICES devices at $RATE/s: ${duration}s of sending after signing"
"$bin" sim --home "$home" --api "http://$API" --rpc "$RPC" --devices "$DEVICES" --rate "$RATE" \
	--duration "${duration}s" --inflight 256 | tee "$work/sim.out"

# One more sample once the node has caught up.
sleep 12
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=""

echo
echo "samples (every 10 s): $samples"
awk -F, 'NR > 1 { t[NR] = $1; s[NR] = $2; h = ($4 > h ? $4 : h); n = NR }
	END {
		# the first minute with readings flowing, and the last minute before the end of sending
		for (i = 2; i <= n; i++) if (s[i] > 0) { a = i; break }
		for (i = n; i > a; i--) if (s[i] > s[i-1]) { z = i; break }
		fa = a + 6; if (fa > z) fa = z
		lz = z - 6; if (lz < a) lz = a
		first = (s[fa] - s[a]) / (t[fa] - t[a])
		last = (s[z] - s[lz]) / (t[z] - t[lz])
		printf "log size at the end: %d readings\n", s[n]
		printf "throughput, first minute: %.0f readings/s (log %d -> %d)\n", first, s[a], s[fa]
		printf "throughput, last minute:  %.0f readings/s (log %d -> %d)\n", last, s[lz], s[z]
		printf "last / first: %.2f\n", last / first
		printf "node peak resident memory: %.0f MiB\n", h / 1024
	}' "$samples"
echo "disk, per store:"
du -sb "$home"/data/* | awk -v n="$(tail -1 "$samples" | cut -d, -f2)" '{ printf "  %-40s %14.0f bytes  %6.1f per reading\n", $2, $1, $1 / n; total += $1 }
	END { printf "  %-40s %14.0f bytes  %6.1f per reading\n", "total", total, total / n }'
