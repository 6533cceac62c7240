package verdict_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/verdict"
)

// TestCodes: Codes lists every code once, in number order, each with its
// own name (metrics label every reason from it) that ParseCode reads back,
// and codes keep their numbers: seq_reused came after too_many_proposals.
func TestCodes(t *testing.T) {
	seen := map[string]verdict.Code{}
	for i, c := range verdict.Codes() {
		if int(c) != i {
			t.Errorf("Codes()[%d] = %d", i, c)
		}
		name := c.String()
		if name == "unknown" || name == "" {
			t.Errorf("code %d has no name", c)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("codes %d and %d are both named %q", prev, c, name)
		}
		seen[name] = c
		if back, ok := verdict.ParseCode(name); !ok || back != c {
			t.Errorf("ParseCode(%q) = %d, %v; want %d", name, back, ok, c)
		}
	}
	for name, c := range map[string]verdict.Code{"ok": 0, "malformed_reading": 4, "duplicate": 10, "rate_limited": 18, "too_many_proposals": 44, "seq_reused": 45,
		"no_encryption_key": 46, "stale_epoch": 47, "no_stream_key": 48, "private_in_clear": 49, "not_private": 57} {
		if seen[name] != c {
			t.Errorf("%q is code %d, want %d", name, seen[name], c)
		}
	}
	if got := verdict.Code(len(seen)).String(); got != "unknown" {
		t.Errorf("a code past the last is named %q, want unknown", got)
	}
	if _, ok := verdict.ParseCode("device_mismatch"); ok {
		t.Error("ParseCode accepts device_mismatch, which is the MQTT intake's reason, not a code")
	}
}

func TestReceiptPath(t *testing.T) {
	for _, tt := range []struct {
		device string
		seq    uint64
		want   string
	}{
		{"dev1qqq", 7, "/v1/devices/dev1qqq/readings/7/receipt"},
		{"dev1qqq", 18446744073709551615, "/v1/devices/dev1qqq/readings/18446744073709551615/receipt"},
		{"a/b c", 0, "/v1/devices/a%2Fb%20c/readings/0/receipt"}, // never a device id, but never another route either
	} {
		if got := verdict.ReceiptPath(tt.device, tt.seq); got != tt.want {
			t.Errorf("ReceiptPath(%q, %d) = %q, want %q", tt.device, tt.seq, got, tt.want)
		}
	}
}

// TestResult: each kind of verdict as the HTTP API answers it, byte for
// byte: the reason only when the code is not ok, the index and the receipt
// only for a reading in the log (or the original it points to).
func TestResult(t *testing.T) {
	const dev = "dev1qqq"
	for _, tt := range []struct {
		name string
		v    verdict.Verdict
		want string
	}{
		{"accepted", verdict.Verdict{Device: dev, Seq: 7, Status: verdict.Accepted, Index: 42, Height: 9},
			`{"device":"dev1qqq","seq":7,"status":"accepted","index":42,"height":9,"receipt":"/v1/devices/dev1qqq/readings/7/receipt"}`},
		{"accepted at index 0", verdict.Verdict{Device: dev, Seq: 1, Status: verdict.Accepted, Height: 2},
			`{"device":"dev1qqq","seq":1,"status":"accepted","index":0,"height":2,"receipt":"/v1/devices/dev1qqq/readings/1/receipt"}`},
		{"duplicate", verdict.Verdict{Device: dev, Seq: 7, Status: verdict.Duplicate, Code: verdict.CodeDuplicate, Detail: "d", Index: 42, Height: 9},
			`{"device":"dev1qqq","seq":7,"status":"duplicate","reason":"duplicate","detail":"d","index":42,"height":9,"receipt":"/v1/devices/dev1qqq/readings/7/receipt"}`},
		{"seq reused", verdict.Verdict{Device: dev, Seq: 7, Status: verdict.Rejected, Code: verdict.CodeSeqReused, Detail: "d", Index: 42, Height: 9},
			`{"device":"dev1qqq","seq":7,"status":"rejected","reason":"seq_reused","detail":"d","index":42,"height":9,"receipt":"/v1/devices/dev1qqq/readings/7/receipt"}`},
		{"rejected", verdict.Verdict{Device: dev, Seq: 7, Status: verdict.Rejected, Code: verdict.CodeBadSignature, Detail: "d"},
			`{"device":"dev1qqq","seq":7,"status":"rejected","reason":"bad_signature","detail":"d"}`},
		{"undecodable", verdict.Verdict{Status: verdict.Rejected, Code: verdict.CodeMalformedReading, Detail: "d"},
			`{"seq":0,"status":"rejected","reason":"malformed_reading","detail":"d"}`},
		{"pending", verdict.Verdict{Device: dev, Seq: 7, Status: verdict.Pending},
			`{"device":"dev1qqq","seq":7,"status":"pending"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v.Result())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Result JSON\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestVerdictJSON: a verdict's JSON is a reading event's data, with the
// code as its name, and reads back to the same verdict.
func TestVerdictJSON(t *testing.T) {
	v := verdict.Verdict{Device: "dev1qqq", Seq: 7, Status: verdict.Accepted, Index: 42, Height: 9}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"device":"dev1qqq","seq":7,"status":"accepted","reason":"ok","index":42,"height":9}`; string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	r := verdict.Verdict{Device: "dev1qqq", Seq: 8, Status: verdict.Rejected, Code: verdict.CodeTimeOutOfWindow, Detail: "check the clock", Height: 10}
	b, err = json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back verdict.Verdict
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(back, r); d != "" {
		t.Errorf("JSON round trip (-got +want):\n%s", d)
	}
	if err := json.Unmarshal([]byte(`{"reason":"no_such_rule"}`), &back); err == nil {
		t.Error("a reason that names no code decoded without error")
	}
}

func TestDetails(t *testing.T) {
	const dev = "dev1qqq"
	if got, want := verdict.DuplicateDetail(dev, 3, 17, 4), "device dev1qqq seq 3 was committed at log index 17 in block 4; its receipt is /v1/devices/dev1qqq/readings/3/receipt"; got != want {
		t.Errorf("DuplicateDetail = %q, want %q", got, want)
	}
	got := verdict.SeqReusedDetail(dev, 3, 17, 4)
	want := "device dev1qqq seq 3 was committed before with other data (log index 17, block 4; its receipt is /v1/devices/dev1qqq/readings/3/receipt): " +
		"this reading is not stored. A sequence number is used once: sign new data with the device's next seq, and check that its sequence state was not lost or restored from an old copy"
	if got != want {
		t.Errorf("SeqReusedDetail =\n %q\nwant\n %q", got, want)
	}
}

// TestImports: the vocabulary is imported by devices (package device,
// mqttwire) and by block execution, so it stays the standard library only.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, path := range strings.Fields(string(out)) {
		if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
			t.Errorf("package verdict imports %s; it may import only the standard library", path)
		}
	}
}
