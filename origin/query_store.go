package origin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/query"
)

// ErrNotFound is matched, with errors.Is, by every error for something that
// does not exist: a movie, a key, a quarantined object.
var ErrNotFound = errors.New("not found")

// notFoundError is an ErrNotFound whose message says what was not found.
type notFoundError struct{ message string }

func (e *notFoundError) Error() string { return e.message }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

func notFound(format string, args ...any) error {
	return &notFoundError{message: fmt.Sprintf(format, args...)}
}

// Page is one page of a movie search: the documents in result order, the
// total number of matches, and the cursor of the next page ("" on the last).
type Page struct {
	Documents  []string
	Total      int64
	NextCursor string
}

// likeEscaper makes a search term match literally inside a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// filterSQL turns a query's filters into a WHERE clause over movies and its
// arguments, numbered from $1.
func filterSQL(q query.Query) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}

	if q.YearFrom != 0 {
		add("year >= $?", q.YearFrom)
	}
	if q.YearTo != 0 {
		add("year <= $?", q.YearTo)
	}
	if q.Title != "" {
		add("title_search LIKE $?", "%"+likeEscaper.Replace(q.Title)+"%")
	}
	if q.Cast != "" {
		add("cast_search @> ARRAY[$?::text]", q.Cast)
	}
	if q.Genre != "" {
		add("genres_search @> ARRAY[$?::text]", q.Genre)
	}

	if len(conds) == 0 {
		return "TRUE", args
	}
	return strings.Join(conds, " AND "), args
}

// Search runs a query: one page in (year, title, id) order after the
// query's cursor, and the total count of matches, in one round trip.
func (s *Store) Search(ctx context.Context, q query.Query) (Page, error) {
	where, args := filterSQL(q)
	pageWhere, pageArgs := where, args
	if q.After != nil {
		n := len(args)
		pageWhere += fmt.Sprintf(" AND (year, title_search, id) > ($%d, $%d, $%d)", n+1, n+2, n+3)
		pageArgs = append(append([]any{}, args...), q.After.Year, q.After.Title, q.After.ID)
	}

	batch := &pgx.Batch{}
	batch.Queue(`SELECT document, year, title_search, id FROM movies WHERE `+pageWhere+
		` ORDER BY year, title_search, id LIMIT `+strconv.Itoa(q.Limit+1), pageArgs...)
	batch.Queue(`SELECT count(*) FROM movies WHERE `+where, args...)

	results := s.pool.SendBatch(ctx, batch)
	defer results.Close()

	page, err := readPage(results, q)
	if err != nil {
		return Page{}, err
	}
	if err := results.QueryRow().Scan(&page.Total); err != nil {
		return Page{}, fmt.Errorf("counting matches: %w", err)
	}
	return page, nil
}

func readPage(results pgx.BatchResults, q query.Query) (Page, error) {
	rows, err := results.Query()
	if err != nil {
		return Page{}, fmt.Errorf("searching movies: %w", err)
	}
	defer rows.Close()

	page := Page{Documents: make([]string, 0, q.Limit)}
	var last query.Cursor
	for rows.Next() {
		var document string
		var position query.Cursor
		if err := rows.Scan(&document, &position.Year, &position.Title, &position.ID); err != nil {
			return Page{}, fmt.Errorf("reading movie: %w", err)
		}
		if len(page.Documents) == q.Limit {
			page.NextCursor = last.Encode(q.Fingerprint())
			break
		}
		page.Documents = append(page.Documents, document)
		last = position
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("searching movies: %w", err)
	}
	return page, nil
}

// Movie returns the current document of one movie, or ErrNotFound.
func (s *Store) Movie(ctx context.Context, id string) (string, error) {
	var document string
	err := s.pool.QueryRow(ctx, `SELECT document FROM movies WHERE id = $1`, id).Scan(&document)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("no movie has id %q", id)
	}
	if err != nil {
		return "", fmt.Errorf("reading movie %s: %w", id, err)
	}
	return document, nil
}

// Genre is one genre with the number of movies that have it.
type Genre struct {
	Name   string `json:"name"`
	Movies int64  `json:"movies"`
}

// Genres lists every genre of the current state, grouping spellings that
// differ only in case under the first spelling in sort order.
func (s *Store) Genres(ctx context.Context) ([]Genre, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT min(btrim(g.name)), count(DISTINCT m.id)
		FROM movies m, unnest(m.genres) AS g(name)
		WHERE btrim(g.name) <> ''
		GROUP BY lower(btrim(g.name))
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("listing genres: %w", err)
	}

	genres, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Genre])
	if err != nil {
		return nil, fmt.Errorf("listing genres: %w", err)
	}
	return genres, nil
}
