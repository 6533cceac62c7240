package device_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/reading"
)

func Example() {
	// A real device keeps a random seed in secure storage and its sequence
	// state in a file (the third argument); "" keeps it in memory.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s, err := device.NewSigner(key, "", "")
	if err != nil {
		fmt.Println(err)
		return
	}

	data, err := device.ParseData([]string{"temp=21.5", "door=closed"})
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)
	for range 2 {
		raw, seq, err := s.Sign(data, at)
		if err != nil {
			fmt.Println(err)
			return
		}
		// Anyone with the device's public key can check the reading.
		r, err := reading.Decode(raw)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("device %s... seq %d temp %v verify: %v\n", s.ID()[:12], seq, r.Data["temp"], r.Verify(key.Public().(ed25519.PublicKey)))
	}
	fmt.Println("next:", s.Next())
	// Output:
	// device dev1zw0rjs8x... seq 1 temp 21.5 verify: <nil>
	// device dev1zw0rjs8x... seq 2 temp 21.5 verify: <nil>
	// next: 3
}

// memoryLedger is a Transport that keeps readings in memory the way a node
// keeps them in its log: the first copy of a sequence number is accepted,
// any later copy is a duplicate that points to the first.
type memoryLedger struct {
	mu  sync.Mutex
	log map[uint64]uint64 // seq -> index in the log
}

func (l *memoryLedger) Send(ctx context.Context, raws [][]byte) ([]device.Answer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	answers := make([]device.Answer, len(raws))
	for i, raw := range raws {
		r, err := reading.Decode(raw)
		if err != nil {
			answers[i] = device.Answer{Status: device.Rejected, Reason: "malformed_reading", Detail: err.Error()}
			continue
		}
		if idx, ok := l.log[r.Seq]; ok {
			answers[i] = device.Answer{Status: device.Duplicate, Index: idx}
			continue
		}
		l.log[r.Seq] = uint64(len(l.log))
		answers[i] = device.Answer{Status: device.Accepted, Index: l.log[r.Seq]}
	}
	return answers, nil
}

func ExampleSender() {
	// The state folder keeps the sequence number, the outbox and the dead
	// letters; a device keeps it on storage that survives a power cut.
	dir, err := os.MkdirTemp("", "device-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	// A real device sends with device.NewHTTP(client.New(nodeURL)).
	ledger := &memoryLedger{log: map[uint64]uint64{}}
	ctx := context.Background()

	s, err := device.NewSender(device.Options{Key: key, Dir: dir, Transport: ledger})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		// Once Record returns, the reading is on disk: it will reach the
		// ledger even if the device loses power now.
		seq, err := s.Record(ctx, map[string]any{"temp": 20.5 + float64(i)}, at.Add(time.Duration(i)*time.Minute))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("recorded seq", seq)
	}
	// Flush waits until the ledger has acknowledged all of them.
	if err := s.Flush(ctx); err != nil {
		fmt.Println(err)
		return
	}
	st := s.Stats()
	fmt.Printf("acknowledged %d, duplicates %d, rejected %d, left in the outbox %d\n", st.Acknowledged, st.Duplicates, st.Rejected, st.Outbox)
	if err := s.Close(); err != nil {
		fmt.Println(err)
		return
	}

	// After a restart, a Sender on the same folder continues the numbers.
	s, err = device.NewSender(device.Options{Key: key, Dir: dir, Transport: ledger})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	fmt.Println("next seq after restart:", s.Next())
	// Output:
	// recorded seq 1
	// recorded seq 2
	// recorded seq 3
	// acknowledged 3, duplicates 0, rejected 0, left in the outbox 0
	// next seq after restart: 4
}

// A device sends its readings over MQTT to the broker of a node on this
// machine. (No output: it needs a running node with the device registered.)
func ExampleNewMQTT() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // a real device keeps a random seed
	tr, err := device.NewMQTT(device.MQTTOptions{URL: "tcp://127.0.0.1:1883", Key: key})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	s, err := device.NewSender(device.Options{Key: key, Dir: "/var/lib/sensor", Transport: tr})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := s.Record(ctx, map[string]any{"temp": 21.5}, time.Now()); err != nil {
		fmt.Println(err)
	}
}
