package origin

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"moviequery/internal/query"
)

// memoryIndex holds the search fields of every movie in memory, so the
// origin finds a search's page and exact total without reading every
// match from PostgreSQL (docs/decisions/0007-memory-search-index.md). Each
// movie has a slot; a filter's matches are a bitmap of slots. Title terms
// are found through bitmaps of the 1-, 2- and 3-byte runs of the folded
// titles, and longer terms are confirmed on the candidates' titles.
//
// applied is the change feed position the index reflects: every change
// numbered up to it has been applied, and later ones may have been.
type memoryIndex struct {
	mu       sync.RWMutex
	applied  int64
	slots    map[string]uint32 // by movie id
	movies   []indexedMovie    // by slot
	runs     map[uint32]*roaring.Bitmap
	cast     map[string]*roaring.Bitmap
	genres   map[string]*roaring.Bitmap
	years    map[int]*indexedYear
	yearList []int // every key of years, in order

	sortLimit uint64 // sortedMatchLimit, lowered by tests to walk the years
}

// indexedMovie is one movie's search fields, folded as the filters fold
// their terms.
type indexedMovie struct {
	id     string
	year   int
	title  string
	cast   []string
	genres []string
}

// newIndexedMovie returns a movie's fields for the index, with its cast
// and genres as sets.
func newIndexedMovie(id string, year int, title string, cast, genres []string) indexedMovie {
	return indexedMovie{id: id, year: year, title: title, cast: sortedSet(cast), genres: sortedSet(genres)}
}

func sortedSet(values []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(values)))
}

// indexedYear is the movies of one year: their slots, and the same slots
// in result order (title, then id).
type indexedYear struct {
	slots *roaring.Bitmap
	order []uint32
}

