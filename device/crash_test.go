package device_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// The sending process of TestCrash is this test binary run again with
// -test.run=^TestSenderProcess$ and these variables set.
const (
	envState = "IOTLEDGER_SENDER_STATE" // the Sender's state folder
	envAPI   = "IOTLEDGER_SENDER_API"   // the node's API base URL
	envKey   = "IOTLEDGER_SENDER_KEY"   // the device key's seed, hex
	envTotal = "IOTLEDGER_SENDER_TOTAL" // record readings up to this seq
	envBatch = "IOTLEDGER_SENDER_BATCH" // Options.BatchSize
	envEvery = "IOTLEDGER_SENDER_EVERY" // time between two readings, as the device's sampling period
)

// TestCrash kills the sending process and the node at random moments while
// a device records readings through its outbox, and checks that the log
// ends up with every reading the device recorded exactly once, with
// receipts that verify.
//
// The seed of the random moments is logged; IOTLEDGER_CRASH_SEED=N
// replays a run's choices (the moments themselves also depend on timing).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds the binary, runs a node and a sending process")
	}
	const (
		total          = 300
		maxSenderKills = 6
		maxNodeKills   = 3
	)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("IOTLEDGER_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("IOTLEDGER_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (IOTLEDGER_CRASH_SEED=%d replays the choices)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x10717))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// A node with a registered device.
	n, k, _ := testonly.DeviceNode(t, "crash-chain")
	id := k.DeviceID()
	state := filepath.Join(t.TempDir(), "device")
	env := []string{
		envState + "=" + state,
		envAPI + "=" + n.URL(),
		envKey + "=" + hex.EncodeToString(k.Private.Seed()),
		envTotal + "=" + strconv.Itoa(total),
		envBatch + "=8",
		envEvery + "=20ms",
	}

	// Kill the sender, the node or both after a random number of the
	// sender's progress lines, until the budgets are spent; then let the
	// sender finish.
	var f figures
	var p *senderProc
	senderKills, nodeKills := 0, 0
	for {
		if p == nil {
			p = startSender(t, env)
		}
		if senderKills == maxSenderKills && nodeKills == maxNodeKills {
			break
		}
		if !p.await(ctx, &f, 5+rng.IntN(50)) {
			break // the sender finished before the moment came
		}
		killSender := nodeKills == maxNodeKills || (senderKills < maxSenderKills && rng.IntN(3) > 0)
		killNode := senderKills == maxSenderKills || (nodeKills < maxNodeKills && (!killSender || rng.IntN(4) == 0))
		if killSender {
			p.kill(&f)
			p = nil
			senderKills++
		}
		if killNode {
			n.Kill()
			nodeKills++
			n.Restart(t, "start")
		}
	}
	stats := p.finish(ctx, t, &f)

	// The device recorded readings 1..N; N is what its Signer says.
	sg, err := device.NewSigner(k.Private, "", filepath.Join(state, "seq"))
	if err != nil {
		t.Fatal(err)
	}
	recorded := sg.Next() - 1
	if recorded != total {
		t.Errorf("the device recorded %d readings, want %d", recorded, total)
	}
	for _, sub := range []string{"outbox", "dead"} {
		if left := files(t, filepath.Join(state, sub)); len(left) != 0 {
			t.Errorf("%s folder holds %q after the final Flush, want nothing", sub, left)
		}
	}
	for seq, c := range f.accepted {
		if c > 1 {
			t.Errorf("seq %d was answered accepted %d times", seq, c)
		}
	}

	// The log holds each of 1..N exactly once, with the data recorded.
	c := client.New(n.URL())
	count := map[uint64]int{}
	var lastHeight int64
	for from := uint64(1); ; {
		page, err := c.Readings(ctx, id, client.ReadingQuery{From: from, Limit: 1000})
		if err != nil {
			t.Fatalf("Readings from %d: %v", from, err)
		}
		for _, e := range page.Readings {
			count[e.Seq]++
			lastHeight = max(lastHeight, e.Height)
			if got, want := fmt.Sprint(e.Data["seq"]), strconv.FormatUint(e.Seq, 10); got != want {
				t.Errorf("reading seq %d carries data seq %s", e.Seq, got)
			}
		}
		if page.Next == nil {
			break
		}
		from = *page.Next
	}
	for seq := uint64(1); seq <= recorded; seq++ {
		if count[seq] != 1 {
			t.Errorf("seq %d is in the log %d times, want once", seq, count[seq])
		}
	}
	if len(count) != int(recorded) {
		t.Errorf("the log holds %d distinct seqs, want %d", len(count), recorded)
	}
	gaps, err := c.Gaps(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if gaps.Count != recorded || gaps.MinSeq != 1 || gaps.MaxSeq != recorded || len(gaps.Gaps) != 0 {
		t.Errorf("gaps: count %d, seqs %d..%d, gaps %v; want count %d, seqs 1..%d, no gaps",
			gaps.Count, gaps.MinSeq, gaps.MaxSeq, gaps.Gaps, recorded, recorded)
	}

	// Receipts of the first, the last and a sample verify against the
	// chain's genesis.
	genesis, err := types.GenesisDocFromFile(node.GenesisFile(n.Home))
	if err != nil {
		t.Fatal(err)
	}
	testonly.WaitHeight(t, ctx, c, lastHeight+1) // a receipt needs the header of the next block
	sample := []uint64{1, recorded}
	for range 20 {
		sample = append(sample, 1+rng.Uint64N(recorded))
	}
	for _, seq := range sample {
		r, err := c.Receipt(ctx, id, seq)
		if err != nil {
			t.Errorf("receipt of seq %d: %v", seq, err)
			continue
		}
		if _, err := receipt.Verify(r, genesis); err != nil {
			t.Errorf("receipt of seq %d does not verify: %v", seq, err)
		}
		if rd, err := reading.Decode(r.Reading); err != nil || rd.Seq != seq || rd.Device != id {
			t.Errorf("receipt of seq %d holds another reading: %v", seq, err)
		}
	}

	t.Logf("readings %d; sender killed %d times, node %d times; sender starts %d, readings found in the outbox on start %d",
		recorded, senderKills, nodeKills, f.starts, f.recovered)
	t.Logf("sends %d, resends %d (readings sent more than once), answered accepted %d, duplicate %d, failed sends %d; last run's stats %+v",
		f.sends(), f.resends(), f.acceptedTotal(), f.duplicates, f.failed, stats)
}

