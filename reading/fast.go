package reading

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/x448/float16"

	"github.com/iotledger/iotledger/address"
)

// The fast path. Almost every reading a node sees is one Sign made (or any
// COSE library writing the deterministic encoding): decodeFast takes those
// apart by hand, with no reflection and no copies (the parts are sub-slices
// of raw), and leaves everything else to decodeSlow, the reference, which
// is also where every refusal gets its message. decodeFast accepts nothing
// that decodeSlow refuses and returns the same reading (FuzzDecodeFast
// checks this against the reference), so it changes speed only.

// decodeFast decodes a deterministically encoded COSE_Sign1 whose protected
// header is exactly {1: -8, 4: kid} and whose payload is a deterministically
// encoded map {1: device, 2: seq, 3: time, 4: data} or {1: device, 2: seq,
// 3: time, 4: data, 5: sealed} of what Sign writes. ok
// is false for any other input, which decodeSlow then judges.
func decodeFast(raw []byte) (s *Signed, ok bool) {
	f, ok := scanFast(raw, true)
	if !ok {
		return nil, false
	}
	return &Signed{Reading: f.r, Raw: raw, Signature: f.sig, protected: f.p, payload: f.pl}, true
}

// Peek reads the device id (the kid, as text) and the sequence number of
// a reading in the deterministic form Sign writes, without building the
// reading: for a gateway that routes or checks readings by device and seq
// and hands the bytes on. ok is true exactly when Decode would take raw by
// its fast path, so a reading Peek reads is one Decode accepts, with that
// device and seq; for any other input (a reading in another valid
// encoding, or none) ok is false and Decode tells. device is a sub-slice
// of raw.
func Peek(raw []byte) (device []byte, seq uint64, ok bool) {
	if len(raw) > MaxSize {
		return nil, 0, false
	}
	f, ok := scanFast(raw, false)
	if !ok {
		return nil, 0, false
	}
	return f.kid, f.r.Seq, true
}

// fastParts are the parts of a reading scanFast took apart: sub-slices of
// raw, and the reading (Device and Data set only when built).
type fastParts struct {
	p, pl, sig, kid []byte
	r               Reading
}

// scanFast takes apart and checks what decodeFast decodes; with data it
// builds the data map too, else it only checks it.
func scanFast(raw []byte, data bool) (f fastParts, ok bool) {
	if len(raw) < 2 || raw[0] != 0xd2 || raw[1] != 0x84 { // tag 18, COSE_Sign1; an array of 4
		return f, false
	}
	p, pos, ok := cborBytes(raw, 2, 2)
	if !ok || pos >= len(raw) || raw[pos] != 0xa0 { // the unprotected header: an empty map
		return f, false
	}
	pl, pos, ok := cborBytes(raw, pos+1, 2)
	if !ok {
		return f, false
	}
	sig, pos, ok := cborBytes(raw, pos, 2)
	if !ok || pos != len(raw) || len(sig) == 0 {
		return f, false
	}
	// The protected header: {1: -8, 4: kid}, kid a byte string.
	if len(p) < 4 || p[0] != 0xa2 || p[1] != 0x01 || p[2] != 0x27 || p[3] != 0x04 {
		return f, false
	}
	kid, end, ok := cborBytes(p, 4, 2)
	if !ok || end != len(p) {
		return f, false
	}
	r, dev, ok := decodePayloadFast(pl, data)
	if !ok || !bytes.Equal(kid, dev) {
		return f, false
	}
	return fastParts{p: p, pl: pl, sig: sig, kid: kid, r: r}, true
}

