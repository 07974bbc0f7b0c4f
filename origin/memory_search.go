package origin

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"moviequery/internal/query"
)

// Search runs a query: one page in (year, title, id) order after the
// query's cursor, and the exact total count of matches. The result
// reflects at least every change this store has committed.
func (s *Store) Search(ctx context.Context, q query.Query) (Page, error) {
	return s.SearchSeen(ctx, q, 0)
}

// SearchSeen runs a query whose result reflects at least every change of
// the feed up to seen, as well as every change this store has committed.
// Once the memory index is loaded, every query reads its matches and total
// from the index if the store has a document cache. Without the cache,
// only a query with a title term, or with both a cast member and a genre,
// does. Any other query runs in PostgreSQL, which reads its page as one
// range in result order and its total from per-year counts.
func (s *Store) SearchSeen(ctx context.Context, q query.Query, seen int64) (Page, error) {
	if s.index.Load() == nil || !needsIndex(q) && s.documentCache == nil {
		return s.searchPostgres(ctx, q)
	}
	ix, err := s.indexAt(ctx, seen)
	if err != nil {
		return Page{}, err
	}
	return s.searchMemory(ctx, ix, q)
}

// Genres lists every genre of the current state with its number of
// movies, reflecting at least every change this store has committed.
func (s *Store) Genres(ctx context.Context) ([]Genre, error) {
	return s.GenresSeen(ctx, 0)
}

// GenresSeen lists every genre, reflecting at least every change of the
// feed up to seen. With the memory index loaded, it groups the spellings
// that a genre filter matches alike (case, accents and repeated spaces)
// and counts the movies the filter finds. Without it, it reads every movie
// from PostgreSQL and groups spellings that differ only in case.
func (s *Store) GenresSeen(ctx context.Context, seen int64) ([]Genre, error) {
	if s.index.Load() == nil {
		return s.genresPostgres(ctx)
	}
	ix, err := s.indexAt(ctx, seen)
	if err != nil {
		return nil, err
	}
	return ix.genreList(), nil
}

// Movie returns the current document of one movie, or ErrNotFound.
func (s *Store) Movie(ctx context.Context, id string) (string, error) {
	return s.MovieSeen(ctx, id, 0)
}

// MovieSeen returns the document of one movie, or ErrNotFound, reflecting
// at least every change of the feed up to seen and every change this store
// has committed. With the memory index loaded and a document cache, it
// takes the state the index holds from the cache when it can.
func (s *Store) MovieSeen(ctx context.Context, id string, seen int64) (string, error) {
	if s.index.Load() == nil || s.documentCache == nil {
		return s.moviePostgres(ctx, id)
	}
	ix, err := s.indexAt(ctx, seen)
	if err != nil {
		return "", err
	}
	slot, change, ok := ix.lookup(id)
	if !ok {
		return s.moviePostgres(ctx, id)
	}

	documents, err := s.documents(ctx, []match{{position: query.Cursor{ID: id}, slot: slot, change: change}})
	if err != nil {
		return "", err
	}
	return documents[0], nil
}

// indexAt returns the loaded memory index once it reflects every change up
// to seen and every change this store has committed.
func (s *Store) indexAt(ctx context.Context, seen int64) (*memoryIndex, error) {
	ix := s.index.Load()
	if err := s.catchUpIndex(ctx, ix, max(seen, s.lastCommitted.Load())); err != nil {
		return nil, err
	}
	return ix, nil
}

// needsIndex reports whether PostgreSQL cannot serve q from one range and
// per-year counts. At a million movies, an edge got 2,310 year-page misses
// a second through PostgreSQL and 1,482 through the index, but 135 title
// misses against 2,398.
func needsIndex(q query.Query) bool {
	return q.Title != "" || q.Cast != "" && q.Genre != ""
}

