// Package bulkload ingests many objects into an origin store in large
// batches, for benchmarks and for seeding a database. It skips S3 and the
// queue but not the store: every object goes through Store.Ingest, with its
// ledger entry, revision and current-state upsert, as if the origin had
// fetched it from the bucket.
package bulkload

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"moviequery/origin"
)

// Config configures Load. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Bucket is the bucket the objects are recorded under in the ingest
	// ledger.
	Bucket string

	// BatchSize is the number of objects per Ingest call, which is one
	// transaction. Larger batches spread the cost of a commit over more
	// objects, and each Ingest call holds its batch in memory.
	BatchSize int

	// Workers is the number of Ingest calls in flight, each on its own
	// connection.
	Workers int

	// Progress, when set, is called after each committed batch with the
	// number of objects committed so far. Calls come from the workers, one
	// at a time.
	Progress func(done int)
}

// DefaultConfig returns batches of 1,000 objects, two at a time, recorded
// under the bucket movie-updates.
func DefaultConfig() Config {
	return Config{Bucket: "movie-updates", BatchSize: 1000, Workers: 2}
}

// Result counts what Load did with the objects.
type Result struct {
	Stored      int
	Duplicates  int
	Quarantined int
	Duration    time.Duration
}

// Load ingests every object of objects, given as key and body, and returns
// the counts of outcomes. Each object's version is "etag:" followed by the
// MD5 of its body, as the origin names versions in a bucket without
// versioning, so loading the same objects twice stores nothing new. Every
// object's written time is the time Load starts.
func Load(ctx context.Context, store *origin.Store, objects iter.Seq2[string, []byte], cfg Config) (Result, error) {
	cfg = complete(cfg)
	began := time.Now()

	batches := make(chan []origin.Object, cfg.Workers)
	counts := make(chan Result, cfg.Workers)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return produce(ctx, objects, cfg, began.UTC(), batches) })

	var done atomic.Int64
	for range cfg.Workers {
		g.Go(func() error { return consume(ctx, store, batches, counts, &done, cfg.Progress) })
	}

	err := g.Wait()
	close(counts)
	var total Result
	for c := range counts {
		total.Stored += c.Stored
		total.Duplicates += c.Duplicates
		total.Quarantined += c.Quarantined
	}
	total.Duration = time.Since(began)
	return total, err
}

func complete(cfg Config) Config {
	def := DefaultConfig()
	if cfg.Bucket == "" {
		cfg.Bucket = def.Bucket
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = def.BatchSize
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if report := cfg.Progress; report != nil {
		var mu sync.Mutex
		cfg.Progress = func(done int) {
			mu.Lock()
			defer mu.Unlock()
			report(done)
		}
	}
	return cfg
}

// produce cuts objects into batches and closes batches at the end.
func produce(ctx context.Context, objects iter.Seq2[string, []byte], cfg Config, writtenAt time.Time, batches chan<- []origin.Object) error {
	defer close(batches)

	batch := make([]origin.Object, 0, cfg.BatchSize)
	for key, body := range objects {
		sum := md5.Sum(body)
		batch = append(batch, origin.Object{
			Bucket: cfg.Bucket, Key: key, Version: "etag:" + hex.EncodeToString(sum[:]),
			WrittenAt: writtenAt, Raw: body,
		})
		if len(batch) < cfg.BatchSize {
			continue
		}
		if err := send(ctx, batches, batch); err != nil {
			return err
		}
		batch = make([]origin.Object, 0, cfg.BatchSize)
	}
	if len(batch) == 0 {
		return nil
	}
	return send(ctx, batches, batch)
}

func send(ctx context.Context, batches chan<- []origin.Object, batch []origin.Object) error {
	select {
	case batches <- batch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// consume ingests batches until the channel closes, then sends its counts.
// done is the running total of committed objects, shared by the workers.
func consume(ctx context.Context, store *origin.Store, batches <-chan []origin.Object, counts chan<- Result, done *atomic.Int64, progress func(int)) error {
	var mine Result
	defer func() { counts <- mine }()

	for batch := range batches {
		results, err := store.Ingest(ctx, batch, nil)
		if err != nil {
			return fmt.Errorf("ingesting objects %s to %s: %w", batch[0].Key, batch[len(batch)-1].Key, err)
		}
		for _, r := range results {
			switch r.Outcome {
			case origin.OutcomeStored:
				mine.Stored++
			case origin.OutcomeDuplicate:
				mine.Duplicates++
			case origin.OutcomeQuarantined:
				mine.Quarantined++
			}
		}

		n := done.Add(int64(len(batch)))
		if progress != nil {
			progress(int(n))
		}
	}
	return nil
}
