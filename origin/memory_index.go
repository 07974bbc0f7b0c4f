package origin

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// memoryIndex holds the search fields of every movie in memory, so the
// origin finds a search's page and exact total without reading every
// match from PostgreSQL (docs/decisions/0007-memory-search-index.md). Each
// movie has a slot, and a filter's matches are a bitmap of slots. Title
// terms are found through bitmaps of the 1-, 2- and 3-byte runs of the
// folded titles, and longer terms are confirmed on the candidates' titles.
//
// The movies are kept without Go pointers, their titles and ids in one
// byte arena and their cast and genres as term numbers in another, so the
// garbage collector does not scan a million records on every cycle.
//
// applied is the change feed position the index reflects: every change
// numbered up to it has been applied, and later ones may have been.
type memoryIndex struct {
	mu      sync.RWMutex
	applied int64

	ids    hashedNumbers // movie ids to slots
	movies []storedMovie // by slot
	text   []byte        // titles and ids; bytes once written never change
	terms  []uint32      // cast and genre term numbers of movies

	runs      map[uint32]*roaring.Bitmap
	cast      termTable
	genres    termTable
	spellings genreSpellings
	years     map[int]*indexedYear
	yearList  []int // every key of years, in order

	titleCache titleCache

	sortLimit uint64 // sortedMatchLimit, lowered by tests to walk the years
}

// indexedMovie is one movie's search fields as read from the database,
// folded as the filters fold their terms.
type indexedMovie struct {
	id     string
	year   int
	title  string
	cast   []string
	genres []string
	change int64 // the change feed position of the movie's current state

	// genreNames are the genres as the movie spells them, for the genre
	// list (see genreNames).
	genreNames []string
}

// newIndexedMovie returns a movie's fields for the index, with its cast
// and genres as sets.
func newIndexedMovie(id string, year int, title string, cast, genres []string) indexedMovie {
	return indexedMovie{id: id, year: year, title: title, cast: sortedSet(cast), genres: sortedSet(genres)}
}

func sortedSet(values []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(values)))
}

// storedMovie is a movie in the index: spans of the text and term arenas.
type storedMovie struct {
	year         int32
	titleKey     uint64 // see titleKey
	change       int64  // see indexedMovie
	id, title    textSpan
	cast, genres termSpan
	genreNames   termSpan // spelling numbers
}

type textSpan struct{ start, length uint32 }

type termSpan struct{ start, length uint32 }

// indexedYear is the movies of one year: their slots, and the same slots
// in result order (title, then id).
type indexedYear struct {
	slots *roaring.Bitmap
	order []uint32
}

func newMemoryIndex() *memoryIndex {
	seed := maphash.MakeSeed()
	return &memoryIndex{
		ids:       newHashedNumbers(seed),
		runs:      map[uint32]*roaring.Bitmap{},
		cast:      newTermTable(seed),
		genres:    newTermTable(seed),
		years:     map[int]*indexedYear{},
		sortLimit: sortedMatchLimit,
	}
}

// Applied returns the change feed position the index reflects.
func (ix *memoryIndex) Applied() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.applied
}

// Len returns the number of movies in the index.
func (ix *memoryIndex) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.movies)
}

// apply puts movies in the index, replacing the earlier state of those it
// holds, and then moves its position to at least position.
func (ix *memoryIndex) apply(movies []indexedMovie, position int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, m := range movies {
		ix.put(m)
	}
	ix.applied = max(ix.applied, position)
}

// put stores one movie's current fields. Caller holds mu for writing.
func (ix *memoryIndex) put(m indexedMovie) {
	slot, known := ix.slotOf(m.id)
	if !known {
		slot = uint32(len(ix.movies))
		ix.movies = append(ix.movies, storedMovie{id: ix.addText(m.id)})
		ix.ids.add(m.id, slot)
	} else if ix.unchanged(ix.movies[slot], m) {
		ix.movies[slot].change = m.change
		return
	} else {
		ix.remove(slot)
	}

	stored := &ix.movies[slot]
	stored.change = m.change
	if !known || string(ix.textOf(stored.title)) != m.title {
		if known {
			ix.titleCache.clear()
		}
		stored.title = ix.addText(m.title)
		stored.titleKey = titleKey(m.title)
	}
	stored.year = int32(m.year)
	stored.cast = ix.addTerms(&ix.cast, m.cast)
	stored.genres = ix.addTerms(&ix.genres, m.genres)
	stored.genreNames = ix.addSpellings(m.genreNames)

	for _, run := range titleRuns(m.title) {
		addRun(ix.runs, run, slot)
	}
	ix.post(&ix.cast, stored.cast, slot)
	ix.post(&ix.genres, stored.genres, slot)
	ix.addToYear(slot)
}

// slotOf returns the slot of a movie id.
func (ix *memoryIndex) slotOf(id string) (uint32, bool) {
	return ix.ids.find(id, ix.idOf)
}

// lookup returns the slot of a movie and the change feed position of its
// indexed state.
func (ix *memoryIndex) lookup(id string) (slot uint32, change int64, ok bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	slot, ok = ix.slotOf(id)
	if !ok {
		return 0, 0, false
	}
	return slot, ix.movies[slot].change, true
}

