// Package searchbench measures origin.Store.Search on a real PostgreSQL
// server: every query kind and common combinations, each run a fixed number
// of times by concurrent workers, with p50 and p99 latencies, in PostgreSQL
// alone and with the origin's memory index, one after the other in the
// same run. It loads the
// Wikipedia movie data set or a generated data set through Store.Ingest into
// a durable cluster of its own on 127.0.0.1, and keeps the cluster's folder,
// so a later run with the same folder skips the load.
package searchbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/bulkload"
	"moviequery/internal/moviegen"
	"moviequery/internal/postgres"
	"moviequery/internal/stack"
	"moviequery/origin"
)

// Data sets that Run can measure.
const (
	SetReal      = "real"
	SetGenerated = "generated"
)

// Config configures Run.
type Config struct {
	// Dir contains one cluster folder per data set. A cluster that already
	// holds movies is measured as it is, without loading.
	Dir string
	// Sets lists the data sets to measure, SetReal and SetGenerated.
	Sets []string
	// Data is the folder of the real data set.
	Data string
	// Movies and Seed choose the generated data set.
	Movies int
	Seed   uint64
	// Workers is the number of concurrent searches, each on its own
	// connection.
	Workers int
	// Iterations is the number of searches per query, across all workers.
	Iterations int
	// MaxDuration bounds the time spent on one query; a query that reaches
	// it reports fewer iterations.
	MaxDuration time.Duration
	// MemoryOnly measures only the searches with the memory index; each
	// query is still checked against PostgreSQL once.
	MemoryOnly bool
	// DocumentCacheMB, when above 0, gives the indexed store a document
	// cache of that many megabytes. Every search through it then runs
	// through the index, and after a query's first runs its documents come
	// from the cache.
	DocumentCacheMB int
	// WarmDocumentCache reads every movie's document into the document
	// cache, up to its limit, before the searches begin, as an origin does
	// once its index is loaded.
	WarmDocumentCache bool
	// Explain, when set, receives the EXPLAIN (ANALYZE, BUFFERS) output of
	// every statement Search runs for each query.
	Explain io.Writer
	Logger  *slog.Logger
}

// Run measures each data set of cfg.Sets in turn and writes one table per
// set to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	for _, set := range cfg.Sets {
		if set != SetReal && set != SetGenerated {
			return fmt.Errorf("unknown data set %q; use %s or %s", set, SetReal, SetGenerated)
		}
		if err := runSet(ctx, cfg, set, out); err != nil {
			return fmt.Errorf("data set %s: %w", set, err)
		}
	}
	return nil
}

func runSet(ctx context.Context, cfg Config, set string, out io.Writer) error {
	cluster, err := postgres.Start(ctx, postgres.Config{
		Dir: filepath.Join(cfg.Dir, set), Durable: true, Database: postgres.DefaultDatabase, Logger: cfg.Logger,
	})
	if err != nil {
		return err
	}
	defer cluster.Stop()

	store, err := origin.OpenStore(ctx, withPoolSize(cluster.DSN(), cfg.Workers), cfg.Logger)
	if err != nil {
		return err
	}
	defer store.Close()

	if err := ensureLoaded(ctx, cfg, set, store, cluster.DSN()); err != nil {
		return err
	}
	queries, err := querySet(ctx, set, cluster.DSN())
	if err != nil {
		return err
	}

	// The index follows the change feed until indexCtx ends, which must
	// come before the store closes its connections.
	indexCtx, stopIndex := context.WithCancel(ctx)
	defer stopIndex()
	indexed, err := openIndexed(indexCtx, cfg, cluster.DSN(), out)
	if err != nil {
		return err
	}
	defer func() {
		stopIndex()
		indexed.Close()
	}()
	return measureAll(ctx, cfg, stores{postgres: store, memory: indexed}, cluster.DSN(), set, queries, out)
}