// decodePayloadFast decodes a payload in the deterministic encoding of what
// Sign writes: the map {1: device, 2: seq, 3: time, 4: data or null,
// optionally 5: sealed}, data a map of valid field names to integers in the
// int64 range, unsigned integers, finite floats, text or bools, keys in the
// deterministic order, sealed as cborSealed reads it.
// It returns the device id as the payload's bytes too, and builds r.Device
// and r.Data only with data; without, it checks the same.
func decodePayloadFast(pl []byte, data bool) (r Reading, dev []byte, ok bool) {
	if len(pl) < 5 || (pl[0] != 0xa4 && pl[0] != 0xa5) || pl[1] != 0x01 { // a map of 4 or 5; key 1
		return r, nil, false
	}
	sealed := pl[0] == 0xa5
	dev, pos, ok := cborText(pl, 2)
	if !ok || pos >= len(pl) || pl[pos] != 0x02 {
		return r, nil, false
	}
	if r.Seq, pos, ok = cborHead(pl, pos+1, 0); !ok || pos >= len(pl) || pl[pos] != 0x03 {
		return r, nil, false
	}
	if r.Time, pos, ok = cborInt64(pl, pos+1); !ok || pos >= len(pl) || pl[pos] != 0x04 {
		return r, nil, false
	}
	pos++
	if pos < len(pl) && pl[pos] == 0xf6 { // null: no data
		pos++
	} else {
		n, next, ok := cborHead(pl, pos, 5)
		if !ok || n > MaxFields {
			return r, nil, false
		}
		pos = next
		if data {
			r.Data = make(map[string]any, n)
		}
		var prev []byte // the previous key as encoded: keys must ascend, so none repeats
		for range n {
			k, next, ok := cborText(pl, pos)
			if !ok || len(k) == 0 || len(k) > MaxFieldLen || (prev != nil && bytes.Compare(pl[pos:next], prev) <= 0) {
				return r, nil, false
			}
			prev = pl[pos:next]
			if !data {
				if pos, ok = cborValueEnd(pl, next); !ok {
					return r, nil, false
				}
				continue
			}
			var v any
			if v, pos, ok = cborValue(pl, next); !ok {
				return r, nil, false
			}
			r.Data[string(k)] = v
		}
	}
	if sealed {
		epoch, nonce, ct, next, ok := cborSealed(pl, pos)
		if !ok {
			return r, nil, false
		}
		if data {
			r.Sealed = &Sealed{Epoch: epoch, Nonce: nonce, Ciphertext: ct}
		}
		pos = next
	}
	if pos != len(pl) {
		return r, nil, false
	}
	id := string(dev) // one copy: the reading's Device
	if address.ParseDevice(id) != nil {
		return r, nil, false
	}
	if data {
		r.Device = id
	}
	return r, dev, true
}

// cborSealed decodes payload key 5 and its value at b[pos:], in the
// deterministic encoding: 5: {1: epoch (at least 1), 2: nonce (NonceSize
// bytes), 3: ciphertext (at least TagSize bytes)}. The nonce and the
// ciphertext are sub-slices of b.
func cborSealed(b []byte, pos int) (epoch uint64, nonce, ct []byte, next int, ok bool) {
	if len(b)-pos < 4 || b[pos] != 0x05 || b[pos+1] != 0xa3 || b[pos+2] != 0x01 { // key 5; a map of 3; key 1
		return 0, nil, nil, 0, false
	}
	epoch, pos, ok = cborHead(b, pos+3, 0)
	if !ok || epoch == 0 || pos >= len(b) || b[pos] != 0x02 {
		return 0, nil, nil, 0, false
	}
	nonce, pos, ok = cborBytes(b, pos+1, 2)
	if !ok || len(nonce) != NonceSize || pos >= len(b) || b[pos] != 0x03 {
		return 0, nil, nil, 0, false
	}
	ct, pos, ok = cborBytes(b, pos+1, 2)
	if !ok || len(ct) < TagSize {
		return 0, nil, nil, 0, false
	}
	return epoch, nonce, ct, pos, true
}

// cborValueEnd checks a data value as cborValue decodes it and returns
// where it ends, without building it.
func cborValueEnd(b []byte, pos int) (next int, ok bool) {
	if pos >= len(b) {
		return 0, false
	}
	switch c := b[pos]; {
	case c>>5 == 0:
		_, next, ok = cborHead(b, pos, 0)
	case c>>5 == 1:
		_, next, ok = cborInt64(b, pos)
	case c>>5 == 3:
		_, next, ok = cborText(b, pos)
	case c == 0xf4 || c == 0xf5:
		next, ok = pos+1, true
	case c == 0xf9 || c == 0xfa || c == 0xfb:
		_, next, ok = cborFloat(b, pos)
	}
	return next, ok
}

