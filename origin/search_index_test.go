package origin

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"moviequery/internal/query"
)

// expectedIndexSQL recomputes search_postings and search_counts from
// movies, the way migration 00003 backfills them.
var expectedIndexSQL = strings.ReplaceAll(`
	expected_postings AS (
		SELECT DISTINCT 'c'::"char" AS kind, c COLLATE "C" AS term, m.year, m.title_search, m.id AS movie_id, m.genres_search
		FROM movies m, unnest(m.cast_search) AS c
		UNION
		SELECT DISTINCT 'g'::"char", g COLLATE "C", m.year, m.title_search, m.id, m.genres_search
		FROM movies m, unnest(m.genres_search) AS g),
	expected_counts AS (
		SELECT 'a'::"char" AS kind, ''::text COLLATE "C" AS term, year, count(*)::int AS movies FROM movies GROUP BY year
		UNION ALL
		SELECT 'c', c COLLATE "C", year, count(DISTINCT id)::int FROM movies, unnest(cast_search) AS c GROUP BY 2, 3
		UNION ALL
		SELECT 'g', g COLLATE "C", year, count(DISTINCT id)::int FROM movies, unnest(genres_search) AS g GROUP BY 2, 3
		UNION ALL
		SELECT 't', s.term, m.year, count(*)::int
		FROM movies m, LATERAL (SELECT DISTINCT substr(m.title_search, i, k) AS term
		                        FROM generate_series(1, char_length(m.title_search)) AS i, generate_series(1, MAX_SUBSTRING) AS k
		                        WHERE i + k - 1 <= char_length(m.title_search)) AS s
		GROUP BY 2, 3),
	actual_postings AS (SELECT kind, term, year, title_search, movie_id, genres_search FROM search_postings),
	actual_counts AS (SELECT kind, term, year, movies FROM search_counts WHERE movies > 0)`,
	"MAX_SUBSTRING", strconv.Itoa(maxCountedSubstring))

// checkSearchIndex fails the test when search_postings or search_counts
// differ from what movies implies, listing up to ten differing rows.
func checkSearchIndex(t *testing.T, store *Store) {
	t.Helper()
	foldAll(t, store)
	rows, err := store.pool.Query(context.Background(), `WITH `+expectedIndexSQL+`
		(SELECT 'missing posting ' || format('%s', e) FROM (SELECT * FROM expected_postings EXCEPT SELECT * FROM actual_postings) e LIMIT 10)
		UNION ALL
		(SELECT 'extra posting ' || format('%s', a) FROM (SELECT * FROM actual_postings EXCEPT SELECT * FROM expected_postings) a LIMIT 10)
		UNION ALL
		(SELECT 'expected count ' || format('%s', e) FROM (SELECT * FROM expected_counts EXCEPT SELECT * FROM actual_counts) e LIMIT 10)
		UNION ALL
		(SELECT 'unexpected count ' || format('%s', a) FROM (SELECT * FROM actual_counts EXCEPT SELECT * FROM expected_counts) a LIMIT 10)`)
	if err != nil {
		t.Fatalf("comparing search index with movies: %v", err)
	}
	diffs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("comparing search index with movies: %v", err)
	}
	for _, d := range diffs {
		t.Errorf("search index differs from movies: %s", d)
	}
}

// foldAll folds every change into the title counts.
func foldAll(t *testing.T, store *Store) {
	t.Helper()
	for {
		n, err := store.FoldTitleCounts(context.Background())
		if err != nil {
			t.Fatalf("folding title counts: %v", err)
		}
		if n < foldBatch {
			return
		}
	}
}

func countRow(t *testing.T, store *Store, kind, term string, year int) int {
	t.Helper()
	var n int
	err := store.pool.QueryRow(context.Background(),
		`SELECT coalesce(sum(movies), 0) FROM search_counts WHERE kind = $1::text::"char" AND term = $2 AND year = $3`, kind, term, year).Scan(&n)
	if err != nil {
		t.Fatalf("reading search count: %v", err)
	}
	return n
}

