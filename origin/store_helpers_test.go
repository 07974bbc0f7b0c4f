package origin

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"moviequery/internal/movie"
	"moviequery/internal/postgres"
)

// newTestStore opens a store on a new empty database of the shared test
// cluster, with every migration applied.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	store, err := OpenStore(t.Context(), postgres.SharedDatabase(t), nil)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(store.Close)
	return store
}

// update is one provider object to ingest: a record, the key it is written
// under, and when it was written, which orders it against other updates of
// the same movie.
type update struct {
	key       string
	record    movie.Record
	writtenAt time.Time
}

var testEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// object returns the update as an ingestable object whose version is
// unique to its content and time.
func (u update) object(t testing.TB) Object {
	t.Helper()
	raw, err := json.Marshal(u.record)
	if err != nil {
		t.Fatalf("encoding record: %v", err)
	}
	return Object{
		Bucket: "movie-updates", Key: u.key, Raw: raw, WrittenAt: u.writtenAt,
		Version: fmt.Sprintf("v-%d-%x", u.writtenAt.UnixMicro(), len(raw)),
	}
}

func ingest(t testing.TB, store *Store, updates ...update) []IngestResult {
	t.Helper()
	objects := make([]Object, len(updates))
	for i, u := range updates {
		objects[i] = u.object(t)
	}
	results, err := store.Ingest(context.Background(), objects, nil)
	if err != nil {
		t.Fatalf("ingesting %d updates: %v", len(updates), err)
	}
	return results
}

func record(title string, year int, href string, cast, genres []string) movie.Record {
	return movie.Record{Title: title, Year: year, Href: &href, Cast: cast, Genres: genres}
}
