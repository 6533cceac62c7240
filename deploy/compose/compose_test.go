// Package compose_test checks what can be checked of the container recipe
// without a container engine: the Dockerfile at the repository's top (its
// references, users, ports and health check agree with the node's
// settings, and its build command, run here, makes a static binary that
// knows its version) and deploy/compose (four validators whose homes
// `iotledger testnet` writes with addresses that work between the
// containers, and a Prometheus that scrapes all four). Building and
// running the image needs an engine: .ci/run does it when `docker info`
// succeeds.
package compose_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/iotledger/iotledger/internal/buildinfo"
	"github.com/iotledger/iotledger/internal/cli"
	"github.com/iotledger/iotledger/internal/node"
)

const root = "../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	stage     int // 0 for the first FROM's stage
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	stage, cur := -1, ""
	for line := range strings.SplitSeq(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") { // a comment inside a continued instruction
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur += s + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{cmd: cmd, args: strings.TrimSpace(args), stage: stage})
		cur = ""
	}
	return out
}

// dockerEnv is the final stage's ENV, as variables.
func dockerEnv(t *testing.T, ins []instruction) map[string]string {
	t.Helper()
	last := ins[len(ins)-1].stage
	env := map[string]string{}
	for _, in := range ins {
		if in.cmd != "ENV" || in.stage != last {
			continue
		}
		for f := range strings.FieldsSeq(in.args) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				t.Fatalf("ENV %s: write ENV KEY=VALUE", in.args)
			}
			env[k] = v
		}
	}
	return env
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return p
}

