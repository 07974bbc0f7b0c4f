// Command edgebench prepares an edge for a load test. It starts a region on
// a throwaway database and loads the movie data set, then, by -mode:
//
//   - hits: warms one edge's cache with a list of real result pages, and
//     serves next to it a bare fasthttp handler that returns a fixed body of
//     the pages' median size, the ceiling the edge is compared with.
//     scripts/bench-edge.sh drives wrk against both.
//   - misses: runs one edge with a tiny cache and writes a file of distinct
//     queries per query kind. scripts/bench-edge-miss.sh drives wrk.
//   - memory: runs the -edge-binary command as its own process, fills its
//     cache with -responses distinct responses and prints its heap and resident
//     memory, then exits.
//
// The hits and misses modes write the URLs, the key and the paths files to
// -out and run until interrupted.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"moviequery/internal/moviegen"
	"moviequery/internal/stack"
)

func main() {
	cfg := stack.EdgeBenchConfig{}
	flag.StringVar(&cfg.Source, "data", filepath.Join("..", "shared", "data", "wikipedia-movie-data"), "movie data: a folder of JSON files, one JSON file, or an http(s) address")
	flag.IntVar(&cfg.Pages, "pages", 5000, "distinct result pages to warm and request")
	flag.StringVar(&cfg.Out, "out", "edgebench.env", "file that receives the ports, the key and the paths file")
	mode := flag.String("mode", "hits", "what to prepare: hits, misses or memory")
	flag.IntVar(&cfg.HotMB, "hot-mb", -1, "hot page budget of the edge in megabytes (default: the edge's own)")
	flag.IntVar(&cfg.CacheMaxMB, "cache-max-mb", 0, "cache limit of the edge in megabytes (default: the edge's own for hits, 1 for misses, 4096 for memory)")
	flag.IntVar(&cfg.Responses, "responses", 100_000, "distinct responses to cache with -mode memory")
	flag.StringVar(&cfg.EdgeBinary, "edge-binary", "bin/edge", "edge command to run as its own process and measure")
	flag.StringVar(&cfg.DatabaseDir, "database-dir", "", "with -mode misses: a kept PostgreSQL cluster folder holding -generated movies (as cmd/searchbench -dir DIR leaves in DIR/generated); skips loading -data")
	generated := flag.Int("generated", 1_000_000, "with -database-dir: number of generated movies in the database")
	seed := flag.Uint64("seed", 1, "with -database-dir: seed of the generated movies")
	memoryIndex := flag.Bool("memory-index", true, "run the origin with its memory search index")
	documentCache := flag.Bool("document-cache", true, "run the origin with its document cache")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060")
	flag.Parse()
	cfg.NoMemoryIndex = !*memoryIndex
	cfg.NoDocumentCache = !*documentCache
	cfg.Generated = moviegen.Records(*seed, *generated)
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
	if err := runMode(ctx, *mode, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "edgebench:", err)
		os.Exit(1)
	}
}

func runMode(ctx context.Context, mode string, cfg stack.EdgeBenchConfig) error {
	switch mode {
	case "hits":
		return stack.RunEdgeBench(ctx, cfg, os.Stdout)
	case "misses":
		cfg.CacheMaxMB = cmp.Or(cfg.CacheMaxMB, 1)
		return stack.RunEdgeMisses(ctx, cfg, os.Stdout)
	case "memory":
		cfg.CacheMaxMB = cmp.Or(cfg.CacheMaxMB, 4096)
		return stack.RunEdgeMemory(ctx, cfg, os.Stdout)
	}
	return fmt.Errorf("unknown -mode %q; use hits, misses or memory", mode)
}
