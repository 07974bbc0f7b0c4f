// Command ingestbench measures ingest throughput on this machine: the full
// data set through S3, the queue and PostgreSQL end to end, then how many
// updates per second one origin commits from a queue that is already full.
// PostgreSQL runs durable (fsync and synchronous commit on).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"moviequery/internal/stack"
)

func main() {
	cfg := stack.BenchConfig{}
	flag.StringVar(&cfg.Source, "data", filepath.Join("..", "shared", "data", "wikipedia-movie-data"), "movie data: a folder of JSON files, one JSON file, or an http(s) address")
	flag.IntVar(&cfg.Updates, "updates", 20000, "updates queued for the sustained-rate run")
	flag.IntVar(&cfg.Workers, "workers", 4, "queue receivers of the origin")
	memoryIndex := flag.Bool("memory-index", true, "run the origins with their memory search index, which follows every change")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	cfg.NoMemoryIndex = !*memoryIndex

	if *cpuProfile != "" {
		stop, err := startProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ingestbench:", err)
			os.Exit(1)
		}
		defer stop()
	}

	dir, err := os.MkdirTemp("", "ingestbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	// PostgreSQL runs as its own user when this runs as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
	cfg.Dir = dir

	if err := stack.RunIngestBench(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