func TestSearchIndexFollowsCastAndGenreChanges(t *testing.T) {
	store := newTestStore(t)
	const key = "providers/test/heat.json"

	ingest(t, store,
		update{key, record("Heat", 1995, "Heat_(1995_film)", []string{"Al Pacino", "Robert De Niro"}, []string{"Crime", "Drama"}), testEpoch},
		update{"providers/test/other.json", record("Heatwave", 1995, "", []string{"Al Pacino"}, []string{"Drama"}), testEpoch},
	)
	checkSearchIndex(t, store)

	// A later update replaces cast and genres, with repeats that fold alike.
	ingest(t, store, update{key, record("Heat", 1995, "Heat_(1995_film)",
		[]string{"Robert De Niro", "Val Kilmer", "VAL  KILMER"}, []string{"Thriller", "thriller", "Drama"}), testEpoch.Add(time.Hour)})
	checkSearchIndex(t, store)
	if got := countRow(t, store, kindGenre, "crime", 1995); got != 0 {
		t.Errorf("crime count after Heat left crime: got %d, want 0", got)
	}
	if got := countRow(t, store, kindGenre, "thriller", 1995); got != 1 {
		t.Errorf("thriller count: got %d, want 1", got)
	}
	if got := countRow(t, store, kindGenre, "drama", 1995); got != 2 {
		t.Errorf("drama count: got %d, want 2", got)
	}
	if got := countRow(t, store, kindCast, "val kilmer", 1995); got != 1 {
		t.Errorf("val kilmer count, listed twice in one movie: got %d, want 1", got)
	}
	if got := countRow(t, store, kindCast, "al pacino", 1995); got != 1 {
		t.Errorf("al pacino count after Heat dropped him: got %d, want 1", got)
	}

	// An update written earlier than the current state changes nothing.
	ingest(t, store, update{key, record("Heat", 1995, "Heat_(1995_film)", []string{"Nobody"}, []string{"Comedy"}), testEpoch.Add(-time.Hour)})
	checkSearchIndex(t, store)
	if got := countRow(t, store, kindGenre, "comedy", 1995); got != 0 {
		t.Errorf("comedy count after an older update: got %d, want 0", got)
	}
}

func TestSearchIndexFollowsUpdatesInOneBatch(t *testing.T) {
	store := newTestStore(t)
	const key = "providers/test/alien.json"

	// Three versions of one movie and a new movie in one transaction: only
	// the latest version may reach the index.
	ingest(t, store,
		update{key, record("Alien", 1979, "Alien_(film)", []string{"Sigourney Weaver"}, []string{"Horror"}), testEpoch.Add(2 * time.Hour)},
		update{key, record("Alien", 1979, "Alien_(film)", []string{"John Hurt"}, []string{"Science Fiction"}), testEpoch},
		update{key, record("Alien", 1979, "Alien_(film)", []string{"Ian Holm"}, []string{"Thriller"}), testEpoch.Add(time.Hour)},
		update{"providers/test/aliens.json", record("Aliens", 1986, "Aliens_(film)", []string{"Sigourney Weaver"}, []string{"Action"}), testEpoch},
	)
	checkSearchIndex(t, store)
	if got := countRow(t, store, kindGenre, "horror", 1979); got != 1 {
		t.Errorf("horror count: got %d, want 1", got)
	}
	if got := countRow(t, store, kindTitle, "alie", 1986); got != 1 {
		t.Errorf("count of title substring alie in 1986: got %d, want 1", got)
	}
}

