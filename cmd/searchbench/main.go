// Command searchbench measures the origin's movie search on this machine.
// Concurrent workers run each query kind and common combinations against a
// durable PostgreSQL cluster of its own on 127.0.0.1, loaded with the
// Wikipedia data set and with a generated data set of a million movies. It
// prints p50 and p99 latencies per query.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"moviequery/internal/searchbench"
)

func main() {
	cfg := searchbench.Config{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	flag.StringVar(&cfg.Dir, "dir", "", "folder for the benchmark clusters, kept after the run so the next run skips loading (default: a new temporary folder, removed at the end)")
	sets := flag.String("sets", "real,generated", "comma-separated data sets to measure: real, generated")
	flag.StringVar(&cfg.Data, "data", filepath.Join("..", "shared", "data", "wikipedia-movie-data"), "folder of the real data set")
	flag.IntVar(&cfg.Movies, "movies", 1_000_000, "number of generated movies")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated movies")
	flag.IntVar(&cfg.Workers, "workers", 8, "concurrent searches, each on its own connection")
	flag.IntVar(&cfg.Iterations, "iterations", 2000, "searches per query across all workers")
	flag.DurationVar(&cfg.MaxDuration, "max-duration", 30*time.Second, "time limit per query; a slower query reports fewer runs")
	flag.BoolVar(&cfg.MemoryOnly, "memory-only", false, "measure only the searches with the memory index, not those in PostgreSQL alone")
	flag.IntVar(&cfg.DocumentCacheMB, "document-cache-mb", 0, "megabytes of document cache for the searches with the memory index; 0 reads every page's documents from PostgreSQL")
	flag.BoolVar(&cfg.WarmDocumentCache, "warm", false, "read every movie's document into the document cache, up to its limit, before the searches begin")
	explain := flag.String("explain", "", "write EXPLAIN (ANALYZE, BUFFERS) of every statement of every query to this file")
	flag.Parse()
	cfg.Sets = strings.Split(*sets, ",")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *explain); err != nil {
		cfg.Logger.Error("searchbench stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg searchbench.Config, explainPath string) error {
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "searchbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	// PostgreSQL runs as its own user when this runs as root.
	if err := os.Chmod(cfg.Dir, 0o755); err != nil {
		return err
	}

	if explainPath != "" {
		f, err := os.Create(explainPath)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.Explain = f
	}
	return searchbench.Run(ctx, cfg, os.Stdout)
}
