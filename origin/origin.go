// Package origin is a region's system of record. It consumes S3 event
// notifications from the region's SQS queue, validates each update and
// stores it in PostgreSQL (ingest ledger, revision history, current state,
// change feed), and answers the region's edges over HTTP.
package origin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"moviequery/internal/awsclient"
	"moviequery/internal/gossip"
	"moviequery/internal/telemetry"
)

// Config configures an origin.
type Config struct {
	// Region names this origin's AWS region in logs and metrics.
	Region string
	// DatabaseURL is the PostgreSQL connection string.
	DatabaseURL string
	// QueueURL is the SQS queue that receives the bucket's event notifications.
	QueueURL string
	// Bucket is the region's update bucket, listed by the reconciler. Empty
	// turns reconciliation off.
	Bucket string
	// ReconcileInterval is the time between two listings of the bucket: the
	// longest an update whose notification was lost waits to be stored.
	ReconcileInterval time.Duration
	// PeerOrigins maps each other region's name to its origin's base URL.
	// Purges are forwarded there, with PeerToken as the bearer token (that
	// origin's edge token).
	PeerOrigins map[string]string
	PeerToken   string
	// Gossip, when set, joins the region's gossip cluster to announce each
	// committed change to the edges. OnMessage is not used.
	Gossip *gossip.Config
	// TitleCountFold is the time between two folds of the change feed into
	// the title substring counts when no changes are waiting. Searches are
	// exact whatever the lag; a longer lag only makes title searches add up
	// more unfolded changes.
	TitleCountFold time.Duration
	// MemoryIndex loads every movie's search fields into memory when the
	// origin starts, and runs searches on them once loaded (see
	// Store.LoadMemoryIndex). Searches run in PostgreSQL until then, and
	// always without it.
	MemoryIndex bool
	// MemoryIndexInterval is the time between two reads of the change feed
	// into the memory index when this origin commits nothing. A search
	// reads the feed itself when the index lags what it must reflect.
	MemoryIndexInterval time.Duration
	// DocumentCacheMB bounds the memory of the movie documents kept for
	// searches and movies by id (see Store.UseDocumentCache). 0 keeps none.
	DocumentCacheMB int
	// WarmDocumentCache reads every movie's document into the document
	// cache, up to its limit, once the memory index is loaded (see
	// Store.WarmDocumentCache). Without it, the cache fills as searches
	// read their movies.
	WarmDocumentCache bool
	// ReconcileGrace leaves objects younger than this to their
	// notifications, so the reconciler does not race the queue.
	ReconcileGrace time.Duration
	// AWS selects the S3 and SQS endpoints and credentials.
	AWS awsclient.Config
	// Workers is the number of concurrent queue receivers. Each commits up to
	// ten objects per transaction; more workers raise ingest throughput until
	// PostgreSQL's commit rate is the limit.
	Workers int
	// BatchSize is the most queue messages one transaction commits. Larger
	// batches commit more updates per second while the queue is busy, at the
	// cost of more work repeated when a transaction fails.
	BatchSize int
	// VisibilityTimeout is how long a received message stays hidden from
	// other receivers. The origin extends it every third of this while it
	// works on the message, so it only bounds how soon a message comes back
	// after the origin that received it dies.
	VisibilityTimeout time.Duration
	// EdgeToken, when set, must be sent by edges as "Authorization: Bearer
	// <token>" on every /internal/ route. Health and metrics stay open.
	EdgeToken string
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration
	// Registry receives the origin's metrics; nil makes a new one.
	Registry *prometheus.Registry
	// Logger receives the origin's logs; nil discards them. Log lines of an
	// edge request carry the request_id and client_id the edge sent.
	Logger *slog.Logger
	// TracerProvider receives a span per edge request, with child spans for
	// its database work; nil turns tracing off.
	TracerProvider trace.TracerProvider
}

// DefaultConfig returns a Config with every optional field set.
func DefaultConfig() Config {
	return Config{
		Region:              "us-east-1",
		Workers:             4,
		BatchSize:           100,
		VisibilityTimeout:   60 * time.Second,
		ReconcileInterval:   5 * time.Minute,
		TitleCountFold:      time.Second,
		MemoryIndex:         true,
		MemoryIndexInterval: time.Second,
		DocumentCacheMB:     256,
		WarmDocumentCache:   true,
		ReconcileGrace:      2 * time.Minute,
		ShutdownTimeout:     10 * time.Second,
	}
}

// Server is a running origin: its store, queue consumer and HTTP API.
type Server struct {
	cfg        Config
	store      *Store
	consumer   *consumer
	reconciler *reconciler
	api        *api
	registry   *prometheus.Registry
	metrics    *metrics
	member     *gossip.Member // nil without gossip
	logger     *slog.Logger
	ready      atomic.Bool
}

