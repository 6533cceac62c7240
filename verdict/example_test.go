package verdict_test

import (
	"fmt"

	"github.com/iotledger/iotledger/verdict"
)

// What a client does with an answer: act on the status, and for a refusal
// on the reason.
func Example() {
	answers := []verdict.Result{
		{Device: "dev1qqq", Seq: 7, Status: verdict.Accepted, Receipt: verdict.ReceiptPath("dev1qqq", 7)},
		{Device: "dev1qqq", Seq: 8, Status: verdict.Rejected, Reason: verdict.CodeRateLimited.String()},
		{Device: "dev1qqq", Seq: 9, Status: verdict.Pending},
	}
	for _, r := range answers {
		switch r.Status {
		case verdict.Accepted, verdict.Duplicate:
			fmt.Printf("seq %d is in the log; receipt at %s\n", r.Seq, r.Receipt)
		case verdict.Rejected:
			if code, _ := verdict.ParseCode(r.Reason); code == verdict.CodeRateLimited {
				fmt.Printf("seq %d: slow down and send it again later\n", r.Seq)
			}
		case verdict.Pending:
			fmt.Printf("seq %d: not committed yet; ask again later\n", r.Seq)
		}
	}
	// Output:
	// seq 7 is in the log; receipt at /v1/devices/dev1qqq/readings/7/receipt
	// seq 8: slow down and send it again later
	// seq 9: not committed yet; ask again later
}
