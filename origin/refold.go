package origin

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"moviequery/internal/movie"
)

// refoldVersion is the schema version of the migration that folds the
// stored search values again after movie.FoldSearch began removing
// invisible characters. It follows the SQL migrations in migrations/.
const refoldVersion = 8

// refoldBatch is how many movies one refold transaction rewrites.
const refoldBatch = 500

// refoldMigration returns the migration that runs refoldSearchFields. Its
// down step leaves the values as they are, so an earlier origin then finds
// those few movies only by terms without the invisible characters.
func refoldMigration(pool *pgxpool.Pool, logger *slog.Logger) *goose.Migration {
	up := &goose.GoFunc{RunDB: func(ctx context.Context, _ *sql.DB) error {
		start := time.Now()
		n, err := refoldSearchFields(ctx, pool)
		if err != nil {
			return err
		}
		logger.Info("folded stored search values again", "movies_rewritten", n, "duration", time.Since(start))
		return nil
	}}
	down := &goose.GoFunc{RunDB: func(context.Context, *sql.DB) error { return nil }}
	return goose.NewGoMigration(refoldVersion, up, down)
}

// refoldSearchFields folds every movie's title, cast and genres again from
// its document with movie.FoldSearch. It rewrites the movies whose stored
// values change as an ingest would: their postings, counts and a change
// feed entry each, so edges drop pages of the old terms and the title
// counts follow the feed. It returns how many movies it rewrote. Only movies
// with a non-ASCII stored value are read: an invisible character is not
// ASCII, and the earlier fold kept it.
//
// NOTE: an origin of an earlier version that is still running stores the
// values of the movies it ingests folded the earlier way until it is
// replaced. A later update of such a movie folds it again.
func refoldSearchFields(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	ids, err := unfoldedMovies(ctx, pool)
	if err != nil {
		return 0, err
	}

	rewritten := 0
	for batch := range slices.Chunk(ids, refoldBatch) {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			n, err := refoldMovies(ctx, tx, batch)
			rewritten += n
			return err
		})
		if err != nil {
			return rewritten, err
		}
	}
	return rewritten, nil
}

// unfoldedMovies returns, in id order, the movies whose stored search values
// fold to something else now.
func unfoldedMovies(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `
		SELECT id, year, title_search, cast_search, genres_search, document FROM movies
		WHERE octet_length(title_search) <> char_length(title_search)
		   OR octet_length(array_to_string(cast_search, '')) <> char_length(array_to_string(cast_search, ''))
		   OR octet_length(array_to_string(genres_search, '')) <> char_length(array_to_string(genres_search, ''))`)
	if err != nil {
		return nil, fmt.Errorf("finding movies to fold again: %w", err)
	}

	var ids []string
	var f searchFields
	var document string
	_, err = pgx.ForEachRow(rows, []any{&f.id, &f.year, &f.title, &f.cast, &f.genres, &document}, func() error {
		next, err := refolded(f, document)
		if err != nil {
			return err
		}
		if next.differs(f) {
			ids = append(ids, f.id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding movies to fold again: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// refoldMovies locks the movies, folds their values again and rewrites
// those that change. It returns how many it rewrote.
func refoldMovies(ctx context.Context, tx pgx.Tx, ids []string) (int, error) {
	rows, err := tx.Query(ctx, `
		SELECT id, year, title_search, cast_search, genres_search, revision_id, document FROM movies
		WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return 0, fmt.Errorf("locking %d movies to fold again: %w", len(ids), err)
	}

	var changed []movieChange
	var changes []indexChange
	var f searchFields
	var revision int64
	var document string
	_, err = pgx.ForEachRow(rows, []any{&f.id, &f.year, &f.title, &f.cast, &f.genres, &revision, &document}, func() error {
		next, err := refolded(f, document)
		if err != nil {
			return err
		}
		if !next.differs(f) {
			return nil
		}
		old := f
		changes = append(changes, indexChange{old: &old, new: next})
		changed = append(changed, movieChange{pending: &pending{movieID: f.id, revision: revision, search: next}, old: &old})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("locking %d movies to fold again: %w", len(ids), err)
	}

	if err := rewriteSearchFields(ctx, tx, changes); err != nil {
		return 0, err
	}
	if err := updateSearchIndex(ctx, tx, changes); err != nil {
		return 0, err
	}
	if _, err := recordChanges(ctx, tx, changed); err != nil {
		return 0, err
	}
	return len(changed), nil
}

// refolded folds a movie's title, cast and genres from its document, which
// contains the record as ingested, the way ingest folds them.
func refolded(f searchFields, document string) (searchFields, error) {
	var d movie.Document
	if err := json.Unmarshal([]byte(document), &d); err != nil {
		return searchFields{}, fmt.Errorf("reading the document of movie %s: %w", f.id, err)
	}
	return searchFields{
		id: f.id, year: f.year, title: movie.FoldSearch(d.Title),
		cast: movie.FoldSearchAll(d.Cast), genres: movie.FoldSearchAll(d.Genres),
	}, nil
}

// differs reports whether two movies' folded title, cast or genres differ.
func (f searchFields) differs(other searchFields) bool {
	return f.title != other.title || !slices.Equal(f.cast, other.cast) || !slices.Equal(f.genres, other.genres)
}

// rewriteSearchFields stores the new values of the changed movies.
func rewriteSearchFields(ctx context.Context, tx pgx.Tx, changes []indexChange) error {
	if len(changes) == 0 {
		return nil
	}

	cols := newColumns(len(changes))
	for _, c := range changes {
		cols.add(c.new.id, c.new.title, arrayLiteral(c.new.cast), arrayLiteral(c.new.genres))
	}
	_, err := tx.Exec(ctx, `
		UPDATE movies m SET title_search = t.title, cast_search = t.cast_s::text[], genres_search = t.genres_s::text[]
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(id, title, cast_s, genres_s)
		WHERE m.id = t.id`,
		cols.args()...)
	if err != nil {
		return fmt.Errorf("storing the refolded values of %d movies: %w", len(changes), err)
	}
	return nil
}
