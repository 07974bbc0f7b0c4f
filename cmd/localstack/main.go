// Command localstack runs the whole system on this machine: PostgreSQL, S3-
// and SQS-compatible servers, an origin and two edges, and loads the movie
// data set through S3 as providers would send it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"moviequery/internal/envflag"
	"moviequery/internal/stack"
)

func main() {
	cfg := stack.DefaultConfig()
	fs := flag.NewFlagSet("localstack", flag.ExitOnError)
	fs.StringVar(&cfg.StateDir, "state", cfg.StateDir, "folder that keeps the database, the bucket and the API key across runs")
	fs.StringVar(&cfg.Source, "data", cfg.Source, "movie data: a folder of JSON files, one JSON file, or an http(s) address")
	fs.StringVar(&cfg.Provider, "provider", cfg.Provider, "provider id the data is written under (providers/<id>/...)")
	fs.IntVar(&cfg.S3Port, "s3-port", cfg.S3Port, "port of the S3-compatible server on 127.0.0.1")
	fs.IntVar(&cfg.SQSPort, "sqs-port", cfg.SQSPort, "port of the SQS-compatible server on 127.0.0.1")
	fs.IntVar(&cfg.OriginPort, "origin-port", cfg.OriginPort, "port of the origin on 127.0.0.1")
	edgeA := fs.Int("edge-port", cfg.EdgePorts[0], "port of the first edge on 127.0.0.1")
	edgeB := fs.Int("edge2-port", cfg.EdgePorts[1], "port of the second edge on 127.0.0.1")
	logLevel := fs.String("log-level", "warn", "least severe log level shown: debug, info, warn or error")
	if err := envflag.Parse(fs, "MOVIES", os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.EdgePorts = []int{*edgeA, *edgeB}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "invalid -log-level %q: use debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := stack.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}