// figures are what the sending processes printed, over all their runs.
type figures struct {
	starts, recovered  int
	sent               map[uint64]int // times each seq was offered
	accepted           map[uint64]int // times each seq was answered accepted
	duplicates, failed int
}

// line accounts one line of a sender's output.
func (f *figures) line(s string) {
	if f.sent == nil {
		f.sent, f.accepted = map[uint64]int{}, map[uint64]int{}
	}
	fields := strings.Fields(s)
	if len(fields) < 2 || fields[0] != "sender:" {
		return
	}
	switch fields[1] {
	case "start":
		f.starts++
		var next, outbox int
		fmt.Sscanf(s, "sender: start next=%d outbox=%d", &next, &outbox)
		f.recovered += outbox
	case "send":
		for _, w := range fields[2:] {
			seq, _ := strconv.ParseUint(w, 10, 64)
			f.sent[seq]++
		}
	case "answer":
		if len(fields) == 4 {
			seq, _ := strconv.ParseUint(fields[2], 10, 64)
			switch fields[3] {
			case string(device.Accepted):
				f.accepted[seq]++
			case string(device.Duplicate):
				f.duplicates++
			}
		}
	case "error":
		f.failed++
	}
}

func (f *figures) sends() (n int) {
	for _, c := range f.sent {
		n += c
	}
	return n
}

func (f *figures) resends() (n int) {
	for _, c := range f.sent {
		n += c - 1
	}
	return n
}

func (f *figures) acceptedTotal() (n int) {
	for _, c := range f.accepted {
		n += c
	}
	return n
}

// senderProc is a running sending process. Its reader goroutine is joined
// by done, which closes once the output ended and the process was reaped.
type senderProc struct {
	cmd    *exec.Cmd
	lines  chan string // stdout lines; closed at its end
	stderr *strings.Builder
	done   chan struct{}
}

func startSender(t *testing.T, env []string) *senderProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSenderProcess$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &senderProc{cmd: cmd, lines: make(chan string, 1<<14), stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text() // the buffer holds far more than a run prints
		}
		close(p.lines)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	})
	return p
}

