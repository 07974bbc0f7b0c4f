package origin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/tags"
)

// Kinds of rows in search_postings and search_counts.
const (
	kindAll   = "a" // search_counts only: every movie, with term ""
	kindCast  = "c"
	kindGenre = "g"
	kindTitle = "t" // search_counts only: title substrings
)

// maxCountedSubstring is the length in characters of the longest title
// substring whose movies search_counts counts per year. Every substring up
// to this length is counted, so a title term this short has an exact total
// without a scan. A longer term is counted by scanning its candidates.
// Migration 00003 backfills with the same limit.
const maxCountedSubstring = 5

// searchFields are the values of a movie that search_postings and
// search_counts index: its id, year and folded title, cast and genres.
type searchFields struct {
	id     string
	year   int
	title  string
	cast   []string
	genres []string
}

// indexChange is a movie whose current state changed: old is nil for a new
// movie.
type indexChange struct {
	old *searchFields
	new searchFields
}

// postingKey identifies one row of search_postings.
type postingKey struct {
	kind, term, title, id string
	year                  int
}

// countKey identifies one row of search_counts.
type countKey struct {
	kind, term string
	year       int
}

// updateSearchIndex brings search_postings and search_counts in step with
// the changed movies, in the caller's transaction: rows of old values are
// removed or decremented and rows of new values added or incremented. The
// caller holds the movies' row locks, so no other transaction changes the
// same movies' rows meanwhile.
func updateSearchIndex(ctx context.Context, tx pgx.Tx, changes []indexChange) error {
	if len(changes) == 0 {
		return nil
	}

	removed, added := postingDiff(changes)
	if err := deletePostings(ctx, tx, removed); err != nil {
		return err
	}
	if err := insertPostings(ctx, tx, added); err != nil {
		return err
	}
	return applyCounts(ctx, tx, countDeltas(changes))
}

func (f *searchFields) tagFields() *tags.Fields {
	return &tags.Fields{ID: f.id, Year: f.year, Title: f.title, Cast: f.cast, Genres: f.genres}
}

// postings returns the search_postings rows of a movie, each mapped to its
// genres_search value.
func (f *searchFields) postings() map[postingKey]string {
	genres := strings.Join(f.genres, "\x00")
	rows := map[postingKey]string{}
	for _, c := range f.cast {
		rows[postingKey{kind: kindCast, term: c, title: f.title, id: f.id, year: f.year}] = genres
	}
	for _, g := range f.genres {
		rows[postingKey{kind: kindGenre, term: g, title: f.title, id: f.id, year: f.year}] = genres
	}
	return rows
}

// postingRow is a search_postings row to insert.
type postingRow struct {
	key    postingKey
	genres []string
}

// postingDiff returns the posting rows to delete and to insert. A row whose
// key stays but whose genres change is in both, because deletion runs
// first.
func postingDiff(changes []indexChange) (removed []postingKey, added []postingRow) {
	for _, c := range changes {
		next := c.new.postings()
		var prev map[postingKey]string
		if c.old != nil {
			prev = c.old.postings()
		}

		for key, genres := range prev {
			if g, ok := next[key]; !ok || g != genres {
				removed = append(removed, key)
			}
		}
		for key, genres := range next {
			if g, ok := prev[key]; !ok || g != genres {
				added = append(added, postingRow{key: key, genres: c.new.genres})
			}
		}
	}

	slices.SortFunc(removed, comparePostingKeys)
	slices.SortFunc(added, func(a, b postingRow) int { return comparePostingKeys(a.key, b.key) })
	return removed, added
}

func comparePostingKeys(a, b postingKey) int {
	return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.term, b.term), cmp.Compare(a.year, b.year),
		cmp.Compare(a.title, b.title), cmp.Compare(a.id, b.id))
}

func deletePostings(ctx context.Context, tx pgx.Tx, keys []postingKey) error {
	if len(keys) == 0 {
		return nil
	}

	cols := newColumns(len(keys))
	for _, k := range keys {
		cols.add(k.kind, k.term, k.year, k.title, k.id)
	}
	tag, err := tx.Exec(ctx, `
		DELETE FROM search_postings p
		USING unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) AS d(kind, term, year, title, id)
		WHERE p.kind = d.kind::"char" AND p.term = d.term AND p.year = d.year
		  AND p.title_search = d.title AND p.movie_id = d.id`,
		cols.args()...)
	if err != nil {
		return fmt.Errorf("deleting %d search postings: %w", len(keys), err)
	}
	// A missing row means search_postings had drifted from movies; going
	// on would hide it.
	if tag.RowsAffected() != int64(len(keys)) {
		return fmt.Errorf("deleting search postings: deleted %d of %d rows, so search_postings disagrees with movies", tag.RowsAffected(), len(keys))
	}
	return nil
}

