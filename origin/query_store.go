package origin

import (
	"context"
	"errors"
	"fmt"
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

// beginSnapshot starts the transaction in which Search runs its
// statements, so the page, the total and the counts that planned them all
// read one snapshot even while ingest commits.
const beginSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

// searchPostgres runs a query in PostgreSQL alone: one page in (year,
// title, id) order after the query's cursor, and the exact total count of
// matches, read from one snapshot. A query with no term filter or with one cast or genre filter
// takes one round trip. Any other takes two, because the first reads how
// many movies each filter matches per year to plan the second (see
// planSearch).
func (s *Store) searchPostgres(ctx context.Context, q query.Query) (Page, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return Page{}, fmt.Errorf("acquiring connection to search: %w", err)
	}
	// A connection released inside the transaction, after an error, is
	// closed by the pool rather than reused.
	defer conn.Release()

	plan, err := planSearch(ctx, conn, q, true)
	if err != nil {
		return Page{}, err
	}

	b := &searchBatch{}
	if plan.begun {
		b.mode = modeGeneric
	} else {
		b.batch.Queue(beginSnapshot)
		b.pending++
	}
	skipBeforePage, skipBeforeCount := 0, 0
	if plan.page != nil {
		skipBeforePage = b.queue(*plan.page)
	}
	if plan.count != nil {
		skipBeforeCount = b.queue(*plan.count)
	}
	b.batch.Queue("COMMIT")

	results := conn.SendBatch(ctx, &b.batch)
	defer results.Close()
	return readResults(results, q, plan, skipBeforePage, skipBeforeCount)
}

// searchBatch queues the statements of Search's last round trip, switching
// the planner settings between statements that need different ones.
type searchBatch struct {
	batch   pgx.Batch
	mode    plannerMode // the settings in force
	pending int         // results queued since the last statement's
}

// queue adds st to the batch and returns how many results that carry
// nothing to read come before st's own.
func (b *searchBatch) queue(st statement) int {
	if st.mode != b.mode {
		b.batch.Queue(plannerSettings(st.mode))
		b.mode = st.mode
		b.pending++
	}
	b.batch.Queue(st.sql, st.args...)

	skip := b.pending
	b.pending = 0
	return skip
}

// plannerSettings returns the statement that puts a planner mode in force
// until the next one or the end of the transaction.
func plannerSettings(mode plannerMode) string {
	cache, scans := "force_custom_plan", "on"
	switch mode {
	case modeGeneric:
		cache = "auto"
	case modeTrigram:
		scans = "off"
	}
	return "SELECT set_config('plan_cache_mode', '" + cache + "', true), " +
		"set_config('enable_seqscan', '" + scans + "', true), set_config('enable_indexonlyscan', '" + scans + "', true)"
}

// readResults reads the results of Search's last batch in the order it
// queued them, skipping as many results before the page and before the
// count as queue reported.
func readResults(results pgx.BatchResults, q query.Query, plan searchPlan, skipBeforePage, skipBeforeCount int) (Page, error) {
	page := Page{Documents: []string{}}
	if plan.page != nil {
		if err := skip(results, skipBeforePage); err != nil {
			return Page{}, err
		}
		var err error
		if page, err = readPage(results, q); err != nil {
			return Page{}, err
		}
	}

	page.Total = plan.total
	if plan.count != nil {
		if err := skip(results, skipBeforeCount); err != nil {
			return Page{}, err
		}
		if err := results.QueryRow().Scan(&page.Total); err != nil {
			return Page{}, fmt.Errorf("counting matches: %w", err)
		}
	}

	if _, err := results.Exec(); err != nil {
		return Page{}, fmt.Errorf("ending search transaction: %w", err)
	}
	return page, nil
}

// skip reads n results that carry nothing the search needs: the start of
// its transaction and changes of planner settings.
func skip(results pgx.BatchResults, n int) error {
	for range n {
		if _, err := results.Exec(); err != nil {
			return fmt.Errorf("preparing search statement: %w", err)
		}
	}
	return nil
}

// ExplainSearch returns the EXPLAIN (ANALYZE, BUFFERS) output of every
// statement Search runs for q, in the order Search runs them and with the
// same planner settings. The statements run for real, so their cost shows
// as Search would meet it. EXPLAIN plans each statement for its arguments,
// so a statement that Search runs with a generic plan shows its custom
// plan.
func (s *Store) ExplainSearch(ctx context.Context, q query.Query) ([]string, error) {
	plan, err := planSearch(ctx, s.pool, q, false)
	if err != nil {
		return nil, err
	}

	stmts := plan.sizes
	for _, st := range []*statement{plan.page, plan.count} {
		if st != nil {
			stmts = append(stmts, *st)
		}
	}

	var plans []string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, st := range stmts {
			plan, err := explain(ctx, tx, st)
			if err != nil {
				return err
			}
			plans = append(plans, plan)
		}
		return nil
	})
	return plans, err
}

func explain(ctx context.Context, tx pgx.Tx, st statement) (string, error) {
	if _, err := tx.Exec(ctx, plannerSettings(st.mode)); err != nil {
		return "", fmt.Errorf("setting planner settings: %w", err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+st.sql, st.args...)
	if err != nil {
		return "", fmt.Errorf("explaining search statement: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("explaining search statement: %w", err)
	}
	return strings.Join(lines, "\n"), nil
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

// moviePostgres returns the current document of one movie, or
// ErrNotFound.
func (s *Store) moviePostgres(ctx context.Context, id string) (string, error) {
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

// genresPostgres lists every genre of the current state from PostgreSQL,
// grouping spellings that differ only in case under the first spelling in
// sort order. It reads every movie.
func (s *Store) genresPostgres(ctx context.Context) ([]Genre, error) {
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
