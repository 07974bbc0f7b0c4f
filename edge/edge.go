// Package edge is the public movie API of a region. It responds from an
// in-process bigcache of serialized responses and asks the region's origin on
// a miss, coalescing concurrent identical misses into one origin request.
// Every request must carry a valid API key.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"moviequery/internal/gossip"
	"moviequery/internal/telemetry"
)

// Config configures an edge.
type Config struct {
	// Region names this edge's AWS region in logs and metrics.
	Region string
	// OriginURL is the base URL of the region's origin, e.g. http://127.0.0.1:8081.
	OriginURL string
	// EdgeToken is sent to the origin as a bearer token, when set.
	EdgeToken string
	// OriginTimeout bounds one origin request, including its database work.
	OriginTimeout time.Duration
	// CacheFresh is how long a cached answer is served as it is. An older
	// answer is still served, marked stale with an Age header, while a
	// background fill replaces it; so it bounds staleness when no
	// invalidation arrives and the origin answers.
	CacheFresh time.Duration
	// CacheMaxStale is how long an answer is kept at all: the longest a stale
	// answer is served while the origin fails to answer.
	CacheMaxStale time.Duration
	// CacheMaxMB is bigcache's hard limit on the memory of cached entries, in
	// megabytes. Raising it raises the hit ratio and the resident memory,
	// which runs to about twice this figure under churn.
	CacheMaxMB int
	// FeedInterval is how often the edge reads the origin's change feed for
	// changes that gossip did not deliver: with gossip down, a change
	// reaches the edge within about this long.
	FeedInterval time.Duration
	// Gossip, when set, joins the region's gossip cluster to hear of
	// changes as soon as the origin commits them. OnMessage is set by the
	// edge.
	Gossip *gossip.Config
	// ChangeApplied, when set, is called with each change's sequence number
	// once it is applied to the cache, for measurements.
	ChangeApplied func(seq int64)
	// FlushOnChange drops every cached response on every change instead of
	// the affected ones, to measure what tags save.
	FlushOnChange bool
	// HotMB bounds, in megabytes, the pages kept outside bigcache to serve
	// repeated hits without a copy (see hot.go). 0 turns them off.
	HotMB int
	// KeyRefresh is how often the API key list is reloaded from the origin:
	// the delay before a new or revoked key takes effect.
	KeyRefresh time.Duration
	// DrainDelay is how long the edge keeps serving after reporting "not
	// ready" on shutdown, so load balancers stop sending it requests first.
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration
	// Registry receives the edge's metrics; nil makes a new one.
	Registry *prometheus.Registry
	// Logger receives the edge's logs; nil discards them. Log lines of a
	// request carry its request_id and client_id.
	Logger *slog.Logger
	// TracerProvider receives a span per request; nil turns tracing off at
	// no cost to the request path.
	TracerProvider trace.TracerProvider
}

// DefaultConfig returns a Config with every optional field set.
func DefaultConfig() Config {
	return Config{
		Region:          "us-east-1",
		OriginTimeout:   3 * time.Second,
		CacheFresh:      30 * time.Second,
		CacheMaxStale:   10 * time.Minute,
		CacheMaxMB:      512,
		HotMB:           64,
		KeyRefresh:      5 * time.Second,
		FeedInterval:    time.Second,
		DrainDelay:      5 * time.Second,
		ShutdownTimeout: 10 * time.Second,
	}
}

// Server is an edge. Create it with New and start it with Run.
type Server struct {
	cfg   Config
	cache *bigcache.BigCache
	fills singleflight.Group
	// compressions coalesces the compression of one response's gzip variant.
	compressions singleflight.Group
	origin       *originClient
	keys         keyring
	limits       *limiters
	targets      *targetMemo
	hot          *hotPages
	metrics      *metrics
	gens         *generations
	feed         *follower
	member       *gossip.Member // nil without gossip
	tracer       trace.Tracer   // nil when tracing is off
	registry     *prometheus.Registry
	logger       *slog.Logger

	// refreshes bounds the background fills of stale answers running at once.
	refreshes  chan struct{}
	background sync.WaitGroup

	ready        atomic.Bool
	requestCount atomic.Uint64
}

// maxRefreshes bounds concurrent background fills, so a burst of stale hits
// cannot flood the origin.
const maxRefreshes = 8

// New returns an edge with an empty cache.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = slog.New(telemetry.NewLogHandler(cfg.Logger.Handler()))
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}

	origin, err := newOriginClient(cfg.OriginURL, cfg.EdgeToken, cfg.OriginTimeout)
	if err != nil {
		return nil, err
	}
	// bigcache prints to stdout when its context ends; Close stops it quietly.
	s := &Server{
		cfg:       cfg,
		origin:    origin,
		metrics:   newMetrics(cfg.Registry, cfg.Region),
		registry:  cfg.Registry,
		logger:    cfg.Logger,
		refreshes: make(chan struct{}, maxRefreshes),
		limits:    newLimiters(time.Now),
		hot:       newHotPages(int64(cfg.HotMB) << 20),
	}

	// Each edge numbers its requests from a random point, so ids from
	// different edges do not collide in practice.
	s.requestCount.Store(rand.Uint64() >> 1)

	cacheCfg := cacheConfig(cfg)
	cacheCfg.OnRemoveWithReason = func(_ string, _ []byte, reason bigcache.RemoveReason) {
		s.metrics.cacheRemovals.WithLabelValues(removeReason(reason)).Inc()
	}
	cache, err := bigcache.New(context.WithoutCancel(ctx), cacheCfg)
	if err != nil {
		return nil, fmt.Errorf("creating cache: %w", err)
	}
	s.cache = cache
	s.targets = newTargetMemo(memoSize(cfg.CacheMaxMB))
	s.gens = newGenerations()
	s.feed = newFollower(s.gens, s.origin, cfg.FeedInterval, s.metrics, cfg.Logger)
	s.feed.changeApplied, s.feed.flush = cfg.ChangeApplied, cfg.FlushOnChange
	s.metrics.watchCache(cfg.Registry, cache, s.feed)
	if cfg.TracerProvider != nil {
		s.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	return s, nil
}

