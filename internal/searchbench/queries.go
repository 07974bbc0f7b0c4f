package searchbench

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/query"
	"moviequery/origin"
)

// benchQuery is one measured query: its query string as a client sends it
// to GET /v1/movies, and the page to measure (1 is the first).
type benchQuery struct {
	raw  string
	page int
}

// realQueries cover every query kind and the combinations the end-to-end
// tests check, on the Wikipedia data set.
var realQueries = []benchQuery{
	{"", 1},
	{"year=1994", 1},
	{"year=1990-1999", 1},
	{"genre=drama", 1},
	{"genre=drama", 5},
	{"genre=western", 1},
	{"cast=john+wayne", 1},
	{"cast=bruce+willis", 1},
	{"title=love", 1},
	{"title=the", 1},
	{"title=night", 1},
	{"title=of+the", 1},
	{"title=miserables", 1},
	{"year=1994&genre=drama", 1},
	{"year=1950-1959&cast=john+wayne", 1},
	{"cast=john+wayne&genre=western", 1},
	{"genre=drama&title=love", 1},
	{"year=1990-1999&genre=comedy&title=the", 1},
	{"cast=john+wayne&title=the", 1},
	{"year=2010-&title=love&limit=100", 1},
}

// generatedQueries are the same kinds on the generated data set; CAST_TOP
// and CAST_MID stand for its most frequent cast member and the one at rank
// 1,000, which depend on the seed.
var generatedQueries = []benchQuery{
	{"", 1},
	{"year=1994", 1},
	{"year=1990-1999", 1},
	{"genre=drama", 1},
	{"genre=drama", 5},
	{"genre=western", 1},
	{"genre=found+footage", 1},
	{"cast=CAST_TOP", 1},
	{"cast=CAST_MID", 1},
	{"title=love", 1},
	{"title=the", 1},
	{"title=night", 1},
	{"title=of+the", 1},
	{"title=lighthouse", 1},
	{"title=cafe", 1},
	{"year=1994&genre=drama", 1},
	{"year=1990-1999&cast=CAST_TOP", 1},
	{"cast=CAST_TOP&genre=drama", 1},
	{"cast=CAST_MID&genre=western", 1},
	{"genre=drama&title=love", 1},
	{"year=1990-1999&genre=comedy&title=the", 1},
	{"cast=CAST_TOP&title=the", 1},
	{"year=2010-&title=love&limit=100", 1},
}

// querySet returns the queries of a data set with their placeholders
// filled in.
func querySet(ctx context.Context, set, dsn string) ([]benchQuery, error) {
	if set == SetReal {
		return realQueries, nil
	}

	top, mid, err := castByRank(ctx, dsn)
	if err != nil {
		return nil, err
	}
	queries := make([]benchQuery, len(generatedQueries))
	for i, q := range generatedQueries {
		values, _ := url.ParseQuery(q.raw) // the literals above parse
		if values.Get("cast") == "CAST_TOP" {
			values.Set("cast", top)
		}
		if values.Get("cast") == "CAST_MID" {
			values.Set("cast", mid)
		}
		queries[i] = benchQuery{raw: values.Encode(), page: q.page}
	}
	return queries, nil
}

// castByRank returns the folded names of the most frequent cast member and
// of the one at rank 1,000.
func castByRank(ctx context.Context, dsn string) (top, mid string, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", "", fmt.Errorf("connecting to rank cast members: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	err = conn.QueryRow(ctx, `
		WITH ranked AS (
			SELECT name, row_number() OVER (ORDER BY count(*) DESC, name) AS rank
			FROM movies, unnest(cast_search) AS name GROUP BY name)
		SELECT (SELECT name FROM ranked WHERE rank = 1), (SELECT name FROM ranked WHERE rank = 1000)`).Scan(&top, &mid)
	if err != nil {
		return "", "", fmt.Errorf("ranking cast members: %w", err)
	}
	return top, mid, nil
}

// resolve parses a benchmark query and follows next cursors to its page.
func resolve(ctx context.Context, store *origin.Store, bq benchQuery) (query.Query, error) {
	values, err := url.ParseQuery(bq.raw)
	if err != nil {
		return query.Query{}, fmt.Errorf("query %q: %w", bq.raw, err)
	}
	for page := 1; ; page++ {
		q, err := query.Parse(values)
		if err != nil {
			return query.Query{}, fmt.Errorf("query %q: %w", bq.raw, err)
		}
		if page == bq.page {
			return q, nil
		}

		result, err := store.Search(ctx, q)
		if err != nil {
			return query.Query{}, err
		}
		if result.NextCursor == "" {
			return query.Query{}, fmt.Errorf("query %q has fewer than %d pages", bq.raw, bq.page)
		}
		values.Set("cursor", result.NextCursor)
	}
}

func (bq benchQuery) label() string {
	label := bq.raw
	if label == "" {
		label = "(no filter)"
	}
	if bq.page > 1 {
		label += fmt.Sprintf(" (page %d)", bq.page)
	}
	return label
}
