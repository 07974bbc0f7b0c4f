package stack

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"moviequery/edge"
	"moviequery/internal/apikey"
	"moviequery/internal/movie"
	"moviequery/internal/postgres"
)

// EdgeBenchConfig configures RunEdgeBench.
type EdgeBenchConfig struct {
	Dir    string // scratch folder for the database
	Source string // the data set
	Pages  int    // distinct result pages to warm
	Out    string // file that receives the ports, the key and the paths file

	// CacheMaxMB is the edge's cache limit; 0 keeps the edge's default.
	CacheMaxMB int
	// HotMB is the edge's budget of hot pages; negative keeps the edge's
	// default.
	HotMB int
	// Responses is the number of distinct responses RunEdgeMemory caches.
	Responses int
	// EdgeBinary is the edge command the benchmarks run as a process of
	// its own, as in a pod: the harness's heap (the data set, the
	// queries, the in-process S3 and SQS) stays out of the edge's garbage
	// collection. When empty, the region runs its edge in process.
	EdgeBinary string
	// DatabaseDir, when set, is a kept PostgreSQL cluster folder whose
	// database holds the movies Generated yields, for example as loaded by
	// cmd/searchbench. RunEdgeMisses then uses it instead of loading Source.
	DatabaseDir string
	Generated   iter.Seq[movie.Record]
	// NoMemoryIndex runs the origin without its memory search index.
	NoMemoryIndex bool
	// NoDocumentCache runs the origin without its document cache.
	NoDocumentCache bool
}

