// Command edge runs one edge of a region: the public movie API.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"moviequery/edge"
	"moviequery/internal/envflag"
	"moviequery/internal/gossip"
	"moviequery/internal/telemetry"
)

func main() {
	cfg := edge.DefaultConfig()
	fs := flag.NewFlagSet("edge", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the public API")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "AWS region name, used in logs and metrics")
	fs.StringVar(&cfg.OriginURL, "origin-url", "http://127.0.0.1:8081", "base URL of the region's origin")
	fs.StringVar(&cfg.EdgeToken, "edge-token", "", "bearer token for the origin (set it through EDGE_EDGE_TOKEN)")
	fs.DurationVar(&cfg.CacheFresh, "cache-fresh", cfg.CacheFresh, "how long a cached answer is served before a background fill replaces it")
	fs.DurationVar(&cfg.CacheMaxStale, "cache-max-stale", cfg.CacheMaxStale, "how long a stale answer is served while the origin fails")
	fs.IntVar(&cfg.CacheMaxMB, "cache-max-mb", cfg.CacheMaxMB, "hard limit of the cache, in megabytes")
	fs.IntVar(&cfg.HotMB, "hot-mb", cfg.HotMB, "megabytes of hot pages kept outside the cache and served without a copy; 0 turns them off")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", cfg.DrainDelay, "time between turning not ready and closing the listener on shutdown")
	fs.DurationVar(&cfg.KeyRefresh, "key-refresh", cfg.KeyRefresh, "time between reloads of the API key list from the origin: how soon a new or revoked key takes effect")
	fs.DurationVar(&cfg.FeedInterval, "feed-interval", cfg.FeedInterval, "time between reads of the origin's change feed: the staleness bound when gossip fails")
	pprofListen := fs.String("pprof-listen", "", "address that serves Go profiles at /debug/pprof/, for example 127.0.0.1:6060; off when empty. Keep it private")
	gossipConfig := gossip.Flags(fs)
	if err := envflag.Parse(fs, "EDGE", os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(2)
	}
	var err error
	if cfg.Gossip, err = gossipConfig(); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(2)
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg.Registry = prometheus.NewRegistry()
	liveHeap := collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)}
	cfg.Registry.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(liveHeap)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	if *pprofListen != "" {
		go servePprof(*pprofListen, cfg.Logger)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, *listen); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg edge.Config, listen string) error {
	tracing, err := telemetry.NewTracerProvider(ctx, "movie-edge", cfg.Region)
	if err != nil {
		return err
	}
	if tracing != nil {
		cfg.TracerProvider = tracing
		defer shutdownTracing(tracing)
	}

	server, err := edge.New(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	return server.Run(ctx, ln)
}

// shutdownTracing exports the spans still buffered, for at most 5 s.
func shutdownTracing(tracing *sdktrace.TracerProvider) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tracing.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "edge: exporting the last spans:", err)
	}
}

// servePprof serves the Go profiles of net/http/pprof on a separate
// listener, so the public API never exposes them.
func servePprof(address string, logger *slog.Logger) {
	if err := http.ListenAndServe(address, nil); err != nil {
		logger.Error("serving Go profiles failed; the edge runs on without them", "address", address, "error", err)
	}
}
