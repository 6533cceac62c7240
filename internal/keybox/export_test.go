package keybox

// EncodeWants encodes a want message of slots, unchecked, as a peer
// would send it.
func EncodeWants(slots []Slot) []byte {
	ws := make([]wireSlot, len(slots))
	for i, s := range slots {
		ws[i] = wireSlot{Device: s.Device, Epoch: s.Epoch, Recipient: s.Recipient}
	}
	return encodeMessage(&message{Wants: ws})
}
