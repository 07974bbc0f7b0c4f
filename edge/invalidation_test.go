package edge

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moviequery/internal/tags"
)

// TestFillBeforeInvalidationNeverServed runs a writer, fills and readers
// against one generations table in many random interleavings. The writer
// changes the data, then applies its invalidation; a fill notes the
// generation, reads the data and stores what it read. A reader that knows
// invalidation k has been applied must never find a valid entry older
// than version k, whenever the fill that stored it ran.
func TestFillBeforeInvalidationNeverServed(t *testing.T) {
	type stored struct {
		generation uint64
		version    int64
	}
	deps := []uint64{tags.Hash(tags.Year(1994))}

	for round := range 300 {
		gens := newGenerations()
		var data, applied atomic.Int64
		var cached atomic.Pointer[stored]
		var wg sync.WaitGroup
		var failures atomic.Int64

		yield := func(rng *rand.Rand) {
			if rng.IntN(3) == 0 {
				runtime.Gosched()
			}
		}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(round), 0))
			for v := int64(1); v <= 30; v++ {
				data.Store(v)
				yield(rng)
				gens.invalidate(deps, time.Now())
				applied.Store(v)
				yield(rng)
			}
		})
		for filler := range 3 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(filler+1)))
				for range 40 {
					generation := gens.current()
					yield(rng)
					read := data.Load()
					yield(rng)
					cached.Store(&stored{generation: generation, version: read})
				}
			})
		}
		for reader := range 2 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(reader+10)))
				for range 100 {
					floor := applied.Load()
					if e := cached.Load(); e != nil && gens.valid(deps, e.generation) && e.version < floor {
						failures.Add(1)
					}
					yield(rng)
				}
			})
		}
		wg.Wait()
		if n := failures.Load(); n > 0 {
			t.Fatalf("round %d: %d reads found a valid entry older than an applied invalidation", round, n)
		}
	}
}

func TestGenerationsPurgeAllAndForget(t *testing.T) {
	gens := newGenerations()
	year, genre := []uint64{tags.Hash(tags.Year(1994))}, []uint64{tags.Hash(tags.Genre("drama"))}
	filled := gens.current()

	gens.invalidate(genre, time.Now())
	if !gens.valid(year, filled) || gens.valid(genre, filled) {
		t.Fatal("an invalidation of one tag must drop exactly the responses that depend on it")
	}

	gens.invalidate([]uint64{allTags}, time.Now())
	if gens.valid(year, filled) {
		t.Error("a purge of everything left a response valid")
	}
	if !gens.valid(year, gens.current()) {
		t.Error("a response filled after the purge is not valid")
	}

	gens.forget(time.Now().Add(time.Second))
	if len(gens.stamps) != 0 {
		t.Errorf("forget kept %d stamps older than its limit", len(gens.stamps))
	}
}