// TestSearchIndexFollowsYearAndTitleChange moves a movie to another year
// and title. A movie's identity includes both, so ingest never does this
// today, but the index must not depend on it.
func TestSearchIndexFollowsYearAndTitleChange(t *testing.T) {
	store := newTestStore(t)
	results := ingest(t, store, update{"providers/test/m.json",
		record("Metropolis", 1927, "Metropolis_(1927_film)", []string{"Brigitte Helm"}, []string{"Silent", "Science Fiction"}), testEpoch})
	id := results[0].MovieID

	err := pgx.BeginFunc(context.Background(), store.pool, func(tx pgx.Tx) error {
		old := searchFields{id: id, year: 1927, title: "metropolis", cast: []string{"brigitte helm"}, genres: []string{"silent", "science fiction"}}
		moved := searchFields{id: id, year: 1984, title: "metropolis restored", cast: []string{"brigitte helm", "gustav frohlich"}, genres: []string{"science fiction"}}
		_, err := tx.Exec(context.Background(), `
			UPDATE movies SET year = $2, title_search = $3, cast_search = $4, genres_search = $5 WHERE id = $1`,
			id, moved.year, moved.title, moved.cast, moved.genres)
		if err != nil {
			return err
		}
		// Title counts follow the change feed.
		_, err = tx.Exec(context.Background(), `
			INSERT INTO changes (movie_id, revision_id, old_year, old_title, new_year, new_title)
			SELECT id, revision_id, $2, $3, year, title_search FROM movies WHERE id = $1`, id, old.year, old.title)
		if err != nil {
			return err
		}
		return updateSearchIndex(context.Background(), tx, []indexChange{{old: &old, new: moved}})
	})
	if err != nil {
		t.Fatalf("moving the movie: %v", err)
	}

	checkSearchIndex(t, store)
	for _, c := range []struct {
		kind, term string
		year, want int
	}{
		{kindAll, "", 1927, 0}, {kindAll, "", 1984, 1},
		{kindGenre, "silent", 1927, 0}, {kindGenre, "science fiction", 1927, 0}, {kindGenre, "science fiction", 1984, 1},
		{kindTitle, "metr", 1927, 0}, {kindTitle, "metr", 1984, 1}, {kindTitle, "stor", 1984, 1},
	} {
		if got := countRow(t, store, c.kind, c.term, c.year); got != c.want {
			t.Errorf("count %s %q %d: got %d, want %d", c.kind, c.term, c.year, got, c.want)
		}
	}
}

func TestSearchIndexRejectsDriftedPostings(t *testing.T) {
	store := newTestStore(t)
	results := ingest(t, store, update{"providers/test/m.json", record("Vertigo", 1958, "", []string{"James Stewart"}, []string{"Mystery"}), testEpoch})
	if _, err := store.pool.Exec(context.Background(), `DELETE FROM search_postings WHERE kind = 'c'`); err != nil {
		t.Fatal(err)
	}

	objects := []Object{update{"providers/test/m.json", record("Vertigo", 1958, "", []string{"Kim Novak"}, []string{"Mystery"}), testEpoch.Add(time.Hour)}.object(t)}
	if _, err := store.Ingest(context.Background(), objects, nil); err == nil {
		t.Errorf("ingest over a missing posting of movie %s: got no error, want the drift reported", results[0].MovieID)
	}
}

func TestPostingDiffOnYearChange(t *testing.T) {
	old := searchFields{id: "m", year: 1990, title: "x", cast: []string{"a", "b"}, genres: []string{"drama"}}
	moved := old
	moved.year = 1991

	removed, added := postingDiff([]indexChange{{old: &old, new: moved}})
	if len(removed) != 3 || len(added) != 3 {
		t.Fatalf("year change: got %d removed and %d added postings, want 3 and 3", len(removed), len(added))
	}
	for _, k := range removed {
		if k.year != 1990 {
			t.Errorf("removed posting %+v: want year 1990", k)
		}
	}

	deltas := countDeltas([]indexChange{{old: &old, new: moved}})
	for _, d := range deltas {
		if want := map[int]int{1990: -1, 1991: 1}[d.key.year]; d.delta != want {
			t.Errorf("count delta %+v: want %d", d, want)
		}
	}
}

func TestPostingDiffUnchangedMovie(t *testing.T) {
	old := searchFields{id: "m", year: 1990, title: "x", cast: []string{"a"}, genres: []string{"drama", "war"}}
	removed, added := postingDiff([]indexChange{{old: &old, new: old}})
	if len(removed) != 0 || len(added) != 0 {
		t.Errorf("unchanged movie: got %v removed and %v added, want none", removed, added)
	}
	if deltas := countDeltas([]indexChange{{old: &old, new: old}}); len(deltas) != 0 {
		t.Errorf("unchanged movie: got count deltas %v, want none", deltas)
	}
}

