package origin

import (
	"bytes"
	"cmp"
	"slices"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"

	"moviequery/internal/query"
)

// search returns the first limit + 1 matches of q after its cursor, in
// result order, and the number of all matches.
func (ix *memoryIndex) search(q query.Query) ([]match, int64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	matches, any := ix.filterMatches(q)
	if !any {
		return nil, 0
	}
	years := ix.yearsBetween(yearBounds(q))
	if len(years) == 0 {
		return nil, 0
	}

	after := ix.newCursorKey(q.After)
	if matches != nil && matches.GetCardinality() <= ix.sortLimit {
		return ix.sortedPage(q.Limit, matches, years, after)
	}
	return ix.yearPage(q.Limit, matches, years, after), ix.count(matches, years)
}

// sortedMatchLimit is the maximum number of matches search sorts whole.
// Above it, search walks the years in order and reads each year's matches
// from its ordered slots.
const sortedMatchLimit = 512

// filterMatches returns the slots that pass q's cast, genre and title
// filters: nil when q has none of them, and false when nothing can pass.
func (ix *memoryIndex) filterMatches(q query.Query) (*roaring.Bitmap, bool) {
	var filters []*roaring.Bitmap
	if q.Cast != "" {
		filters = append(filters, ix.cast.lookup(q.Cast))
	}
	if q.Genre != "" {
		filters = append(filters, ix.genres.lookup(q.Genre))
	}
	var runs []*roaring.Bitmap
	for _, run := range termRuns(q.Title) {
		runs = append(runs, ix.runs[run])
	}
	if slices.Contains(filters, nil) || slices.Contains(runs, nil) {
		return nil, false
	}

	sets := append(filters, runs...)
	if len(q.Title) > 3 {
		sets = append(filters, ix.titleMatches(q.Title, runs))
	}

	var matches *roaring.Bitmap
	switch {
	case len(sets) == 0:
		return nil, true
	case len(sets) == 1:
		matches = sets[0]
	default:
		matches = roaring.FastAnd(sets...)
	}
	return matches, !matches.IsEmpty()
}

// termRuns returns the runs whose bitmaps hold every title containing
// term: the term itself up to 3 bytes, and each of its 3-byte runs beyond.
func termRuns(term string) []uint32 {
	if term == "" {
		return nil
	}
	if len(term) <= 3 {
		return []uint32{packRun(term)}
	}
	runs := make([]uint32, 0, len(term)-2)
	for i := 0; i+3 <= len(term); i++ {
		runs = append(runs, packRun(term[i:i+3]))
	}
	slices.Sort(runs)
	return slices.Compact(runs)
}

// yearsBetween returns the years of the index within from and to.
func (ix *memoryIndex) yearsBetween(from, to int) []int {
	start, _ := slices.BinarySearch(ix.yearList, from)
	end, found := slices.BinarySearch(ix.yearList, to)
	if found {
		end++
	}
	return ix.yearList[start:end]
}

// cursorKey is a cursor's position in the form compared with stored
// movies. A zero year is the position before every movie.
type cursorKey struct {
	year      int32
	titleKey  uint64
	title, id []byte
}

func (ix *memoryIndex) newCursorKey(after *query.Cursor) cursorKey {
	if after == nil {
		return cursorKey{}
	}
	return cursorKey{year: int32(after.Year), titleKey: titleKey(after.Title), title: []byte(after.Title), id: []byte(after.ID)}
}

// follows reports whether the movie in slot comes after the cursor.
func (ix *memoryIndex) follows(slot uint32, after cursorKey) bool {
	m := ix.movies[slot]
	if c := cmp.Or(cmp.Compare(m.year, after.year), cmp.Compare(m.titleKey, after.titleKey)); c != 0 {
		return c > 0
	}
	return cmp.Or(bytes.Compare(ix.textOf(m.title), after.title),
		bytes.Compare(ix.textOf(m.id), after.id)) > 0
}

// sortedPage reads a small set of matches whole: it keeps those within
// the years, sorts them and takes the page after the cursor.
func (ix *memoryIndex) sortedPage(limit int, matches *roaring.Bitmap, years []int, after cursorKey) ([]match, int64) {
	from, to := int32(years[0]), int32(years[len(years)-1])
	var total int64
	var page []uint32
	it := matches.Iterator()
	for it.HasNext() {
		slot := it.Next()
		if y := ix.movies[slot].year; y < from || y > to {
			continue
		}

		total++
		if ix.follows(slot, after) {
			page = append(page, slot)
		}
	}

	return ix.matchesOf(ix.firstSlots(page, limit+1)), total
}

