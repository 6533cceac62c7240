package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/iotledger/iotledger/client"
)

// A stand-in for a node, with canned answers.
func cannedNode() *httptest.Server {
	mux := http.NewServeMux()
	answer := func(status int, contentType, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			if status == http.StatusTooEarly {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	mux.Handle("GET /v1/status", answer(200, "application/json",
		`{"chain_id":"plant-7","height":1234,"app_hash":"0acf","log_size":98765,"log_root":"afc3","validators":4,"node_id":"n1","latest_block_time_ms":1748779242000,"catching_up":false,"version":"1.0.0"}`))
	mux.Handle("GET /v1/devices/dev1t679r4s8rm00mtleaj24juktjk9phzdwnn2k65/gaps", answer(200, "application/json",
		`{"device":"dev1t679r4s8rm00mtleaj24juktjk9phzdwnn2k65","count":3,"min_seq":100,"max_seq":106,"gaps":[{"from":101,"to":102},{"from":104,"to":105}],"gaps_truncated":false}`))
	mux.Handle("GET /v1/devices/dev1t679r4s8rm00mtleaj24juktjk9phzdwnn2k65/readings/106/receipt", answer(425, "application/problem+json",
		`{"type":"urn:iotledger:problem:receipt-not-yet","title":"Receipt not available yet","status":425,"detail":"the next block is not committed yet; ask again after the Retry-After delay","instance":"/v1/devices/dev1t679r4s8rm00mtleaj24juktjk9phzdwnn2k65/readings/106/receipt"}`))
	return httptest.NewServer(mux)
}

func Example() {
	node := cannedNode()
	defer node.Close()
	ctx := context.Background()
	c := client.New(node.URL)

	st, err := c.Status(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("chain %s at height %d holds %d readings\n", st.ChainID, st.Height, st.LogSize)

	const dev = "dev1t679r4s8rm00mtleaj24juktjk9phzdwnn2k65"
	g, err := c.Gaps(ctx, dev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d readings from %d to %d; missing:", g.Count, g.MinSeq, g.MaxSeq)
	for _, r := range g.Gaps {
		fmt.Printf(" %d-%d", r.From, r.To)
	}
	fmt.Println()

	_, err = c.Receipt(ctx, dev, 106)
	var e *client.Error
	if errors.Is(err, client.ErrNotYet) && errors.As(err, &e) {
		fmt.Println("receipt not yet available; ask again in", e.RetryAfter)
	}
	// Output:
	// chain plant-7 at height 1234 holds 98765 readings
	// 3 readings from 100 to 106; missing: 101-102 104-105
	// receipt not yet available; ask again in 1s
}
