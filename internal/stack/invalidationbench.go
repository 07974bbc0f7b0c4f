package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"moviequery/edge"
	"moviequery/internal/apikey"
	"moviequery/internal/movie"
	"moviequery/internal/postgres"
	"moviequery/origin"
)

// InvalidationBenchConfig configures RunInvalidationBench.
type InvalidationBenchConfig struct {
	Dir     string // scratch folder for the databases
	Source  string // the data set
	Updates int    // updates timed from commit to the last edge
	Edges   int    // edges of the timed region
	Steps   int    // requests and updates of the hit ratio run
}

// RunInvalidationBench measures two things and prints them to out. First,
// the delay from a commit to the last of the edges applying it, over
// Updates updates committed one at a time. Second, the hit ratio of a
// mixed stream of queries and updates on an edge that drops the affected
// responses, against one that drops everything on every change, with the
// same stream sent to both.
func RunInvalidationBench(ctx context.Context, cfg InvalidationBenchConfig, out io.Writer) error {
	updates, err := ReadSource(ctx, cfg.Source, "bench")
	if err != nil {
		return err
	}
	if err := benchInvalidationDelay(ctx, cfg, updates, out); err != nil {
		return err
	}
	return benchHitRatio(ctx, cfg, updates, out)
}

// appliedLog records when each edge applied each change.
type appliedLog struct {
	mu    sync.Mutex
	times []map[int64]time.Time // by edge, by sequence number
}

func newAppliedLog(edges int) *appliedLog {
	l := &appliedLog{times: make([]map[int64]time.Time, edges)}
	for i := range l.times {
		l.times[i] = map[int64]time.Time{}
	}
	return l
}

func (l *appliedLog) hook(i int) func(int64) {
	return func(seq int64) {
		now := time.Now()
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.times[i][seq]; !ok {
			l.times[i][seq] = now
		}
	}
}

// last returns when the last edge applied seq, or false if one has not.
func (l *appliedLog) last(seq int64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var latest time.Time
	for _, times := range l.times {
		at, ok := times[seq]
		if !ok {
			return time.Time{}, false
		}
		if at.After(latest) {
			latest = at
		}
	}
	return latest, true
}

func invalidationRegion(ctx context.Context, cfg InvalidationBenchConfig, name string, edges int, adjust func(int, *edge.Config)) (*Region, error) {
	cluster, err := postgres.Start(ctx, postgres.Config{Dir: filepath.Join(cfg.Dir, name), Durable: true, Database: postgres.DefaultDatabase})
	if err != nil {
		return nil, err
	}

	edgeConfig := edge.DefaultConfig()
	edgeConfig.DrainDelay = 0
	region, err := StartRegion(ctx, RegionConfig{
		Name: "us-east-1", DatabaseURL: cluster.DSN(), Bucket: "movie-updates", Queue: "movie-updates",
		EdgePorts: make([]int, edges), Edge: edgeConfig, AdjustEdge: adjust, Gossip: true,
	})
	if err != nil {
		cluster.Stop()
		return nil, err
	}
	region.closers = append([]func() error{cluster.Stop}, region.closers...)
	return region, nil
}

// ingestDirect stores updates through the origin's store, which announces
// them, in batches.
func ingestDirect(ctx context.Context, store *origin.Store, updates []Update, written time.Time) ([]origin.IngestResult, error) {
	var results []origin.IngestResult
	for batch := range slices.Chunk(updates, 500) {
		objects := make([]origin.Object, len(batch))
		for i, u := range batch {
			objects[i] = origin.Object{Bucket: "movie-updates", Key: u.Key, Version: "v-" + strconv.FormatInt(written.UnixNano(), 36), WrittenAt: written, Raw: u.Body}
		}
		r, err := store.Ingest(ctx, objects, nil)
		if err != nil {
			return nil, err
		}
		results = append(results, r...)
	}
	return results, nil
}

// recast returns an update of the same movie with one more cast member.
func recast(u Update, extra string) Update {
	var r map[string]any
	json.Unmarshal(u.Body, &r)
	cast, _ := r["cast"].([]any)
	r["cast"] = append(cast, extra)
	body, _ := json.Marshal(r)
	return Update{Key: u.Key, Body: body}
}

