package origin

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/movie"
	"moviequery/internal/postgres"
)

// TestDocumentCacheHoldsItsLimit writes four times the cache's limit in
// documents: the cache's chunks must stay within the limit, the newest
// documents must be found, and the oldest must be gone.
func TestDocumentCacheHoldsItsLimit(t *testing.T) {
	cache, err := newDocumentCache(1)
	if err != nil {
		t.Fatal(err)
	}

	document := strings.Repeat("x", 2000)
	const movies = 2000 // 4 MB of documents
	for i := range movies {
		cache.put(uint32(i), int64(i+1), document)
	}

	if got := len(cache.chunks) * chunkSize; got > 1<<20 {
		t.Errorf("cache chunks take %d bytes, want at most 1 MiB", got)
	}
	if got, ok := cache.get(movies-1, movies); !ok || got != document {
		t.Errorf("newest document not found")
	}
	if _, ok := cache.get(0, 1); ok {
		t.Errorf("oldest document still cached past the limit")
	}
}

// TestDocumentCacheMatchesTheChange checks that a document is found only
// under the change it was cached with, and that a later change replaces
// it.
func TestDocumentCacheMatchesTheChange(t *testing.T) {
	cache, err := newDocumentCache(1)
	if err != nil {
		t.Fatal(err)
	}

	cache.put(3, 7, `{"id":"movie"}`)
	if _, ok := cache.get(3, 8); ok {
		t.Errorf("document cached under change 7 found under change 8")
	}
	if got, ok := cache.get(3, 7); !ok || got != `{"id":"movie"}` {
		t.Errorf("document under change 7: got %q, %v", got, ok)
	}
	if _, ok := cache.get(2, 7); ok {
		t.Errorf("document of slot 3 found in slot 2")
	}

	cache.put(3, 8, `{"id":"movie","extract":"new"}`)
	if _, ok := cache.get(3, 7); ok {
		t.Errorf("document under change 7 still found after change 8 was cached")
	}
	if got, ok := cache.get(3, 8); !ok || got != `{"id":"movie","extract":"new"}` {
		t.Errorf("document under change 8: got %q, %v", got, ok)
	}
}

// TestDocumentCacheSize checks that a cache needs at least a megabyte.
func TestDocumentCacheSize(t *testing.T) {
	if _, err := newDocumentCache(0); err == nil {
		t.Errorf("a cache of 0 MB was created")
	}
}

// TestWarmedCacheServesTheFirstRead warms a store's cache after its index
// loads: the first search and the first read of a movie by id must take
// every document from the cache, and a movie changed since must be read
// again at its new state.
func TestWarmedCacheServesTheFirstRead(t *testing.T) {
	dsn := postgres.SharedDatabase(t)
	writer, reader := openStoreAt(t, dsn), openStoreAt(t, dsn)
	if err := reader.UseDocumentCache(1); err != nil {
		t.Fatal(err)
	}
	r := movie.Record{Title: "Marrow Lane", Year: 1911, Genres: []string{"Drama"}, Extract: "Before."}
	results := ingest(t, writer,
		update{"providers/warm/marrow.json", r, testEpoch},
		update{"providers/warm/ember.json", movie.Record{Title: "Ember Yard", Year: 1911, Genres: []string{"Drama"}}, testEpoch},
	)
	if err := reader.LoadMemoryIndex(t.Context(), time.Hour, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if reader.DocumentCacheWarmed() {
		t.Errorf("cache reported warmed before warming")
	}
	if err := reader.WarmDocumentCache(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if !reader.DocumentCacheWarmed() {
		t.Errorf("cache not reported warmed after warming")
	}

	cache := reader.documentCache
	extractsOf(t, reader, parseQuery(t, "genre=drama"), 0)
	if _, err := reader.Movie(t.Context(), results[0].MovieID); err != nil {
		t.Fatal(err)
	}
	if hits, misses := cache.hits.Load(), cache.misses.Load(); hits != 3 || misses != 0 {
		t.Errorf("first reads after warming: %d hits and %d misses, want 3 and 0", hits, misses)
	}

	r.Extract = "After."
	changed := ingest(t, writer, update{"providers/warm/marrow.json", r, testEpoch.Add(time.Hour)})
	for range 2 {
		document, err := reader.MovieSeen(t.Context(), results[0].MovieID, changed[0].Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(document, `"After."`) {
			t.Errorf("movie after its change: %s, want the new extract", document)
		}
	}
	if hits, misses := cache.hits.Load(), cache.misses.Load(); hits != 4 || misses != 1 {
		t.Errorf("two reads after the change: %d hits and %d misses in all, want 4 and 1", hits, misses)
	}
}

// TestWarmingStopsAtTheCacheLimit warms a 1 MB cache from twice as many
// documents: warming must stop before the cache evicts, so the first
// movies it read are still cached and the last are not.
func TestWarmingStopsAtTheCacheLimit(t *testing.T) {
	store := newTestStore(t)
	if err := store.UseDocumentCache(1); err != nil {
		t.Fatal(err)
	}
	extract := strings.Repeat("A long plot summary. ", 80) // 1,680 bytes
	updates := make([]update, 1200)
	for i := range updates {
		r := movie.Record{Title: fmt.Sprintf("Serial %04d", i), Year: 1950, Extract: extract}
		updates[i] = update{fmt.Sprintf("providers/warm/serial-%04d.json", i), r, testEpoch}
	}
	ingest(t, store, updates...)
	if err := store.LoadMemoryIndex(t.Context(), time.Hour, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if err := store.WarmDocumentCache(t.Context(), nil); err != nil {
		t.Fatal(err)
	}

	ids := movieIDsInOrder(t, store)
	ix := store.index.Load()
	cached := func(id string) bool {
		slot, change, _ := ix.lookup(id)
		_, ok := store.documentCache.get(slot, change)
		return ok
	}
	if !cached(ids[0]) {
		t.Errorf("the first movie warmed is not cached: warming went past the limit and evicted it")
	}
	if cached(ids[len(ids)-1]) {
		t.Errorf("the last movie is cached: 2 MB of documents in a 1 MB cache")
	}
}

// movieIDsInOrder returns every movie id of the store's database, in
// order.
func movieIDsInOrder(t *testing.T, store *Store) []string {
	t.Helper()
	rows, err := store.pool.Query(t.Context(), `SELECT id FROM movies ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// get returns the cached document of the movie in slot as change made it,
// through getPage, which is how the store reads the cache.
func (c *documentCache) get(slot uint32, change int64) (string, bool) {
	documents := make([]string, 1)
	missing := c.getPage([]match{{slot: slot, change: change}}, documents)
	return documents[0], len(missing) == 0
}
