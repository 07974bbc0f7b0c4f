package origin

import (
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	gocmp "github.com/google/go-cmp/cmp"

	"moviequery/internal/movie"
	"moviequery/internal/moviegen"
	"moviequery/internal/query"
)

// generatedModel returns n generated movies, keyed by id.
func generatedModel(t *testing.T, seed uint64, n int) searchModel {
	t.Helper()
	model := searchModel{}
	for key, body := range moviegen.Objects("gen", seed, n) {
		r, err := movie.Parse(body)
		if err != nil {
			t.Fatalf("generated movie %s: %v", key, err)
		}
		model[movie.ID(r)] = r
	}
	return model
}

func indexedFromRecord(r movie.Record) indexedMovie {
	m := newIndexedMovie(movie.ID(r), r.Year, movie.FoldSearch(r.Title), movie.FoldSearchAll(r.Cast), movie.FoldSearchAll(r.Genres))
	m.genreNames = genreNames(r.Genres)
	return m
}

func indexModel(ix *memoryIndex, model searchModel, position int64) {
	var movies []indexedMovie
	for _, r := range model {
		movies = append(movies, indexedFromRecord(r))
	}
	ix.apply(movies, position)
}

// indexSearchAll follows a query's cursors through the index to its last
// page and returns the ids in order and every page's total.
func indexSearchAll(t *testing.T, ix *memoryIndex, raw string) (ids []string, totals []int64) {
	t.Helper()
	q := parseQuery(t, raw)
	for range 10_000 {
		page, total := ix.search(q)
		totals = append(totals, total)
		for _, p := range page[:min(len(page), q.Limit)] {
			ids = append(ids, p.position.ID)
		}
		if len(page) <= q.Limit {
			return ids, totals
		}
		q.After = &page[q.Limit-1].position
	}
	t.Fatalf("search %q: more than 10,000 pages", raw)
	return nil, nil
}

func checkIndexSearches(t *testing.T, ix *memoryIndex, model searchModel, queries []string) {
	for _, raw := range queries {
		for _, limit := range []string{"limit=7", "limit=100"} {
			full := strings.TrimPrefix(raw+"&"+limit, "&")
			want := model.matching(parseQuery(t, full))
			got, totals := indexSearchAll(t, ix, full)
			if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: movies differ (-want +got):\n%s", full, diff)
			}
			for i, total := range totals {
				if total != int64(len(want)) {
					t.Errorf("%s: page %d total: got %d, want %d", full, i+1, total, len(want))
				}
			}
		}
	}
}

// indexQueries returns queries of every kind and combination, with terms
// taken from the model so that they match few, many or no movies. Both
// ways of searching are checked with them.
func indexQueries(model searchModel) []string {
	byFrequency := model.castByFrequency()
	top, mid, rare := byFrequency[0], byFrequency[len(byFrequency)/50], byFrequency[len(byFrequency)-1]
	return []string{
		"", "year=1994", "year=1990-1999", "year=-1920", "year=2020-", "year=1870-1880",
		"genre=drama", "genre=found+footage", "genre=no-such-genre", "genre=SILENT",
		"cast=" + url.QueryEscape(top), "cast=" + url.QueryEscape(mid), "cast=" + url.QueryEscape(rare),
		"cast=replacement+actor", "cast=nobody+at+all",
		"title=the", "title=love", "title=e", "title=ca", "title=cafe", "title=Caf%C3%A9", "title=night",
		"title=lighthouse", "title=of+the", "title=zzzzzz", "title=%25", "title=_", "title=the+big+man+of+the+night",
		"cast=" + url.QueryEscape(top) + "&genre=drama",
		"year=1950-2000&cast=" + url.QueryEscape(top),
		"year=1994&genre=drama",
		"genre=comedy&title=love",
		"year=1990-1999&genre=comedy&title=the",
		"cast=" + url.QueryEscape(mid) + "&title=e",
		"cast=" + url.QueryEscape(top) + "&genre=comedy&title=a&year=1900-",
		"genre=drama&title=lighthouse",
		"genre=western&cast=replacement+actor",
		"title=ca&year=2001",
		"title=night&year=1999-2010&genre=drama",
	}
}