// await reads n progress lines; false if the output ended first.
func (p *senderProc) await(ctx context.Context, f *figures, n int) bool {
	for n > 0 {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return false
			}
			f.line(l)
			if strings.HasPrefix(l, "sender: ") {
				n--
			}
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// kill sends SIGKILL, accounts what the process printed before it died,
// and reaps it.
func (p *senderProc) kill(f *figures) {
	p.cmd.Process.Signal(syscall.SIGKILL)
	for l := range p.lines {
		f.line(l)
	}
	<-p.done
}

// finish waits for the process to flush and exit, and returns the stats
// it printed last.
func (p *senderProc) finish(ctx context.Context, t *testing.T, f *figures) string {
	t.Helper()
	var stats string
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				<-p.done
				if code := p.cmd.ProcessState.ExitCode(); code != 0 || stats == "" {
					t.Fatalf("sending process exited with %d before it was done; stderr:\n%s", code, p.stderr)
				}
				return stats
			}
			f.line(l)
			if s, ok := strings.CutPrefix(l, "sender: done "); ok {
				stats = s
			}
		case <-ctx.Done():
			t.Fatalf("sending process not done in time: %v; stderr:\n%s", ctx.Err(), p.stderr)
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestSenderProcess is the sending process of TestCrash: a device that
// records a reading every sampling period, its number in its data, until
// it has recorded readings 1..total, then flushes. It prints its progress,
// one line per event, so the parent can pick moments to kill it.
func TestSenderProcess(t *testing.T) {
	state := os.Getenv(envState)
	if state == "" {
		t.Skip("the sending process of TestCrash; runs only when started by it")
	}
	seed, err := hex.DecodeString(os.Getenv(envKey))
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("%s: not a hex seed: %v", envKey, err)
	}
	total, err := strconv.ParseUint(os.Getenv(envTotal), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", envTotal, err)
	}
	batch, err := strconv.Atoi(os.Getenv(envBatch))
	if err != nil {
		t.Fatalf("%s: %v", envBatch, err)
	}
	every, err := time.ParseDuration(os.Getenv(envEvery))
	if err != nil {
		t.Fatalf("%s: %v", envEvery, err)
	}
	out := &printer{}
	s, err := device.NewSender(device.Options{
		Key:         ed25519.NewKeyFromSeed(seed),
		Dir:         state,
		Transport:   &tracing{next: device.NewHTTP(client.New(os.Getenv(envAPI))), out: out},
		BatchSize:   batch,
		SendTimeout: 20 * time.Second,
		// The node comes back within seconds: retry soon.
		Backoff: func(attempt int, hint time.Duration) time.Duration {
			return max(min(50*time.Millisecond<<min(attempt, 5), time.Second), hint)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out.printf("start next=%d outbox=%d", s.Next(), s.Stats().Outbox)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(every) // the device's sampling period
	defer tick.Stop()
	for s.Next() <= total {
		seq, err := s.Record(t.Context(), map[string]any{"seq": int64(s.Next())}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out.printf("recorded %d", seq)
		<-tick.C
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, _ := json.Marshal(s.Stats())
	out.printf("done %s", st)
}

// printer writes whole lines to stdout, one write each, so that what was
// printed before a SIGKILL reaches the parent.
type printer struct{ mu sync.Mutex }

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	os.Stdout.WriteString("sender: " + fmt.Sprintf(format, args...) + "\n")
}

// tracing is a Transport that prints what it sends and learns.
type tracing struct {
	next device.Transport
	out  *printer
}

func (tr *tracing) Send(ctx context.Context, raws [][]byte) ([]device.Answer, error) {
	seqs := make([]uint64, len(raws))
	words := make([]string, len(raws))
	for i, raw := range raws {
		r, err := reading.Decode(raw)
		if err != nil {
			return nil, err
		}
		seqs[i], words[i] = r.Seq, strconv.FormatUint(r.Seq, 10)
	}
	tr.out.printf("send %s", strings.Join(words, " "))
	answers, err := tr.next.Send(ctx, raws)
	if err != nil {
		tr.out.printf("error %s", strings.ReplaceAll(err.Error(), "\n", " "))
		return nil, err
	}
	for i, a := range answers {
		if i < len(seqs) {
			tr.out.printf("answer %d %s", seqs[i], a.Status)
		}
	}
	return answers, nil
}
