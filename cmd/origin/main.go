// Command origin runs a region's origin. Administration (keys, quarantine,
// rebuild) is in the movieadmin command.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"moviequery/internal/envflag"
	"moviequery/internal/gossip"
	"moviequery/internal/telemetry"
	"moviequery/origin"
)

func main() {
	exit(serve(os.Args[1:]))
}

func serve(args []string) error {
	cfg := origin.DefaultConfig()
	fs := flag.NewFlagSet("origin", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8081", "address of the API for edges")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "AWS region name, used in logs and metrics")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL connection string")
	fs.StringVar(&cfg.QueueURL, "queue-url", "", "SQS queue of the bucket's event notifications")
	fs.StringVar(&cfg.AWS.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint; empty uses AWS")
	fs.StringVar(&cfg.AWS.SQSEndpoint, "sqs-endpoint", "", "SQS-compatible endpoint; empty uses AWS")
	fs.StringVar(&cfg.Bucket, "bucket", "", "update bucket to reconcile against the ledger; empty turns reconciliation off")
	fs.DurationVar(&cfg.ReconcileInterval, "reconcile-interval", cfg.ReconcileInterval, "time between two listings of the bucket")
	fs.DurationVar(&cfg.TitleCountFold, "title-count-fold", cfg.TitleCountFold, "time between two folds of the change feed into the title search counts")
	fs.BoolVar(&cfg.MemoryIndex, "memory-index", cfg.MemoryIndex, "answer searches from an in-memory index of every movie's search fields (about 300 bytes a movie); false searches in PostgreSQL alone")
	fs.IntVar(&cfg.DocumentCacheMB, "document-cache-mb", cfg.DocumentCacheMB, "megabytes of movie documents kept in memory for searches through the memory index; 0 reads every page's documents from PostgreSQL")
	fs.BoolVar(&cfg.WarmDocumentCache, "document-cache-warm", cfg.WarmDocumentCache, "read every movie's document into the document cache, up to its limit, once the memory index is loaded")
	fs.DurationVar(&cfg.MemoryIndexInterval, "memory-index-interval", cfg.MemoryIndexInterval, "time between two reads of the change feed into the memory index")
	fs.DurationVar(&cfg.VisibilityTimeout, "visibility-timeout", cfg.VisibilityTimeout, "how long a received message stays hidden; it comes back this long after an origin dies")
	fs.DurationVar(&cfg.ReconcileGrace, "reconcile-grace", cfg.ReconcileGrace, "age below which the reconciler leaves objects to their notifications")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent queue receivers")
	fs.StringVar(&cfg.EdgeToken, "edge-token", "", "bearer token edges must send (set it through ORIGIN_EDGE_TOKEN)")
	peers := fs.String("peer-origins", "", "other regions' origins that purges are forwarded to, as region=URL pairs separated by commas")
	fs.StringVar(&cfg.PeerToken, "peer-token", "", "bearer token for the peer origins (set it through ORIGIN_PEER_TOKEN)")
	gossipConfig := gossip.Flags(fs)
	if err := envflag.Parse(fs, "ORIGIN", args); err != nil {
		return err
	}
	var err error
	if cfg.PeerOrigins, err = parsePeers(*peers); err != nil {
		return err
	}
	if cfg.Gossip, err = gossipConfig(); err != nil {
		return err
	}
	cfg.AWS.Region = cfg.Region
	cfg.AWS.StaticCredentials = cfg.AWS.S3Endpoint != ""
	cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tracing, err := telemetry.NewTracerProvider(ctx, "movie-origin", cfg.Region)
	if err != nil {
		return err
	}
	if tracing != nil {
		cfg.TracerProvider = tracing
		defer shutdownTracing(tracing)
	}
	server, err := origin.New(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return server.Run(ctx, ln)
}

// parsePeers reads region=URL pairs separated by commas.
func parsePeers(list string) (map[string]string, error) {
	peers := map[string]string{}
	for _, pair := range strings.Split(list, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		region, url, ok := strings.Cut(pair, "=")
		if !ok || region == "" || !strings.HasPrefix(url, "http") {
			return nil, fmt.Errorf("-peer-origins: %q is not region=URL, e.g. eu-west-1=https://origin.eu-west-1.internal:8081", pair)
		}
		peers[region] = strings.TrimSuffix(url, "/")
	}
	return peers, nil
}

// shutdownTracing exports the spans still buffered, for at most 5 s.
func shutdownTracing(tracing *sdktrace.TracerProvider) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tracing.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "origin: exporting the last spans:", err)
	}
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