func removeReason(reason bigcache.RemoveReason) string {
	switch reason {
	case bigcache.Expired:
		return "expired"
	case bigcache.NoSpace:
		return "no_space"
	default:
		return "deleted"
	}
}

func cacheConfig(cfg Config) bigcache.Config {
	c := bigcache.DefaultConfig(cfg.CacheMaxStale)
	// bigcache splits the hard limit evenly between shards; a small cache
	// gets fewer shards so each still holds a few full result pages.
	c.Shards = min(1024, max(16, nextPowerOfTwo(cfg.CacheMaxMB*2)))
	c.CleanWindow = time.Minute
	c.Hasher = newKeyedHasher()
	c.HardMaxCacheSize = cfg.CacheMaxMB
	// The two settings below only size each shard's first buffer, which
	// grows as entries arrive up to the hard limit. bigcache's defaults
	// would start every shard at its share of the hard limit.
	c.MaxEntriesInWindow = c.Shards * 16
	c.MaxEntrySize = 4 << 10
	c.Verbose = false
	c.Logger = cacheLogger{logger: cfg.Logger}
	return c
}

// Run serves the API on ln until ctx is cancelled, then shuts down in order:
// readiness turns "not ready", the drain delay passes, in-flight requests
// finish, background work stops.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	if err := s.joinGossip(); err != nil {
		return err
	}
	server := s.newHTTPServer()
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(ln) }()

	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	s.ready.Store(true)
	wg.Go(func() { refreshKeys(background, &s.keys, s.origin, s.cfg.KeyRefresh, s.logger) })
	wg.Go(func() { s.feed.run(background) })
	wg.Go(func() { s.forgetStamps(background) })
	s.logger.Info("edge started", "region", s.cfg.Region, "address", ln.Addr().String(), "origin", s.cfg.OriginURL)

	var err error
	select {
	case <-ctx.Done():
		err = s.shutdown(server)
	case err = <-serveErr:
		err = fmt.Errorf("serving edge API: %w", err)
	}

	s.leaveGossip()
	stopBackground()
	wg.Wait()
	s.background.Wait()
	s.cache.Close()
	return err
}

func (s *Server) newHTTPServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:      s.handle,
		ErrorHandler: s.handleBadRequest,
		// fasthttp logs connection errors with the request head, which
		// carries the client's API key.
		Logger: quietLogger{},
		// A request line with a 200-character title, percent-encoded, is
		// under 2 KB; 16 KB leaves room for long headers.
		ReadBufferSize:       16 << 10,
		Name:                 "movie-edge",
		ReadTimeout:          10 * time.Second,
		WriteTimeout:         10 * time.Second,
		IdleTimeout:          2 * time.Minute,
		NoDefaultContentType: true,
	}
}

func (s *Server) shutdown(server *fasthttp.Server) error {
	start := time.Now()
	s.ready.Store(false)
	s.logger.Info("edge draining", "region", s.cfg.Region, "drain_delay", s.cfg.DrainDelay)
	time.Sleep(s.cfg.DrainDelay)

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := server.ShutdownWithContext(ctx)
	s.logger.Info("edge stopped", "region", s.cfg.Region, "duration", time.Since(start))
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("in-flight requests still running after %s", s.cfg.ShutdownTimeout)
	}
	return err
}

// cacheLogger sends bigcache's messages to the edge's log at debug level.
type cacheLogger struct{ logger *slog.Logger }

func (l cacheLogger) Printf(format string, args ...any) {
	l.logger.Debug("cache: " + fmt.Sprintf(format, args...))
}

func nextPowerOfTwo(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// quietLogger drops fasthttp's own log lines.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// joinGossip joins the region's gossip cluster when configured.
func (s *Server) joinGossip() error {
	if s.cfg.Gossip == nil {
		return nil
	}

	cfg := *s.cfg.Gossip
	cfg.OnMessage = s.feed.onAnnouncement
	cfg.Logger = s.logger
	member, err := gossip.Start(cfg)
	if err != nil {
		return fmt.Errorf("joining the gossip cluster: %w", err)
	}
	s.member = member
	return nil
}

func (s *Server) leaveGossip() {
	if s.member == nil {
		return
	}
	if err := s.member.Leave(2 * time.Second); err != nil {
		s.logger.Warn("leaving the gossip cluster", "error", err)
	}
}

// forgetStamps drops, every minute, invalidation stamps older than any
// cached response: an entry lives CacheMaxStale, and up to bigcache's
// clean window of a minute more.
func (s *Server) forgetStamps(ctx context.Context) {
	ticker := time.NewTicker(time.Minute)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			s.gens.forget(now.Add(-s.cfg.CacheMaxStale - 2*time.Minute))
		}
	}
}

// GossipMembers returns the number of gossip members this edge considers
// alive, itself included, or 0 without gossip.
func (s *Server) GossipMembers() int {
	if s.member == nil {
		return 0
	}
	return s.member.Members()
}

// Watermark returns the change feed position up to which every change has
// been applied to the cache.
func (s *Server) Watermark() int64 {
	return s.feed.watermark.Load()
}
