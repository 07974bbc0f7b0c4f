package origin

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTermTableMatchesModel adds and removes slots of values at random,
// past the size at which a value's list becomes a bitmap and with
// compactions of the list arena. After each round it checks every value's
// slots against a plain map.
func TestTermTableMatchesModel(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("hashes collide %v", collide), func(t *testing.T) {
			table := newTermTable(maphash.MakeSeed())
			table.compactAbove = 0
			if collide {
				table.numbers.hash = func(string) uint64 { return 7 }
			}
			checkTermTable(t, &table)
		})
	}
}

func checkTermTable(t *testing.T, table *termTable) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := []string{"ann", "bob", "cy", "di", "ed", "fay"}
	model := map[string]map[uint32]bool{}
	for _, v := range values {
		model[v] = map[uint32]bool{}
	}

	for round := range 6 {
		for range 2000 {
			v := values[rng.IntN(len(values))]
			slot := uint32(rng.IntN(3000))
			n := table.number(v)
			if rng.IntN(4) == 0 {
				table.remove(n, slot)
				delete(model[v], slot)
			} else {
				table.add(n, slot)
				model[v][slot] = true
			}
		}
		for _, v := range values {
			compareTermSlots(t, round, table, v, model[v])
		}
	}

	if table.lookup("nobody") != nil {
		t.Error("a value never added has slots")
	}
	if len(table.large) == 0 {
		t.Errorf("no value outgrew a list of %d slots, so the test did not reach bitmaps", termListLimit)
	}
}

func compareTermSlots(t *testing.T, round int, table *termTable, value string, want map[uint32]bool) {
	t.Helper()
	n, ok := table.find(value)
	if !ok {
		t.Fatalf("round %d: %q has no number", round, value)
	}
	got := table.lookup(value).ToArray()
	expected := slices.Sorted(maps.Keys(want))
	if !slices.Equal(got, expected) {
		t.Fatalf("round %d: %q has %d slots, want %d", round, value, len(got), len(expected))
	}
	if c := table.cardinality(n); c != uint64(len(expected)) {
		t.Fatalf("round %d: %q counts %d slots, want %d", round, value, c, len(expected))
	}
}
