package searchbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"moviequery/origin"
)

// result is the measurement of one query.
type result struct {
	label    string
	total    int64
	runs     int
	p50, p99 time.Duration
	max      time.Duration
}

func measureAll(ctx context.Context, cfg Config, store *origin.Store, dsn, set string, queries []benchQuery, out io.Writer) error {
	fmt.Fprintf(out, "\n%s data set, %d workers, %d searches per query, load average before: %s\n\n", set, cfg.Workers, cfg.Iterations, loadAverage())
	fmt.Fprintln(out, "| query | matches | runs | p50 | p99 | max |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: |")

	floor, err := measureFloor(ctx, cfg, dsn)
	if err != nil {
		return err
	}
	printResult(out, floor)

	for _, bq := range queries {
		q, err := resolve(ctx, store, bq)
		if err != nil {
			return err
		}
		page, err := store.Search(ctx, q)
		if err != nil {
			return fmt.Errorf("query %q: %w", bq.raw, err)
		}
		r, err := measure(ctx, cfg, func(ctx context.Context) error {
			_, err := store.Search(ctx, q)
			return err
		})
		if err != nil {
			return fmt.Errorf("query %q: %w", bq.raw, err)
		}
		r.label, r.total = "`"+bq.label()+"`", page.Total
		printResult(out, r)

		if cfg.Explain != nil {
			if err := explain(ctx, store, q, bq.label(), cfg.Explain); err != nil {
				return err
			}
		}
	}
	return nil
}

// measureFloor measures a bare round trip, SELECT 1 on a pool like the
// store's: the least any search can take on this machine at this
// concurrency.
func measureFloor(ctx context.Context, cfg Config, dsn string) (result, error) {
	pool, err := pgxpool.New(ctx, withPoolSize(dsn, cfg.Workers))
	if err != nil {
		return result{}, fmt.Errorf("connecting for the bare round trip: %w", err)
	}
	defer pool.Close()

	r, err := measure(ctx, cfg, func(ctx context.Context) error {
		_, err := pool.Exec(ctx, "SELECT 1")
		return err
	})
	r.label = "bare round trip (`SELECT 1`)"
	return r, err
}

// loadAverage returns the one-minute load average, so a run disturbed by
// other work on the machine shows it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	first, _, _ := strings.Cut(string(data), " ")
	return first
}

func printResult(out io.Writer, r result) {
	fmt.Fprintf(out, "| %s | %d | %d | %s | %s | %s |\n", r.label, r.total, r.runs, ms(r.p50), ms(r.p99), ms(r.max))
}

// measure calls run cfg.Iterations times on cfg.Workers goroutines, after
// one warm-up call per worker, or until cfg.MaxDuration passes.
func measure(ctx context.Context, cfg Config, run func(context.Context) error) (result, error) {
	deadline := time.Now().Add(cfg.MaxDuration)
	var next atomic.Int64
	latencies := make([]time.Duration, cfg.Iterations)
	errs := make(chan error, cfg.Workers)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				errs <- err
				return
			}
			for i := next.Add(1) - 1; i < int64(cfg.Iterations) && time.Now().Before(deadline); i = next.Add(1) - 1 {
				began := time.Now()
				if err := run(ctx); err != nil {
					errs <- err
					return
				}
				latencies[i] = time.Since(began)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return result{}, err
	}
	return summarize(latencies), nil
}

// summarize computes the percentiles of the runs that happened; slots left
// at zero belong to runs the deadline cut.
func summarize(latencies []time.Duration) result {
	done := slices.DeleteFunc(latencies, func(d time.Duration) bool { return d == 0 })
	slices.Sort(done)
	r := result{runs: len(done)}
	if len(done) == 0 {
		return r
	}
	r.p50 = done[(len(done)-1)*50/100]
	r.p99 = done[(len(done)*99+99)/100-1]
	r.max = done[len(done)-1]
	return r
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