func TestPostingDiffGenreChangeRewritesCastPostings(t *testing.T) {
	old := searchFields{id: "m", year: 1990, title: "x", cast: []string{"a"}, genres: []string{"drama"}}
	next := old
	next.genres = []string{"drama", "war"}

	removed, added := postingDiff([]indexChange{{old: &old, new: next}})
	// The cast posting carries the genres, so it is rewritten; the drama
	// posting carries them too.
	wantRemoved := []postingKey{{kind: kindCast, term: "a", title: "x", id: "m", year: 1990}, {kind: kindGenre, term: "drama", title: "x", id: "m", year: 1990}}
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("removed: got %v, want %v", removed, wantRemoved)
	}
	if len(added) != 3 {
		t.Errorf("added: got %d postings, want 3 (a, drama, war)", len(added))
	}
}

func TestMigrationCountsSameSubstrings(t *testing.T) {
	sql, err := migrations.ReadFile("migrations/00003_search_index.sql")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("generate_series(1, %d) AS k", maxCountedSubstring); !strings.Contains(string(sql), want) {
		t.Errorf("migration 00003 backfills title substrings without %q, so it disagrees with maxCountedSubstring", want)
	}
}

func TestTitleSubstrings(t *testing.T) {
	got := titleSubstrings("aaé")
	want := []string{"a", "aa", "aaé", "aé", "é"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("titleSubstrings(%q): got %q, want %q", "aaé", got, want)
	}
}

// TestConcurrentIngestKeepsIndexExact ingests conflicting versions of the
// same movies from two goroutines at once.
func TestConcurrentIngestKeepsIndexExact(t *testing.T) {
	store := newTestStore(t)
	cast := []string{"Ann Lee", "Bo Chan", "Cy Twombly", "Di Ross", "Ed Wood"}
	genres := []string{"Drama", "Comedy", "War", "Noir"}

	var wg sync.WaitGroup
	for worker := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(worker), 1))
			for batch := range 15 {
				var updates []update
				for i := range 12 {
					n := rng.IntN(10)
					r := record(fmt.Sprintf("Movie %d", n), 1990+n%3, "", pickSome(rng, cast), pickSome(rng, genres))
					at := testEpoch.Add(time.Duration(rng.IntN(100000)) * time.Second)
					updates = append(updates, update{fmt.Sprintf("providers/w%d/%d-%d.json", worker, batch, i), r, at})
				}
				ingest(t, store, updates...)
			}
		})
	}
	wg.Wait()
	checkSearchIndex(t, store)
}

func pickSome(rng *rand.Rand, from []string) []string {
	var some []string
	for _, v := range from {
		if rng.IntN(2) == 0 {
			some = append(some, v)
		}
	}
	return some
}

func TestMigrationBackfillsSearchIndex(t *testing.T) {
	store := newTestStore(t)
	ingest(t, store,
		update{"providers/test/1.json", record("Les Misérables", 1998, "", []string{"Liam Neeson", "Uma Thurman"}, []string{"Drama", "drama"}), testEpoch},
		update{"providers/test/2.json", record("Love Actually", 2003, "", []string{"Hugh Grant"}, []string{"Romance", "Comedy"}), testEpoch},
		update{"providers/test/3.json", record("Stalker", 1979, "", nil, nil), testEpoch},
	)

	db := stdlib.OpenDBFromPool(store.pool)
	defer db.Close()
	migrator, err := newMigrator(db, store.pool, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.DownTo(context.Background(), 2); err != nil {
		t.Fatalf("migrating down to version 2: %v", err)
	}
	if _, err := migrator.Up(context.Background()); err != nil {
		t.Fatalf("migrating up again: %v", err)
	}
	checkSearchIndex(t, store)
}

func TestLeadingYearsCoverOnePage(t *testing.T) {
	years := []int{1990, 1991, 1992, 1993}
	counts := yearCounts{1990: 5, 1991: 10, 1992: 10, 1993: 3}
	tests := []struct {
		name  string
		after *query.Cursor
		want  []int
	}{
		{"first page", nil, []int{1990, 1991, 1992}},
		{"after a cursor in 1991", &query.Cursor{Year: 1991}, []int{1991, 1992, 1993}},
		{"after a cursor before every year", &query.Cursor{Year: 1980}, []int{1990, 1991, 1992}},
	}
	for _, tt := range tests {
		q := query.Query{Limit: 20, After: tt.after}
		if got := leadingYears(q, counts, years); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
