package origin

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/movie"
	"moviequery/internal/query"
)

// Search picks each query's access path itself instead of leaving it to
// PostgreSQL's planner, whose estimates for array containment and substring
// matches come from samples. On the Wikipedia data set, for instance, the
// planner counted title LIKE '%night%' by reading all of movies_order
// (5 ms) where the trigram index took 2 ms. Search reads exact movie counts
// per year (upper bounds for long title terms) from search_counts and
// search_postings. The filter with the lowest cost drives the scan, and
// each statement is written so that only one plan is sensible.

// titleCostFactor is how many index entries cost as much as confirming one
// title candidate of the trigram index on its heap row. On the Wikipedia
// data set a candidate took about 3 µs and an entry of movies_order or
// search_postings, read from the index alone with a filter, about 0.13 µs.
const titleCostFactor = 20

// searchFilter is one term filter of a query, folded with
// movie.FoldSearch: a cast member, a genre or a title substring.
type searchFilter struct {
	kind string // kindCast, kindGenre or kindTitle
	term string
}

// statement is one SQL statement with its arguments and the planner
// settings it runs with.
type statement struct {
	sql  string
	args []any
	mode plannerMode
}

// plannerMode is a set of planner settings for one statement. Search
// switches them inside its transaction (see plannerSettings).
type plannerMode int

const (
	// modeCustom plans the statement for its arguments on every run, as
	// the store's connections do by default (see OpenStore).
	modeCustom plannerMode = iota

	// modeGeneric lets PostgreSQL keep a generic plan after five runs of
	// the prepared statement, which saves the planning: about 45% of a
	// one-genre search at one connection on the Wikipedia data set. It is
	// for statements that have one sensible plan whatever the arguments: a
	// primary-key or movies_order range read in key order, or summed.
	modeGeneric

	// modeTrigram plans for the arguments with sequential and index-only
	// scans turned off, so that PostgreSQL reads the trigram index rather
	// than all of movies_order or the table.
	modeTrigram
)

// searchPlan is the set of statements Search runs for one query. A nil page
// means nothing can match. A nil count means total is already known.
type searchPlan struct {
	sizes []statement // statements run while planning, kept for ExplainSearch
	begun bool        // the snapshot transaction began with the sizes, in modeGeneric
	page  *statement
	count *statement
	total int64
}

// yearCounts maps a year to a number of movies in it.
type yearCounts map[int]int64

func (c yearCounts) sum(years []int) int64 {
	var n int64
	for _, y := range years {
		n += c[y]
	}
	return n
}

// sizedFilter is a filter with its number of matches per year: exact for
// cast members, genres and titles of up to maxCountedSubstring characters,
// an upper bound for longer titles.
type sizedFilter struct {
	searchFilter
	perYear yearCounts
	exact   bool
}

func termFilters(q query.Query) []searchFilter {
	var filters []searchFilter
	if q.Cast != "" {
		filters = append(filters, searchFilter{kind: kindCast, term: q.Cast})
	}
	if q.Genre != "" {
		filters = append(filters, searchFilter{kind: kindGenre, term: q.Genre})
	}
	if q.Title != "" {
		filters = append(filters, searchFilter{kind: kindTitle, term: q.Title})
	}
	return filters
}

// yearBounds returns the query's inclusive year range, with an open side
// closed at the bound of valid years.
func yearBounds(q query.Query) (from, to int) {
	from, to = movie.MinYear, movie.MaxYear
	if q.YearFrom != 0 {
		from = q.YearFrom
	}
	if q.YearTo != 0 {
		to = q.YearTo
	}
	return from, to
}

// batcher sends a batch of statements in one round trip: a pool, or one
// connection of it.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// planSearch decides how to run q. A query with no term filter, or with one
// cast or genre filter, is planned without reading anything. Any other
// query first reads each filter's matches per year in one round trip, which
// begins the snapshot transaction when begin is true.
func planSearch(ctx context.Context, db batcher, q query.Query, begin bool) (searchPlan, error) {
	filters := termFilters(q)
	from, to := yearBounds(q)

	switch {
	case len(filters) == 0:
		return allMoviesPlan(q, from, to), nil
	case len(filters) == 1 && filters[0].kind != kindTitle:
		return singleTermPlan(q, filters[0], from, to), nil
	}

	all, sized, sizes, err := filterSizes(ctx, db, filters, from, to, begin)
	if err != nil {
		return searchPlan{}, err
	}
	plan := choosePlan(q, all, sized)
	plan.sizes, plan.begun = sizes, begin
	return plan, nil
}