// RunEdgeBench loads the data set into a region with one edge, warms the
// edge with Pages result pages of 50 movies each (every page under two
// spellings of its query), starts a bare fasthttp handler returning a fixed
// body of the median page size, writes what a load tool needs to cfg.Out,
// and serves until ctx ends.
func RunEdgeBench(ctx context.Context, cfg EdgeBenchConfig, out io.Writer) error {
	region, key, _, err := benchRegionWithData(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer region.Close()

	edgeURL, edgePID, stopEdge, err := benchEdge(ctx, cfg, region, key)
	if err != nil {
		return err
	}
	defer stopEdge()

	paths := benchPaths(cfg.Pages)
	sizes, err := warm(ctx, edgeURL, key, paths)
	if err != nil {
		return err
	}
	median := sizes[len(sizes)/2]
	fmt.Fprintf(out, "warmed %d URLs; page sizes: median %d bytes, max %d\n", len(paths), median, sizes[len(sizes)-1])

	bareURL, stopBare, err := serveBare(median)
	if err != nil {
		return err
	}
	defer stopBare()

	if err := writeBenchEnv(cfg, edgeURL, edgePID, bareURL, key, paths); err != nil {
		return err
	}
	fmt.Fprintf(out, "ready: edge %s (pid %d), bare handler %s (pid %d); settings in %s\n", edgeURL, edgePID, bareURL, os.Getpid(), cfg.Out)
	<-ctx.Done()
	return nil
}

// benchRegionWithData starts a region with one edge, unless
// cfg.EdgeBinary is set, loads the data set and creates a key without a
// rate limit. It returns the region, the key and the loaded updates.
func benchRegionWithData(ctx context.Context, cfg EdgeBenchConfig, out io.Writer) (*Region, string, []Update, error) {
	region, err := startBenchRegion(ctx, cfg, filepath.Join(cfg.Dir, "db"))
	if err != nil {
		return nil, "", nil, err
	}

	updates, err := ReadSource(ctx, cfg.Source, "bench")
	if err == nil {
		err = Upload(ctx, region.Clients.S3, region.Bucket, updates, 16, func() {})
	}
	if err == nil {
		err = waitLedger(ctx, region.Origin.Store(), int64(len(updates)))
	}
	if err != nil {
		region.Close()
		return nil, "", nil, err
	}
	fmt.Fprintf(out, "loaded %d movies\n", len(updates))

	secret, err := createBenchKey(ctx, region)
	if err != nil {
		region.Close()
		return nil, "", nil, err
	}
	return region, secret, updates, nil
}

// benchEdge returns the address of the edge under test: a process of
// cfg.EdgeBinary, or the region's own edge when that is empty.
func benchEdge(ctx context.Context, cfg EdgeBenchConfig, region *Region, key string) (edgeURL string, pid int, stop func(), err error) {
	if cfg.EdgeBinary == "" {
		return region.EdgeURLs[0], os.Getpid(), func() {}, nil
	}
	return startEdgeProcess(ctx, cfg, region.OriginURL, key)
}

// startBenchRegion starts a durable PostgreSQL cluster in databaseDir
// (reusing the cluster a kept folder holds) and a region on it with one
// edge, unless cfg.EdgeBinary is set.
func startBenchRegion(ctx context.Context, cfg EdgeBenchConfig, databaseDir string) (*Region, error) {
	cluster, err := postgres.Start(ctx, postgres.Config{Dir: databaseDir, Durable: true, Database: postgres.DefaultDatabase})
	if err != nil {
		return nil, err
	}
	edgeConfig := edge.DefaultConfig()
	edgeConfig.CacheFresh = time.Hour // no response turns stale during a run
	edgeConfig.DrainDelay = 0
	if cfg.CacheMaxMB > 0 {
		edgeConfig.CacheMaxMB = cfg.CacheMaxMB
	}
	if cfg.HotMB >= 0 {
		edgeConfig.HotMB = cfg.HotMB
	}
	edgePorts := []int{0}
	if cfg.EdgeBinary != "" {
		edgePorts = nil
	}
	region, err := StartRegion(ctx, RegionConfig{
		Name: "us-east-1", DatabaseURL: cluster.DSN(), Bucket: "movie-updates", Queue: "movie-updates",
		// The bucket lives in a file, off the Go heap that the in-process
		// origin collects.
		StateDir:  cfg.Dir,
		EdgePorts: edgePorts, Edge: edgeConfig,
		NoMemoryIndex: cfg.NoMemoryIndex, NoDocumentCache: cfg.NoDocumentCache,
	})
	if err != nil {
		cluster.Stop()
		return nil, err
	}
	region.closers = append([]func() error{cluster.Stop}, region.closers...)
	return region, nil
}

// createBenchKey creates a query key without a rate limit and waits until
// the region's edges have loaded it.
func createBenchKey(ctx context.Context, region *Region) (string, error) {
	k, secret, err := region.Origin.Store().CreateKey(ctx, "bench", []string{apikey.ScopeQuery})
	if err == nil {
		err = region.Origin.Store().SetKeyRate(ctx, k.ID, 1<<30, 1<<30)
	}
	if err == nil && len(region.EdgeURLs) > 0 {
		time.Sleep(6 * time.Second) // the edge's key refresh
	}
	return secret, err
}

// benchPaths lists pages of 50 movies over years, genres and year ranges,
// each under two spellings of its query that the edge normalizes to one.
func benchPaths(pages int) []string {
	genres := []string{"Drama", "Comedy", "Western", "Crime", "Romance", "Action", "Horror", "Musical", "War", "Thriller"}
	var paths []string
	for i := 0; len(paths) < 2*pages; i++ {
		year := 1910 + i%110
		genre := genres[(i/110)%len(genres)]
		switch (i / 1100) % 3 {
		case 0:
			paths = append(paths, fmt.Sprintf("/v1/movies?year=%d-&limit=50&cursor=", year))
		case 1:
			paths = append(paths, fmt.Sprintf("/v1/movies?genre=%s&year=%d-&limit=50", genre, year))
		default:
			paths = append(paths, fmt.Sprintf("/v1/movies?year=%d-%d&limit=%d", year, year+9, 40+i%11))
		}
		paths[len(paths)-1] = strings.TrimSuffix(paths[len(paths)-1], "&cursor=")
		paths = append(paths, respell(paths[len(paths)-1]))
	}
	return paths
}

// respell writes the same query with its parameters reversed and its
// values upper-cased, as another client might.
func respell(path string) string {
	route, rawQuery, _ := strings.Cut(path, "?")
	params := strings.Split(rawQuery, "&")
	slices.Reverse(params)
	for i, param := range params {
		name, value, _ := strings.Cut(param, "=")
		params[i] = name + "=" + strings.ToUpper(value)
	}
	return route + "?" + strings.Join(params, "&")
}

// warm requests every path once and returns the body sizes, sorted.
func warm(ctx context.Context, edgeURL, key string, paths []string) ([]int, error) {
	sizes := make([]int, 0, len(paths))
	for _, path := range paths {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, edgeURL+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("warming %s: %w", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("warming %s: %s %s", path, resp.Status, body)
		}
		sizes = append(sizes, len(body))
	}
	slices.Sort(sizes)
	return sizes, nil
}

// serveBare serves a fixed body of size bytes on every request: what a
// fasthttp server costs before any lookup, the ceiling for the edge.
func serveBare(size int) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	body := []byte(`{"movies":[` + strings.Repeat(" ", max(0, size-13)) + `]}`)
	server := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go server.Serve(ln)
	return "http://" + ln.Addr().String(), func() { server.Shutdown() }, nil
}

func writeBenchEnv(cfg EdgeBenchConfig, edgeURL string, edgePID int, bareURL, key string, paths []string) error {
	pathsFile := cfg.Out + ".paths"
	if err := os.WriteFile(pathsFile, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	env := fmt.Sprintf("EDGE_URL=%s\nBARE_URL=%s\nAPI_KEY=%s\nPATHS=%s\nPID=%d\nEDGE_PID=%d\n", edgeURL, bareURL, key, pathsFile, os.Getpid(), edgePID)
	return os.WriteFile(cfg.Out, []byte(env), 0o600)
}
