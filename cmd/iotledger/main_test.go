package main_test

import (
	"os"
	"testing"

	"github.com/iotledger/iotledger/internal/testonly"
)

// TestMain removes the binary the end-to-end tests built.
func TestMain(m *testing.M) { os.Exit(testonly.Main(m)) }
