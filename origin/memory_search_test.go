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
