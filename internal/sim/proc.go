package sim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the CPU time, user and system, the process has used so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("sim: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// peakRSS is the process's peak resident memory in bytes: VmHWM of
// /proc/self/status.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("sim: peak memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("sim: peak memory: VmHWM %q: %w", v, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("sim: peak memory: %w", err)
	}
	return 0, errors.New("sim: peak memory: no VmHWM in /proc/self/status")
}

// Stores are the parts of a node's data folder whose size Bench reports.
var Stores = []string{"iotledger.db", "blockstore.db", "cs.wal", "state.db", "evidence.db"}

// dataSizes returns the bytes under dir, in all and for each of Stores
// (a store that does not exist holds 0).
func dataSizes(dir string) (total int64, stores map[string]int64, err error) {
	stores = map[string]int64{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while the walk ran: a running node's temporary file
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		total += info.Size()
		rel, _ := filepath.Rel(dir, p)
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		stores[top] += info.Size()
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("sim: size of %s: %w", dir, err)
	}
	for top := range stores {
		if !isStore(top) {
			delete(stores, top)
		}
	}
	return total, stores, nil
}

func isStore(name string) bool {
	for _, s := range Stores {
		if s == name {
			return true
		}
	}
	return false
}

// profileShare returns, from a CPU profile as runtime/pprof writes it
// (gzipped profile.proto), the share of CPU time in samples whose label key
// has the value value.
func profileShare(prof []byte, key, value string) (float64, error) {
	zr, err := gzip.NewReader(bytes.NewReader(prof))
	if err != nil {
		return 0, fmt.Errorf("sim: cpu profile: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return 0, fmt.Errorf("sim: cpu profile: %w", err)
	}
	type label struct{ key, str int64 }
	type smpl struct {
		values []int64
		labels []label
	}
	var (
		samples []smpl
		strs    []string
		types   int // sample types seen
	)
	err = protoFields(b, func(field int, wire int, v uint64, data []byte) error {
		switch field {
		case 1: // sample_type
			types++
		case 2: // sample
			var s smpl
			err := protoFields(data, func(field int, wire int, v uint64, data []byte) error {
				switch {
				case field == 2 && wire == 0: // value, unpacked
					s.values = append(s.values, int64(v))
				case field == 2 && wire == 2: // value, packed
					for len(data) > 0 {
						x, n := binary.Uvarint(data)
						if n <= 0 {
							return errors.New("bad packed value")
						}
						s.values = append(s.values, int64(x))
						data = data[n:]
					}
				case field == 3 && wire == 2: // label
					var l label
					err := protoFields(data, func(field int, wire int, v uint64, _ []byte) error {
						switch field {
						case 1:
							l.key = int64(v)
						case 2:
							l.str = int64(v)
						}
						return nil
					})
					if err != nil {
						return err
					}
					s.labels = append(s.labels, l)
				}
				return nil
			})
			if err != nil {
				return err
			}
			samples = append(samples, s)
		case 6: // string_table
			strs = append(strs, string(data))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sim: cpu profile: %w", err)
	}
	// A CPU profile's values are [samples/count, cpu/nanoseconds].
	vi := min(1, max(types-1, 0))
	str := func(i int64) string {
		if i < 0 || i >= int64(len(strs)) {
			return ""
		}
		return strs[i]
	}
	var all, match int64
	for _, s := range samples {
		if vi >= len(s.values) {
			continue
		}
		all += s.values[vi]
		for _, l := range s.labels {
			if str(l.key) == key && str(l.str) == value {
				match += s.values[vi]
				break
			}
		}
	}
	if all == 0 {
		return 0, errors.New("sim: cpu profile has no samples")
	}
	return float64(match) / float64(all), nil
}

// protoFields calls fn for each field of a protocol buffers message: its
// number, wire type, and its value (varint, fixed) or bytes (length-delimited).
func protoFields(b []byte, fn func(field, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad tag")
		}
		b = b[n:]
		field, wire := int(tag>>3), int(tag&7)
		var v uint64
		var data []byte
		switch wire {
		case 0:
			v, n = binary.Uvarint(b)
			if n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return errors.New("short fixed64")
			}
			v, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errors.New("bad length")
			}
			data, b = b[n:n+int(l)], b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return errors.New("short fixed32")
			}
			v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		default:
			return fmt.Errorf("wire type %d", wire)
		}
		if err := fn(field, wire, v, data); err != nil {
			return err
		}
	}
	return nil
}

// fileReserve is the open files a process needs besides its MQTT
// connections: a node's stores, logs and listeners, and the load
// generator's HTTP connections.
const fileReserve = 1024

// checkOpenFiles checks that the process may open sockets MQTT sockets
// and fileReserve files more, raising its soft limit up to the hard one if
// that is needed and enough. what says who needs them; advice, what else
// to do than raise the limit.
func checkOpenFiles(sockets int, what, advice string) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // the connections will tell
	}
	need := uint64(sockets) + fileReserve
	if lim.Cur >= need {
		return nil
	}
	if lim.Max >= need {
		raised := lim
		raised.Cur = need
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return nil
		}
	}
	return fmt.Errorf("sim: %s needs about %d open files (%d MQTT sockets and %d for the rest), but this process may open %d (hard limit %d): raise the limit (ulimit -n %d, or LimitNOFILE in a systemd unit), %s",
		what, need, sockets, fileReserve, lim.Cur, lim.Max, need, advice)
}
