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
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"moviequery/internal/envflag"
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
	fs.DurationVar(&cfg.VisibilityTimeout, "visibility-timeout", cfg.VisibilityTimeout, "how long a received message stays hidden; it comes back this long after an origin dies")
	fs.DurationVar(&cfg.ReconcileGrace, "reconcile-grace", cfg.ReconcileGrace, "age below which the reconciler leaves objects to their notifications")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent queue receivers")
	fs.StringVar(&cfg.EdgeToken, "edge-token", "", "bearer token edges must send (set it through ORIGIN_EDGE_TOKEN)")
	if err := envflag.Parse(fs, "ORIGIN", args); err != nil {
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
