package keybox

import (
	"bytes"
	"testing"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// FuzzDecodeMessage: a peer's message never panics the decoder, and one it
// accepts is within the bounds, names well-formed slots and encodes back
// to a message that decodes the same.
func FuzzDecodeMessage(f *testing.F) {
	dev, acc := "dev1ts5m0rcs5ddynf3rr5ywapq2qj7v8gm6amjqdc", "acc1l6qjcyhn4dxwdtzak6dvx5heqm93ky00m3fwhe"
	f.Add(encodeMessage(&message{Keys: []wireKey{{Device: dev, Epoch: 1, Recipient: acc, Wrapped: []byte{0xa3, 1, 2}}}}))
	f.Add(encodeMessage(&message{Wants: []wireSlot{{Device: dev, Epoch: 7, Recipient: acc}}}))
	f.Add(encodeMessage(&message{Wants: []wireSlot{{Device: "../x", Epoch: 1, Recipient: acc}}}))
	f.Add([]byte{0xa0})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		if len(m.Keys)+len(m.Wants) == 0 || len(m.Keys) > MaxKeysPerMessage || len(m.Wants) > MaxWantsPerMessage {
			t.Fatalf("accepted a message out of bounds: %d keys, %d wants", len(m.Keys), len(m.Wants))
		}
		for _, k := range m.Keys {
			if k.slot().Check() != nil || len(k.Wrapped) == 0 || len(k.Wrapped) > MaxWrappedBytes {
				t.Fatalf("accepted a bad key %+v", k.slot())
			}
		}
		again, err := decodeMessage(encodeMessage(m))
		if err != nil {
			t.Fatalf("re-encoded message refused: %v", err)
		}
		a, _ := dcbor.EncMode.Marshal(m)
		b2, _ := dcbor.EncMode.Marshal(again)
		if !bytes.Equal(a, b2) {
			t.Fatal("a message does not survive encoding")
		}
	})
}