func allMoviesPlan(q query.Query, from, to int) searchPlan {
	page := moviesPage(q, from, to)
	count := statement{
		sql:  `SELECT coalesce(sum(movies), 0) FROM search_counts WHERE kind = 'a' AND term = '' AND year BETWEEN $1 AND $2`,
		args: []any{from, to},
		mode: modeGeneric,
	}
	return searchPlan{page: &page, count: &count}
}

func singleTermPlan(q query.Query, f searchFilter, from, to int) searchPlan {
	page := postingsPage(q, f, nil, from, to)
	count := statement{
		sql:  `SELECT coalesce(sum(movies), 0) FROM search_counts WHERE kind = ` + kindLiteral(f.kind) + ` AND term = $1 AND year BETWEEN $2 AND $3`,
		args: []any{f.term, from, to},
		mode: modeGeneric,
	}
	return searchPlan{page: &page, count: &count}
}

// filterSizes reads, in one round trip, the number of movies per year in
// [from, to] that match each filter. When a title filter needs them to
// choose its scan, it also reads those of all movies, else all is nil. With
// begin, the round trip starts with beginSnapshot.
func filterSizes(ctx context.Context, db batcher, filters []searchFilter, from, to int, begin bool) (all yearCounts, sized []sizedFilter, stmts []statement, err error) {
	sized = make([]sizedFilter, len(filters))
	for i, f := range filters {
		var stmt statement
		stmt, sized[i].exact = sizeStatement(f, from, to)
		sized[i].searchFilter = f
		stmts = append(stmts, stmt)
	}
	if slices.ContainsFunc(filters, func(f searchFilter) bool { return f.kind == kindTitle }) {
		stmts = append(stmts, statement{
			sql:  `SELECT year, movies::bigint FROM search_counts WHERE kind = 'a' AND term = '' AND year BETWEEN $1 AND $2 AND movies > 0`,
			args: []any{from, to},
			mode: modeGeneric,
		})
	}

	batch := &pgx.Batch{}
	if begin {
		batch.Queue(beginSnapshot)
		batch.Queue(plannerSettings(modeGeneric))
	}
	for _, st := range stmts {
		batch.Queue(st.sql, st.args...)
	}
	results := db.SendBatch(ctx, batch)
	defer results.Close()

	if begin {
		if err := skip(results, 2); err != nil {
			return nil, nil, nil, err
		}
	}

	for i := range stmts {
		counts, err := readYearCounts(results)
		if err != nil {
			return nil, nil, nil, err
		}
		if i < len(sized) {
			sized[i].perYear = counts
		} else {
			all = counts
		}
	}
	return all, sized, stmts, nil
}

// sizeStatement returns the statement that counts a filter's matches per
// year, and whether the counts are exact.
func sizeStatement(f searchFilter, from, to int) (statement, bool) {
	if f.kind == kindTitle {
		if len([]rune(f.term)) <= maxCountedSubstring {
			return titleSizeStatement([]string{f.term}, from, to), true
		}
		// A title contains the term only if it contains every substring
		// of maxCountedSubstring characters of it, so the smallest of
		// their counts bounds the term's count, and a year where one of
		// them is missing has no match.
		return titleSizeStatement(termSubstrings(f.term, maxCountedSubstring), from, to), false
	}
	return statement{
		sql:  `SELECT year, movies::bigint FROM search_counts WHERE kind = ` + kindLiteral(f.kind) + ` AND term = $1 AND year BETWEEN $2 AND $3 AND movies > 0`,
		args: []any{f.term, from, to},
		mode: modeGeneric,
	}, true
}

// termSubstrings returns the distinct substrings of n characters of term.
func termSubstrings(term string, n int) []string {
	runes := []rune(term)
	var subs []string
	for i := 0; i+n <= len(runes); i++ {
		if s := string(runes[i : i+n]); !slices.Contains(subs, s) {
			subs = append(subs, s)
		}
	}
	return subs
}

func readYearCounts(results pgx.BatchResults) (yearCounts, error) {
	rows, err := results.Query()
	if err != nil {
		return nil, fmt.Errorf("counting matches per year: %w", err)
	}
	counts := yearCounts{}
	var year int
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&year, &n}, func() error { counts[year] = n; return nil }); err != nil {
		return nil, fmt.Errorf("counting matches per year: %w", err)
	}
	return counts, nil
}

