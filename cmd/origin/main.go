// Command origin runs a region's origin, or with "create-key" creates an API
// key in the region's database and prints its secret once.
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

	"moviequery/internal/envflag"
	"moviequery/origin"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "create-key" {
		exit(createKey(os.Args[2:]))
	}
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

func createKey(args []string) error {
	fs := flag.NewFlagSet("origin create-key", flag.ExitOnError)
	databaseURL := fs.String("database-url", "", "PostgreSQL connection string")
	name := fs.String("name", "", "who the key is for, e.g. a client's name")
	scopes := fs.String("scopes", "query", "comma-separated scopes: query, audit, admin")
	if err := envflag.Parse(fs, "ORIGIN", args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("-name is required: say who the key is for")
	}

	ctx := context.Background()
	store, err := origin.OpenStore(ctx, *databaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()

	key, secret, err := store.CreateKey(ctx, *name, strings.Split(*scopes, ","))
	if err != nil {
		return err
	}
	fmt.Printf("created key %s for %q with scopes %s\nsecret (shown once, store it now): %s\n", key.ID, key.Name, strings.Join(key.Scopes, ","), secret)
	return nil
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "origin:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
