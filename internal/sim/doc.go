// Package sim drives an iotledger node with a fleet of simulated devices and
// measures what it commits: the load generator behind `iotledger sim` and
// `iotledger bench`.
//
// # Model
//
// A [Fleet] is N devices whose Ed25519 keys are derived from a seed, so a
// rerun with the same seed is the same fleet. The whole fleet publishes R
// readings per second (R is the fleet's rate, not a device's: each device
// sends R/N a second), reading i coming from device i mod N, for a duration
// D: R×D readings in all.
//
// # Caller's duties, in order
//
//  1. f := NewFleet(seed, n).
//  2. f.Register(ctx, chain, lookup): looks every device up through the API
//     (registered? highest sequence number?) and registers those that are
//     not, with an owner key made in memory, through CometBFT's RPC:
//     account transactions with consecutive nonces broadcast without
//     waiting, then a wait for the commit of the last one of each chunk.
//     It returns the first free sequence number, so readings of a rerun
//     never repeat a (device, seq) the chain holds.
//  3. f.Presign(ctx, count, seq, now): signs every reading before anything
//     is measured, on all cores, so signing costs the node nothing.
//  4. If the sender is a [Connector] (MQTT), Connect(ctx, fleet): every
//     device connects as itself, before anything is measured.
//  5. Run(ctx, schedule, readings, sender): publishes the readings in
//     batches (Schedule.Batch, 500 by default) at their scheduled times and
//     collects what became of each one into [Stats].
//
// [Bench] does all of this against a fresh node it starts in process, and
// adds the machine's Ed25519 verification ceiling ([VerifyCeiling]), CPU,
// disk and memory figures measured in the same run.
//
// # Pacing and latency
//
// Run is open-loop: batch k is due when its last reading is, at
// start + (k+1)×Batch/R, whatever the node answered before. Up to
// Schedule.InFlight requests wait for their answers at once; when all are
// taken the next batch waits for one, and its latency still counts from its
// due time, so a node that falls behind shows as latency (and as Stats.LagMax)
// instead of being hidden by a sender that slows down to match it. Batches not
// sent within two seconds of the end of the schedule are counted as unsent.
//
// Latency is from a batch's due time to the moment the sender learns its
// readings are committed. Over HTTP each batch is one POST /v1/readings
// with wait=true: the node answers when every reading of it is committed (or
// refused, or its wait timeout passes: "pending"). That is the node's own
// verdict, one per reading, and it cannot be lost. The event stream
// (/v1/events) was not used for this: the node drops events for a subscriber
// that lags, and at thousands of readings a second one block's events
// overflow a subscriber's buffer, so readings would show as lost that were
// committed; each event would also cost the node an encode and a flush. A
// batch's readings all get the time of the answer, that is the commit of the
// last of them. The time a reading spends in the generator waiting for its
// batch to fill (at most Batch/R) is not counted; the time it spends in the
// node's own batching is. Percentiles are over the readings due inside the
// measured window that were answered committed; those answered pending or not
// at all are counted beside them (with any, the true percentiles are
// higher). The same readings' latency from the moment they were sent is
// reported too: the time in the node, without the generator's wait for a
// free slot.
//
// Throughput is the readings committed inside the measured window, divided
// by the window: the window opens after the warm-up (Schedule.Warmup, a
// tenth of the duration by default) and closes at the end of the schedule.
// They are counted by the node's log size (Schedule.Committed) read as the
// window opens and closes, so readings committed after their request
// stopped waiting count too; without it, by the answers.
//
// # Transports
//
// A [Sender] publishes a batch and reports each reading's [Fate]. [HTTP] is
// the node's API: one request per batch. [MQTT] is the node's broker: each
// simulated device has a connection of its own (client id its device id,
// password a token signed with its key, MQTT 5), set up by Connect up to 64
// at a time before the measured window; Send publishes each reading of a
// batch at QoS 1 on its device's connection (never more unacknowledged at
// once than the broker's receive maximum) and takes each reading's fate
// from the receipt or error message the node publishes to the device,
// matched by device and sequence number, timed when it arrives. So the
// latency over MQTT is from a batch's due time to the receipt, as over HTTP
// it is to the answer. A connection costs a goroutine, a 512-byte read
// buffer and a small map: ten thousand devices are ten thousand
// connections, and as many open files (twice as many for bench, which runs
// both ends); the limit is checked before connecting. The simulator does
// not reconnect: readings of a device whose connection the node closed
// count as rejected, "busy" if it said 0x89 Server busy, else
// "disconnected". Every address the simulator is given must be a loopback
// address: it is a load generator, and drives only a node on the same
// machine.
package sim
