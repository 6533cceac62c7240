package node

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTrimWAL(t *testing.T) {
	tests := []struct {
		name        string
		keep        int64
		wantLeft    []string
		wantRemoved int64
	}{
		{"under the limit", 100, []string{"other", "wal", "wal.000", "wal.001", "wal.002", "wal.003", "wal.004", "wal.005", "wal.x"}, 0},
		{"oldest first", 35, []string{"other", "wal", "wal.004", "wal.005", "wal.x"}, 40},
		{"exactly at the limit", 70, []string{"other", "wal", "wal.000", "wal.001", "wal.002", "wal.003", "wal.004", "wal.005", "wal.x"}, 0},
		{"head and newest rotated always stay", 1, []string{"other", "wal", "wal.005", "wal.x"}, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			// Seven WAL files of 10 bytes (head and six rotated), and two
			// files that are not part of the group.
			for _, name := range []string{"wal", "wal.000", "wal.001", "wal.002", "wal.003", "wal.004", "wal.005", "wal.x", "other"} {
				if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 10), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			removed, err := trimWAL(filepath.Join(dir, "wal"), tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			if removed != tt.wantRemoved {
				t.Errorf("removed %d bytes, want %d", removed, tt.wantRemoved)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, e := range entries {
				left = append(left, e.Name())
			}
			slices.Sort(left)
			if diff := cmp.Diff(left, tt.wantLeft); diff != "" {
				t.Errorf("files left (-got +want):\n%s", diff)
			}
		})
	}
}

func TestTrimWALNoFolder(t *testing.T) {
	removed, err := trimWAL(filepath.Join(t.TempDir(), "cs.wal", "wal"), 1)
	if err != nil || removed != 0 {
		t.Errorf("trimWAL of a missing folder = %d, %v; want 0, nil", removed, err)
	}
}
