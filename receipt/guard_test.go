package receipt

import (
	"errors"
	"testing"
)

func TestGuardTurnsPanicIntoFailure(t *testing.T) {
	detail, err := guard(func() (string, error) {
		var m map[string]int
		m["x"] = 1 // panics
		return "passed", nil
	})
	if !errors.Is(err, errPanic) {
		t.Errorf("error %v, want %v", err, errPanic)
	}
	if detail != "" {
		t.Errorf("detail %q after a panic, want none", detail)
	}
}
