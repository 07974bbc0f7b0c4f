package origin

import (
	"strconv"
	"strings"

	"moviequery/internal/query"
)

// The statements below find a page in two steps: a subquery with LIMIT
// picks the page's positions (year, title, id) from an index, and only
// those rows are joined to movies for their documents. The LIMIT keeps the
// planner from joining before the page is known.

// args numbers the arguments of one statement.
type args struct {
	values []any
}

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	a.values = append(a.values, v)
	return "$" + strconv.Itoa(len(a.values))
}

// kindLiteral writes one of the kind constants as a SQL literal. Kinds
// never come from a request.
func kindLiteral(kind string) string {
	return `'` + kind + `'`
}

// afterCursor returns the condition for rows after the query's cursor in
// result order, or "" on the first page.
func afterCursor(a *args, q query.Query, year, title, id string) string {
	if q.After == nil {
		return ""
	}
	return " AND (" + year + ", " + title + ", " + id + ") > (" +
		a.add(q.After.Year) + ", " + a.add(q.After.Title) + ", " + a.add(q.After.ID) + ")"
}

func pageLimit(q query.Query) string {
	return strconv.Itoa(q.Limit + 1)
}

// withDocuments wraps a subquery returning (year, title_search, id) in
// result order with the join that adds each row's document.
func withDocuments(positions string) string {
	return `SELECT m.document, p.year, p.title_search, p.id FROM (` + positions + `) AS p
		JOIN movies m ON m.id = p.id
		ORDER BY p.year, p.title_search, p.id`
}

// moviesPage walks movies_order over a year range. It reads the documents
// as it goes, because every row it reads is on the page.
func moviesPage(q query.Query, from, to int) statement {
	a := &args{}
	sql := `SELECT document, year, title_search, id FROM movies
		WHERE year BETWEEN ` + a.add(from) + ` AND ` + a.add(to) + afterCursor(a, q, "year", "title_search", "id") + `
		ORDER BY year, title_search, id LIMIT ` + pageLimit(q)
	return statement{sql: sql, args: a.values, mode: modeGeneric}
}

// postingsWhere selects the driver's postings in [from, to] and checks the
// other filters on each. A title is matched on the posting's own title and
// a genre on the genres that a cast posting carries. A cast member is
// checked by looking up its posting for the same movie.
func postingsWhere(a *args, driver searchFilter, others []searchFilter, from, to int) string {
	conds := []string{
		"p.kind = " + kindLiteral(driver.kind),
		"p.term = " + a.add(driver.term),
		"p.year BETWEEN " + a.add(from) + " AND " + a.add(to),
	}
	for _, f := range others {
		switch {
		case f.kind == kindTitle:
			conds = append(conds, "strpos(p.title_search, "+a.add(f.term)+") > 0")
		case f.kind == kindGenre && driver.kind == kindCast:
			conds = append(conds, "p.genres_search @> ARRAY["+a.add(f.term)+"::text]")
		default:
			conds = append(conds, postingExists(a, f, "p.year", "p.title_search", "p.movie_id"))
		}
	}
	return strings.Join(conds, " AND ")
}

// postingExists returns a condition true when the movie at the given
// position has a posting for f: one primary-key lookup.
func postingExists(a *args, f searchFilter, year, title, id string) string {
	return `EXISTS (SELECT 1 FROM search_postings x WHERE x.kind = ` + kindLiteral(f.kind) + ` AND x.term = ` + a.add(f.term) +
		` AND x.year = ` + year + ` AND x.title_search = ` + title + ` AND x.movie_id = ` + id + `)`
}

// postingsPage walks the driver's postings in result order.
func postingsPage(q query.Query, driver searchFilter, others []searchFilter, from, to int) statement {
	a := &args{}
	positions := `SELECT p.year, p.title_search, p.movie_id AS id FROM search_postings p
		WHERE ` + postingsWhere(a, driver, others, from, to) + afterCursor(a, q, "p.year", "p.title_search", "p.movie_id") + `
		ORDER BY p.year, p.title_search, p.movie_id LIMIT ` + pageLimit(q)
	return statement{sql: withDocuments(positions), args: a.values, mode: postingsMode(driver, others)}
}

