package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Title substring counts (kind 't' in search_counts) cost about sixty rows
// per movie, which more than halved the ingest rate when each ingest
// transaction kept them. They are folded in from the change feed after
// commit instead: each change carries the movie's year and folded title
// before and after. title_count_fold.folded_seq is the last change folded
// in, and readers add the changes after it themselves (titleSizeStatement),
// so every read is exact whatever the folder's lag.

// foldBatch is the most changes one fold transaction reads. Changes of the
// same titles net out before they are written, so larger batches write
// fewer rows per change.
const foldBatch = 5000

// FoldTitleCounts folds the changes after folded_seq into the title counts,
// at most foldBatch of them, in one transaction, and returns how many it
// folded. Origins folding at once take turns on the fold row's lock.
func (s *Store) FoldTitleCounts(ctx context.Context) (int, error) {
	// Locking the fold row writes to the WAL, and its commit waits for a
	// flush, so an idle origin checks for changes first. It compares the
	// feed's head with the fold position: an EXISTS over the later changes
	// was planned as a scan of every change, 160 ms at a million movies.
	var behind bool
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce((SELECT max(seq) FROM changes), 0) > folded_seq FROM title_count_fold`).Scan(&behind)
	if err != nil {
		return 0, fmt.Errorf("checking for changes to fold: %w", err)
	}
	if !behind {
		return 0, nil
	}

	var folded int
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		folded, err = foldTitleCounts(ctx, tx)
		return err
	})
	return folded, err
}

func foldTitleCounts(ctx context.Context, tx pgx.Tx) (int, error) {
	var after int64
	if err := tx.QueryRow(ctx, `SELECT folded_seq FROM title_count_fold FOR UPDATE`).Scan(&after); err != nil {
		return 0, fmt.Errorf("reading the title count position: %w", err)
	}

	rows, err := tx.Query(ctx, `
		SELECT seq, old_year, old_title, new_year, new_title FROM changes
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, foldBatch)
	if err != nil {
		return 0, fmt.Errorf("reading changes to fold: %w", err)
	}
	net := map[countKey]int{}
	var n int
	var seq int64
	var oldYear, newYear *int
	var oldTitle, newTitle *string
	_, err = pgx.ForEachRow(rows, []any{&seq, &oldYear, &oldTitle, &newYear, &newTitle}, func() error {
		n++
		addTitleCounts(net, oldTitle, oldYear, -1)
		addTitleCounts(net, newTitle, newYear, +1)
		return nil
	})
	if err != nil || n == 0 {
		return 0, err
	}

	if err := applyCounts(ctx, tx, sortedDeltas(net)); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE title_count_fold SET folded_seq = $1`, seq); err != nil {
		return 0, fmt.Errorf("saving the title count position: %w", err)
	}
	return n, nil
}

// TitleCountLag returns how many changes the title counts have yet to fold
// in.
func (s *Store) TitleCountLag(ctx context.Context) (int64, error) {
	var lag int64
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM changes WHERE seq > (SELECT folded_seq FROM title_count_fold)`).Scan(&lag)
	if err != nil {
		return 0, fmt.Errorf("reading the title count lag: %w", err)
	}
	return lag, nil
}

// addTitleCounts adds sign to the count of each substring of a title in
// its year. A purge, or a new movie's missing old title, adds nothing.
func addTitleCounts(net map[countKey]int, title *string, year *int, sign int) {
	if title == nil || year == nil {
		return
	}
	for _, k := range titleCountTerms(*title, *year) {
		net[k] += sign
	}
}

// foldTitleCountsLoop folds until ctx ends: at once while changes are
// waiting, then every interval.
func foldTitleCountsLoop(ctx context.Context, store *Store, interval time.Duration, logger *slog.Logger) {
	for {
		folded, err := store.FoldTitleCounts(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("folding title counts; retrying", "error", err)
		}
		if folded == foldBatch {
			continue
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// titleSizeStatement counts, per year in [from, to], the movies whose title
// contains each of grams, and returns per year the smallest of those counts
// for years where every gram has a match. It reads the folded counts and
// adds the changes after folded_seq, in one statement, so one snapshot.
func titleSizeStatement(grams []string, from, to int) statement {
	return statement{
		sql: `WITH pending AS (
				SELECT old_year, old_title, new_year, new_title FROM changes
				WHERE seq > (SELECT folded_seq FROM title_count_fold)),
			grams AS (SELECT unnest($1::text[]) COLLATE "C" AS term),
			counted AS (
				SELECT term, year, movies AS n FROM search_counts
				WHERE kind = 't' AND term = ANY($1) AND year BETWEEN $2 AND $3
				UNION ALL
				SELECT g.term, p.new_year, 1 FROM pending p, grams g
				WHERE strpos(p.new_title, g.term) > 0 AND p.new_year BETWEEN $2 AND $3
				UNION ALL
				SELECT g.term, p.old_year, -1 FROM pending p, grams g
				WHERE strpos(p.old_title, g.term) > 0 AND p.old_year BETWEEN $2 AND $3),
			per_gram AS (
				SELECT term, year, sum(n) AS n FROM counted GROUP BY term, year HAVING sum(n) > 0)
			SELECT year, min(n)::bigint FROM per_gram GROUP BY year HAVING count(*) = $4`,
		args: []any{grams, from, to, len(grams)},
		mode: modeGeneric,
	}
}
