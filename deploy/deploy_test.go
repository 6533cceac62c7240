// Package deploy_test checks what deploy/ holds for operators: the
// Prometheus alert rules (promtool check rules, and their unit tests with
// promtool test rules), the example Prometheus configuration, and the
// Grafana dashboard (it parses, and every metric its queries name is one a
// node serves); and, end to end, that a real Prometheus scrapes a running
// node (the iotledger binary, `dev`), loads the rules, and answers the
// dashboard's queries and the committed readings rate.
//
// promtool and prometheus come with Debian's prometheus package. Where they
// are missing these tests fail when the environment variable CI is set,
// and are skipped otherwise.
package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/testonly"
)

func TestMain(m *testing.M) { os.Exit(testonly.Main(m)) }

// tool finds a program of Debian's prometheus package.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (Debian: apt-get install prometheus): %v", name, err)
		}
		t.Skipf("%s is not installed (Debian: apt-get install prometheus); CI runs this test", name)
	}
	return p
}

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, "promtool"), args...)
	cmd.Dir = "prometheus"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAlertRules: the rules are valid and pass their unit tests; the
// example configuration, which loads them, is valid.
func TestAlertRules(t *testing.T) {
	if out := promtool(t, "check", "rules", "alerts.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules: %s", out)
	}
	if out := promtool(t, "test", "rules", "alerts_test.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: %s", out)
	}
	if out := promtool(t, "check", "config", "prometheus.example.yml"); !strings.Contains(out, "SUCCESS: 1 rule files found") {
		t.Errorf("promtool check config: %s", out)
	}
}

// TestAlertRulesAreTested: every alert of alerts.yml has a case in
// alerts_test.yml that expects it to fire.
func TestAlertRulesAreTested(t *testing.T) {
	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("prometheus/alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\w+)$`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 6 {
		t.Fatalf("%d alerts in alerts.yml", len(alerts))
	}
	// A case that expects an alert names it and then lists exp_alerts.
	fires := regexp.MustCompile(`alertname: (\w+)\n\s*exp_alerts:`).FindAllStringSubmatch(string(tests), -1)
	tested := map[string]bool{}
	for _, m := range fires {
		tested[m[1]] = true
	}
	for _, a := range alerts {
		if !tested[a[1]] {
			t.Errorf("alert %s has no test in alerts_test.yml that expects it to fire", a[1])
		}
	}
	// The alerts the issue asks for.
	for _, want := range []string{"IotledgerConsensusHalted", "IotledgerNoNewBlock", "IotledgerPeersBelowQuorum",
		"IotledgerDiskNearlyFull", "IotledgerReadingsRefused", "IotledgerValidatorMissingFromCommits"} {
		if !slices.ContainsFunc(alerts, func(m []string) bool { return m[1] == want }) {
			t.Errorf("alerts.yml has no %s", want)
		}
	}
}

// dashboard is the part of a Grafana dashboard this test reads.
type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// queries returns the dashboard's PromQL queries by panel title.
func queries(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("grafana/iotledger.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana/iotledger.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Fatalf("dashboard has no title or uid: %q %q", d.Title, d.UID)
	}
	out := map[string][]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q has an empty query", p.Title)
				}
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
		}
	}
	walk(d.Panels)
	if len(out) < 10 {
		t.Fatalf("the dashboard has %d panels with queries", len(out))
	}
	return out
}

// expand replaces the dashboard's variables as Grafana would, for a query
// straight to Prometheus.
func expand(expr string) string {
	return strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$instance", ".*").Replace(expr)
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlOffsets  = regexp.MustCompile(`(\boffset\s+-?|@\s*)[0-9][0-9a-z.]*`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlNumbers  = regexp.MustCompile(`(^|[^\w:])(\d+(\.\d+)?([eE][+-]?\d+)?)`)
	promqlIdents   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
	promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "offset": true, "bool": true, "inf": true, "nan": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
)

// metricNames returns the metric names a PromQL query selects: the
// identifiers left once strings, label matchers, ranges, grouping labels
// and numbers are taken out, other than functions, aggregations and
// keywords. (The check in TestPrometheusScrapesANode has Prometheus
// itself parse every query.)
func metricNames(expr string) []string {
	s := expand(expr)
	s = promqlStrings.ReplaceAllString(s, `""`)
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlRanges.ReplaceAllString(s, " ")
	s = promqlOffsets.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	s = promqlNumbers.ReplaceAllString(s, "$1 ")
	var names []string
	for _, id := range promqlIdents.FindAllString(s, -1) {
		if strings.HasSuffix(id, "(") {
			continue // a function or an aggregation
		}
		id = strings.TrimSpace(id)
		if !promqlKeywords[strings.ToLower(id)] && !slices.Contains(names, id) {
			names = append(names, id)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`iotledger_height{instance=~"$instance"}`, []string{"iotledger_height"}},
		{`rate(iotledger_readings_committed_total[$__rate_interval]) * 60`, []string{"iotledger_readings_committed_total"}},
		{`histogram_quantile(0.95, sum by (le, route) (rate(iotledger_http_request_duration_seconds_bucket{route!="x"}[5m])))`,
			[]string{"iotledger_http_request_duration_seconds_bucket"}},
		{`iotledger_data_free_bytes / iotledger_data_capacity_bytes < 0.10`, []string{"iotledger_data_free_bytes", "iotledger_data_capacity_bytes"}},
		{`sum without (reason) (a_total) > 1e9 and on (instance) b unless c offset 5m`, []string{"a_total", "b", "c"}},
		{`predict_linear(x[6h], 24 * 3600) < 0 or vector(1)`, []string{"x"}},
		{`up{job="iotledger", instance=~"a{b}"} == bool 0`, []string{"up"}},
		{`x @ 1609746000 + y offset -1h30m`, []string{"x", "y"}},
	} {
		if diff := cmp.Diff(metricNames(tc.expr), tc.want); diff != "" {
			t.Errorf("metricNames(%q) (-got +want):\n%s", tc.expr, diff)
		}
	}
}

// TestDashboardParses: the dashboard is JSON Grafana can import, every
// panel has a query, and every query names at least one metric.
func TestDashboardParses(t *testing.T) {
	for title, exprs := range queries(t) {
		for _, e := range exprs {
			if len(metricNames(e)) == 0 {
				t.Errorf("panel %q: query %q names no metric", title, e)
			}
		}
	}
}

// notFromNode are the metrics the dashboard may name that a node does not
// serve, and who does.
var notFromNode = map[string]string{
	"up": "Prometheus, for each target",
}

// pending are metrics a coming change adds to the node while the
// dashboard or the rules show them already. Once a node serves one, the
// test fails until it is taken out of this list.
var pending = map[string]string{}

// served returns the metric names in a /metrics body: each family from
// its TYPE line, and each series name (histograms' _bucket, _sum, _count).
func served(body string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names[strings.Fields(rest)[0]] = true
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	return names
}

func get(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, b)
	}
	return b
}