func insertPostings(ctx context.Context, tx pgx.Tx, rows []postingRow) error {
	if len(rows) == 0 {
		return nil
	}

	cols := newColumns(len(rows))
	for _, r := range rows {
		cols.add(r.key.kind, r.key.term, r.key.year, r.key.title, r.key.id, arrayLiteral(r.genres))
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO search_postings (kind, term, year, title_search, movie_id, genres_search)
		SELECT kind::"char", term, year, title, id, genres::text[]
		FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[])
		     WITH ORDINALITY AS t(kind, term, year, title, id, genres, n)
		ORDER BY n`,
		cols.args()...)
	if err != nil {
		return fmt.Errorf("inserting %d search postings: %w", len(rows), err)
	}
	return nil
}

// countTerms returns the search_counts keys a movie adds one to in the
// ingest transaction. Title substrings are counted later, from the change
// feed (see titleCountTerms).
func (f *searchFields) countTerms() []countKey {
	keys := []countKey{{kind: kindAll, term: "", year: f.year}}
	for _, c := range f.cast {
		keys = append(keys, countKey{kind: kindCast, term: c, year: f.year})
	}
	for _, g := range f.genres {
		keys = append(keys, countKey{kind: kindGenre, term: g, year: f.year})
	}
	return keys
}

// titleCountTerms returns the search_counts keys of a title's substrings in
// a year.
func titleCountTerms(title string, year int) []countKey {
	subs := titleSubstrings(title)
	keys := make([]countKey, len(subs))
	for i, s := range subs {
		keys[i] = countKey{kind: kindTitle, term: s, year: year}
	}
	return keys
}

// titleSubstrings returns every distinct substring of title of one to
// maxCountedSubstring characters.
func titleSubstrings(title string) []string {
	runes := []rune(title)
	seen := map[string]bool{}
	var subs []string
	for i := range runes {
		for n := 1; n <= maxCountedSubstring && i+n <= len(runes); n++ {
			s := string(runes[i : i+n])
			if !seen[s] {
				seen[s] = true
				subs = append(subs, s)
			}
		}
	}
	return subs
}

// countDelta is a change to one search_counts row.
type countDelta struct {
	key   countKey
	delta int
}

// countDeltas nets the changes' decrements and increments per row and
// leaves out rows whose net change is zero. The deltas are sorted by key,
// so that concurrent transactions lock counts in one order and do not
// deadlock on them (inTx retries a deadlock in any case).
func countDeltas(changes []indexChange) []countDelta {
	net := map[countKey]int{}
	for _, c := range changes {
		if c.old != nil {
			for _, k := range distinctKeys(c.old.countTerms()) {
				net[k]--
			}
		}
		for _, k := range distinctKeys(c.new.countTerms()) {
			net[k]++
		}
	}
	return sortedDeltas(net)
}

// sortedDeltas returns the nonzero net changes sorted by key.
func sortedDeltas(net map[countKey]int) []countDelta {
	deltas := make([]countDelta, 0, len(net))
	for k, d := range net {
		if d != 0 {
			deltas = append(deltas, countDelta{key: k, delta: d})
		}
	}
	slices.SortFunc(deltas, func(a, b countDelta) int {
		return cmp.Or(cmp.Compare(a.key.kind, b.key.kind), cmp.Compare(a.key.term, b.key.term), cmp.Compare(a.key.year, b.key.year))
	})
	return deltas
}

// distinctKeys drops repeated keys, which a movie listing one cast member
// or genre twice would otherwise count twice.
func distinctKeys(keys []countKey) []countKey {
	seen := make(map[countKey]bool, len(keys))
	return slices.DeleteFunc(keys, func(k countKey) bool {
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	})
}

// applyCounts adds the deltas to search_counts in one upsert, which takes
// the row locks in the deltas' order. Rows that reach zero stay, so a count
// that comes back later updates a row rather than inserting one.
//
// A count below zero means search_counts had drifted from movies. It is
// checked on the returned rows rather than by a CHECK constraint, because
// PostgreSQL checks constraints on the row an upsert proposes to insert,
// which carries a negative delta, before it finds the conflicting row.
func applyCounts(ctx context.Context, tx pgx.Tx, deltas []countDelta) error {
	if len(deltas) == 0 {
		return nil
	}

	cols := newColumns(len(deltas))
	for _, d := range deltas {
		cols.add(d.key.kind, d.key.term, d.key.year, d.delta)
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO search_counts (kind, term, year, movies)
		SELECT kind::"char", term, year, delta
		FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) WITH ORDINALITY AS t(kind, term, year, delta, n)
		ORDER BY n
		ON CONFLICT (kind, term, year) DO UPDATE SET movies = search_counts.movies + EXCLUDED.movies
		RETURNING kind::text, term, year, movies`,
		cols.args()...)
	if err != nil {
		return fmt.Errorf("updating %d search counts: %w", len(deltas), err)
	}

	var negative []string
	var key countKey
	var movies int
	_, err = pgx.ForEachRow(rows, []any{&key.kind, &key.term, &key.year, &movies}, func() error {
		if movies < 0 {
			negative = append(negative, fmt.Sprintf("%s %q %d: %d", key.kind, key.term, key.year, movies))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("updating %d search counts: %w", len(deltas), err)
	}
	if len(negative) > 0 {
		return fmt.Errorf("updating search counts: %d counts fell below zero (%s), so search_counts disagrees with movies", len(negative), strings.Join(negative[:min(3, len(negative))], "; "))
	}
	return nil
}
