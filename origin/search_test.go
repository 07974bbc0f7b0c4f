package origin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	gocmp "github.com/google/go-cmp/cmp"

	"moviequery/internal/movie"
	"moviequery/internal/moviegen"
	"moviequery/internal/query"
)

// searchModel is the current state of every movie, kept in the test to
// compute the result of each query independently of the store.
type searchModel map[string]movie.Record

func (m searchModel) matching(q query.Query) []string {
	type position struct {
		year      int
		title, id string
	}
	var found []position
	for id, r := range m {
		if matches(r, q) {
			found = append(found, position{r.Year, movie.FoldSearch(r.Title), id})
		}
	}
	slices.SortFunc(found, func(a, b position) int {
		return cmp.Or(cmp.Compare(a.year, b.year), cmp.Compare(a.title, b.title), cmp.Compare(a.id, b.id))
	})

	ids := make([]string, len(found))
	for i, p := range found {
		ids[i] = p.id
	}
	return ids
}

func matches(r movie.Record, q query.Query) bool {
	from, to := yearBounds(q)
	return r.Year >= from && r.Year <= to &&
		strings.Contains(movie.FoldSearch(r.Title), q.Title) &&
		(q.Cast == "" || slices.Contains(movie.FoldSearchAll(r.Cast), q.Cast)) &&
		(q.Genre == "" || slices.Contains(movie.FoldSearchAll(r.Genres), q.Genre))
}

// loadGenerated ingests n generated movies, then replaces the cast and
// genres of every tenth with a later update, and returns the resulting
// state.
func loadGenerated(t *testing.T, store *Store, n int) searchModel {
	t.Helper()
	model := searchModel{}
	var updates []update
	for key, body := range moviegen.Objects("gen", 7, n) {
		r, err := movie.Parse(body)
		if err != nil {
			t.Fatalf("generated movie %s: %v", key, err)
		}
		updates = append(updates, update{key, r, testEpoch})
		model[movie.ID(r)] = r
	}

	for i := 0; i < n; i += 10 {
		r := updates[i].record
		r.Cast = append(slices.Clone(updates[(i+3)%n].record.Cast), "Replacement Actor")
		r.Genres = updates[(i+7)%n].record.Genres
		updates = append(updates, update{updates[i].key, r, testEpoch.Add(time.Hour)})
		model[movie.ID(r)] = r
	}

	for batch := range slices.Chunk(updates, 500) {
		ingest(t, store, batch...)
	}
	return model
}

// castByFrequency returns the folded cast names of the model, most
// frequent first.
func (m searchModel) castByFrequency() []string {
	counts := map[string]int{}
	for _, r := range m {
		for _, c := range slices.Compact(slices.Sorted(slices.Values(movie.FoldSearchAll(r.Cast)))) {
			counts[c]++
		}
	}
	names := slices.Collect(func(yield func(string) bool) {
		for name := range counts {
			if !yield(name) {
				return
			}
		}
	})
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b)) })
	return names
}

func parseQuery(t *testing.T, raw string) query.Query {
	t.Helper()
	values, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("query %q: %v", raw, err)
	}
	q, err := query.Parse(values)
	if err != nil {
		t.Fatalf("query %q: %v", raw, err)
	}
	return q
}

// searchAll follows a query's cursors to its last page and returns the ids
// in the order served and every page's total.
func searchAll(t *testing.T, store *Store, raw string) (ids []string, totals []int64) {
	t.Helper()
	values, _ := url.ParseQuery(raw)
	for range 10_000 {
		q := parseQuery(t, values.Encode())
		page, err := store.Search(context.Background(), q)
		if err != nil {
			t.Fatalf("search %q: %v", values.Encode(), err)
		}
		for _, doc := range page.Documents {
			var d struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatalf("search %q: document %q: %v", raw, doc, err)
			}
			ids = append(ids, d.ID)
		}
		totals = append(totals, page.Total)
		if page.NextCursor == "" {
			return ids, totals
		}
		values.Set("cursor", page.NextCursor)
	}
	t.Fatalf("search %q: more than 10,000 pages", raw)
	return nil, nil
}