func TestMemoryIndexMatchesModel(t *testing.T) {
	model := generatedModel(t, 7, 3000)
	ix := newMemoryIndex()
	indexModel(ix, model, 1)
	queries := indexQueries(model)
	t.Run("loaded", func(t *testing.T) { checkIndexSearches(t, ix, model, queries) })

	// Change the year, title, cast or genres of a fifth of the movies, and
	// add as many new ones.
	rng := rand.New(rand.NewPCG(1, 2))
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range model {
			yield(id)
		}
	})
	others := generatedModel(t, 8, 600)
	var changed []indexedMovie
	for _, other := range others {
		id := ids[rng.IntN(len(ids))]
		r := model[id]
		switch rng.IntN(4) {
		case 0:
			r.Year = other.Year
		case 1:
			r.Title = other.Title
		case 2:
			r.Cast = append(other.Cast, "Replacement Actor")
		case 3:
			r.Genres = other.Genres
		}
		model[id] = r
		m := newIndexedMovie(id, r.Year, movie.FoldSearch(r.Title), movie.FoldSearchAll(r.Cast), movie.FoldSearchAll(r.Genres))
		m.genreNames = genreNames(r.Genres)
		changed = append(changed, m)
	}
	for id, r := range generatedModel(t, 9, 600) {
		model[id] = r
		changed = append(changed, indexedFromRecord(r))
	}
	ix.apply(changed, 2)

	t.Run("changed", func(t *testing.T) { checkIndexSearches(t, ix, model, queries) })
	ix.sortLimit = 0
	t.Run("changed, years walked", func(t *testing.T) { checkIndexSearches(t, ix, model, queries) })
	if got := ix.Applied(); got != 2 {
		t.Errorf("applied position: got %d, want 2", got)
	}
	if got := ix.Len(); got != len(model) {
		t.Errorf("movies in the index: got %d, want %d", got, len(model))
	}
}

// TestMemoryIndexIDHashCollisions gives every movie id the same hash, so
// that all but the first movie are found through the overflow map.
func TestMemoryIndexIDHashCollisions(t *testing.T) {
	model := generatedModel(t, 7, 500)
	ix := newMemoryIndex()
	ix.ids.hash = func(string) uint64 { return 1 }
	ix.cast.numbers.hash = func(string) uint64 { return 1 }
	indexModel(ix, model, 1)

	var changed []indexedMovie
	for id, r := range model {
		r.Cast = append(r.Cast, "Replacement Actor")
		model[id] = r
		changed = append(changed, indexedFromRecord(r))
	}
	ix.apply(changed, 2)

	checkIndexSearches(t, ix, model, []string{"", "cast=replacement+actor", "title=the", "genre=drama"})
	if got := ix.Len(); got != len(model) {
		t.Errorf("movies in the index: got %d, want %d", got, len(model))
	}
}

// TestMemoryIndexOldValuesMatchNothing changes every field of a movie and
// checks that its old values match no movie any more.
func TestMemoryIndexOldValuesMatchNothing(t *testing.T) {
	ix := newMemoryIndex()
	ix.apply([]indexedMovie{newIndexedMovie("a", 1999, "cafe", []string{"ann", "ann"}, []string{"drama"})}, 1)
	ix.apply([]indexedMovie{newIndexedMovie("a", 2001, "bar", []string{"bob"}, []string{"comedy"})}, 2)

	for _, raw := range []string{"cast=ann", "genre=drama", "title=caf", "year=1999"} {
		if page, total := ix.search(parseQuery(t, raw)); len(page) != 0 || total != 0 {
			t.Errorf("%s: got %d movies, total %d, want none", raw, len(page), total)
		}
	}
}

// TestMemoryIndexSearchesWhileApplying runs searches of every kind while
// changes are applied, for the race detector to check that searches only
// read the bitmaps they share.
func TestMemoryIndexSearchesWhileApplying(t *testing.T) {
	model := generatedModel(t, 7, 2000)
	ix := newMemoryIndex()
	indexModel(ix, model, 1)
	queries := indexQueries(model)
	changes := generatedModel(t, 8, 2000)

	parsed := make([]query.Query, len(queries))
	for i, raw := range queries {
		parsed[i] = parseQuery(t, raw)
	}

	var wg sync.WaitGroup
	for worker := range 4 {
		wg.Go(func() {
			for i := range 200 {
				ix.search(parsed[(worker*200+i)%len(parsed)])
			}
		})
	}
	for _, r := range changes {
		ix.apply([]indexedMovie{indexedFromRecord(r)}, 2)
	}
	wg.Wait()

	if got := ix.Len(); got != len(model)+len(changes) {
		t.Errorf("movies in the index: got %d, want %d", got, len(model)+len(changes))
	}
}