// yearPage walks the years in order from the cursor's and collects limit
// + 1 matches. matches is nil when every movie of the years matches.
func (ix *memoryIndex) yearPage(limit int, matches *roaring.Bitmap, years []int, after cursorKey) []match {
	page := make([]uint32, 0, limit+1)
	for _, y := range years {
		if int32(y) < after.year {
			continue
		}
		page = ix.collect(page, ix.years[y], after, matches)
		if len(page) == cap(page) {
			break
		}
	}
	return ix.matchesOf(page)
}

// collect appends the matches of one year that follow after, in order,
// until page is full. A year's matches that are few next to its movies are
// sorted. Otherwise its ordered slots are walked.
func (ix *memoryIndex) collect(page []uint32, year *indexedYear, after cursorKey, matches *roaring.Bitmap) []uint32 {
	start, _ := slices.BinarySearchFunc(year.order, after, func(slot uint32, after cursorKey) int {
		if ix.follows(slot, after) {
			return 1
		}
		return -1
	})
	if matches != nil {
		n := matches.AndCardinality(year.slots)
		if n == 0 {
			return page
		}
		if n*walkPerMatch < uint64(len(year.order)-start) {
			return ix.collectSorted(page, roaring.And(matches, year.slots), after)
		}
	}

	for _, slot := range year.order[start:] {
		if len(page) == cap(page) {
			break
		}
		if matches == nil || matches.Contains(slot) {
			page = append(page, slot)
		}
	}
	return page
}

// walkPerMatch is the maximum number of ordered slots collect walks per
// match of a year. With fewer matches it sorts the year's matches instead.
const walkPerMatch = 16

// collectSorted appends the matches that follow after, sorted, until page
// is full.
func (ix *memoryIndex) collectSorted(page []uint32, matches *roaring.Bitmap, after cursorKey) []uint32 {
	var found []uint32
	it := matches.Iterator()
	for it.HasNext() {
		if slot := it.Next(); ix.follows(slot, after) {
			found = append(found, slot)
		}
	}
	return append(page, ix.firstSlots(found, cap(page)-len(page))...)
}

// firstSlots returns the k slots of slots that come first in result order,
// sorted, or all of them when there are fewer. It reuses the front of
// slots as a heap of the k first seen so far, so a page of a large set
// costs about one comparison per slot instead of a sort of the whole set.
func (ix *memoryIndex) firstSlots(slots []uint32, k int) []uint32 {
	if k <= 0 {
		return nil
	}
	if len(slots) <= k {
		slices.SortFunc(slots, ix.compareSlots)
		return slots
	}

	heap := slots[:k]
	for i := k/2 - 1; i >= 0; i-- {
		ix.siftDown(heap, i)
	}
	for _, slot := range slots[k:] {
		if ix.compareSlots(slot, heap[0]) < 0 {
			heap[0] = slot
			ix.siftDown(heap, 0)
		}
	}

	slices.SortFunc(heap, ix.compareSlots)
	return heap
}

// siftDown moves heap[i] down until no child comes after it in result
// order, so that heap[0] is the heap's slot that comes last.
func (ix *memoryIndex) siftDown(heap []uint32, i int) {
	for {
		last := i
		for _, child := range [2]int{2*i + 1, 2*i + 2} {
			if child < len(heap) && ix.compareSlots(heap[child], heap[last]) > 0 {
				last = child
			}
		}
		if last == i {
			return
		}
		heap[i], heap[last] = heap[last], heap[i]
		i = last
	}
}

// match is one movie of a search's result: its result position, and the
// change feed position of the state the index records for it.
type match struct {
	position query.Cursor
	slot     uint32
	change   int64
}

// matchesOf returns the movies in slots as matches. Their titles and ids
// share the index's text, whose bytes never change once written.
func (ix *memoryIndex) matchesOf(slots []uint32) []match {
	matches := make([]match, len(slots))
	for i, slot := range slots {
		m := ix.movies[slot]
		matches[i] = match{
			position: query.Cursor{Year: int(m.year), Title: sharedString(ix.textOf(m.title)), ID: sharedString(ix.textOf(m.id))},
			slot:     slot,
			change:   m.change,
		}
	}
	return matches
}

// sharedString returns b as a string without copying it. The caller
// guarantees that b's bytes are never written again.
func sharedString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// count returns the number of matches within the years.
func (ix *memoryIndex) count(matches *roaring.Bitmap, years []int) int64 {
	if matches != nil && len(years) == len(ix.yearList) {
		return int64(matches.GetCardinality())
	}
	var total int64
	for _, y := range years {
		year := ix.years[y]
		if matches == nil {
			total += int64(len(year.order))
		} else {
			total += int64(matches.AndCardinality(year.slots))
		}
	}
	return total
}