func waitWatermarks(region *Region, head int64) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, e := range region.Edges {
		for e.Watermark() < head {
			if time.Now().After(deadline) {
				return fmt.Errorf("an edge's watermark is %d after 30 s, want %d", e.Watermark(), head)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

func benchInvalidationDelay(ctx context.Context, cfg InvalidationBenchConfig, updates []Update, out io.Writer) error {
	log := newAppliedLog(cfg.Edges)
	region, err := invalidationRegion(ctx, cfg, "delay", cfg.Edges, func(i int, c *edge.Config) { c.ChangeApplied = log.hook(i) })
	if err != nil {
		return err
	}
	defer region.Close()

	movies := updates[:min(2000, len(updates))]
	if _, err := ingestDirect(ctx, region.Origin.Store(), movies, time.Now()); err != nil {
		return err
	}

	committing := map[int64]time.Time{}
	for i := range cfg.Updates {
		update := recast(movies[i*7%len(movies)], "Bench Actor "+strconv.Itoa(i))
		start := time.Now()
		results, err := ingestDirect(ctx, region.Origin.Store(), []Update{update}, start)
		if err != nil {
			return err
		}
		if results[0].Changed {
			committing[results[0].Seq] = start
		}
		time.Sleep(5 * time.Millisecond)
	}

	delays, late := changeDelays(log, committing, 5*time.Second)
	fmt.Fprintf(out, "commit to last of %d edges: %d updates, p50 %s, p99 %s, max %s; %d not applied by every edge within 5 s\n",
		cfg.Edges, len(delays), percentile(delays, 0.50), percentile(delays, 0.99), percentile(delays, 1), late)
	return nil
}

// changeDelays waits up to wait for every edge to apply every change and
// returns each change's delay from the start of its commit to the last
// edge, sorted, and the number of changes some edge never applied.
func changeDelays(log *appliedLog, committing map[int64]time.Time, wait time.Duration) ([]time.Duration, int) {
	deadline := time.Now().Add(wait)
	var delays []time.Duration
	late := 0
	for seq, start := range committing {
		for {
			if at, ok := log.last(seq); ok {
				delays = append(delays, at.Sub(start))
				break
			}
			if time.Now().After(deadline) {
				late++
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	slices.Sort(delays)
	return delays, late
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(p*float64(len(sorted))))
	return sorted[i].Round(10 * time.Microsecond)
}

func benchHitRatio(ctx context.Context, cfg InvalidationBenchConfig, updates []Update, out io.Writer) error {
	// Edge 0 drops the affected responses, edge 1 everything.
	region, err := invalidationRegion(ctx, cfg, "ratio", 2, func(i int, c *edge.Config) { c.FlushOnChange = i == 1 })
	if err != nil {
		return err
	}
	defer region.Close()

	if _, err := ingestDirect(ctx, region.Origin.Store(), updates, time.Now()); err != nil {
		return err
	}
	key, secret, err := region.Origin.Store().CreateKey(ctx, "bench", []string{apikey.ScopeQuery})
	if err != nil {
		return err
	}
	if err := region.Origin.Store().SetKeyRate(ctx, key.ID, 1_000_000, 1_000_000); err != nil {
		return err
	}

	queries := benchQueries(updates)
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, uint64(len(queries)-1))
	client := &http.Client{Timeout: 10 * time.Second}
	if err := waitKey(ctx, client, region, secret); err != nil {
		return err
	}

	hits := make([]int, 2)
	var asked, changed int
	for step := range cfg.Steps {
		if rng.IntN(50) == 0 {
			results, err := ingestDirect(ctx, region.Origin.Store(), []Update{recast(updates[rng.IntN(len(updates))], "Bench Actor "+strconv.Itoa(step))}, time.Now())
			if err != nil {
				return err
			}
			changed++
			if err := waitWatermarks(region, results[0].Seq); err != nil {
				return err
			}
			continue
		}

		path := queries[zipf.Uint64()]
		asked++
		for i, edgeURL := range region.EdgeURLs {
			hit, err := isHit(ctx, client, edgeURL+path, secret)
			if err != nil {
				return err
			}
			if hit {
				hits[i]++
			}
		}
	}

	tagged, flushed := float64(hits[0])/float64(asked), float64(hits[1])/float64(asked)
	fmt.Fprintf(out, "hit ratio over %d queries and %d updates (%d distinct queries, Zipf 1.1): %.1f%% dropping affected responses, %.1f%% flushing everything on each change (%.2fx)\n",
		asked, changed, len(queries), 100*tagged, 100*flushed, tagged/flushed)
	return nil
}

func waitKey(ctx context.Context, client *http.Client, region *Region, secret string) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, edgeURL := range region.EdgeURLs {
		for {
			if _, err := isHit(ctx, client, edgeURL+"/v1/genres", secret); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("edge %s did not accept the bench key within 30 s", edgeURL)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func isHit(ctx context.Context, client *http.Client, target, secret string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("X-API-Key", secret)
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return false, fmt.Errorf("%s: status %d", target, resp.StatusCode)
	}
	return resp.Header.Get("X-Cache") == "hit", nil
}

// benchQueries returns query paths drawn from the data set: years, year
// ranges, genres, cast members, title words, combinations and movie ids,
// in a shuffled order that the Zipf draw ranks by.
func benchQueries(updates []Update) []string {
	rng := rand.New(rand.NewPCG(5, 6))
	var paths []string
	add := func(format string, args ...any) { paths = append(paths, fmt.Sprintf(format, args...)) }
	for year := 1900; year <= 2018; year++ {
		add("/v1/movies?year=%d", year)
	}
	for decade := 1900; decade <= 2010; decade += 10 {
		add("/v1/movies?year=%d-%d", decade, decade+9)
	}

	for range 1500 {
		r, err := movie.Parse(updates[rng.IntN(len(updates))].Body)
		if err != nil {
			continue
		}
		add("/v1/movies/%s", movie.ID(r))
		if len(r.Cast) > 0 {
			add("/v1/movies?cast=%s", url.QueryEscape(r.Cast[0]))
		}
		if len(r.Genres) > 0 {
			add("/v1/movies?genre=%s&year=%d", url.QueryEscape(r.Genres[0]), r.Year)
		}
		if words := titleWords(r.Title); len(words) > 0 {
			add("/v1/movies?title=%s", url.QueryEscape(words[rng.IntN(len(words))]))
		}
	}
	add("/v1/genres")

	slices.Sort(paths)
	paths = slices.Compact(paths)
	rng.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	return paths
}

// titleWords returns the words of a title of four letters or more.
func titleWords(title string) []string {
	var words []string
	for _, w := range strings.Fields(title) {
		if len([]rune(w)) >= 4 && strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			words = append(words, w)
		}
	}
	return words
}
