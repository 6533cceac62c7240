package testonly

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Mosquitto starts Debian's Mosquitto on a free loopback port, with extra
// configuration lines for its listener, and returns its address. It skips
// the test if Mosquitto is not installed. The broker is killed at cleanup.
func Mosquitto(t testing.TB, extra string) string {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mosquitto"); serr != nil {
			t.Skip("mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients); skipping the bridge test")
		}
		bin = "/usr/sbin/mosquitto"
	}
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Skip("mosquitto_pub is not installed (apt-get install -y mosquitto-clients); skipping the bridge test")
	}
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	global := "log_dest stderr\n"
	if os.Geteuid() == 0 {
		global += "user root\n" // else mosquitto drops to its own user, who cannot read the test's files
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("%slistener %s 127.0.0.1\n%s", global, port, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Mosquitto says "... running" once it listens.
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), " running") {
			go func() { // keep draining, so mosquitto never blocks on its log
				for sc.Scan() {
				}
			}()
			return addr
		}
	}
	t.Fatalf("mosquitto did not start:\n%s", log.String())
	return ""
}

// MosquittoPub publishes payload at QoS 1 with mosquitto_pub.
func MosquittoPub(t testing.TB, ctx context.Context, addr, topic string, payload []byte) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	f := filepath.Join(t.TempDir(), "reading.cbor")
	if err := os.WriteFile(f, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "mosquitto_pub", "-h", host, "-p", port, "-t", topic, "-f", f, "-q", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
}
