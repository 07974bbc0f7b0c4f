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

	"moviequery/internal/query"
	"moviequery/origin"
)

// result is the measurement of one query.
type result struct {
	label         string
	runs, planned int
	p50, p99      time.Duration
}

// stores are the two ways of searching that measureAll compares.
type stores struct {
	postgres *origin.Store // without the memory index
	memory   *origin.Store // with it
}

func measureAll(ctx context.Context, cfg Config, ss stores, dsn, set string, queries []benchQuery, out io.Writer) error {
	fmt.Fprintf(out, "\n%s data set, %d workers, %d searches per query, load average before: %s\n\n", set, cfg.Workers, cfg.Iterations, loadAverage())
	fmt.Fprintln(out, "| query | matches | PostgreSQL p50 | PostgreSQL p99 | memory index p50 | memory index p99 | memory index, first search |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")

	floor, err := measureFloor(ctx, cfg, dsn)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "| %s | 0 | %s | | | |\n", floor.label, floor)

	for _, bq := range queries {
		q, err := resolve(ctx, ss.postgres, bq)
		if err != nil {
			return err
		}
		total, first, err := sameTotal(ctx, ss, q, bq.raw)
		if err != nil {
			return err
		}
		var both [2]result
		for i, store := range []*origin.Store{ss.postgres, ss.memory} {
			if i == 0 && cfg.MemoryOnly {
				continue
			}
			if both[i], err = measure(ctx, cfg, func(ctx context.Context) error {
				_, err := store.Search(ctx, q)
				return err
			}); err != nil {
				return fmt.Errorf("query %q: %w", bq.raw, err)
			}
		}
		fmt.Fprintf(out, "| `%s` | %d | %s | %s | %s |\n", bq.label(), total, both[0], both[1], ms(first))

		if cfg.Explain != nil {
			if err := explain(ctx, ss.postgres, q, bq.label(), cfg.Explain); err != nil {
				return err
			}
		}
	}
	return measureGenres(ctx, cfg, ss, out)
}

// measureGenres measures the genre list both ways, as one more row whose
// matches are the number of genres.
func measureGenres(ctx context.Context, cfg Config, ss stores, out io.Writer) error {
	began := time.Now()
	genres, err := ss.memory.Genres(ctx)
	if err != nil {
		return fmt.Errorf("listing genres with the memory index: %w", err)
	}
	first := time.Since(began)

	var both [2]result
	for i, store := range []*origin.Store{ss.postgres, ss.memory} {
		if i == 0 && cfg.MemoryOnly {
			continue
		}
		if both[i], err = measure(ctx, cfg, func(ctx context.Context) error {
			_, err := store.Genres(ctx)
			return err
		}); err != nil {
			return fmt.Errorf("listing genres: %w", err)
		}
	}
	fmt.Fprintf(out, "| genre list (`/v1/genres`) | %d | %s | %s | %s |\n", len(genres), both[0], both[1], ms(first))
	return nil
}

// sameTotal searches q both ways and returns the total and the time of
// the search with the memory index, the first of its title term unless an
// earlier query had the same term. It returns an error when the two ways
// disagree on the total or the page.
func sameTotal(ctx context.Context, ss stores, q query.Query, raw string) (int64, time.Duration, error) {
	want, err := ss.postgres.Search(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("query %q: %w", raw, err)
	}
	began := time.Now()
	got, err := ss.memory.Search(ctx, q)
	if err != nil {
		return 0, 0, fmt.Errorf("query %q with the memory index: %w", raw, err)
	}
	first := time.Since(began)
	if got.Total != want.Total || !slices.Equal(got.Documents, want.Documents) || got.NextCursor != want.NextCursor {
		return 0, 0, fmt.Errorf("query %q: the memory index found %d movies where PostgreSQL found %d, or another page", raw, got.Total, want.Total)
	}
	return want.Total, first, nil
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

// String formats the p50 and p99 as two table cells, with the number of
// runs beside the p99 when the time limit cut them short.
func (r result) String() string {
	p99 := ms(r.p99)
	if r.runs < r.planned {
		p99 += fmt.Sprintf(" (%d runs)", r.runs)
	}
	return ms(r.p50) + " | " + p99
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
	r := summarize(latencies)
	r.planned = cfg.Iterations
	return r, nil
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
	return r
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
