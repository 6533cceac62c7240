package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/dcbor"
)

const (
	// Format is the snapshot format this package writes and reads.
	Format uint32 = 1
	// DefaultChunkSize is the size a chunk is cut at: well below CometBFT's 16 MB
	// limit on a chunk message, and small enough that a chunk refetched
	// after a bad peer costs little.
	DefaultChunkSize = 4 << 20
	// maxRecord bounds one key and value, so that a chunk always fits a
	// CometBFT chunk message.
	maxRecord = 12 << 20
)

var (
	// ErrNotFound reports a snapshot or chunk the store does not hold.
	ErrNotFound = errors.New("snapshot: not found")
	// ErrMalformed reports a chunk or metadata that does not decode.
	ErrMalformed = errors.New("snapshot: malformed")
)

// Metadata describes a snapshot; its encoding is what CometBFT carries as
// the snapshot's metadata, and its SHA-256 is the snapshot's hash.
type Metadata struct {
	Height  int64    `cbor:"1,keyasint"`
	AppHash []byte   `cbor:"2,keyasint"` // the app hash after block Height
	ChainID string   `cbor:"3,keyasint"`
	Chunks  [][]byte `cbor:"4,keyasint"` // SHA-256 of each chunk, in order
	Keys    uint64   `cbor:"5,keyasint"` // records in all chunks
	Bytes   uint64   `cbor:"6,keyasint"` // bytes of all chunks
}

// Encode is the deterministic CBOR encoding of m.
func (m *Metadata) Encode() []byte {
	b, err := dcbor.EncMode.Marshal(m)
	if err != nil {
		panic("snapshot: encode metadata: " + err.Error())
	}
	return b
}

// DecodeMetadata decodes and checks metadata received from a peer.
func DecodeMetadata(b []byte) (*Metadata, error) {
	var m Metadata
	if err := dcbor.DecMode.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrMalformed, err)
	}
	if m.Height < 1 || len(m.Chunks) == 0 || len(m.AppHash) != sha256.Size {
		return nil, fmt.Errorf("%w: metadata of height %d with %d chunks and a %d-byte app hash", ErrMalformed, m.Height, len(m.Chunks), len(m.AppHash))
	}
	for i, h := range m.Chunks {
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("%w: metadata: hash of chunk %d is %d bytes", ErrMalformed, i, len(h))
		}
	}
	return &m, nil
}

// Hash is a snapshot's hash: the SHA-256 of its encoded metadata.
func Hash(metadata []byte) []byte {
	h := sha256.Sum256(metadata)
	return h[:]
}

// Info is a stored snapshot as CometBFT lists it.
type Info struct {
	Height   int64
	Format   uint32
	Chunks   uint32
	Hash     []byte
	Metadata []byte
	Bytes    uint64
	Keys     uint64
	Took     time.Duration // time to write it (Create only)
}

// Decode calls fn with each record of a chunk, in order. The slices are
// the chunk's own: copy them to keep them.
func Decode(chunk []byte, fn func(key, value []byte) error) error {
	for len(chunk) > 0 {
		var rec [2][]byte
		for i := range rec {
			n, w := binary.Uvarint(chunk)
			if w <= 0 || n > uint64(len(chunk)-w) {
				return fmt.Errorf("%w: chunk record framing", ErrMalformed)
			}
			rec[i], chunk = chunk[w:w+int(n)], chunk[w+int(n):]
		}
		if len(rec[0]) == 0 {
			return fmt.Errorf("%w: chunk record with an empty key", ErrMalformed)
		}
		if err := fn(rec[0], rec[1]); err != nil {
			return err
		}
	}
	return nil
}

// Store is a folder of snapshots. Its methods are safe for concurrent use.
type Store struct {
	// ChunkSize is the size chunks are cut at; 0 means DefaultChunkSize.
	// Set it before the first Create.
	ChunkSize int

	dir string
	mu  sync.Mutex // serialises renames and pruning with listing
}

// Open opens (creating it if needed) the snapshot folder dir, removing
// snapshots left half-written by a crash.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "tmp-") {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("snapshot: remove unfinished %s: %w", e.Name(), err)
			}
		}
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

func snapName(height int64, format uint32) string { return fmt.Sprintf("%020d-%d", height, format) }