func TestSearchMatchesModel(t *testing.T) {
	store := newTestStore(t)
	model := loadGenerated(t, store, 3000)

	queries := indexQueries(model)

	// Title searches are exact before the title counts fold the changes in,
	// and after.
	t.Run("unfolded", func(t *testing.T) { checkSearches(t, store, model, queries) })
	checkSearchIndex(t, store)
	t.Run("folded", func(t *testing.T) { checkSearches(t, store, model, queries) })

	// The memory index returns the same results, and reflects each change
	// the store commits by the time Ingest returns.
	if err := store.LoadMemoryIndex(t.Context(), time.Hour, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	t.Run("memory index", func(t *testing.T) { checkSearches(t, store, model, queries) })
	changeSome(t, store, model)
	t.Run("memory index after changes", func(t *testing.T) { checkSearches(t, store, model, queries) })
	t.Run("genres", func(t *testing.T) { checkGenresAgree(t, store) })
}

// checkGenresAgree compares the genre list of the memory index with the
// one PostgreSQL computes, on data whose spellings of a genre differ at
// most in case, where both group alike.
func checkGenresAgree(t *testing.T, store *Store) {
	want, err := store.genresPostgres(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Genres(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	byName := func(a, b Genre) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(want, byName)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("genre lists differ (-PostgreSQL +memory index):\n%s", diff)
	}
}

// changeSome adds movies with the titles or years of others (a title and
// year are part of a movie's identity) and replaces the cast or genres of
// others, through ingest, and updates the model.
func changeSome(t *testing.T, store *Store, model searchModel) {
	t.Helper()
	ids := slices.Sorted(maps.Keys(model))
	var updates []update
	for i, id := range ids[:200] {
		r := model[id]
		donor := model[ids[len(ids)-1-i]]
		switch i % 4 {
		case 0:
			r.Year = donor.Year
		case 1:
			r.Title += " of the night"
		case 2:
			r.Cast = append(slices.Clone(donor.Cast), "Replacement Actor")
		case 3:
			r.Genres = donor.Genres
		}
		model[movie.ID(r)] = r
		updates = append(updates, update{fmt.Sprintf("providers/gen/change-%d.json", i), r, testEpoch.Add(2 * time.Hour)})
	}
	ingest(t, store, updates...)
}

func checkSearches(t *testing.T, store *Store, model searchModel, queries []string) {
	for _, raw := range queries {
		for _, limit := range []string{"limit=7", "limit=100"} {
			full := strings.TrimPrefix(raw+"&"+limit, "&")
			t.Run(full, func(t *testing.T) {
				want := model.matching(parseQuery(t, full))
				got, totals := searchAll(t, store, full)
				if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("movies differ (-want +got):\n%s", diff)
				}
				for i, total := range totals {
					if total != int64(len(want)) {
						t.Errorf("page %d total: got %d, want %d", i+1, total, len(want))
					}
				}
			})
		}
	}
}

// TestTitleScanWaysAgree checks that both ways of reading title matches,
// the trigram index and the walk of movies_order, return the same page and
// count, whichever Search would choose, for dense and sparse year lists.
func TestTitleScanWaysAgree(t *testing.T) {
	store := newTestStore(t)
	model := loadGenerated(t, store, 1500)

	var allYears []int
	for _, r := range model {
		if !slices.Contains(allYears, r.Year) {
			allYears = append(allYears, r.Year)
		}
	}
	slices.Sort(allYears)

	for _, raw := range []string{"title=the", "title=lighthouse", "title=e&genre=drama", "title=of+the&limit=3", "title=cafe&genre=comedy"} {
		for _, years := range [][]int{allYears, allYears[len(allYears)-5:]} {
			q := parseQuery(t, raw)
			q.YearFrom, q.YearTo = years[0], years[len(years)-1]
			var others []searchFilter
			if q.Genre != "" {
				others = append(others, searchFilter{kind: kindGenre, term: q.Genre})
			}
			all := model.matching(q)
			want := all[:min(q.Limit, len(all))]

			for _, useIndex := range []bool{true, false} {
				got := pageIDs(t, store, titlePage(q, q.Title, others, years, useIndex), q.Limit)
				if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s in %d years, trigram index %v: page differs (-want +got):\n%s", raw, len(years), useIndex, diff)
				}

				count := titleCount(q.Title, others, years, useIndex)
				var total int
				if err := store.pool.QueryRow(context.Background(), count.sql, count.args...).Scan(&total); err != nil {
					t.Fatalf("counting %s: %v", raw, err)
				}
				if total != len(all) {
					t.Errorf("%s in %d years, trigram index %v: count %d, want %d", raw, len(years), useIndex, total, len(all))
				}
			}
		}
	}
}

func yearsBetween(from, to int) []int {
	var years []int
	for y := from; y <= to; y++ {
		years = append(years, y)
	}
	return years
}

func pageIDs(t *testing.T, store *Store, st statement, limit int) []string {
	t.Helper()
	rows, err := store.pool.Query(context.Background(), st.sql, st.args...)
	if err != nil {
		t.Fatalf("running page statement: %v", err)
	}
	defer rows.Close()

	var ids []string
	for rows.Next() {
		var document, title, id string
		var year int
		if err := rows.Scan(&document, &year, &title, &id); err != nil {
			t.Fatalf("reading page: %v", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading page: %v", err)
	}
	// The statement fetches one row beyond the page to tell whether
	// another page follows.
	return ids[:min(limit, len(ids))]
}

func TestExplainSearchShowsEveryStatement(t *testing.T) {
	store := newTestStore(t)
	loadGenerated(t, store, 300)

	// Trigram statements must not fall back to reading all of movies_order
	// or the table, whatever PostgreSQL estimates. Over a long range of
	// years they read the trigram index. Over a few years, a bitmap of
	// those years' movies_order entries may serve as well.
	q := parseQuery(t, "title=the")
	for _, years := range [][]int{{1994, 1995}, yearsBetween(1900, 2025)} {
		for _, st := range []statement{titlePage(q, q.Title, nil, years, true), titleCount(q.Title, nil, years, true)} {
			var plan string
			err := pgx.BeginFunc(context.Background(), store.pool, func(tx pgx.Tx) error {
				var err error
				plan, err = explain(context.Background(), tx, st)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Index Only Scan using movies_order") {
				t.Errorf("trigram statement over %d years reads the whole table or movies_order:\n%s", len(years), plan)
			}
			if len(years) > sparseYears && !strings.Contains(plan, "movies_title_trgm") {
				t.Errorf("trigram statement over %d years does not read the trigram index:\n%s", len(years), plan)
			}
		}
	}

	for raw, want := range map[string]int{"genre=drama": 2, "genre=drama&title=the": 5, "title=zzzz&year=1990": 2} {
		plans, err := store.ExplainSearch(context.Background(), parseQuery(t, raw))
		if err != nil {
			t.Fatalf("explaining %s: %v", raw, err)
		}
		if len(plans) != want {
			t.Errorf("explaining %s: got %d plans, want %d", raw, len(plans), want)
		}
		for _, p := range plans {
			if !strings.Contains(p, "Execution Time") {
				t.Errorf("explaining %s: plan lacks the execution time:\n%s", raw, p)
			}
		}
	}
}