// TestMemoryIndexTitleCacheFollowsChanges searches title terms, so their
// matches are cached, then adds movies, then renames some, searching again
// after each step.
func TestMemoryIndexTitleCacheFollowsChanges(t *testing.T) {
	model := generatedModel(t, 7, 1000)
	ix := newMemoryIndex()
	indexModel(ix, model, 1)
	queries := []string{"title=love", "title=night", "title=of+the", "genre=drama&title=lighthouse", "title=cafe&year=1990-2010"}
	checkIndexSearches(t, ix, model, queries)

	var added []indexedMovie
	for id, r := range generatedModel(t, 9, 500) {
		model[id] = r
		added = append(added, indexedFromRecord(r))
	}
	ix.apply(added, 2)
	if len(ix.titleCache.entries) == 0 {
		t.Fatal("no title term was cached")
	}
	checkIndexSearches(t, ix, model, queries)

	renamed := []string{"A Night of the Lighthouse", "Love at the Cafe", "Nothing Alike"}
	var changed []indexedMovie
	for i, id := range slices.Sorted(maps.Keys(model))[:300] {
		r := model[id]
		r.Title = renamed[i%len(renamed)]
		model[id] = r
		changed = append(changed, newIndexedMovie(id, r.Year, movie.FoldSearch(r.Title), movie.FoldSearchAll(r.Cast), movie.FoldSearchAll(r.Genres)))
	}
	ix.apply(changed, 3)
	checkIndexSearches(t, ix, model, queries)
}

// TestMemoryIndexGenreList checks the genre list against the model while
// movies spell their genres differently and change them.
func TestMemoryIndexGenreList(t *testing.T) {
	model := generatedModel(t, 7, 300)
	ids := slices.Sorted(maps.Keys(model))
	for i, spelling := range []string{"DRAMA", " drama ", "Dráma", "Science  Fiction", "science fiction"} {
		r := model[ids[i]]
		r.Genres = append(r.Genres, spelling)
		model[ids[i]] = r
	}
	ix := newMemoryIndex()
	indexModel(ix, model, 1)
	checkGenreList(t, ix, model)

	// Drop the first spelling of drama in sort order, and every drama of a
	// hundred movies.
	var changed []indexedMovie
	for i, id := range ids[:100] {
		r := model[id]
		r.Genres = slices.DeleteFunc(slices.Clone(r.Genres), func(g string) bool { return i == 0 || movie.FoldSearch(g) == "drama" })
		model[id] = r
		changed = append(changed, indexedFromRecord(r))
	}
	ix.apply(changed, 2)
	checkGenreList(t, ix, model)
}

// checkGenreList compares the index's genre list with one computed from
// the model: genres grouped as the genre filter folds them, each named by
// its first spelling in sort order.
func checkGenreList(t *testing.T, ix *memoryIndex, model searchModel) {
	t.Helper()
	names := map[string]string{}
	movies := map[string]int64{}
	for _, r := range model {
		for _, folded := range slices.Compact(slices.Sorted(slices.Values(movie.FoldSearchAll(r.Genres)))) {
			movies[folded]++
		}
		for _, name := range genreNames(r.Genres) {
			folded := movie.FoldSearch(name)
			if names[folded] == "" || name < names[folded] {
				names[folded] = name
			}
		}
	}
	var want []Genre
	for folded, n := range movies {
		want = append(want, Genre{Name: names[folded], Movies: n})
	}
	slices.SortFunc(want, func(a, b Genre) int { return strings.Compare(a.Name, b.Name) })

	if diff := gocmp.Diff(want, ix.genreList()); diff != "" {
		t.Errorf("genre list differs (-want +got):\n%s", diff)
	}
}

// TestFirstSlotsMatchesASort compares the first k slots of a shuffled set
// with the front of the fully sorted set, for k below, at and above its size.
func TestFirstSlotsMatchesASort(t *testing.T) {
	ix := newMemoryIndex()
	indexModel(ix, generatedModel(t, 7, 500), 1)
	var sorted []uint32
	for _, y := range ix.yearList {
		sorted = append(sorted, ix.years[y].order...)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 20, 101, len(sorted), len(sorted) + 5} {
		shuffled := slices.Clone(sorted)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got, want := ix.firstSlots(shuffled, k), sorted[:min(k, len(sorted))]; !slices.Equal(got, want) {
			t.Errorf("k=%d: got %v, want %v", k, got[:min(len(got), 5)], want[:min(len(want), 5)])
		}
	}
	if got := ix.firstSlots(slices.Clone(sorted), 0); len(got) != 0 {
		t.Errorf("k=0: got %d slots, want none", len(got))
	}
}