// TestDockerfile: a multi-stage build of a static binary; a final stage
// that runs it as a user of its own with the home as a volume, exposes the
// ports its environment sets (the node's default ports), and checks
// /healthz on the API's port; every file it copies is in the build
// context.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	last := ins[len(ins)-1].stage
	if last < 1 {
		t.Fatalf("the Dockerfile has %d stages; want a build stage and a small final one", last+1)
	}
	byCmd := func(cmd string, final bool) []string {
		var out []string
		for _, in := range ins {
			if in.cmd == cmd && (!final || in.stage == last) {
				out = append(out, in.args)
			}
		}
		return out
	}
	build := strings.Join(byCmd("RUN", false), "\n")
	for _, want := range []string{"CGO_ENABLED=0 go build", "-trimpath", "./cmd/iotledger"} {
		if !strings.Contains(build, want) {
			t.Errorf("no RUN of the build stage says %q", want)
		}
	}

	env := dockerEnv(t, ins)
	valid := append(node.EnvNames(), node.EnvRPCAddr, node.EnvP2PAddr, node.EnvHome)
	for k := range env {
		if strings.HasPrefix(k, node.EnvPrefix) && !slices.Contains(valid, k) {
			t.Errorf("ENV %s is no setting of iotledger (IOTLEDGER_<SECTION>_<KEY>)", k)
		}
	}
	home := env[node.EnvHome]
	if vol := byCmd("VOLUME", true); len(vol) != 1 || vol[0] != home || home == "" {
		t.Errorf("VOLUME %v, want the home %s=%q", vol, node.EnvHome, home)
	}

	users := byCmd("USER", true)
	if len(users) != 1 {
		t.Fatalf("final stage USER %v, want one", users)
	}
	if u, _, _ := strings.Cut(users[0], ":"); u == "root" || u == "0" {
		t.Errorf("USER %s: the node must not run as root", users[0])
	}
	if setup := strings.Join(byCmd("RUN", true), "\n"); !strings.Contains(setup, "adduser") || !strings.Contains(setup, home) {
		t.Errorf("the final stage creates no user owning %s:\n%s", home, setup)
	}

	// The ports it listens on are the node's defaults, and EXPOSE says so.
	def := node.Default()
	cc := node.CometConfig(t.TempDir())
	wantPorts := map[string]string{
		"IOTLEDGER_API_ADDR":  port(t, def.API.Addr),
		"IOTLEDGER_MQTT_ADDR": port(t, def.MQTT.Addr),
		"IOTLEDGER_P2P_ADDR":  port(t, strings.TrimPrefix(cc.P2P.ListenAddress, "tcp://")),
	}
	var exposed []string
	for _, e := range byCmd("EXPOSE", true) {
		exposed = append(exposed, strings.Fields(e)...)
	}
	var want []string
	for k, p := range wantPorts {
		if got := port(t, env[k]); got != p {
			t.Errorf("ENV %s=%s: port %s, want the default %s", k, env[k], got, p)
		}
		want = append(want, p)
	}
	slices.Sort(exposed)
	slices.Sort(want)
	if !slices.Equal(exposed, want) {
		t.Errorf("EXPOSE %v, want %v", exposed, want)
	}

	// The health check asks /healthz on the port of IOTLEDGER_API_ADDR.
	hc := byCmd("HEALTHCHECK", true)
	if len(hc) != 1 {
		t.Fatalf("HEALTHCHECK %v, want one", hc)
	}
	_, check, ok := strings.Cut(hc[0], "CMD ")
	if !ok || !strings.Contains(check, "/healthz") {
		t.Fatalf("HEALTHCHECK %s does not ask /healthz", hc[0])
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		url := regexp.MustCompile(`"(http://[^"]+)"`).FindStringSubmatch(check)
		if url == nil {
			t.Fatalf("HEALTHCHECK %s names no quoted URL", check)
		}
		c := exec.Command(sh, "-c", `printf %s "`+url[1]+`"`)
		c.Env = []string{"IOTLEDGER_API_ADDR=" + env["IOTLEDGER_API_ADDR"]}
		out, err := c.Output()
		if got, want := string(out), "http://127.0.0.1:"+wantPorts["IOTLEDGER_API_ADDR"]+"/healthz"; err != nil || got != want {
			t.Errorf("the health check asks %s (%v), want %s", got, err, want)
		}
	}
	if args := strings.Join(byCmd("ENTRYPOINT", true), " ") + " " + strings.Join(byCmd("CMD", true), " "); !strings.Contains(args, `"iotledger"`) || !strings.Contains(args, `"start"`) {
		t.Errorf("ENTRYPOINT and CMD %s do not run iotledger start", args)
	}

	// What it copies from the context exists and .dockerignore keeps it.
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.SplitSeq(string(ignore), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, strings.TrimPrefix(line, "/"))
		}
	}
	if !slices.Contains(patterns, ".git") {
		t.Error(".dockerignore does not leave out .git")
	}
	needed := []string{"go.mod", "go.sum", "LICENSE", "cmd", "internal", "reading", "receipt", "address", "client", "device", "mqttwire", "tx"}
	for _, in := range ins {
		if in.cmd != "COPY" || strings.Contains(in.args, "--from=") {
			continue
		}
		f := strings.Fields(in.args)
		for _, src := range f[:len(f)-1] {
			if src == "." {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
			needed = append(needed, src)
		}
	}
	for _, n := range needed {
		for _, p := range patterns {
			if m, _ := filepath.Match(p, n); m || p == n {
				t.Errorf(".dockerignore's %q leaves out %s, which the build needs", p, n)
			}
		}
	}
}

// TestDockerfileBuild runs the Dockerfile's build command here: the binary
// is static (no interpreter, no shared libraries: it runs on any base
// image) and `version` prints the build arguments it was given.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary without cgo (a full build)")
	}
	var cmd string
	for _, in := range parseDockerfile(t) {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			cmd = in.args
		}
	}
	out := t.TempDir()
	if !strings.Contains(cmd, "/out/") {
		t.Fatalf("the build command %q writes no /out/iotledger", cmd)
	}
	cmd = strings.ReplaceAll(cmd, "/out/", out+"/")
	sh := exec.Command("/bin/sh", "-c", cmd)
	sh.Dir = root
	sh.Env = append(os.Environ(), "VERSION=v1.2.3-test", "COMMIT=0123abcd", "BUILD_TIME=2026-02-03T04:05:06Z")
	if b, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	bin := filepath.Join(out, "iotledger")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary names a dynamic loader (PT_INTERP): not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v: not static", libs)
	}
	b, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var in buildinfo.Info
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	if in.Version != "v1.2.3-test" || in.Commit != "0123abcd" || in.Time != "2026-02-03T04:05:06Z" || in.TimeSource != buildinfo.TimeLinked {
		t.Errorf("version --json of the image's binary: %+v; want the build arguments", in)
	}
}

