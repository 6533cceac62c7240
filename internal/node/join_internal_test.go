package node

import (
	"strings"
	"testing"
)

func TestRPCURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"http://127.0.0.1:26657", "http://127.0.0.1:26657", ""},
		{"http://127.0.0.1:26657/", "http://127.0.0.1:26657", ""},
		{"tcp://10.0.0.5:26657", "http://10.0.0.5:26657", ""},
		{"127.0.0.1:27001", "http://127.0.0.1:27001", ""},
		{"https://node.example:443", "https://node.example:443", ""},
		{"http://127.0.0.1", "", "not an RPC URL"},
		{"ftp://127.0.0.1:21", "", "not an RPC URL"},
	}
	for _, tt := range tests {
		got, err := rpcURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "rpc.laddr") {
				t.Errorf("rpcURL(%q) = %q, %v; want an error naming %q and where the address is", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("rpcURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDialAddr(t *testing.T) {
	tests := []struct{ listen, host, want string }{
		{"tcp://127.0.0.1:27000", "10.1.1.1", "127.0.0.1:27000"},
		{"tcp://0.0.0.0:26656", "10.1.1.1", "10.1.1.1:26656"},
		{"tcp://[::]:26656", "10.1.1.1", "10.1.1.1:26656"},
		{"0.0.0.0:26656", "", "0.0.0.0:26656"},
		{"tcp://192.168.5.5:26656", "10.1.1.1", "192.168.5.5:26656"},
	}
	for _, tt := range tests {
		if got := dialAddr(tt.listen, tt.host); got != tt.want {
			t.Errorf("dialAddr(%q, %q) = %q, want %q", tt.listen, tt.host, got, tt.want)
		}
	}
}

func TestJoinRefusals(t *testing.T) {
	home := t.TempDir()
	if _, err := Init(home, InitOptions{ChainID: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Join(t.Context(), home, JoinOptions{RPC: []string{"http://127.0.0.1:1"}}); err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Errorf("join into an initialised home: %v", err)
	}
	fresh := t.TempDir()
	if _, err := Join(t.Context(), fresh, JoinOptions{RPC: []string{"http://127.0.0.1:1"}, Sync: "fast"}); err == nil || !strings.Contains(err.Error(), "want auto, block or state") {
		t.Errorf("join with sync mode fast: %v", err)
	}
	if _, err := Join(t.Context(), fresh, JoinOptions{RPC: []string{"http://127.0.0.1:1"}}); err == nil || !strings.Contains(err.Error(), "ask http://127.0.0.1:1 for the genesis") {
		t.Errorf("join through nothing listening: %v", err)
	}
	if Initialized(fresh) {
		t.Errorf("a failed join left a genesis in %s", fresh)
	}
}