// searchMemory reads a page's matches and the total from the index, then
// the page's documents from the document cache and, for those it lacks,
// from PostgreSQL in one round trip.
func (s *Store) searchMemory(ctx context.Context, ix *memoryIndex, q query.Query) (Page, error) {
	span := startIndexSpan(ctx)
	matches, total := ix.search(q)
	endIndexSpan(span, ix, total)

	page := Page{Documents: []string{}, Total: total}
	if len(matches) > q.Limit {
		matches = matches[:q.Limit]
		page.NextCursor = matches[q.Limit-1].position.Encode(q.Fingerprint())
	}
	if len(matches) == 0 {
		return page, nil
	}

	documents, err := s.documents(ctx, matches)
	if err != nil {
		return Page{}, err
	}
	page.Documents = documents
	return page, nil
}

// documents returns the documents of matches, in their order: from the
// document cache when it contains the state the index matched, otherwise
// as PostgreSQL stores them now, which may be newer.
func (s *Store) documents(ctx context.Context, matches []match) ([]string, error) {
	documents := make([]string, len(matches))
	missing := s.documentCache.getPage(matches, documents) // indexes into matches
	if len(missing) == 0 {
		return documents, nil
	}

	uncached := make([]match, len(missing))
	for n, i := range missing {
		uncached[n] = matches[i]
	}
	read, err := s.readDocuments(ctx, uncached)
	if err != nil {
		return nil, err
	}
	for _, i := range missing {
		document, ok := read[matches[i].position.ID]
		if !ok {
			return nil, fmt.Errorf("reading movie documents: movie %s is in the search index but not in the database", matches[i].position.ID)
		}
		documents[i] = document
	}
	return documents, nil
}

