package origin

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"moviequery/internal/movie"
	"moviequery/internal/postgres"
	"moviequery/internal/query"
)

// TestMemoryIndexReflectsWhatTheCallerSaw runs two stores on one database,
// as two origins of a region do. The second one's index follows the feed
// only when asked: a search that names the feed position of a change the
// first one committed must find that change.
func TestMemoryIndexReflectsWhatTheCallerSaw(t *testing.T) {
	dsn := postgres.SharedDatabase(t)
	writer, reader := openStoreAt(t, dsn), openStoreAt(t, dsn)
	model := loadGenerated(t, writer, 200)
	if err := reader.LoadMemoryIndex(t.Context(), time.Hour, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}

	r := movie.Record{Title: "Zyzzyva Returns", Year: 2001, Cast: []string{"Ada Quill"}, Genres: []string{"Drama"}}
	results := ingest(t, writer, update{"providers/gen/zyzzyva.json", r, testEpoch})
	model[movie.ID(r)] = r

	for _, raw := range []string{"title=zyzzyva", "cast=ada+quill", "year=2001&genre=drama"} {
		q := parseQuery(t, raw)
		page, err := reader.SearchSeen(context.Background(), q, results[0].Seq)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		want := model.matching(q)
		if page.Total != int64(len(want)) || !slices.ContainsFunc(page.Documents, func(d string) bool { return documentID(t, d) == movie.ID(r) }) {
			t.Errorf("%s: total %d without the new movie, want %d with it", raw, page.Total, len(want))
		}
	}
}

func openStoreAt(t *testing.T, dsn string) *Store {
	t.Helper()
	store, err := OpenStore(t.Context(), dsn, nil)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(store.Close)
	return store
}

// documentID returns the id of a movie document.
func documentID(t *testing.T, document string) string {
	t.Helper()
	var d struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(document), &d); err != nil {
		t.Fatalf("document %q: %v", document, err)
	}
	return d.ID
}

// TestDocumentCacheServesTheIndexedState runs a search through a document
// cache, changes a movie's extract (no search field), and searches again
// from a second store: the page must carry the new extract, and a repeated
// search must take every document from the cache.
func TestDocumentCacheServesTheIndexedState(t *testing.T) {
	dsn := postgres.SharedDatabase(t)
	writer, reader := openStoreAt(t, dsn), openStoreAt(t, dsn)
	if err := reader.UseDocumentCache(1); err != nil {
		t.Fatal(err)
	}
	r := movie.Record{Title: "Quillon Harbour", Year: 1907, Cast: []string{"Ada Quill"}, Genres: []string{"Drama"}, Extract: "First cut."}
	ingest(t, writer, update{"providers/cache/quillon.json", r, testEpoch})
	if err := reader.LoadMemoryIndex(t.Context(), time.Hour, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	q := parseQuery(t, "genre=drama&year=1907")
	if got := extractsOf(t, reader, q, 0); !slices.Equal(got, []string{"First cut."}) {
		t.Fatalf("first search: extracts %q, want the first cut", got)
	}

	r.Extract = "Director's cut."
	results := ingest(t, writer, update{"providers/cache/quillon.json", r, testEpoch.Add(time.Hour)})
	if got := extractsOf(t, reader, q, results[0].Seq); !slices.Equal(got, []string{"Director's cut."}) {
		t.Errorf("search after the change: extracts %q, want the director's cut", got)
	}

	hits := reader.documentCache.hits.Load()
	if got := extractsOf(t, reader, q, results[0].Seq); !slices.Equal(got, []string{"Director's cut."}) {
		t.Errorf("repeated search: extracts %q, want the director's cut", got)
	}
	if reader.documentCache.hits.Load() != hits+1 {
		t.Errorf("repeated search: %d cache hits, want 1", reader.documentCache.hits.Load()-hits)
	}
}

// extractsOf runs q as it reflects the feed up to seen and returns the
// extracts of the page's movies.
func extractsOf(t *testing.T, store *Store, q query.Query, seen int64) []string {
	t.Helper()
	page, err := store.SearchSeen(t.Context(), q, seen)
	if err != nil {
		t.Fatalf("searching: %v", err)
	}
	var extracts []string
	for _, document := range page.Documents {
		var d struct {
			Extract string `json:"extract"`
		}
		if err := json.Unmarshal([]byte(document), &d); err != nil {
			t.Fatalf("document %q: %v", document, err)
		}
		extracts = append(extracts, d.Extract)
	}
	return extracts
}