// postingsCount counts the driver's postings that pass the other filters,
// from the index alone where the visibility map allows.
func postingsCount(driver searchFilter, others []searchFilter, from, to int) statement {
	a := &args{}
	sql := `SELECT count(*) FROM search_postings p WHERE ` + postingsWhere(a, driver, others, from, to)
	return statement{sql: sql, args: a.values, mode: postingsMode(driver, others)}
}

// postingsMode returns modeGeneric for a scan of the driver's postings
// that checks the other filters on the postings themselves. A posting
// lookup for another cast member joins a second scan, whose plan depends on
// the arguments, so that statement is planned for them.
func postingsMode(driver searchFilter, others []searchFilter) plannerMode {
	for _, f := range others {
		if f.kind == kindCast || (f.kind == kindGenre && driver.kind != kindCast) {
			return modeCustom
		}
	}
	return modeGeneric
}

// sparseYears is the most candidate years listed one by one in a title
// scan. Listing lets a walk skip years without a match, but planning time
// grows with the list (0.3 ms for 124 years against 0.1 ms for a range on
// the Wikipedia data set), so more years are given as a range.
const sparseYears = 16

// yearCondition restricts column to the candidate years: each listed, or
// the range from the first to the last, which adds only years without a
// match.
func yearCondition(a *args, column string, years []int) string {
	if len(years) <= sparseYears {
		return column + " = ANY(" + a.add(years) + "::int[])"
	}
	return column + " BETWEEN " + a.add(years[0]) + " AND " + a.add(years[len(years)-1])
}

// titleWhere selects movies of the candidate years whose title contains
// term, checking the other filters by posting lookups.
//
// Through the trigram index (useIndex), the title is matched with LIKE. A
// few years are listed so that PostgreSQL can combine the trigram index
// with movies_order's entries for those years. A longer range of years is
// written "m.year + 0", which compares like the year but matches no index,
// so that the range is checked on the candidates alone. Without the
// trigram index, the title is matched with strpos, which no index serves,
// on movies_order's entries for the candidate years.
func titleWhere(a *args, term string, others []searchFilter, years []int, useIndex bool) string {
	var conds []string
	if useIndex {
		column := "m.year"
		if len(years) > sparseYears {
			column = "m.year + 0"
		}
		conds = append(conds, "m.title_search LIKE "+a.add(likePattern(term)), yearCondition(a, column, years))
	} else {
		conds = append(conds, "strpos(m.title_search, "+a.add(term)+") > 0", yearCondition(a, "m.year", years))
	}
	for _, f := range others {
		conds = append(conds, postingExists(a, f, "m.year", "m.title_search", "m.id"))
	}
	return strings.Join(conds, " AND ")
}

// titlePage returns a page of movies whose title contains term. Through
// the trigram index, every match in the years is found and the matches are
// sorted by "m.year + 0", so that PostgreSQL cannot walk movies_order in
// result order instead. Otherwise movies_order is walked in result order
// until the page is full.
func titlePage(q query.Query, term string, others []searchFilter, years []int, useIndex bool) statement {
	a := &args{}
	order := "m.year, m.title_search, m.id"
	if useIndex {
		order = "m.year + 0, m.title_search, m.id"
	}
	positions := `SELECT m.year, m.title_search, m.id FROM movies m
		WHERE ` + titleWhere(a, term, others, years, useIndex) + afterCursor(a, q, "m.year", "m.title_search", "m.id") + `
		ORDER BY ` + order + ` LIMIT ` + pageLimit(q)
	return statement{sql: withDocuments(positions), args: a.values, mode: titleMode(useIndex, others, true)}
}

// titleCount counts the movies whose title contains term, reading every
// candidate through the trigram index or every entry of movies_order in the
// candidate years.
func titleCount(term string, others []searchFilter, years []int, useIndex bool) statement {
	a := &args{}
	return statement{sql: `SELECT count(*) FROM movies m WHERE ` + titleWhere(a, term, others, years, useIndex), args: a.values, mode: titleMode(useIndex, others, false)}
}

// titleMode returns the planner mode of a title statement. Only a page that
// walks movies_order with no other filter has one sensible plan whatever
// the arguments. A count of the same walk could also read the table.
func titleMode(useIndex bool, others []searchFilter, page bool) plannerMode {
	switch {
	case useIndex:
		return modeTrigram
	case page && len(others) == 0:
		return modeGeneric
	}
	return modeCustom
}

// likeEscaper makes a search term match literally inside a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func likePattern(term string) string {
	return "%" + likeEscaper.Replace(term) + "%"
}