func newMemoryIndex() *memoryIndex {
	return &memoryIndex{
		slots:  map[string]uint32{},
		runs:   map[uint32]*roaring.Bitmap{},
		cast:   map[string]*roaring.Bitmap{},
		genres: map[string]*roaring.Bitmap{},
		years:  map[int]*indexedYear{},

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
	slot, known := ix.slots[m.id]
	if known {
		old := ix.movies[slot]
		if old.year == m.year && old.title == m.title && slices.Equal(old.cast, m.cast) && slices.Equal(old.genres, m.genres) {
			return
		}
		ix.remove(slot, old)
	} else {
		slot = uint32(len(ix.movies))
		ix.slots[m.id] = slot
		ix.movies = append(ix.movies, indexedMovie{})
	}

	ix.movies[slot] = m
	for _, run := range titleRuns(m.title) {
		addSlot(ix.runs, run, slot)
	}
	for _, c := range m.cast {
		addSlot(ix.cast, c, slot)
	}
	for _, g := range m.genres {
		addSlot(ix.genres, g, slot)
	}
	ix.addToYear(slot, m)
}

// remove takes a movie's old fields out of every bitmap and its year.
func (ix *memoryIndex) remove(slot uint32, old indexedMovie) {
	for _, run := range titleRuns(old.title) {
		removeSlot(ix.runs, run, slot)
	}
	for _, c := range old.cast {
		removeSlot(ix.cast, c, slot)
	}
	for _, g := range old.genres {
		removeSlot(ix.genres, g, slot)
	}

	year := ix.years[old.year]
	year.slots.Remove(slot)
	i, _ := slices.BinarySearchFunc(year.order, old, ix.compareInYear)
	year.order = slices.Delete(year.order, i, i+1)
}

func (ix *memoryIndex) addToYear(slot uint32, m indexedMovie) {
	year, ok := ix.years[m.year]
	if !ok {
		year = &indexedYear{slots: roaring.New()}
		ix.years[m.year] = year
		i, _ := slices.BinarySearch(ix.yearList, m.year)
		ix.yearList = slices.Insert(ix.yearList, i, m.year)
	}
	year.slots.Add(slot)
	i, _ := slices.BinarySearchFunc(year.order, m, ix.compareInYear)
	year.order = slices.Insert(year.order, i, slot)
}

// compareInYear orders a slot against a movie of the same year.
func (ix *memoryIndex) compareInYear(slot uint32, m indexedMovie) int {
	other := ix.movies[slot]
	return cmp.Or(strings.Compare(other.title, m.title), strings.Compare(other.id, m.id))
}

func addSlot[K comparable](bitmaps map[K]*roaring.Bitmap, key K, slot uint32) {
	b, ok := bitmaps[key]
	if !ok {
		b = roaring.New()
		bitmaps[key] = b
	}
	b.Add(slot)
}

// removeSlot drops a slot, and the bitmap once it is empty, so that a term
// no movie has any more matches nothing.
func removeSlot[K comparable](bitmaps map[K]*roaring.Bitmap, key K, slot uint32) {
	b := bitmaps[key]
	b.Remove(slot)
	if b.IsEmpty() {
		delete(bitmaps, key)
	}
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

// search returns the positions of the first limit + 1 matches of q after
// its cursor, in result order, and the number of all matches.
func (ix *memoryIndex) search(q query.Query) ([]query.Cursor, int64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	matches, any := ix.filterMatches(q)
	if !any {
		return nil, 0
	}
	years := ix.yearsBetween(yearBounds(q))
	if matches != nil && matches.GetCardinality() <= ix.sortLimit {
		return ix.sortedPage(q, matches, years)
	}
	return ix.yearPage(q, matches, years), ix.count(matches, years)
}

// sortedMatchLimit is the maximum number of matches search sorts whole. Above it, it
// walks the years in order and reads each year's matches from its
// ordered slots.
const sortedMatchLimit = 4096

// filterMatches returns the slots that pass q's cast, genre and title
// filters: nil when q has none of them, and false when nothing can pass.
func (ix *memoryIndex) filterMatches(q query.Query) (*roaring.Bitmap, bool) {
	var sets []*roaring.Bitmap
	if q.Cast != "" {
		sets = append(sets, ix.cast[q.Cast])
	}
	if q.Genre != "" {
		sets = append(sets, ix.genres[q.Genre])
	}
	for _, run := range termRuns(q.Title) {
		sets = append(sets, ix.runs[run])
	}
	if slices.Contains(sets, nil) {
		return nil, false
	}
	if len(sets) == 0 {
		return nil, true
	}

	matches := sets[0]
	if len(sets) > 1 {
		matches = roaring.FastAnd(sets...)
	}
	if len(q.Title) > 3 {
		matches = ix.confirmTitles(matches, q.Title)
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

// confirmTitles keeps the candidates whose titles contain term.
func (ix *memoryIndex) confirmTitles(candidates *roaring.Bitmap, term string) *roaring.Bitmap {
	confirmed := roaring.New()
	it := candidates.Iterator()
	for it.HasNext() {
		slot := it.Next()
		if strings.Contains(ix.movies[slot].title, term) {
			confirmed.Add(slot)
		}
	}
	return confirmed
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

// sortedPage reads a small set of matches whole: it keeps those within
// the years, sorts them and takes the page after the cursor.
func (ix *memoryIndex) sortedPage(q query.Query, matches *roaring.Bitmap, years []int) ([]query.Cursor, int64) {
	if len(years) == 0 {
		return nil, 0
	}
	from, to := years[0], years[len(years)-1]

	var found []query.Cursor
	it := matches.Iterator()
	for it.HasNext() {
		if p := ix.resultPosition(it.Next()); p.Year >= from && p.Year <= to {
			found = append(found, p)
		}
	}
	slices.SortFunc(found, comparePositions)

	start := 0
	if q.After != nil {
		start, _ = slices.BinarySearchFunc(found, *q.After, func(p, after query.Cursor) int {
			return cmp.Or(comparePositions(p, after), -1) // the first after the cursor
		})
	}
	page := found[start:min(len(found), start+q.Limit+1)]
	return page, int64(len(found))
}

func comparePositions(a, b query.Cursor) int {
	return cmp.Or(cmp.Compare(a.Year, b.Year), strings.Compare(a.Title, b.Title), strings.Compare(a.ID, b.ID))
}

// yearPage walks the years in order from the cursor's and collects limit
// + 1 matches. matches is nil when every movie of the years matches.
func (ix *memoryIndex) yearPage(q query.Query, matches *roaring.Bitmap, years []int) []query.Cursor {
	page := make([]query.Cursor, 0, q.Limit+1)
	for _, y := range years {
		if q.After != nil && y < q.After.Year {
			continue
		}
		after := query.Cursor{Year: y}
		if q.After != nil && y == q.After.Year {
			after = *q.After
		}
		page = ix.collect(page, ix.years[y], after, matches)
		if len(page) == cap(page) {
			break
		}
	}
	return page
}

// collect appends the matches of one year that follow after, in order,
// until page is full. A year's matches that are few next to its movies are
// sorted; otherwise its ordered slots are walked.
func (ix *memoryIndex) collect(page []query.Cursor, year *indexedYear, after query.Cursor, matches *roaring.Bitmap) []query.Cursor {
	start, _ := slices.BinarySearchFunc(year.order, after, func(slot uint32, after query.Cursor) int {
		return cmp.Or(comparePositions(ix.resultPosition(slot), after), -1) // the first after the cursor
	})

	var inYear *roaring.Bitmap
	if matches != nil {
		inYear = roaring.And(matches, year.slots)
		if n := inYear.GetCardinality(); n == 0 {
			return page
		} else if n*walkPerMatch < uint64(len(year.order)-start) {
			return ix.collectSorted(page, inYear, after)
		}
	}

	for _, slot := range year.order[start:] {
		if len(page) == cap(page) {
			break
		}
		if inYear == nil || inYear.Contains(slot) {
			page = append(page, ix.resultPosition(slot))
		}
	}
	return page
}

// walkPerMatch is the maximum number of ordered slots collect walks per
// match of a year. With fewer matches it sorts the year's matches instead.
const walkPerMatch = 16

// collectSorted appends the matches that follow after, sorted, until page
// is full.
func (ix *memoryIndex) collectSorted(page []query.Cursor, matches *roaring.Bitmap, after query.Cursor) []query.Cursor {
	found := make([]query.Cursor, 0, matches.GetCardinality())
	it := matches.Iterator()
	for it.HasNext() {
		if p := ix.resultPosition(it.Next()); comparePositions(p, after) > 0 {
			found = append(found, p)
		}
	}
	slices.SortFunc(found, comparePositions)
	return append(page, found[:min(len(found), cap(page)-len(page))]...)
}

// resultPosition returns the result position of the movie in slot.
func (ix *memoryIndex) resultPosition(slot uint32) query.Cursor {
	m := ix.movies[slot]
	return query.Cursor{Year: m.year, Title: m.title, ID: m.id}
}

// count returns the number of matches within the years.
func (ix *memoryIndex) count(matches *roaring.Bitmap, years []int) int64 {
	var total int64
	if matches != nil && len(years) == len(ix.yearList) {
		return int64(matches.GetCardinality())
	}
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
