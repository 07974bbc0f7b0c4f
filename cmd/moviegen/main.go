// Command moviegen generates a synthetic movie data set with the skew of the
// Wikipedia movie data set, deterministic for a seed. It writes the movies
// as JSON files in the data set's format (-out), or ingests them straight
// into an origin database through the store's ingest path (-load). A direct
// load of a million movies takes minutes, where S3 and the queue would take
// far longer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"moviequery/internal/bulkload"
	"moviequery/internal/envflag"
	"moviequery/internal/moviegen"
	"moviequery/origin"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of movies")
	seed := flag.Uint64("seed", 1, "seed; the same seed and -n give the same movies")
	out := flag.String("out", "", "write the movies as JSON files into this existing folder")
	dsn := flag.String("load", "", "ingest the movies into the PostgreSQL database at this address (postgres://...), applying the origin's migrations first")
	provider := flag.String("provider", "gen", "provider id of the loaded objects' keys, providers/<id>/...")
	batch := flag.Int("batch", 1000, "objects per ingest transaction with -load")
	workers := flag.Int("workers", 2, "concurrent ingest transactions with -load")
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := envflag.Parse(flag.CommandLine, "MOVIEGEN", os.Args[1:]); err != nil {
		logger.Error("reading flags", "err", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if err := run(ctx, logger, *n, *seed, *out, *dsn, *provider, bulkload.Config{BatchSize: *batch, Workers: *workers}); err != nil {
		logger.Error("moviegen stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger, n int, seed uint64, out, dsn, provider string, cfg bulkload.Config) error {
	if (out == "") == (dsn == "") {
		return errors.New("give exactly one of -out FOLDER and -load DSN")
	}
	if out != "" {
		began := time.Now()
		if err := moviegen.WriteFiles(out, seed, n); err != nil {
			return err
		}
		logger.Info("movies written", "movies", n, "folder", out, "duration", time.Since(began))
		return nil
	}
	return load(ctx, logger, dsn, provider, seed, n, cfg)
}

func load(ctx context.Context, logger *slog.Logger, dsn, provider string, seed uint64, n int, cfg bulkload.Config) error {
	store, err := origin.OpenStore(ctx, dsn, logger)
	if err != nil {
		return err
	}
	defer store.Close()

	began := time.Now()
	cfg.Progress = func(done int) {
		if done%(50*cfg.BatchSize) == 0 {
			logger.Info("loading", "committed", done, "of", n, "elapsed", time.Since(began).Round(time.Second))
		}
	}
	result, err := bulkload.Load(ctx, store, moviegen.Objects(provider, seed, n), cfg)
	if err != nil {
		return fmt.Errorf("loading generated movies: %w", err)
	}
	logger.Info("movies loaded", "stored", result.Stored, "duplicates", result.Duplicates,
		"quarantined", result.Quarantined, "duration", result.Duration.Round(time.Millisecond))
	return nil
}