// New connects to PostgreSQL (applying migrations) and to AWS, and returns an
// origin ready to Run.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = slog.New(telemetry.NewLogHandler(cfg.Logger.Handler()))
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}

	store, err := OpenStore(ctx, cfg.DatabaseURL, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if cfg.MemoryIndex && cfg.DocumentCacheMB > 0 {
		if err := store.UseDocumentCache(cfg.DocumentCacheMB); err != nil {
			store.Close()
			return nil, err
		}
	}
	clients, err := awsclient.New(ctx, cfg.AWS)
	if err != nil {
		store.Close()
		return nil, err
	}

	s := &Server{cfg: cfg, store: store, registry: cfg.Registry, logger: cfg.Logger}
	m := newMetrics(cfg.Registry, cfg.Region)
	watchMemoryIndex(cfg.Registry, cfg.Region, store)
	watchDocumentCache(cfg.Registry, cfg.Region, store)
	s.metrics = m
	s.consumer = &consumer{s3: clients.S3, sqs: clients.SQS, queueURL: cfg.QueueURL, visibility: cfg.VisibilityTimeout, batchSize: cfg.BatchSize, store: store, metrics: m, logger: cfg.Logger}
	s.reconciler = &reconciler{s3: clients.S3, bucket: cfg.Bucket, store: store, metrics: m, logger: cfg.Logger, grace: cfg.ReconcileGrace, now: time.Now}
	s.api = &api{store: store, metrics: m, logger: cfg.Logger, ready: &s.ready}
	s.api.purger = &purger{store: store, region: cfg.Region, peers: cfg.PeerOrigins, token: cfg.PeerToken, client: &http.Client{}}
	if cfg.TracerProvider != nil {
		s.api.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	if err := s.startGossip(); err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

// Store returns the origin's store.
func (s *Server) Store() *Store {
	return s.store
}

// Run serves the API on ln and consumes the queue until ctx is cancelled,
// then stops taking requests, finishes in-flight ones and closes the store.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	server := &http.Server{Handler: s.authorize(s.api.routes(s.registry)), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(ln) }()

	var wg sync.WaitGroup
	if s.cfg.QueueURL != "" {
		wg.Go(func() { s.consumer.run(ctx, s.cfg.Workers) })
	}
	if s.cfg.Bucket != "" {
		wg.Go(func() { s.reconciler.run(ctx, s.cfg.ReconcileInterval) })
	}
	wg.Go(func() { foldTitleCountsLoop(ctx, s.store, s.cfg.TitleCountFold, s.logger) })
	if s.cfg.MemoryIndex {
		wg.Go(func() {
			if s.loadMemoryIndex(ctx) {
				s.warmDocumentCache(ctx)
			}
		})
	}
	s.ready.Store(true)
	s.logger.Info("origin started", "region", s.cfg.Region, "address", ln.Addr().String(), "queue", s.cfg.QueueURL, "workers", s.cfg.Workers)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serving origin API: %w", err)
	}
	return s.shutdown(server, &wg)
}

func (s *Server) shutdown(server *http.Server, consumers *sync.WaitGroup) error {
	start := time.Now()
	s.ready.Store(false)

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := server.Shutdown(ctx)

	consumers.Wait()
	s.leaveGossip()
	s.store.Close()
	s.logger.Info("origin stopped", "region", s.cfg.Region, "duration", time.Since(start))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// loadMemoryIndex loads the search index, retrying every few seconds
// while the database fails, until it is loaded or ctx ends. It reports
// whether the index was loaded.
func (s *Server) loadMemoryIndex(ctx context.Context) bool {
	for {
		err := s.store.LoadMemoryIndex(ctx, s.cfg.MemoryIndexInterval, s.logger)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.logger.Warn("loading the search index failed; searching in PostgreSQL meanwhile and retrying", "error", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Second):
		}
	}
}

// warmDocumentCache warms the document cache when configured to. A failed
// warm leaves the cache to fill as searches read their movies.
func (s *Server) warmDocumentCache(ctx context.Context) {
	if !s.cfg.WarmDocumentCache {
		return
	}
	err := s.store.WarmDocumentCache(ctx, s.logger)
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("warming the document cache failed; it fills as searches read their movies", "error", err)
	}
}

// authorize requires the edge token on /internal/ routes when one is set.
func (s *Server) authorize(next http.Handler) http.Handler {
	if s.cfg.EdgeToken == "" {
		return next
	}

	want := []byte("Bearer " + s.cfg.EdgeToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internal := len(r.URL.Path) > len("/internal/") && r.URL.Path[:len("/internal/")] == "/internal/"
		if internal && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, `{"error":{"code":"unauthorized","message":"edge token missing or wrong"}}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Rebuild ingests every object version of the bucket that the database
// lacks, in one pass with no grace period. On an empty database it rebuilds
// the region's state from its bucket; replaying the bucket yields the same
// state whatever order the objects are read in.
func Rebuild(ctx context.Context, cfg Config) (ReconcileResult, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	store, err := OpenStore(ctx, cfg.DatabaseURL, cfg.Logger)
	if err != nil {
		return ReconcileResult{}, err
	}
	defer store.Close()

	clients, err := awsclient.New(ctx, cfg.AWS)
	if err != nil {
		return ReconcileResult{}, err
	}
	r := &reconciler{s3: clients.S3, bucket: cfg.Bucket, store: store, metrics: newMetrics(prometheus.NewRegistry(), cfg.Region), logger: cfg.Logger, now: time.Now}
	return r.pass(ctx)
}
