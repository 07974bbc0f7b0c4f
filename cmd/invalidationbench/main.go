// Command invalidationbench measures cache invalidation on this machine.
// It times the delay from a commit to the last of five gossiping edges
// applying it. It then compares the hit ratio of a mixed stream of queries
// and updates when edges drop the affected responses with the ratio when
// they flush everything on each change.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"moviequery/internal/stack"
)

func main() {
	cfg := stack.InvalidationBenchConfig{}
	flag.StringVar(&cfg.Source, "data", filepath.Join("..", "shared", "data", "wikipedia-movie-data"), "movie data: a folder of JSON files, one JSON file, or an http(s) address")
	flag.IntVar(&cfg.Updates, "updates", 1000, "updates timed from commit to the last edge")
	flag.IntVar(&cfg.Edges, "edges", 5, "edges of the timed region")
	flag.IntVar(&cfg.Steps, "steps", 10000, "queries and updates of the hit ratio run")
	flag.Parse()

	dir, err := os.MkdirTemp("", "invalidationbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "invalidationbench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	// PostgreSQL runs as its own user when this runs as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "invalidationbench:", err)
		os.Exit(1)
	}
	cfg.Dir = dir

	if err := stack.RunInvalidationBench(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "invalidationbench:", err)
		os.Exit(1)
	}
}
