package origin

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"golang.org/x/sync/singleflight"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the region's PostgreSQL system of record. It is safe for
// concurrent use.
type Store struct {
	pool      *pgxpool.Pool
	committed func([]Change) // set by OnCommit before use

	index         atomic.Pointer[memoryIndex] // nil until LoadMemoryIndex
	indexReads    singleflight.Group
	lastCommitted atomic.Int64  // the greatest change feed position this store committed
	commits       chan struct{} // signalled after each commit, for the index

	// documentCache is nil without UseDocumentCache, and its methods then
	// find and keep nothing.
	documentCache *documentCache
}

// OpenStore connects to PostgreSQL and applies any pending schema migrations.
// Origins starting together take turns through an advisory lock, so each
// migration runs once. A nil logger discards the migration log.
func OpenStore(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing database address: %w", err)
	}

	// Custom plans for every execution: the generic plan PostgreSQL switches
	// to after five runs of a prepared statement can be a full scan where a
	// custom plan uses an index.
	config.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	config.ConnConfig.Tracer = dbTracer{}

	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	// The pool connects lazily; a ping reports an unreachable database as
	// such rather than as a failed migration.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL at %s:%d: %w; check the database address and that the server is running", config.ConnConfig.Host, config.ConnConfig.Port, err)
	}
	if err := migrate(ctx, pool, logger); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, commits: make(chan struct{}, 1)}, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()

	provider, err := newMigrator(db, pool, logger)
	if err != nil {
		return err
	}

	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("applying schema migrations: %w", err)
	}
	for _, r := range results {
		logger.Info("applied schema migration", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

func newMigrator(db *sql.DB, pool *pgxpool.Pool, logger *slog.Logger) (*goose.Provider, error) {
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("opening embedded migrations: %w", err)
	}

	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("creating migration lock: %w", err)
	}
	// Migrations may land out of version order: 00003 (the search index)
	// was written after 00004 (key rate limits), and databases created in
	// between have 00004 applied and still need 00003. Each migration
	// touches its own tables, so their order does not matter.
	return goose.NewProvider(goose.DialectPostgres, db, files, goose.WithSessionLocker(locker), goose.WithAllowOutofOrder(true),
		goose.WithGoMigrations(refoldMigration(pool, logger)))
}

// Close releases the store's connections.
func (s *Store) Close() {
	s.pool.Close()
}

// UseDocumentCache keeps up to maxMB megabytes of movie documents in
// memory, so that searches through the memory index and movies by id need
// no read from PostgreSQL for them. With the cache, every search runs
// through the index once it is loaded. Call it before searches begin.
func (s *Store) UseDocumentCache(maxMB int) error {
	cache, err := newDocumentCache(maxMB)
	if err != nil {
		return err
	}
	s.documentCache = cache
	return nil
}

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// inTx runs fn in a transaction and retries it when PostgreSQL aborts it for
// a deadlock or a serialization failure, which concurrent ingest of the same
// movies can cause.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	const attempts = 5

	var err error
	for range attempts {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if !isRetryable(err) {
			return err
		}
	}
	return err
}

func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || pgErr.Code == "40P01"
}

// withTryLock runs fn while holding a PostgreSQL advisory lock named name,
// and reports false without running it when another session holds the lock.
func (s *Store) withTryLock(ctx context.Context, name string, fn func() error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquiring connection for lock %q: %w", name, err)
	}
	defer conn.Release()

	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, name).Scan(&locked); err != nil {
		return false, fmt.Errorf("taking lock %q: %w", name, err)
	}
	if !locked {
		return false, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, name)
	return true, fn()
}
