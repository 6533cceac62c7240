package mqtt

import (
	"context"
	"fmt"
	"time"

	"github.com/iotledger/iotledger/verdict"
)

// gatherMax is the most readings one Submit call carries.
const gatherMax = 1024

// A gatherer that finds fewer than gatherMin readings waiting waits up to
// gatherLinger for more. Batch verification costs a reading about half of
// what a single verification does once a call carries a few dozen, and
// under load the single-reading calls cost a node a tenth of its CPU
// (bench --via mqtt --cpuprofile); two milliseconds are nothing against a
// block interval, and under light load a call still carries one reading.
const (
	gatherMin    = 64
	gatherLinger = 2 * time.Millisecond
)

// gathered is a reading waiting for a Submit call, and where its result
// goes.
type gathered struct {
	raw  []byte
	done chan gatherResult // capacity 1
}

type gatherResult struct {
	r   verdict.Verdict
	err error
}

// startGathering starts the goroutines that gather the readings of many
// connections into one Submit call: b.gatherers of them, one per core, as
// ingest checks one call per core at once. A call verifies its readings together (batch
// verification on all cores), so one call per reading would hold the
// intake far below what the node commits. Under light load a call carries
// the one reading that is waiting, so gathering adds no delay; under heavy
// load the readings that arrive while a call runs make the next one, and
// a call with few readings waits gatherLinger for more.
func (b *Broker) startGathering() {
	for range b.gatherers {
		b.wg.Go(b.runGather)
	}
	b.gathering.Store(true)
}

// submitOne hands one reading to Submit, gathered with others once Start
// has run (directly before: tests call the broker's parts unstarted).
func (b *Broker) submitOne(ctx context.Context, raw []byte) ([]verdict.Verdict, error) {
	if !b.gathering.Load() {
		return b.deps.Submit(ctx, [][]byte{raw}, false)
	}
	g := &gathered{raw: raw, done: make(chan gatherResult, 1)}
	select {
	case b.gather <- g:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.ctx.Done():
		return nil, b.ctx.Err()
	}
	select {
	case res := <-g.done:
		if res.err != nil {
			return nil, res.err
		}
		return []verdict.Verdict{res.r}, nil
	case <-b.ctx.Done(): // the gatherers stopped
		return nil, b.ctx.Err()
	}
}

// runGather submits what is waiting, a call at a time, until Close.
func (b *Broker) runGather() {
	batch := make([]*gathered, 0, gatherMax)
	raws := make([][]byte, 0, gatherMax)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		batch = batch[:0]
		select {
		case <-b.ctx.Done():
			return
		case g := <-b.gather:
			batch = append(batch, g)
		}
	more:
		for len(batch) < gatherMax {
			select {
			case g := <-b.gather:
				batch = append(batch, g)
			default:
				break more
			}
		}
		if len(batch) < gatherMin {
			linger.Reset(gatherLinger)
		wait:
			for len(batch) < gatherMin {
				select {
				case g := <-b.gather:
					batch = append(batch, g)
				case <-linger.C:
					break wait
				case <-b.ctx.Done():
					break wait
				}
			}
			linger.Stop()
		}
		raws = raws[:0]
		for _, g := range batch {
			raws = append(raws, g.raw)
		}
		rs, err := b.deps.Submit(b.ctx, raws, false)
		if err == nil && len(rs) != len(raws) {
			b.log.Error("mqtt: Submit returned the wrong number of results", "want", len(raws), "got", len(rs))
			err = fmt.Errorf("mqtt: Submit returned %d results for %d readings", len(rs), len(raws))
		}
		for i, g := range batch {
			if err != nil {
				g.done <- gatherResult{err: err}
			} else {
				g.done <- gatherResult{r: rs[i]}
			}
		}
	}
}