// compose is what the test reads of compose.yaml.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		PullPolicy  string            `yaml:"pull_policy"`
		Build       map[string]string `yaml:"build"`
		Command     []string          `yaml:"command"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   yaml.Node         `yaml:"depends_on"`
		Networks    map[string]struct {
			IPv4 string `yaml:"ipv4_address"`
		} `yaml:"networks"`
	} `yaml:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet  string `yaml:"subnet"`
				IPRange string `yaml:"ip_range"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
	Volumes map[string]any `yaml:"volumes"`
}

var validators = []string{"validator0", "validator1", "validator2", "validator3"}

// TestCompose: the compose file names four validators and Prometheus;
// the homes its testnet service writes (run here, as the service runs it)
// give each validator P2P addresses on its own fixed address and peers on
// the others'; each validator's settings, with the image's environment and
// its own, serve the API and MQTT on the ports it publishes; Prometheus
// scrapes all four there.
func TestCompose(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	var names []string
	for n := range c.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := append(slices.Clone(validators), "prometheus", "testnet"); !slices.Equal(names, slices.Sorted(slices.Values(want))) {
		t.Fatalf("services %v, want %v", names, want)
	}

	// The testnet service: its command, run here into a temp folder.
	tn := c.Services["testnet"]
	if tn.Build["context"] != "../.." || tn.Build["dockerfile"] != "Dockerfile" {
		t.Errorf("testnet builds %v, want the Dockerfile at the top (context ../..)", tn.Build)
	}
	if len(tn.Command) != 1 {
		t.Fatalf("testnet command %v, want one shell line", tn.Command)
	}
	line := tn.Command[0]
	_, tcmd, ok := strings.Cut(line, "|| iotledger ")
	if !ok {
		t.Fatalf("testnet command %q: want test -d HOME || iotledger testnet ...", line)
	}
	targs := strings.Fields(tcmd)
	var outDir string
	var hosts []string
	for i, a := range targs {
		switch a {
		case "--out":
			outDir = targs[i+1]
		case "--hosts":
			hosts = strings.Split(targs[i+1], ",")
		}
	}
	if !strings.Contains(line, "test -d "+outDir+"/node0") {
		t.Errorf("testnet command %q does not skip a testnet already written to %s", line, outDir)
	}
	dir := filepath.Join(t.TempDir(), "testnet")
	run := slices.Clone(targs)
	run[slices.Index(run, "--out")+1] = dir
	if err := cli.Run(context.Background(), run, io.Discard, io.Discard); err != nil {
		t.Fatalf("iotledger %s: %v", strings.Join(run, " "), err)
	}

	// Dynamic addresses (the testnet and Prometheus containers) are kept
	// apart from the validators' fixed ones.
	ipam := c.Networks["ledger"].IPAM.Config
	if len(ipam) != 1 {
		t.Fatalf("network ledger's ipam %v, want one subnet", ipam)
	}
	_, subnet, err1 := net.ParseCIDR(ipam[0].Subnet)
	_, dynamic, err2 := net.ParseCIDR(ipam[0].IPRange)
	if err1 != nil || err2 != nil {
		t.Fatalf("ipam %+v: %v %v", ipam[0], err1, err2)
	}

	ins := parseDockerfile(t)
	imageEnv := dockerEnv(t, ins)
	var targets []string
	for i, name := range validators {
		v := c.Services[name]
		if v.Image != tn.Image || v.PullPolicy != "never" {
			t.Errorf("%s runs image %q (pull_policy %q), want %q, which testnet builds (never pulled)", name, v.Image, v.PullPolicy, tn.Image)
		}
		home := filepath.Join(outDir, "node"+string(rune('0'+i)))
		if want := []string{"start", "--home", home}; !slices.Equal(v.Command, want) {
			t.Errorf("%s command %v, want %v", name, v.Command, want)
		}
		if !slices.Contains(v.Volumes, "homes:"+imageEnv[node.EnvHome]) {
			t.Errorf("%s volumes %v, want homes at the image's home %s", name, v.Volumes, imageEnv[node.EnvHome])
		}
		ip := v.Networks["ledger"].IPv4
		if i >= len(hosts) || ip != hosts[i] {
			t.Errorf("%s has address %s, testnet --hosts gives node%d %v", name, ip, i, hosts)
		}
		if a := net.ParseIP(ip); a == nil || !subnet.Contains(a) || dynamic.Contains(a) {
			t.Errorf("%s's address %s is not in %s outside %s", name, ip, subnet, dynamic)
		}

		// The settings the container ends up with.
		local := filepath.Join(dir, "node"+string(rune('0'+i)))
		var environ []string
		for k, val := range imageEnv {
			if _, over := v.Environment[k]; !over {
				environ = append(environ, k+"="+val)
			}
		}
		for k, val := range v.Environment {
			environ = append(environ, k+"="+val)
		}
		cfg, _, err := node.LoadConfigEnv(local, environ)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		cc, err := node.LoadCometConfig(local)
		if err != nil {
			t.Fatal(err)
		}
		// The others dial it at the address testnet wrote into its
		// config.toml: it must listen there (or on every address, at that port).
		written := strings.TrimPrefix(cc.P2P.ListenAddress, "tcp://")
		if wh, _, _ := net.SplitHostPort(written); wh != ip {
			t.Errorf("testnet wrote %s's P2P address as %s, not on its address %s", name, written, ip)
		}
		p2p := written
		if cfg.P2PAddr != "" {
			p2p = cfg.P2PAddr
		}
		if h, pt, _ := net.SplitHostPort(p2p); h != ip && h != "0.0.0.0" || pt != port(t, written) {
			t.Errorf("%s listens for peers on %s; its peers dial %s", name, p2p, written)
		}
		for j, other := range hosts {
			if j != i && !strings.Contains(cc.P2P.PersistentPeers, "@"+other+":") {
				t.Errorf("%s's peers %s leave out %s", name, cc.P2P.PersistentPeers, other)
			}
		}
		inside := map[string]bool{port(t, cfg.API.Addr): true, port(t, cfg.MQTT.Addr): true}
		for _, p := range v.Ports {
			parts := strings.Split(p, ":")
			if !inside[parts[len(parts)-1]] {
				t.Errorf("%s publishes %s; the node listens on %v", name, p, inside)
			}
		}
		if h, _, _ := net.SplitHostPort(cfg.API.Addr); h != "0.0.0.0" {
			t.Errorf("%s's API listens on %s: Prometheus in another container cannot reach it", name, cfg.API.Addr)
		}
		targets = append(targets, name+":"+port(t, cfg.API.Addr))
	}

	// Prometheus scrapes every validator's API.
	p := c.Services["prometheus"]
	var promFile string
	for _, v := range p.Volumes {
		if src, dst, _ := strings.Cut(v, ":"); strings.HasPrefix(dst, "/etc/prometheus/prometheus.yml") {
			promFile = src
		}
	}
	pb, err := os.ReadFile(promFile)
	if err != nil {
		t.Fatalf("prometheus's configuration %q: %v", promFile, err)
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(pb, &prom); err != nil {
		t.Fatal(err)
	}
	var scraped []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			scraped = append(scraped, st.Targets...)
		}
	}
	slices.Sort(scraped)
	if !slices.Equal(scraped, targets) {
		t.Errorf("Prometheus scrapes %v, want %v", scraped, targets)
	}
	checkPrometheusConfig(t, promFile, p.Volumes)
}

// checkPrometheusConfig runs promtool check config on the configuration,
// with the rule files mounted beside it mapped to theirs in the tree.
func checkPrometheusConfig(t *testing.T, file string, volumes []string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not installed: the Prometheus configuration is not checked")
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, v := range volumes {
		src, dst, _ := strings.Cut(strings.TrimSuffix(v, ":ro"), ":")
		if !strings.HasSuffix(dst, ".yml") || dst == "/etc/prometheus/prometheus.yml" {
			continue
		}
		abs, _ := filepath.Abs(src)
		if _, err := os.Stat(abs); err != nil {
			t.Errorf("compose mounts %s at %s: %v (deploy/prometheus/alerts.yml holds the alert rules)", src, dst, err)
			continue
		}
		text = strings.ReplaceAll(text, dst, abs)
	}
	p := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "config", p).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("SUCCESS")) {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}
