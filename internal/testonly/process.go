package testonly

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/iotledger once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "iotledger-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "iotledger")
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/iotledger")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Main runs a package's tests, then removes the binary Binary built for
// them, and returns the exit code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testonly.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	return code
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Run runs the binary to completion and returns its output and exit code.
func Run(t testing.TB, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), code
}

// MustRun runs the binary and fails the test on a non-zero exit.
func MustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, code := Run(t, args...)
	if code != 0 {
		t.Fatalf("iotledger %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IOTLEDGER_") {
			env = append(env, kv)
		}
	}
	return env
}

// Node is a node process started from the binary.
type Node struct {
	Home     string
	APIAddr  string
	RPCAddr  string
	P2PAddr  string
	MQTTAddr string
	// Args are more flags for the node command, such as --mqtt-bridge.
	Args []string
	// Wrap, if set, runs the command through another, such as
	// ip netns exec NAME (which execs it: signals reach the node).
	Wrap []string
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartNode runs `iotledger start` (or another subcommand such as dev) on
// the home with fresh loopback ports and returns once it prints that it is
// running. The process is killed at test cleanup if still alive.
func StartNode(t testing.TB, home string, sub string, args ...string) *Node {
	t.Helper()
	n := &Node{Home: home, APIAddr: FreeAddr(t), RPCAddr: FreeAddr(t), P2PAddr: FreeAddr(t), MQTTAddr: FreeAddr(t), Args: args}
	n.start(t, sub)
	return n
}

// Restart starts the node again on the same home and ports.
func (n *Node) Restart(t testing.TB, sub string) { n.start(t, sub) }

func (n *Node) start(t testing.TB, sub string) {
	t.Helper()
	n.await(t, n.spawn(t, sub))
}

// StartAll starts the nodes (`iotledger start`, or sub) at once and
// returns when every one says it is running: a testnet comes up in the
// time of its slowest node rather than the sum.
func StartAll(t testing.TB, nodes []*Node, sub string) {
	t.Helper()
	ready := make([]chan struct{}, len(nodes))
	for i, n := range nodes {
		ready[i] = n.spawn(t, sub)
	}
	for i, n := range nodes {
		n.await(t, ready[i])
	}
}

// spawn runs the node's process; the returned channel closes once the
// node prints that it is running.
func (n *Node) spawn(t testing.TB, sub string) chan struct{} {
	t.Helper()
	cmd := exec.Command(Binary(t), sub, "--home", n.Home, "--api-addr", n.APIAddr, "--rpc-addr", n.RPCAddr, "--p2p-addr", n.P2PAddr, "--mqtt-addr", n.MQTTAddr)
	cmd.Args = append(cmd.Args, n.Args...)
	if len(n.Wrap) > 0 {
		cmd = exec.Command(n.Wrap[0], append(n.Wrap[1:], cmd.Args...)...)
	}
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.out = &syncBuffer{}
	cmd.Stderr = n.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	ready := make(chan struct{})
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			n.out.Write(append(sc.Bytes(), '\n'))
			if !signalled && strings.Contains(sc.Text(), "press Ctrl-C to stop") {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
	}()
	t.Cleanup(func() { n.Kill() })
	return ready
}

func (n *Node) await(t testing.TB, ready chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-n.done:
		t.Fatalf("node exited before it was ready:\n%s", n.out)
	case <-time.After(60 * time.Second):
		n.Kill()
		t.Fatalf("node not ready after 60s:\n%s", n.out)
	}
}

// Kill sends SIGKILL and waits for the process to go.
func (n *Node) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// Stop sends SIGINT and waits for a clean exit.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		n.Kill()
		t.Fatalf("node did not stop within 30s of SIGINT:\n%s", n.out)
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("node exited with %d after SIGINT:\n%s", code, n.out)
	}
}

// Output is what the process printed so far.
func (n *Node) Output() string { return n.out.String() }

// URL is the API base URL.
func (n *Node) URL() string { return "http://" + n.APIAddr }

// StopExit sends SIGINT and returns the exit code, for a node that may
// stop with an error (such as one whose store could not write). If it has
// not exited within 30 s it gets SIGQUIT, so that the failure shows its
// goroutines, then SIGKILL.
func (n *Node) StopExit(t testing.TB) int {
	t.Helper()
	n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
		return n.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
	}
	n.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		n.Kill()
	}
	t.Fatalf("node did not stop within 30s of SIGINT:\n%s", n.out)
	return 0
}
