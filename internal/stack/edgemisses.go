package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// RunEdgeMisses loads the data set into a region with one edge whose cache
// limit is cfg.CacheMaxMB, a megabyte or so, so that a query seen before has
// long been evicted. It writes one file of distinct request paths per query
// kind and what a load tool needs to cfg.Out, then serves until ctx ends. A
// load tool that walks each file in order sends only misses until the
// file's end.
func RunEdgeMisses(ctx context.Context, cfg EdgeBenchConfig, out io.Writer) error {
	region, key, updates, err := benchRegionWithData(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer region.Close()

	corpus := queryCorpus(parseRecords(updates))
	env := fmt.Sprintf("EDGE_URL=%s\nAPI_KEY=%s\nPID=%d\nKINDS=%q\n", region.EdgeURLs[0], key, os.Getpid(), strings.Join(QueryKinds, " "))
	for _, kind := range QueryKinds {
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

	fmt.Fprintf(out, "ready: edge %s with a %s MB cache, pid %d; settings in %s\n", region.EdgeURLs[0], strconv.Itoa(cfg.CacheMaxMB), os.Getpid(), cfg.Out)
	<-ctx.Done()
	return nil
}