// openIndexed opens a second store and loads its memory index, and writes
// how long the load took and how much heap the index holds.
func openIndexed(ctx context.Context, cfg Config, dsn string, out io.Writer) (*origin.Store, error) {
	store, err := origin.OpenStore(ctx, withPoolSize(dsn, cfg.Workers), cfg.Logger)
	if err != nil {
		return nil, err
	}

	if cfg.DocumentCacheMB > 0 {
		if err := store.UseDocumentCache(cfg.DocumentCacheMB); err != nil {
			store.Close()
			return nil, err
		}
	}

	before := heapInUse()
	began := time.Now()
	if err := store.LoadMemoryIndex(ctx, time.Second, cfg.Logger); err != nil {
		store.Close()
		return nil, err
	}
	fmt.Fprintf(out, "\nMemory index: loaded in %s, %.0f MiB of heap\n", time.Since(began).Round(time.Millisecond), float64(heapInUse()-before)/(1<<20))

	if cfg.WarmDocumentCache {
		began = time.Now()
		if err := store.WarmDocumentCache(ctx, cfg.Logger); err != nil {
			store.Close()
			return nil, err
		}
		fmt.Fprintf(out, "Document cache: warmed in %s\n", time.Since(began).Round(time.Millisecond))
	}
	return store, nil
}

// heapInUse returns the bytes of live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return stats.HeapAlloc
}

// withPoolSize sets pgxpool's maximum number of connections in a DSN, so
// every worker has a connection of its own. pgxpool's default is the
// number of cores, at least 4.
func withPoolSize(dsn string, conns int) string {
	separator := "?"
	if strings.Contains(dsn, "?") {
		separator = "&"
	}
	return fmt.Sprintf("%s%spool_max_conns=%d", dsn, separator, conns)
}

// ensureLoaded loads the data set when the database holds no movie yet and
// folds every change into the title counts, as a running origin does in
// the background. After a load or a fold it vacuums and analyzes the
// database so that index-only scans and the planner's statistics reflect
// the data.
func ensureLoaded(ctx context.Context, cfg Config, set string, store *origin.Store, dsn string) error {
	stats, err := store.Stats(ctx)
	if err != nil {
		return err
	}
	if stats.Movies == 0 {
		if err := load(ctx, cfg, set, store); err != nil {
			return err
		}
	} else {
		cfg.Logger.Info("data set already loaded", "set", set, "movies", stats.Movies)
	}

	folded, err := foldTitleCounts(ctx, cfg.Logger, store)
	if err != nil {
		return err
	}
	if stats.Movies > 0 && folded == 0 {
		return nil
	}
	return vacuum(ctx, cfg.Logger, dsn)
}

// foldTitleCounts folds every change not yet folded into the title counts
// and returns how many it folded. Without it, every title search would add
// up the unfolded changes itself, a million of them after a load.
func foldTitleCounts(ctx context.Context, logger *slog.Logger, store *origin.Store) (int, error) {
	began := time.Now()
	total := 0
	for {
		folded, err := store.FoldTitleCounts(ctx)
		if err != nil {
			return total, err
		}
		if folded == 0 {
			break
		}
		total += folded
	}

	if total > 0 {
		logger.Info("title counts folded", "changes", total, "duration", time.Since(began).Round(time.Millisecond))
	}
	return total, nil
}

func load(ctx context.Context, cfg Config, set string, store *origin.Store) error {
	objects := moviegen.Objects("gen", cfg.Seed, cfg.Movies)
	if set == SetReal {
		updates, err := stack.ReadSource(ctx, cfg.Data, "wikipedia")
		if err != nil {
			return err
		}
		objects = func(yield func(string, []byte) bool) {
			for _, u := range updates {
				if !yield(u.Key, u.Body) {
					return
				}
			}
		}
	}

	began := time.Now()
	loadCfg := bulkload.DefaultConfig()
	loadCfg.Progress = func(done int) {
		if done%(100*loadCfg.BatchSize) == 0 {
			cfg.Logger.Info("loading", "set", set, "committed", done, "elapsed", time.Since(began).Round(time.Second))
		}
	}
	result, err := bulkload.Load(ctx, store, objects, loadCfg)
	if err != nil {
		return err
	}
	cfg.Logger.Info("data set loaded", "set", set, "stored", result.Stored, "quarantined", result.Quarantined,
		"duration", result.Duration.Round(time.Second))
	return nil
}

func vacuum(ctx context.Context, logger *slog.Logger, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to vacuum: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	began := time.Now()
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuuming: %w", err)
	}
	logger.Info("vacuumed and analyzed", "duration", time.Since(began).Round(time.Millisecond))
	return nil
}