// choosePlan plans a query from its filters' sizes. Only years where every
// filter may match are searched. The filter with the lowest cost drives the
// scan, and the others are checked on each of its rows.
func choosePlan(q query.Query, all yearCounts, sized []sizedFilter) searchPlan {
	years := candidateYears(sized)
	if len(years) == 0 {
		return searchPlan{}
	}

	driver := sized[0]
	for _, f := range sized[1:] {
		if cost(f, all, years) < cost(driver, all, years) {
			driver = f
		}
	}
	var others []searchFilter
	for _, f := range sized {
		if f.searchFilter != driver.searchFilter {
			others = append(others, f.searchFilter)
		}
	}

	plan := searchPlan{}
	if driver.kind == kindTitle {
		pageYears := years
		if len(sized) == 1 && driver.exact {
			pageYears = leadingYears(q, driver.perYear, years)
		}
		page := titlePage(q, driver.term, others, pageYears, pageThroughIndex(q, driver, all, years, pageYears))
		count := titleCount(driver.term, others, years, countThroughIndex(driver, all, years))
		plan.page, plan.count = &page, &count
	} else {
		from, to := years[0], years[len(years)-1]
		page := postingsPage(q, driver.searchFilter, others, from, to)
		count := postingsCount(driver.searchFilter, others, from, to)
		plan.page, plan.count = &page, &count
	}

	if len(sized) == 1 && driver.exact {
		plan.count, plan.total = nil, driver.perYear.sum(years)
	}
	return plan
}

// candidateYears returns, in order, the years where every filter has a
// match.
func candidateYears(sized []sizedFilter) []int {
	var years []int
	for year := range sized[0].perYear {
		if !slices.ContainsFunc(sized, func(f sizedFilter) bool { return f.perYear[year] == 0 }) {
			years = append(years, year)
		}
	}
	slices.Sort(years)
	return years
}

// cost estimates the work of counting a filter's matches in index entries
// read. A cast or genre filter reads its postings. A title filter reads its
// candidates through the trigram index or, when that costs more, every
// movies_order entry of the years.
func cost(f sizedFilter, all yearCounts, years []int) int64 {
	n := f.perYear.sum(years)
	if f.kind == kindTitle {
		return min(n*titleCostFactor, all.sum(years))
	}
	return n
}

// leadingYears returns the candidate years from the cursor's year on, up
// to the first year by which exact per-year counts reach a full page (limit
// rows and one more to tell whether a page follows). A page lies within
// these years. The cursor's own year does not count towards the page,
// because its matches may all come before the cursor.
func leadingYears(q query.Query, counts yearCounts, years []int) []int {
	need := int64(q.Limit + 1)
	var leading []int
	var found int64
	for _, y := range years {
		if q.After != nil && y < q.After.Year {
			continue
		}
		leading = append(leading, y)
		if q.After == nil || y != q.After.Year {
			found += counts[y]
		}
		if found >= need {
			break
		}
	}
	return leading
}

// trigramListShare is the cost of a match in the trigram index's posting
// lists as a share of an index entry's cost. The lists are compressed and
// decoded quickly, and each is at least as long as the term's matches. It
// is an estimate, not a measurement.
const trigramListShare = 10

// pageThroughIndex reports whether a page of title matches is cheaper to
// find through the trigram index than by walking movies_order until the page
// is full. The walk reads about (limit+1) * movies / matches entries. The
// trigram index reads its posting lists for every year and confirms each
// candidate of the page's years on its heap row.
func pageThroughIndex(q query.Query, title sizedFilter, all yearCounts, years, pageYears []int) bool {
	matches := max(title.perYear.sum(years), 1)
	walked := int64(q.Limit+1) * all.sum(years) / matches
	trigram := matches/trigramListShare + title.perYear.sum(pageYears)*titleCostFactor
	return trigram < walked
}

// countThroughIndex reports whether counting title matches is cheaper
// through the trigram index, which reads each candidate's heap row, than
// by reading every movies_order entry of the candidate years.
func countThroughIndex(title sizedFilter, all yearCounts, years []int) bool {
	return title.perYear.sum(years)*titleCostFactor < all.sum(years)
}
