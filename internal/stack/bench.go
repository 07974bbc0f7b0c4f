package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"moviequery/internal/postgres"
	"moviequery/origin"
)

// BenchConfig configures RunIngestBench.
type BenchConfig struct {
	Dir     string // scratch folder for the databases
	Source  string // the data set
	Updates int    // updates queued for the sustained-rate run
	Workers int    // queue receivers of the origin
	// NoMemoryIndex runs the origins without their memory search index.
	NoMemoryIndex bool
}

// RunIngestBench measures two things and prints them to out. First, the
// full data set written through the S3 API while the origin ingests it:
// objects per second from the first write to the last commit. Second, with
// updates already written and their notifications queued, how many updates
// per second one origin commits.
func RunIngestBench(ctx context.Context, cfg BenchConfig, out io.Writer) error {
	updates, err := ReadSource(ctx, cfg.Source, "bench")
	if err != nil {
		return err
	}

	elapsed, err := benchFullLoad(ctx, cfg, updates)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "full load: %d objects in %.1f s, %.0f objects/s end to end\n", len(updates), elapsed.Seconds(), float64(len(updates))/elapsed.Seconds())

	queued := updates[:min(cfg.Updates, len(updates))]
	newMovies, changed, err := benchSustained(ctx, cfg, queued)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sustained, new movies, one origin with %d workers: %s\n", cfg.Workers, newMovies)
	fmt.Fprintf(out, "sustained, changed cast of existing movies: %s\n", changed)
	return nil
}

func benchRegion(ctx context.Context, cfg BenchConfig, name string, external bool) (*Region, error) {
	cluster, err := postgres.Start(ctx, postgres.Config{Dir: filepath.Join(cfg.Dir, name), Durable: true, Database: postgres.DefaultDatabase})
	if err != nil {
		return nil, err
	}

	region, err := StartRegion(ctx, RegionConfig{
		Name: "us-east-1", DatabaseURL: cluster.DSN(), Bucket: "movie-updates", Queue: "movie-updates",
		ExternalOrigin: external, OriginWorkers: cfg.Workers, NoMemoryIndex: cfg.NoMemoryIndex,
		Logger: benchLogger,
	})
	if err != nil {
		cluster.Stop()
		return nil, err
	}
	region.closers = append([]func() error{cluster.Stop}, region.closers...)
	return region, nil
}

// benchLogger sends the origins' warnings and errors to the terminal: a
// batch that fails waits out its visibility timeout, and the rate would
// drop with no reason shown.
var benchLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func benchFullLoad(ctx context.Context, cfg BenchConfig, updates []Update) (time.Duration, error) {
	region, err := benchRegion(ctx, cfg, "full", false)
	if err != nil {
		return 0, err
	}
	defer region.Close()

	start := time.Now()
	if err := Upload(ctx, region.Clients.S3, region.Bucket, updates, 16, func() {}); err != nil {
		return 0, err
	}
	if err := waitLedger(ctx, region.Origin.Store(), int64(len(updates))); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// sustainedRun is one timed run of an origin over queued updates: until
// every update is committed, and until the title counts have folded them
// in too.
type sustainedRun struct {
	updates           int
	committed, folded time.Duration
}

func (r sustainedRun) String() string {
	return fmt.Sprintf("%d queued updates committed in %.1f s (%.0f updates/s), title counts folded in after %.1f s (%.0f updates/s)",
		r.updates, r.committed.Seconds(), float64(r.updates)/r.committed.Seconds(), r.folded.Seconds(), float64(r.updates)/r.folded.Seconds())
}

// benchSustained writes the updates with no origin running, so their
// notifications wait in the queue, then starts one origin and times it.
// It does that twice: with the updates as new movies, then with one more
// update of each movie, which changes its cast.
func benchSustained(ctx context.Context, cfg BenchConfig, updates []Update) (newMovies, changed sustainedRun, err error) {
	region, err := benchRegion(ctx, cfg, "sustained", true)
	if err != nil {
		return newMovies, changed, err
	}
	defer region.Close()

	if newMovies, err = timeQueued(ctx, cfg, region, updates, 0); err != nil {
		return newMovies, changed, err
	}
	recasts := make([]Update, len(updates))
	for i, u := range updates {
		recasts[i] = recast(u, "Sustained Actor "+strconv.Itoa(i))
		recasts[i].Key = strings.TrimSuffix(u.Key, ".json") + "-recast.json"
	}
	changed, err = timeQueued(ctx, cfg, region, recasts, int64(len(updates)))
	return newMovies, changed, err
}

// timeQueued uploads updates, then runs one origin until the ledger holds
// them all on top of before, and until the title counts have caught up.
func timeQueued(ctx context.Context, cfg BenchConfig, region *Region, updates []Update, before int64) (sustainedRun, error) {
	run := sustainedRun{updates: len(updates)}
	if err := Upload(ctx, region.Clients.S3, region.Bucket, updates, 16, func() {}); err != nil {
		return run, err
	}

	originConfig := origin.DefaultConfig()
	originConfig.MemoryIndex = !cfg.NoMemoryIndex
	originConfig.DatabaseURL, originConfig.QueueURL, originConfig.AWS, originConfig.Workers = region.DatabaseURL, region.QueueURL, region.AWS, cfg.Workers
	originConfig.Logger = benchLogger
	server, err := origin.New(ctx, originConfig)
	if err != nil {
		return run, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return run, err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer func() { stop() }()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- server.Run(runCtx, ln) }()
	err = waitLedger(ctx, server.Store(), before+int64(len(updates)))
	run.committed = time.Since(start)
	if err == nil {
		err = waitFolded(ctx, server.Store())
		run.folded = time.Since(start)
	}
	stop()
	<-done
	return run, err
}

// waitFolded waits until the title counts have folded in every change.
func waitFolded(ctx context.Context, store *origin.Store) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		lag, err := store.TitleCountLag(ctx)
		if err != nil || lag == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the title counts still lack %d changes after 10 minutes", lag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitLedger(ctx context.Context, store *origin.Store, n int64) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		stats, err := store.Stats(ctx)
		if err != nil {
			return err
		}
		if stats.LedgerEntries >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the origin stored %d of %d objects in 10 minutes", stats.LedgerEntries, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
