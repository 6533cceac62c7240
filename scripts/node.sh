# node.sh: sourced by soak.sh and mqtt-fleet.sh. start_node builds the
# binary unless IOTLEDGER names one (sets $bin), makes a fresh home in
# $work/home (sets $home), starts `iotledger start` on $API, $RPC and $P2P
# plus any extra flags given, with its log in $work/node.log (sets
# $node_pid), and waits until its API answers (20 s at most).
start_node() {
	bin=${IOTLEDGER:-}
	if [ -z "$bin" ]; then
		bin=$work/iotledger
		go build -o "$bin" ./cmd/iotledger
	fi
	home=$work/home
	"$bin" init --home "$home" >/dev/null
	"$bin" start --home "$home" --api-addr "$API" --rpc-addr "$RPC" --p2p-addr "$P2P" "$@" >"$work/node.log" 2>&1 &
	node_pid=$!
	for _ in $(seq 1 100); do
		curl -sf "http://$API/v1/status" >/dev/null && return 0
		kill -0 "$node_pid" 2>/dev/null || { cat "$work/node.log"; exit 1; }
		sleep 0.2
	done
	echo "node.sh: the node's API did not answer within 20 s" >&2
	exit 1
}
