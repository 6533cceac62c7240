package tx

// NewBatch encodes readings as a batch transaction.
func NewBatch(readings [][]byte) []byte {
	return mustEncode([]any{KindBatch, readings})
}

// maxBatchElems is the most readings decodeSlow's CBOR decoder takes in one
// array (dcbor.DecMode's MaxArrayElements).
const maxBatchElems = 1 << 16

// decodeBatchFast splits a batch in the core deterministic encoding,
// [1, [bstr, ...]] with at least one reading, into its readings without
// copying them. It accepts nothing that decodeSlow refuses and returns the
// same readings; ok is false for any other input, which decodeSlow then
// judges. Batches are most of the bytes a node decodes: decodeSlow copies
// each one three times (the envelope, the readings, the re-encoding it
// compares with).
func decodeBatchFast(raw []byte) (rs [][]byte, ok bool) {
	if len(raw) < 3 || raw[0] != 0x82 || raw[1] != KindBatch { // array of 2, kind 1
		return nil, false
	}
	n, p, ok := cborHead(raw, 2, 4) // an array
	if !ok || n == 0 || n > maxBatchElems || n > uint64(len(raw)-p) {
		return nil, false
	}
	rs = make([][]byte, n)
	for i := range rs {
		l, q, ok := cborHead(raw, p, 2) // a byte string
		if !ok || l > uint64(len(raw)-q) {
			return nil, false
		}
		end := q + int(l)
		rs[i] = raw[q:end:end]
		p = end
	}
	return rs, p == len(raw)
}

// cborHead reads the head of a data item of the given major type at raw[p:]
// and returns its argument and where its content starts. ok is false unless
// the head is there, of that type, with a definite length in its shortest
// form (as the core deterministic encoding requires).
func cborHead(raw []byte, p int, major byte) (arg uint64, next int, ok bool) {
	if p >= len(raw) || raw[p]>>5 != major {
		return 0, 0, false
	}
	info := raw[p] & 0x1f
	p++
	var size int
	switch {
	case info < 24:
		return uint64(info), p, true
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	default: // reserved, or an indefinite length
		return 0, 0, false
	}
	if len(raw)-p < size {
		return 0, 0, false
	}
	for _, b := range raw[p : p+size] {
		arg = arg<<8 | uint64(b)
	}
	// Shortest form: a 1-byte argument is at least 24, a longer one needs
	// more than the next smaller size holds.
	if (size == 1 && arg < 24) || (size > 1 && arg>>(4*size) == 0) {
		return 0, 0, false
	}
	return arg, p + size, true
}
