package stack

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"
	"strings"
	"time"

	"moviequery/internal/movie"
)

// RunEdgeMisses loads the data set into a region with one edge whose cache
// limit is cfg.CacheMaxMB, a megabyte or so, so that a query seen before has
// long been evicted. It writes one file of distinct request paths per query
// kind and what a load tool needs to cfg.Out, then serves until ctx ends. A
// load tool that walks each file in order sends only misses until the
// file's end.
func RunEdgeMisses(ctx context.Context, cfg EdgeBenchConfig, out io.Writer) error {
	region, key, records, err := missRegion(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer region.Close()

	edgeURL, edgePID, stopEdge, err := benchEdge(ctx, cfg, region, key)
	if err != nil {
		return err
	}
	defer stopEdge()

	corpus := queryCorpus(records)
	env := fmt.Sprintf("EDGE_URL=%s\nORIGIN_URL=%s\nAPI_KEY=%s\nPID=%d\nEDGE_PID=%d\nKINDS=%q\n", edgeURL, region.OriginURL, key, os.Getpid(), edgePID, strings.Join(QueryKinds, " "))
	for _, kind := range QueryKinds {
		corpus[kind] = corpus[kind][:min(len(corpus[kind]), maxMissQueries)]
		file := cfg.Out + "." + kind + ".paths"
		if err := os.WriteFile(file, []byte(strings.Join(corpus[kind], "\n")+"\n"), 0o644); err != nil {
			return err
		}
		env += "PATHS_" + strings.ReplaceAll(kind, "-", "_") + "=" + file + "\n"
		fmt.Fprintf(out, "%s: %d distinct queries\n", kind, len(corpus[kind]))
	}
	if err := os.WriteFile(cfg.Out, []byte(env), 0o600); err != nil {
		return err
	}

	fmt.Fprintf(out, "ready: edge %s (pid %d) with a %s MB cache, origin pid %d; settings in %s\n", edgeURL, edgePID, strconv.Itoa(cfg.CacheMaxMB), os.Getpid(), cfg.Out)
	<-ctx.Done()
	return nil
}

// maxMissQueries bounds each kind's file: at the few thousand misses per
// second two cores serve, it lasts longer than a run.
const maxMissQueries = 200_000

// missRegion starts the region of RunEdgeMisses with its data: the data set
// loaded through S3, or the generated movies of a kept database.
func missRegion(ctx context.Context, cfg EdgeBenchConfig, out io.Writer) (*Region, string, iter.Seq[movie.Record], error) {
	if cfg.DatabaseDir == "" {
		region, key, updates, err := benchRegionWithData(ctx, cfg, out)
		return region, key, parseRecords(updates), err
	}

	region, err := startBenchRegion(ctx, cfg, cfg.DatabaseDir)
	if err != nil {
		return nil, "", nil, err
	}
	stats, err := region.Origin.Store().Stats(ctx)
	var key string
	if err == nil {
		key, err = createBenchKey(ctx, region)
	}
	if err != nil {
		region.Close()
		return nil, "", nil, err
	}
	fmt.Fprintf(out, "using the %d movies in %s\n", stats.Movies, cfg.DatabaseDir)
	if !cfg.NoMemoryIndex && !cfg.NoDocumentCache {
		if err := waitForWarmOrigin(ctx, region, out); err != nil {
			region.Close()
			return nil, "", nil, err
		}
	}
	return region, key, cfg.Generated, nil
}

// waitForWarmOrigin waits until the region's origin has loaded its search
// index and warmed its document cache, so that no run measures the
// origin while it reads every movie.
func waitForWarmOrigin(ctx context.Context, region *Region, out io.Writer) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	for !region.Origin.Store().DocumentCacheWarmed() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the origin to load its search index and warm its document cache: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Fprintf(out, "origin index loaded and document cache warmed after %s\n", time.Since(start).Round(time.Second))
	return nil
}