// prom is a Prometheus server the test started.
type prom struct {
	url string
	out *strings.Builder
}

// startPrometheus runs Debian's prometheus on a free loopback port with a
// temporary data folder, scraping target every second and evaluating the
// rules of alerts.yml every second; it is stopped at cleanup.
func startPrometheus(t *testing.T, target string) *prom {
	t.Helper()
	bin := tool(t, "prometheus")
	dir := t.TempDir()
	rules, err := filepath.Abs("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: iotledger
    static_configs:
      - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testonly.FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.console.templates="+dir, "--web.console.libraries="+dir)
	p := &prom{url: "http://" + addr, out: &strings.Builder{}}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if p.out.Len() < 1<<20 {
				p.out.WriteString(sc.Text() + "\n")
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		pw.Close()
		<-done
	})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	testonly.Poll(t, ctx, "Prometheus to be ready", func() (bool, error) {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return p
}

// query runs an instant query and returns its vector's values, or the
// error Prometheus answered.
func (p *prom) query(t *testing.T, expr string) ([]float64, error) {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.Status, r.Error)
	}
	var vs []float64
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %v", s.Value[1], err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// TestPrometheusScrapesANode: a real Prometheus scrapes a running node
// (the binary, `dev`, whose simulated sensors send a reading a second
// each, and one more reading sent with the CLI), loads the alert rules
// without error, fires none of the rules that do not depend on this
// machine's disk, answers its committed readings rate, and evaluates every
// query of the dashboard; every metric the dashboard names is served by
// the node.
func TestPrometheusScrapesANode(t *testing.T) {
	tool(t, "prometheus")
	n, c := testonly.DevNode(t)
	// A signed transaction through the API and a reading from the CLI.
	c.NewDevice(t, "probe")
	c.Send(t, "probe", "temp=21.5")
	p := startPrometheus(t, n.APIAddr)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const committedRate = `sum(rate(iotledger_readings_committed_total{job="iotledger"}[30s]))`
	var rate float64
	testonly.Poll(t, ctx, "Prometheus to see readings committed", func() (bool, error) {
		vs, err := p.query(t, committedRate)
		if err != nil || len(vs) != 1 {
			return false, fmt.Errorf("%v %v", vs, err)
		}
		rate = vs[0]
		return rate > 0, nil
	})
	t.Logf("%s = %.2f readings a second", committedRate, rate)

	// Every rule evaluated, without error.
	testonly.Poll(t, ctx, "the alert rules to be evaluated", func() (bool, error) {
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name      string `json:"name"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := json.Unmarshal(get(t, p.url+"/api/v1/rules"), &r); err != nil {
			return false, err
		}
		count := 0
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				count++
				if rule.Health == "err" {
					t.Fatalf("rule %s: %s", rule.Name, rule.LastError)
				}
				if rule.Health != "ok" {
					return false, fmt.Errorf("rule %s: health %q", rule.Name, rule.Health)
				}
			}
		}
		return count >= 6, fmt.Errorf("%d rules loaded", count)
	})
	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(get(t, p.url+"/api/v1/alerts"), &alerts); err != nil {
		t.Fatal(err)
	}
	// Pending is not raised: a rule over the last minute may be pending
	// while Prometheus has seen only a few seconds of the node.
	for _, a := range alerts.Data.Alerts {
		switch name := a.Labels["alertname"]; {
		case a.State != "firing":
		case strings.HasPrefix(name, "IotledgerDisk"):
			t.Logf("this machine's disk raises %s", name)
		default:
			t.Errorf("a healthy dev node raises %s: %v", name, a.Labels)
		}
	}

	// Every dashboard query is one Prometheus evaluates.
	for title, exprs := range queries(t) {
		for _, e := range exprs {
			if _, err := p.query(t, expand(e)); err != nil {
				t.Errorf("panel %q: %s: %v", title, e, err)
			}
		}
	}

	// Every metric the dashboard names is served by the node (a request
	// first, so the API's answer times hold one).
	get(t, n.URL()+"/v1/status")
	have := served(string(get(t, n.URL()+"/metrics")))
	for name, why := range pending {
		if have[name] {
			t.Errorf("the node serves %s now (%s): take it out of pending", name, why)
		}
	}
	for title, exprs := range queries(t) {
		for _, e := range exprs {
			for _, name := range metricNames(e) {
				if !have[name] && notFromNode[name] == "" && pending[name] == "" {
					t.Errorf("panel %q: the node serves no %s", title, name)
				}
			}
		}
	}
}
