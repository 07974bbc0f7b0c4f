package bulkload_test

import (
	"context"
	"os"
	"testing"

	"moviequery/internal/bulkload"
	"moviequery/internal/moviegen"
	"moviequery/internal/postgres"
	"moviequery/origin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgres.StopShared()
	os.Exit(code)
}

func TestLoadStoresEveryMovieOnce(t *testing.T) {
	store, err := origin.OpenStore(t.Context(), postgres.SharedDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	const n = 2500
	cfg := bulkload.Config{BatchSize: 400, Workers: 3}
	var lastProgress int
	cfg.Progress = func(done int) { lastProgress = max(lastProgress, done) }

	result, err := bulkload.Load(context.Background(), store, moviegen.Objects("gen", 9, n), cfg)
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	if result.Stored != n || result.Duplicates != 0 || result.Quarantined != 0 {
		t.Errorf("first load: got %+v, want %d stored", result, n)
	}
	if lastProgress != n {
		t.Errorf("progress: last report %d, want %d", lastProgress, n)
	}

	stats, err := store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Movies != n || stats.LedgerEntries != n {
		t.Errorf("store after load: got %+v, want %d movies and ledger entries", stats, n)
	}

	result, err = bulkload.Load(context.Background(), store, moviegen.Objects("gen", 9, n), bulkload.Config{})
	if err != nil {
		t.Fatalf("loading again: %v", err)
	}
	if result.Duplicates != n || result.Stored != 0 {
		t.Errorf("second load: got %+v, want all %d duplicates", result, n)
	}
}

func TestLoadQuarantinesKeysOutsideProviders(t *testing.T) {
	store, err := origin.OpenStore(t.Context(), postgres.SharedDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	objects := func(yield func(string, []byte) bool) {
		yield("elsewhere/1.json", []byte(`{"title":"X","year":2000}`))
	}
	result, err := bulkload.Load(context.Background(), store, objects, bulkload.Config{})
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	if result.Quarantined != 1 {
		t.Errorf("got %+v, want the object quarantined", result)
	}
}