func chunkName(i int) string { return fmt.Sprintf("%06d.chunk", i) }

// Create writes a snapshot of height from it, an iterator over the whole
// store at that height (positioned anywhere; Create starts at First). It
// returns the stored snapshot. ctx cancels it, leaving nothing behind.
func (s *Store) Create(ctx context.Context, height int64, appHash []byte, chainID string, it *pebble.Iterator) (info *Info, err error) {
	began := time.Now()
	tmp, err := os.MkdirTemp(s.dir, "tmp-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	m := &Metadata{Height: height, AppHash: appHash, ChainID: chainID}
	size := s.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	buf := make([]byte, 0, size+64<<10)
	flush := func() error {
		h := sha256.Sum256(buf)
		if err := writeSynced(filepath.Join(tmp, chunkName(len(m.Chunks))), buf); err != nil {
			return err
		}
		m.Chunks = append(m.Chunks, h[:])
		m.Bytes += uint64(len(buf))
		buf = buf[:0]
		return nil
	}
	for ok := it.First(); ok; ok = it.Next() {
		if m.Keys%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("snapshot: read %q: %w", k, err)
		}
		if len(k)+len(v) > maxRecord {
			return nil, fmt.Errorf("snapshot: record %q is %d bytes, more than a chunk may hold (%d)", k, len(k)+len(v), maxRecord)
		}
		rec := binary.MaxVarintLen64*2 + len(k) + len(v)
		if len(buf) > 0 && len(buf)+rec > size {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
		m.Keys++
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("snapshot: iterate the store: %w", err)
	}
	if len(buf) > 0 || len(m.Chunks) == 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	md := m.Encode()
	if err := writeSynced(filepath.Join(tmp, "metadata"), md); err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	final := filepath.Join(s.dir, snapName(height, Format))
	if err := os.RemoveAll(final); err != nil { // a snapshot of the same height from before a crash
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return nil, err
	}
	return &Info{Height: height, Format: Format, Chunks: uint32(len(m.Chunks)), Hash: Hash(md), Metadata: md,
		Bytes: m.Bytes, Keys: m.Keys, Took: time.Since(began)}, nil
}

// writeSynced writes a file and syncs it, so that a snapshot renamed into
// place after a crash holds what its metadata says.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("snapshot: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("snapshot: sync %s: %w", dir, err)
	}
	return nil
}

// List returns the stored snapshots, newest first. A snapshot whose
// metadata cannot be read is left out.
func (s *Store) List() ([]*Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list()
}

func (s *Store) list() ([]*Info, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	var out []*Info
	for _, e := range entries {
		h, f, ok := parseName(e.Name())
		if !ok || f != Format {
			continue
		}
		md, err := os.ReadFile(filepath.Join(s.dir, e.Name(), "metadata"))
		if err != nil {
			continue
		}
		m, err := DecodeMetadata(md)
		if err != nil || m.Height != h {
			continue
		}
		out = append(out, &Info{Height: h, Format: f, Chunks: uint32(len(m.Chunks)), Hash: Hash(md), Metadata: md, Bytes: m.Bytes, Keys: m.Keys})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Height > out[j].Height })
	return out, nil
}

func parseName(name string) (int64, uint32, bool) {
	hs, fs, ok := strings.Cut(name, "-")
	if !ok || len(hs) != 20 {
		return 0, 0, false
	}
	h, err1 := strconv.ParseInt(hs, 10, 64)
	f, err2 := strconv.ParseUint(fs, 10, 32)
	return h, uint32(f), err1 == nil && err2 == nil
}

// Chunk returns chunk index of the snapshot of height in format, or
// ErrNotFound.
func (s *Store) Chunk(height int64, format uint32, index uint32) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, snapName(height, format), chunkName(int(index))))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: chunk %d of the snapshot of height %d", ErrNotFound, index, height)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return b, nil
}

// Prune removes all but the keep newest snapshots.
func (s *Store) Prune(keep int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.list()
	if err != nil {
		return err
	}
	for i, in := range all {
		if i < keep {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, snapName(in.Height, in.Format))); err != nil {
			return fmt.Errorf("snapshot: prune: %w", err)
		}
	}
	return nil
}