func (ix *memoryIndex) idOf(slot uint32) []byte {
	return ix.textOf(ix.movies[slot].id)
}

// unchanged reports whether a stored movie already has m's fields.
func (ix *memoryIndex) unchanged(stored storedMovie, m indexedMovie) bool {
	return int(stored.year) == m.year && string(ix.textOf(stored.title)) == m.title &&
		ix.sameTerms(&ix.cast, stored.cast, m.cast) && ix.sameTerms(&ix.genres, stored.genres, m.genres) &&
		ix.sameSpellings(stored.genreNames, m.genreNames)
}

func (ix *memoryIndex) sameTerms(table *termTable, span termSpan, values []string) bool {
	numbers := ix.termsOf(span)
	if len(numbers) != len(values) {
		return false
	}
	for i, v := range values {
		if n, ok := table.find(v); !ok || n != numbers[i] {
			return false
		}
	}
	return true
}

// remove takes a movie's fields out of every bitmap and its year.
func (ix *memoryIndex) remove(slot uint32) {
	old := ix.movies[slot]
	for _, run := range titleRuns(string(ix.textOf(old.title))) {
		ix.runs[run].Remove(slot)
		if ix.runs[run].IsEmpty() {
			delete(ix.runs, run)
		}
	}
	for _, n := range ix.termsOf(old.cast) {
		ix.cast.remove(n, slot)
	}
	for _, n := range ix.termsOf(old.genres) {
		ix.genres.remove(n, slot)
	}
	ix.removeSpellings(old.genreNames)

	year := ix.years[int(old.year)]
	year.slots.Remove(slot)
	i, _ := slices.BinarySearchFunc(year.order, slot, ix.compareSlots)
	year.order = slices.Delete(year.order, i, i+1)
}

func (ix *memoryIndex) addToYear(slot uint32) {
	y := int(ix.movies[slot].year)
	year, ok := ix.years[y]
	if !ok {
		year = &indexedYear{slots: roaring.New()}
		ix.years[y] = year
		i, _ := slices.BinarySearch(ix.yearList, y)
		ix.yearList = slices.Insert(ix.yearList, i, y)
	}
	year.slots.Add(slot)
	i, _ := slices.BinarySearchFunc(year.order, slot, ix.compareSlots)
	year.order = slices.Insert(year.order, i, slot)
}

// compareSlots orders two movies in result order.
func (ix *memoryIndex) compareSlots(a, b uint32) int {
	ma, mb := ix.movies[a], ix.movies[b]
	if c := cmp.Or(cmp.Compare(ma.year, mb.year), cmp.Compare(ma.titleKey, mb.titleKey)); c != 0 {
		return c
	}
	return cmp.Or(bytes.Compare(ix.textOf(ma.title), ix.textOf(mb.title)),
		bytes.Compare(ix.textOf(ma.id), ix.textOf(mb.id)))
}

// titleKey returns the first 8 bytes of a title as a number, zeros
// filling a shorter title. Two titles whose keys differ compare as their
// keys do, so most comparisons read no title text.
func titleKey(title string) uint64 {
	var prefix [8]byte
	copy(prefix[:], title)
	return binary.BigEndian.Uint64(prefix[:])
}

func (ix *memoryIndex) addText(s string) textSpan {
	span := textSpan{start: uint32(len(ix.text)), length: uint32(len(s))}
	ix.text = append(ix.text, s...)
	return span
}

func (ix *memoryIndex) textOf(span textSpan) []byte {
	return ix.text[span.start : span.start+span.length]
}

func (ix *memoryIndex) addTerms(table *termTable, values []string) termSpan {
	span := termSpan{start: uint32(len(ix.terms)), length: uint32(len(values))}
	for _, v := range values {
		ix.terms = append(ix.terms, table.number(v))
	}
	return span
}

func (ix *memoryIndex) termsOf(span termSpan) []uint32 {
	return ix.terms[span.start : span.start+span.length]
}

func (ix *memoryIndex) post(table *termTable, span termSpan, slot uint32) {
	for _, n := range ix.termsOf(span) {
		table.add(n, slot)
	}
}

func addRun(runs map[uint32]*roaring.Bitmap, run uint32, slot uint32) {
	b, ok := runs[run]
	if !ok {
		b = roaring.New()
		runs[run] = b
	}
	b.Add(slot)
}

// titleRuns returns the distinct runs of 1 to 3 bytes of a folded title,
// each packed into a number with its length.
func titleRuns(title string) []uint32 {
	runs := make([]uint32, 0, 3*len(title))
	for i := range len(title) {
		for n := 1; n <= 3 && i+n <= len(title); n++ {
			runs = append(runs, packRun(title[i:i+n]))
		}
	}
	slices.Sort(runs)
	return slices.Compact(runs)
}

// packRun packs a run of 1 to 3 bytes and its length into one number.
func packRun(run string) uint32 {
	packed := uint32(len(run)) << 24
	for i := range len(run) {
		packed |= uint32(run[i]) << (16 - 8*i)
	}
	return packed
}
