package origin

import (
	"hash/maphash"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// hashedNumbers maps strings to numbers through their hashes, so that its
// main map contains no Go pointer for the garbage collector to scan. A
// string whose hash collides with an earlier string's goes to the small
// overflow map. The caller keeps each number's string, and find compares
// the string with it.
type hashedNumbers struct {
	hash     func(string) uint64 // tests replace it to force collisions
	byHash   map[uint64]uint32
	overflow map[string]uint32
}

func newHashedNumbers(seed maphash.Seed) hashedNumbers {
	return hashedNumbers{
		hash:     func(s string) uint64 { return maphash.String(seed, s) },
		byHash:   map[uint64]uint32{},
		overflow: map[string]uint32{},
	}
}

// find returns the number of s. stored returns the string that a number
// was given for.
func (h *hashedNumbers) find(s string, stored func(uint32) []byte) (uint32, bool) {
	if n, ok := h.overflow[s]; ok {
		return n, true
	}
	n, ok := h.byHash[h.hash(s)]
	if ok && string(stored(n)) != s {
		return 0, false // another string has the same hash
	}
	return n, ok
}

// add records the number of s, for which find returned nothing.
func (h *hashedNumbers) add(s string, n uint32) {
	key := h.hash(s)
	if _, used := h.byHash[key]; used {
		h.overflow[s] = n
		return
	}
	h.byHash[key] = n
}

// termTable numbers the distinct values of one filter, cast or genre, and
// keeps the slots of the movies that have each. A number stays once given,
// and its slots may become empty.
//
// At a million movies the cast alone has hundreds of thousands of values,
// and a string and a bitmap for each made millions of objects that every
// collection marked. So the values are kept in a byte arena, and the slots
// of a value with at most termListLimit movies are a sorted list in a
// number arena. Only the few values with more movies get a roaring bitmap.
type termTable struct {
	numbers hashedNumbers
	names   []byte
	spans   []textSpan // each number's value in names

	lists  []slotList // by number; empty for a number in large
	arena  []uint32
	unused int // arena entries that no list uses
	large  map[uint32]*roaring.Bitmap

	compactAbove int // minimum unused entries for a compaction; tests lower it
}

// slotList is a sorted list of slots in the arena, with room for capacity.
type slotList struct{ start, length, capacity uint32 }

// termListLimit is the maximum number of slots a value keeps in a list. A
// search turns a list into a bitmap, which takes microseconds at this size.
const termListLimit = 1024

func newTermTable(seed maphash.Seed) termTable {
	return termTable{numbers: newHashedNumbers(seed), large: map[uint32]*roaring.Bitmap{}, compactAbove: 1 << 16}
}

// find returns the number of a value.
func (t *termTable) find(value string) (uint32, bool) {
	return t.numbers.find(value, t.name)
}

func (t *termTable) name(n uint32) []byte {
	span := t.spans[n]
	return t.names[span.start : span.start+span.length]
}

// number returns the number of a value, giving it one if it has none.
func (t *termTable) number(value string) uint32 {
	if n, ok := t.find(value); ok {
		return n
	}
	n := uint32(len(t.spans))
	t.spans = append(t.spans, textSpan{start: uint32(len(t.names)), length: uint32(len(value))})
	t.names = append(t.names, value...)
	t.lists = append(t.lists, slotList{})
	t.numbers.add(value, n)
	return n
}

// lookup returns the slots of the movies that have a value, nil for a
// value no movie ever had. The caller must not change the bitmap.
func (t *termTable) lookup(value string) *roaring.Bitmap {
	n, ok := t.find(value)
	if !ok {
		return nil
	}
	if bitmap, ok := t.large[n]; ok {
		return bitmap
	}
	return roaring.BitmapOf(t.slots(t.lists[n])...)
}

// cardinality returns the number of movies that have the value numbered n.
func (t *termTable) cardinality(n uint32) uint64 {
	if bitmap, ok := t.large[n]; ok {
		return bitmap.GetCardinality()
	}
	return uint64(t.lists[n].length)
}

func (t *termTable) slots(list slotList) []uint32 {
	return t.arena[list.start : list.start+list.length]
}

// add puts a slot in the slots of the value numbered n.
func (t *termTable) add(n, slot uint32) {
	if bitmap, ok := t.large[n]; ok {
		bitmap.Add(slot)
		return
	}

	list := &t.lists[n]
	i, found := slices.BinarySearch(t.slots(*list), slot)
	if found {
		return
	}
	if list.length == termListLimit {
		bitmap := roaring.BitmapOf(t.slots(*list)...)
		bitmap.Add(slot)
		t.large[n] = bitmap
		t.unused += int(list.capacity)
		*list = slotList{}
		return
	}
	if list.length == list.capacity {
		t.grow(list)
	}

	held := t.arena[list.start : list.start+list.length+1]
	copy(held[i+1:], held[i:])
	held[i] = slot
	list.length++
}

// grow moves a full list to the arena's end with twice its room,
// compacting the arena first when a third of it is unused. Lists that
// only grow leave up to half of it unused.
func (t *termTable) grow(list *slotList) {
	if t.unused > len(t.arena)/3 && t.unused > t.compactAbove {
		t.compact()
	}

	capacity := max(4, 2*list.capacity)
	start := uint32(len(t.arena))
	t.arena = append(t.arena, make([]uint32, capacity)...)
	copy(t.arena[start:], t.slots(*list))
	t.unused += int(list.capacity)
	*list = slotList{start: start, length: list.length, capacity: capacity}
}

// compact copies every list into a new arena, each with its length as
// its room.
func (t *termTable) compact() {
	arena := make([]uint32, 0, len(t.arena)-t.unused)
	for i, list := range t.lists {
		start := uint32(len(arena))
		arena = append(arena, t.slots(list)...)
		t.lists[i] = slotList{start: start, length: list.length, capacity: list.length}
	}
	t.arena, t.unused = arena, 0
}

// remove takes a slot out of the slots of the value numbered n.
func (t *termTable) remove(n, slot uint32) {
	if bitmap, ok := t.large[n]; ok {
		bitmap.Remove(slot)
		return
	}

	list := &t.lists[n]
	held := t.slots(*list)
	i, found := slices.BinarySearch(held, slot)
	if !found {
		return
	}
	copy(held[i:], held[i+1:])
	list.length--
}
