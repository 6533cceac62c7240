package device

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Names in the state folder; see the package documentation.
const (
	seqName    = "seq"
	lockName   = "lock"
	outboxName = "outbox"
	deadName   = "dead"
	readingExt = ".cose"
	reasonExt  = ".json"
	tmpExt     = ".tmp"
)

// outbox is the folder of readings not yet answered, and beside it the
// dead-letter folder. It knows nothing of the queue in memory.
type outbox struct {
	dir  string // outbox/
	dead string // dead/
}

func openOutbox(stateDir string) (*outbox, error) {
	b := &outbox{dir: filepath.Join(stateDir, outboxName), dead: filepath.Join(stateDir, deadName)}
	for _, d := range []string{b.dir, b.dead} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("device: outbox: %w", err)
		}
	}
	return b, nil
}

// fileName is the name of reading seq: 20 digits, so names sort by number.
func fileName(seq uint64, ext string) string { return fmt.Sprintf("%020d%s", seq, ext) }

// parseName returns the sequence number of a reading file name.
func parseName(name, ext string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// list returns the sequence numbers in the outbox, ascending, and removes
// the temporary files a crash left.
func (b *outbox) list() ([]uint64, error) {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("device: outbox: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), tmpExt) {
			if err := os.Remove(filepath.Join(b.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("device: outbox: remove leftover: %w", err)
			}
			continue
		}
		if seq, ok := parseName(e.Name(), readingExt); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// keep writes reading seq to the outbox, durably.
func (b *outbox) keep(seq uint64, raw []byte) error {
	if err := writeFileSync(filepath.Join(b.dir, fileName(seq, readingExt)), raw); err != nil {
		return fmt.Errorf("device: outbox: %w", err)
	}
	return nil
}

// drop removes reading seq from the outbox, durably.
func (b *outbox) drop(seq uint64) error {
	if err := b.remove(seq); err != nil {
		return err
	}
	return b.sync()
}

// read returns the bytes of reading seq.
func (b *outbox) read(seq uint64) ([]byte, error) {
	return os.ReadFile(filepath.Join(b.dir, fileName(seq, readingExt)))
}

// remove removes reading seq; sync makes removals durable.
func (b *outbox) remove(seq uint64) error {
	err := os.Remove(filepath.Join(b.dir, fileName(seq, readingExt)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("device: outbox: %w", err)
	}
	return nil
}

func (b *outbox) sync() error {
	if err := syncDir(b.dir); err != nil {
		return fmt.Errorf("device: outbox: %w", err)
	}
	return nil
}

// deadReason is the JSON beside a dead letter.
type deadReason struct {
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// bury moves reading seq to the dead-letter folder with why it was
// rejected: the reason first, so a crash in between leaves the reading in
// the outbox (to be sent and rejected again), never a reading without a
// reason. The outbox's removal is made durable by the caller's sync.
func (b *outbox) bury(seq uint64, reason, detail string) error {
	j, err := json.Marshal(deadReason{Seq: seq, Reason: reason, Detail: detail})
	if err != nil {
		return fmt.Errorf("device: dead letter %d: %w", seq, err)
	}
	if err := writeFileSync(filepath.Join(b.dead, fileName(seq, reasonExt)), append(j, '\n')); err != nil {
		return fmt.Errorf("device: dead letter %d: %w", seq, err)
	}
	from, to := filepath.Join(b.dir, fileName(seq, readingExt)), filepath.Join(b.dead, fileName(seq, readingExt))
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("device: dead letter %d: %w", seq, err)
	}
	if err := syncDir(b.dead); err != nil {
		return fmt.Errorf("device: dead letter %d: %w", seq, err)
	}
	return nil
}

// DeadLetter is a reading the ledger rejected, kept in the dead-letter
// folder with why.
type DeadLetter struct {
	Seq    uint64
	Reason string // the ledger's reason code, such as bad_signature
	Detail string // what was wrong, for a person
	Raw    []byte // the reading as signed
}

// deadLetters reads the dead-letter folder, in sequence order.
func (b *outbox) deadLetters() ([]DeadLetter, error) {
	ents, err := os.ReadDir(b.dead)
	if err != nil {
		return nil, fmt.Errorf("device: dead letters: %w", err)
	}
	var out []DeadLetter
	for _, e := range ents {
		seq, ok := parseName(e.Name(), readingExt)
		if !ok {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(b.dead, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("device: dead letters: %w", err)
		}
		d := DeadLetter{Seq: seq, Raw: raw}
		j, err := os.ReadFile(filepath.Join(b.dead, fileName(seq, reasonExt)))
		var r deadReason
		switch {
		case err == nil && json.Unmarshal(j, &r) == nil:
			d.Reason, d.Detail = r.Reason, r.Detail
		case err == nil:
			d.Reason = "unknown"
			d.Detail = "the reason file is not JSON"
		default:
			d.Reason = "unknown"
			d.Detail = err.Error()
		}
		out = append(out, d)
	}
	return out, nil
}

// writeFileSync writes b to path atomically and durably: path.tmp, fsync,
// rename over path, fsync of the folder. It creates the folder if needed.
func writeFileSync(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the entries of folder dir (a create, rename or removal)
// durable. On Windows a folder cannot be synced; there it is a no-op.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
