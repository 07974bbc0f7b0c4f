package origin

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/query"
)

// TestRefoldRewritesEarlierFolds stores a movie's search values as the
// earlier fold left them, with a zero-width space and a soft hyphen kept.
// The refold must rewrite them, the postings, the counts and the change
// feed, and the movie must then be found by the terms without them.
func TestRefoldRewritesEarlierFolds(t *testing.T) {
	store := newTestStore(t)
	ingest(t, store,
		update{"providers/test/1.json", record("Star\u200bWars", 1977, "", []string{"Zo\u00eb\u200b Saldana", "Bo Chan"}, []string{"Sci\u00adFi"}), testEpoch},
		update{"providers/test/2.json", record("Stalker", 1979, "", []string{"Bo Chan"}, []string{"Drama"}), testEpoch},
	)
	earlier := searchFields{year: 1977, title: "star\u200bwars", cast: []string{"zoe\u200b saldana", "bo chan"}, genres: []string{"sci\u00adfi"}}
	id := storeEarlierFold(t, store, "Star\u200bWars", earlier)
	checkSearchIndex(t, store)
	if n := searchTotal(t, store, query.Query{Cast: "zoe saldana"}); n != 0 {
		t.Fatalf("before the refold, cast %q found %d movies, want 0: the earlier fold was not stored", "zoe saldana", n)
	}
	headBefore := changeHead(t, store)

	rewritten, err := refoldSearchFields(context.Background(), store.pool)
	if err != nil {
		t.Fatalf("refolding: %v", err)
	}

	if rewritten != 1 {
		t.Errorf("refold rewrote %d movies, want 1", rewritten)
	}
	var title string
	var cast, genres []string
	err = store.pool.QueryRow(context.Background(), `SELECT title_search, cast_search, genres_search FROM movies WHERE id = $1`, id).Scan(&title, &cast, &genres)
	if err != nil {
		t.Fatal(err)
	}
	if title != "starwars" {
		t.Errorf("title_search = %q, want %q", title, "starwars")
	}
	if want := []string{"zoe saldana", "bo chan"}; !slices.Equal(cast, want) {
		t.Errorf("cast_search = %q, want %q", cast, want)
	}
	if want := []string{"scifi"}; !slices.Equal(genres, want) {
		t.Errorf("genres_search = %q, want %q", genres, want)
	}
	checkSearchIndex(t, store)
	for _, q := range []query.Query{{Cast: "zoe saldana"}, {Genre: "scifi"}, {Title: "starwars"}} {
		if n := searchTotal(t, store, q); n != 1 {
			t.Errorf("after the refold, %+v found %d movies, want 1", q, n)
		}
	}
	if head := changeHead(t, store); head != headBefore+1 {
		t.Errorf("change feed head went from %d to %d, want one change for the refolded movie", headBefore, head)
	}

	again, err := refoldSearchFields(context.Background(), store.pool)
	if err != nil {
		t.Fatalf("refolding again: %v", err)
	}
	if again != 0 {
		t.Errorf("a second refold rewrote %d movies, want 0", again)
	}
}

// storeEarlierFold replaces the search values of the movie titled title
// with earlier, as an ingest would have stored them, and returns its id.
func storeEarlierFold(t *testing.T, store *Store, title string, earlier searchFields) string {
	t.Helper()
	var current searchFields
	var revision int64
	err := store.pool.QueryRow(context.Background(), `
		SELECT id, year, title_search, cast_search, genres_search, revision_id FROM movies
		WHERE document::jsonb ->> 'title' = $1`, title).
		Scan(&current.id, &current.year, &current.title, &current.cast, &current.genres, &revision)
	if err != nil {
		t.Fatalf("reading movie %q: %v", title, err)
	}
	earlier.id = current.id

	err = pgx.BeginFunc(context.Background(), store.pool, func(tx pgx.Tx) error {
		changes := []indexChange{{old: &current, new: earlier}}
		if err := rewriteSearchFields(context.Background(), tx, changes); err != nil {
			return err
		}
		if err := updateSearchIndex(context.Background(), tx, changes); err != nil {
			return err
		}
		changed := []movieChange{{pending: &pending{movieID: current.id, revision: revision, search: earlier}, old: &current}}
		_, err := recordChanges(context.Background(), tx, changed)
		return err
	})
	if err != nil {
		t.Fatalf("storing the earlier fold: %v", err)
	}
	return current.id
}

func searchTotal(t *testing.T, store *Store, q query.Query) int64 {
	t.Helper()
	q.Limit = 20
	page, err := store.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("searching %+v: %v", q, err)
	}
	return page.Total
}

func changeHead(t *testing.T, store *Store) int64 {
	t.Helper()
	var head int64
	if err := store.pool.QueryRow(context.Background(), `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	return head
}