// readDocuments reads the current documents of the matched movies from
// PostgreSQL, by id, and caches each with the change that made it current.
func (s *Store) readDocuments(ctx context.Context, matches []match) (map[string]string, error) {
	ids := make([]string, len(matches))
	slots := make(map[string]uint32, len(matches))
	for i, m := range matches {
		ids[i] = m.position.ID
		slots[m.position.ID] = m.slot
	}

	rows, err := s.pool.Query(ctx, `SELECT id, change_seq, document FROM movies WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading movie documents: %w", err)
	}
	byID := make(map[string]string, len(ids))
	var id, document string
	var change int64
	_, err = pgx.ForEachRow(rows, []any{&id, &change, &document}, func() error {
		byID[id] = document
		s.documentCache.put(slots[id], change, document)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading movie documents: %w", err)
	}
	return byID, nil
}

// LoadMemoryIndex reads every movie's search fields into a new memory
// index, which Search uses from then on. It keeps the index current until
// ctx ends, reading the change feed every interval and after each commit
// of this store. A store without it searches in PostgreSQL alone.
func (s *Store) LoadMemoryIndex(ctx context.Context, interval time.Duration, logger *slog.Logger) error {
	start := time.Now()
	ix, err := s.readMemoryIndex(ctx)
	if err != nil {
		return err
	}
	s.index.Store(ix)
	logger.Info("search index loaded", "movies", ix.Len(), "feed_position", ix.Applied(), "duration", time.Since(start))

	go s.followMemoryIndex(ctx, ix, interval, logger)
	return nil
}

// readMemoryIndex reads every movie and the feed's head in one snapshot,
// in result order, so each year's ordered slots are built by appending.
func (s *Store) readMemoryIndex(ctx context.Context) (*memoryIndex, error) {
	ix := newMemoryIndex()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var head int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&head); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+indexedColumns+` FROM movies ORDER BY year, title_search, id`)
		if err != nil {
			return err
		}
		_, err = forEachIndexed(rows, ix.put)
		ix.applied = head
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("loading the search index: %w", err)
	}
	return ix, nil
}

// indexedColumns are the columns of movies that forEachIndexed reads.
const indexedColumns = "id, year, title_search, cast_search, genres_search, genres, change_seq"

// forEachIndexed calls fn with each row's fields for the index.
func forEachIndexed(rows pgx.Rows, fn func(indexedMovie)) (pgconn.CommandTag, error) {
	var id, title string
	var year int
	var cast, genres, names []string
	var change int64
	return pgx.ForEachRow(rows, []any{&id, &year, &title, &cast, &genres, &names, &change}, func() error {
		m := newIndexedMovie(id, year, title, cast, genres)
		m.genreNames = genreNames(names)
		m.change = change
		fn(m)
		return nil
	})
}

// indexApplyChunk is the maximum number of movies applied under one lock, so
// searches wait at most for that many while a large run of changes is
// applied.
const indexApplyChunk = 100

// catchUpIndex brings the index to at least position need, reading the
// change feed unless it is there already. A read that began before need
// was committed may end short of it, so a caller reads once more. After
// that the index holds the feed's head, and no later position exists.
func (s *Store) catchUpIndex(ctx context.Context, ix *memoryIndex, need int64) error {
	for range 2 {
		if ix.Applied() >= need {
			return nil
		}
		if err := s.refreshIndex(ctx, ix); err != nil {
			return err
		}
	}
	return nil
}

// indexReadTimeout bounds one read of the change feed into the index,
// which runs on for its other waiters when the caller that began it gives
// up.
const indexReadTimeout = 10 * time.Second

// refreshIndex reads the change feed into the index up to its head.
// Concurrent callers share one read.
func (s *Store) refreshIndex(ctx context.Context, ix *memoryIndex) error {
	result := s.indexReads.DoChan("feed", func() (any, error) {
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), indexReadTimeout)
		defer cancel()
		return nil, s.readIndexChanges(readCtx, ix)
	})
	select {
	case <-ctx.Done():
		return ctx.Err()
	case r := <-result:
		return r.Err
	}
}

// readIndexChanges applies the feed from the index's position to its
// head.
func (s *Store) readIndexChanges(ctx context.Context, ix *memoryIndex) error {
	for {
		movies, reached, more, err := s.changedMovies(ctx, ix.Applied(), maxChangePage)
		if err != nil {
			return err
		}
		for chunk := range slices.Chunk(movies, indexApplyChunk) {
			ix.apply(chunk, 0)
		}
		ix.apply(nil, reached)
		if !more {
			return nil
		}
	}
}

// changedMovies reads up to limit changes after position and the current
// search fields of the movies they name, in one snapshot. It returns the
// position up to which the movies reflect every change, and whether more
// changes follow.
func (s *Store) changedMovies(ctx context.Context, after int64, limit int) (movies []indexedMovie, reached int64, more bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var last *int64
		var count int
		err := tx.QueryRow(ctx, `
			SELECT (SELECT coalesce(max(seq), 0) FROM changes), max(seq), count(*)
			FROM (SELECT seq FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2) c`, after, limit).Scan(&reached, &last, &count)
		if err != nil || count == 0 {
			return err
		}
		if more = count == limit; more {
			reached = *last
		}

		rows, err := tx.Query(ctx, `
			SELECT `+indexedColumns+` FROM movies
			WHERE id IN (SELECT movie_id FROM changes WHERE seq > $1 AND seq <= $2 AND movie_id IS NOT NULL)`, after, *last)
		if err != nil {
			return err
		}
		_, err = forEachIndexed(rows, func(m indexedMovie) { movies = append(movies, m) })
		return err
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("reading the change feed into the search index: %w", err)
	}
	return movies, reached, more, nil
}

// followMemoryIndex reads the change feed into the index every interval,
// and at once after each commit of this store, until ctx ends.
func (s *Store) followMemoryIndex(ctx context.Context, ix *memoryIndex, interval time.Duration, logger *slog.Logger) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-s.commits:
		}
		if err := s.refreshIndex(ctx, ix); err != nil && ctx.Err() == nil {
			logger.Warn("reading the change feed into the search index failed; retrying at the next interval", "error", err)
		}
	}
}
