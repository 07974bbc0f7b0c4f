// Command edgebench prepares an edge for a load test of cache hits: it
// starts a region on a throwaway database, loads the movie data set, warms
// one edge's cache with a list of real result pages, and serves next to it
// a bare fasthttp handler that returns a fixed body of the pages' median
// size, the ceiling the edge is compared with. It writes the URLs, the key
// and the ports to -out and runs until interrupted. scripts/bench-edge.sh
// drives wrk against both.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"moviequery/internal/stack"
)

func main() {
	cfg := stack.EdgeBenchConfig{}
	flag.StringVar(&cfg.Source, "data", filepath.Join("..", "shared", "data", "wikipedia-movie-data"), "movie data: a folder of JSON files, one JSON file, or an http(s) address")
	flag.IntVar(&cfg.Pages, "pages", 5000, "distinct result pages to warm and request")
	flag.StringVar(&cfg.Out, "out", "edgebench.env", "file that receives the ports, the key and the paths file")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060")
	flag.Parse()
	if *pprofAddr != "" {
		go http.ListenAndServe(*pprofAddr, nil)
	}

	dir, err := os.MkdirTemp("", "edgebench-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = os.Chmod(dir, 0o755) // PostgreSQL runs as its own user under root
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgebench:", err)
		os.Exit(1)
	}
	cfg.Dir = dir

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := stack.RunEdgeBench(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "edgebench:", err)
		os.Exit(1)
	}
}
