package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RunEdgeMemory loads the data set into a region and starts the edge binary
// cfg.EdgeBinary as a process of its own. It fills the edge's cache with
// cfg.Responses distinct real responses (years, year ranges, genres, cast
// members, title words, combinations and movie ids, interleaved) and prints
// the edge's Go heap and resident memory before and after.
func RunEdgeMemory(ctx context.Context, cfg EdgeBenchConfig, out io.Writer) error {
	region, key, updates, err := benchRegionWithData(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer region.Close()

	paths := interleave(queryCorpus(parseRecords(updates)), cfg.Responses)
	if len(paths) < cfg.Responses {
		return fmt.Errorf("the data set yields %d distinct queries, fewer than the %d requested", len(paths), cfg.Responses)
	}

	edgeURL, pid, stop, err := startEdgeProcess(ctx, cfg, region.OriginURL, key)
	if err != nil {
		return err
	}
	defer stop()

	before, err := readEdgeMemory(ctx, edgeURL, pid)
	if err != nil {
		return err
	}
	start := time.Now()
	bodyBytes, err := fillEdge(ctx, edgeURL, key, paths, 8)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "filled %d responses in %s; plain bodies %d MB in all, mean %d bytes\n",
		len(paths), time.Since(start).Round(time.Second), bodyBytes>>20, bodyBytes/int64(len(paths)))

	after, err := readEdgeMemory(ctx, edgeURL, pid)
	if err != nil {
		return err
	}
	// An idle Go process collects at least every two minutes; after that
	// collection the heap holds what the cache keeps, without the fill's
	// garbage.
	collected, err := waitForCollection(ctx, edgeURL, pid, after.collections, 150*time.Second)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "%-22s %12s %12s %12s %14s %14s %10s\n", "", "heap inuse", "live heap", "RSS", "cache entries", "cache capacity", "evictions")
	for _, m := range []struct {
		name string
		edgeMemory
	}{{"before the fill", before}, {"right after the fill", after}, {"after the next GC", collected}} {
		fmt.Fprintf(out, "%-22s %9d MB %9d MB %9d MB %14d %11d MB %10d\n", m.name, m.heapInuse>>20, m.liveHeap>>20, m.rss>>20, m.entries, m.capacity>>20, m.evictions)
	}
	return nil
}

// waitForCollection polls the edge until it has run more than collections
// garbage collections, for at most timeout, and returns its memory then.
func waitForCollection(ctx context.Context, edgeURL string, pid int, collections int64, timeout time.Duration) (edgeMemory, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := readEdgeMemory(ctx, edgeURL, pid)
		if err != nil || m.collections > collections {
			return m, err
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("the edge ran no garbage collection within %s of the fill", timeout)
		}
		time.Sleep(2 * time.Second)
	}
}

// startEdgeProcess runs the edge binary against the origin on a free port
// of 127.0.0.1 and waits until it accepts key. stop kills it.
func startEdgeProcess(ctx context.Context, cfg EdgeBenchConfig, originURL, key string) (edgeURL string, pid int, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", 0, nil, err
	}
	address := ln.Addr().String()
	ln.Close()

	args := []string{"-listen", address, "-origin-url", originURL, "-cache-fresh", "1h", "-cache-max-stale", "2h", "-drain-delay", "0s"}
	if cfg.CacheMaxMB > 0 {
		args = append(args, "-cache-max-mb", strconv.Itoa(cfg.CacheMaxMB))
	}
	if cfg.HotMB >= 0 {
		args = append(args, "-hot-mb", strconv.Itoa(cfg.HotMB))
	}
	cmd := exec.CommandContext(ctx, cfg.EdgeBinary, args...)
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("starting %s: %w", cfg.EdgeBinary, err)
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
	}

	// A one-movie page is cheap for the origin whether or not it has
	// loaded its memory index, which takes about 13 s at a million movies.
	edgeURL = "http://" + address
	deadline := time.Now().Add(edgeStartWait)
	for getStatus(ctx, edgeURL+"/v1/movies?year=1994&limit=1", key) != http.StatusOK {
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("edge at %s did not accept the key within %s", edgeURL, edgeStartWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return edgeURL, cmd.Process.Pid, stop, nil
}

// edgeStartWait bounds the wait for a started edge to accept the key.
const edgeStartWait = 2 * time.Minute

func getStatus(ctx context.Context, target, key string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// fillEdge requests every path once with the given number of workers and
// returns the bytes of the bodies received. Any status but 200 is an error.
func fillEdge(ctx context.Context, edgeURL, key string, paths []string, workers int) (int64, error) {
	var next, bodyBytes atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) || ctx.Err() != nil {
					return
				}
				n, err := fetch(ctx, edgeURL+paths[i], key)
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				bodyBytes.Add(n)
			}
		})
	}
	wg.Wait()
	return bodyBytes.Load(), firstErr
}

func fetch(ctx context.Context, target, key string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("requesting %s: %w", target, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("requesting %s: got %s, want 200", target, resp.Status)
	}
	return n, err
}

// edgeMemory is a sample of the edge's memory, from its metrics and /proc.
type edgeMemory struct {
	heapInuse, liveHeap, rss int64
	collections              int64
	entries, capacity        int64
	evictions                int64
}

func readEdgeMemory(ctx context.Context, edgeURL string, pid int) (edgeMemory, error) {
	metrics, err := scrapeMetrics(ctx, edgeURL)
	if err != nil {
		return edgeMemory{}, err
	}
	rss, err := residentBytes(pid)
	if err != nil {
		return edgeMemory{}, err
	}
	return edgeMemory{
		heapInuse:   int64(metrics["go_memstats_heap_inuse_bytes"]),
		liveHeap:    int64(metrics["go_gc_heap_live_bytes"]),
		collections: int64(metrics["go_gc_duration_seconds_count"]),
		rss:         rss,
		entries:     int64(metrics["edge_cache_entries"]),
		capacity:    int64(metrics["edge_cache_capacity_bytes"]),
		evictions:   int64(metrics[`edge_cache_removals_total{reason="no_space"}`]),
	}, nil
}

// scrapeMetrics reads the edge's Prometheus text exposition into a map
// from series (name and labels, without the region label) to value.
func scrapeMetrics(ctx context.Context, edgeURL string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, edgeURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the edge's metrics: %w", err)
	}
	defer resp.Body.Close()

	series := map[string]float64{}
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		series[withoutRegion(name)] = v
	}
	return series, scanner.Err()
}

// withoutRegion drops the region label from a series name.
func withoutRegion(series string) string {
	name, labels, ok := strings.Cut(series, "{")
	if !ok {
		return series
	}
	var kept []string
	for _, label := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
		if !strings.HasPrefix(label, "region=") {
			kept = append(kept, label)
		}
	}
	if len(kept) == 0 {
		return name
	}
	return name + "{" + strings.Join(kept, ",") + "}"
}

// residentBytes returns a process's resident set size from /proc.
func residentBytes(pid int) (int64, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