// cborValue decodes a data value: an integer, a finite float, text or a bool.
func cborValue(b []byte, pos int) (v any, next int, ok bool) {
	if pos >= len(b) {
		return nil, 0, false
	}
	switch c := b[pos]; {
	case c>>5 == 0:
		u, next, ok := cborHead(b, pos, 0)
		if !ok {
			return nil, 0, false
		}
		if u <= math.MaxInt64 {
			return int64(u), next, true
		}
		return u, next, true
	case c>>5 == 1:
		i, next, ok := cborInt64(b, pos)
		return i, next, ok
	case c>>5 == 3:
		t, next, ok := cborText(b, pos)
		return string(t), next, ok
	case c == 0xf4 || c == 0xf5:
		return c == 0xf5, pos + 1, true
	case c == 0xf9 || c == 0xfa || c == 0xfb:
		f, next, ok := cborFloat(b, pos)
		return f, next, ok
	}
	return nil, 0, false
}

// cborFloat decodes a finite float of half, single or double precision.
func cborFloat(b []byte, pos int) (f float64, next int, ok bool) {
	size := 2 << (b[pos] - 0xf9) // half, single, double precision
	if len(b)-pos-1 < size {
		return 0, 0, false
	}
	var bits uint64
	for _, x := range b[pos+1 : pos+1+size] {
		bits = bits<<8 | uint64(x)
	}
	switch size {
	case 2:
		f = float64(float16.Frombits(uint16(bits)).Float32())
	case 4:
		f = float64(math.Float32frombits(uint32(bits)))
	default:
		f = math.Float64frombits(bits)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, 0, false
	}
	return f, pos + 1 + size, true
}

// cborInt64 decodes an integer, unsigned or negative, in the int64 range.
func cborInt64(b []byte, pos int) (i int64, next int, ok bool) {
	if pos >= len(b) {
		return 0, 0, false
	}
	major := b[pos] >> 5
	if major > 1 {
		return 0, 0, false
	}
	u, next, ok := cborHead(b, pos, major)
	if !ok || u > math.MaxInt64 {
		return 0, 0, false
	}
	if major == 1 {
		return -1 - int64(u), next, true
	}
	return int64(u), next, true
}

// cborText returns the content of a valid UTF-8 text string at b[pos:].
func cborText(b []byte, pos int) (t []byte, next int, ok bool) {
	t, next, ok = cborBytes(b, pos, 3)
	return t, next, ok && utf8.Valid(t)
}

// cborBytes returns the content of a byte (major 2) or text (major 3)
// string at b[pos:], a sub-slice of b.
func cborBytes(b []byte, pos int, major byte) (content []byte, next int, ok bool) {
	n, pos, ok := cborHead(b, pos, major)
	if !ok || n > uint64(len(b)-pos) {
		return nil, 0, false
	}
	end := pos + int(n)
	return b[pos:end:end], end, true
}

// cborHead reads the head of a data item of the given major type at b[pos:]
// and returns its argument and where its content starts. ok is false unless
// the head is there, of that type, with a definite argument in its shortest
// form, as the core deterministic encoding requires.
func cborHead(b []byte, pos int, major byte) (arg uint64, next int, ok bool) {
	if pos >= len(b) || b[pos]>>5 != major {
		return 0, 0, false
	}
	info := b[pos] & 0x1f
	pos++
	var size int
	switch info {
	case 24:
		size = 1
	case 25:
		size = 2
	case 26:
		size = 4
	case 27:
		size = 8
	default:
		if info < 24 {
			return uint64(info), pos, true
		}
		return 0, 0, false // reserved, or an indefinite length
	}
	if len(b)-pos < size {
		return 0, 0, false
	}
	for _, x := range b[pos : pos+size] {
		arg = arg<<8 | uint64(x)
	}
	if (size == 1 && arg < 24) || (size > 1 && arg>>(4*size) == 0) {
		return 0, 0, false // not the shortest form
	}
	return arg, pos + size, true
}
