package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"moviequery/edge"
	"moviequery/internal/apikey"
	"moviequery/internal/stack"
)

// stalenessBound is the documented bound on how long after a commit any
// edge may still serve the previous response: one change feed interval
// (1 s by default) and the feed read itself.
const stalenessBound = 2 * time.Second

// fastGossip shortens memberlist's timings for tests on loopback.
func fastGossip(c *memberlist.Config) {
	c.GossipInterval = 20 * time.Millisecond
	c.ProbeInterval = 200 * time.Millisecond
	c.PushPullInterval = time.Second
}

// startGossipRegion starts a region whose origin and edges gossip.
func startGossipRegion(t *testing.T, edges int, adjust func(*stack.RegionConfig)) *stack.Region {
	t.Helper()
	region := startRegionWith(t, func(cfg *stack.RegionConfig) {
		cfg.EdgePorts = make([]int, edges)
		cfg.Gossip = true
		cfg.GossipTune = fastGossip
		adjust(cfg)
	})

	deadline := time.Now().Add(10 * time.Second)
	for _, e := range region.Edges {
		for e.GossipMembers() < edges+1 {
			if time.Now().After(deadline) {
				t.Fatalf("an edge sees %d gossip members after 10 s, want %d", e.GossipMembers(), edges+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return region
}

// testMovie is a movie written by the tests here; every update of one
// keeps its title and year, so it stays the same movie.
type testMovie struct {
	Title  string   `json:"title"`
	Year   int      `json:"year"`
	Cast   []string `json:"cast"`
	Genres []string `json:"genres"`
}

// put writes one update of a movie under key and waits until the origin
// has stored it.
func put(t *testing.T, region *stack.Region, key string, m testMovie) {
	t.Helper()
	before := originStats(t, region).LedgerEntries
	body, _ := json.Marshal(m)
	if err := stack.Upload(context.Background(), region.Clients.S3, region.Bucket, []stack.Update{{Key: key, Body: body}}, 1, func() {}); err != nil {
		t.Fatalf("uploading %s: %v", key, err)
	}
	waitStored(t, region, int(before)+1)
}

// feedHead returns the origin's change feed head.
func feedHead(t *testing.T, originURL string) int64 {
	t.Helper()
	var page struct {
		Head int64 `json:"head"`
	}
	getJSON(t, originURL+"/internal/v1/changes?limit=0", "", &page)
	return page.Head
}

// movieID returns the id the edge reports for a title search's only match.
func movieID(t *testing.T, edgeURL, key, title string) string {
	t.Helper()
	var page struct {
		Movies []struct {
			ID string `json:"id"`
		} `json:"movies"`
	}
	getJSON(t, edgeURL+"/v1/movies?title="+strings.ReplaceAll(title, " ", "+"), key, &page)
	if len(page.Movies) != 1 {
		t.Fatalf("title %q: got %d movies, want 1", title, len(page.Movies))
	}
	return page.Movies[0].ID
}

// waitWatermark waits until every edge has applied the feed up to its
// current head, so that responses cached next stay valid.
func waitWatermark(t *testing.T, region *stack.Region, key string) {
	t.Helper()
	head := feedHead(t, region.OriginURL)
	deadline := time.Now().Add(10 * time.Second)
	for _, edgeURL := range region.EdgeURLs {
		for {
			resp, _ := send(t, http.MethodGet, edgeURL+"/v1/genres", key, nil)
			if w, _ := strconv.ParseInt(resp.Header.Get("X-Data-Watermark"), 10, 64); w >= head {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: watermark %s after 10 s, want %d", edgeURL, resp.Header.Get("X-Data-Watermark"), head)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// waitFresh polls target on an edge until its body contains want, and
// returns how long that took; it fails the test past the bound.
func waitFresh(t *testing.T, target, key, want string, since time.Time) time.Duration {
	t.Helper()
	for {
		resp, body := send(t, http.MethodGet, target, key, nil)
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
			return time.Since(since)
		}
		if time.Since(since) > stalenessBound {
			t.Errorf("%s still lacks %q %s after the commit (X-Cache %s, watermark %s)", target, want, time.Since(since).Round(time.Millisecond), resp.Header.Get("X-Cache"), resp.Header.Get("X-Data-Watermark"))
			return time.Since(since)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func xCache(t *testing.T, target, key string) string {
	t.Helper()
	resp, _ := send(t, http.MethodGet, target, key, nil)
	return resp.Header.Get("X-Cache")
}

// checkChangeReachesEveryEdge caches responses on every edge, changes one
// movie and checks that every edge serves the change within the bound,
// while a response the change cannot affect stays cached.
func checkChangeReachesEveryEdge(t *testing.T, region *stack.Region, within time.Duration, beforeChange func()) {
	key := createKey(t, region, apikey.ScopeQuery)
	put(t, region, "providers/test/lighthouse-1.json", testMovie{Title: "The Lighthouse Keeper", Year: 1994, Cast: []string{"Ada Marsh"}, Genres: []string{"Drama"}})
	put(t, region, "providers/test/other.json", testMovie{Title: "An Unrelated Western", Year: 1950, Cast: []string{"Ben Ford"}, Genres: []string{"Western"}})
	id := movieID(t, region.EdgeURLs[0], key, "lighthouse keeper")
	waitWatermark(t, region, key)

	targets := []string{"/v1/movies?cast=ada+marsh", "/v1/movies/" + id, "/v1/movies?year=1994&genre=drama", "/v1/movies?title=lighthouse"}
	unaffected := "/v1/movies?year=1950"
	for _, edgeURL := range region.EdgeURLs {
		for _, target := range append(targets, unaffected) {
			send(t, http.MethodGet, edgeURL+target, key, nil)
			if got := xCache(t, edgeURL+target, key); got != "hit" {
				t.Fatalf("%s%s: X-Cache %q on the second request, want hit", edgeURL, target, got)
			}
		}
	}

	beforeChange()
	put(t, region, "providers/test/lighthouse-2.json", testMovie{Title: "The Lighthouse Keeper", Year: 1994, Cast: []string{"Ada Marsh", "Cleo Vance"}, Genres: []string{"Drama"}})
	committed := time.Now()
	head := feedHead(t, region.OriginURL)

	var slowest time.Duration
	for _, edgeURL := range region.EdgeURLs {
		for _, target := range targets {
			slowest = max(slowest, waitFresh(t, edgeURL+target, key, "Cleo Vance", committed))
		}
		resp, _ := send(t, http.MethodGet, edgeURL+unaffected, key, nil)
		if resp.Header.Get("X-Cache") != "hit" {
			t.Errorf("%s%s: X-Cache %q after an unrelated change, want hit", edgeURL, unaffected, resp.Header.Get("X-Cache"))
		}
		if w, _ := strconv.ParseInt(resp.Header.Get("X-Data-Watermark"), 10, 64); w < head {
			t.Errorf("%s: X-Data-Watermark %d, want at least the feed head %d", edgeURL, w, head)
		}
	}
	if slowest > within {
		t.Errorf("the last edge served the change %s after the commit, want within %s", slowest, within)
	}
	t.Logf("every edge served the change within %s of the commit", slowest)
}

func TestChangeReachesEveryEdgeByGossip(t *testing.T) {
	region := startGossipRegion(t, 5, func(cfg *stack.RegionConfig) {
		// A feed read every minute cannot be what delivers the change.
		cfg.Edge.FeedInterval = time.Minute
	})
	checkChangeReachesEveryEdge(t, region, stalenessBound, func() {})
}

// TestFeedRepairsDroppedGossip drops every gossip packet once the cluster
// has formed, then changes a movie: the change feed must bring it to every
// edge within the bound.
func TestFeedRepairsDroppedGossip(t *testing.T) {
	var drop atomic.Bool
	region := startGossipRegion(t, 3, func(cfg *stack.RegionConfig) { cfg.GossipTune = lossyGossip(&drop) })
	checkChangeReachesEveryEdge(t, region, stalenessBound, func() { drop.Store(true) })

	for _, edgeURL := range region.EdgeURLs {
		if n := scrape(t, edgeURL)[`edge_invalidations_total{source="feed"}`]; n == 0 {
			t.Errorf("%s: no change applied from the feed, yet gossip was dropped", edgeURL)
		}
	}
}

// lossyGossip gives each member a UDP and TCP transport on 127.0.0.1 that
// drops every incoming gossip packet while drop is set.
func lossyGossip(drop *atomic.Bool) func(*memberlist.Config) {
	return func(c *memberlist.Config) {
		fastGossip(c)
		inner, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			panic(fmt.Sprintf("starting a gossip transport: %v", err))
		}
		lossy := &lossyTransport{NetTransport: inner, packets: make(chan *memberlist.Packet)}
		go func() {
			for p := range inner.PacketCh() {
				if !drop.Load() {
					lossy.packets <- p
				}
			}
		}()
		c.Transport = lossy
	}
}

type lossyTransport struct {
	*memberlist.NetTransport
	packets chan *memberlist.Packet
}

func (l *lossyTransport) PacketCh() <-chan *memberlist.Packet { return l.packets }

func TestFeedRepairsWithoutGossip(t *testing.T) {
	region := startRegionWith(t, func(cfg *stack.RegionConfig) { cfg.EdgePorts = []int{0, 0, 0} })
	checkChangeReachesEveryEdge(t, region, stalenessBound, func() {})

	// An edge started after the change serves it, with the feed's head as
	// its watermark.
	key := createKey(t, region, apikey.ScopeQuery)
	edgeURL := startEdge(t, region.OriginURL, func(*edge.Config) {})
	waitFresh(t, edgeURL+"/v1/movies?cast=cleo+vance", key, "Lighthouse", time.Now())
	resp, _ := send(t, http.MethodGet, edgeURL+"/v1/movies?cast=cleo+vance", key, nil)
	if w := resp.Header.Get("X-Data-Watermark"); w != strconv.FormatInt(feedHead(t, region.OriginURL), 10) {
		t.Errorf("restarted edge: X-Data-Watermark %q, want the feed head %d", w, feedHead(t, region.OriginURL))
	}
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestEdgeWaitsForChangeFeed(t *testing.T) {
	// An edge whose origin is not there is not ready and serves nothing.
	cfg := edge.DefaultConfig()
	cfg.OriginURL, cfg.DrainDelay = "http://"+listenLocal(t).Addr().String(), 0
	server, err := edge.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := listenLocal(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go server.Run(ctx, ln)

	edgeURL := "http://" + ln.Addr().String()
	time.Sleep(300 * time.Millisecond)
	if got := getStatus(t, edgeURL+"/readyz", ""); got != http.StatusServiceUnavailable {
		t.Errorf("readyz without a change feed: got %d, want 503", got)
	}
	if got := getStatus(t, edgeURL+"/v1/genres", "any-key"); got != http.StatusServiceUnavailable {
		t.Errorf("request without a change feed: got %d, want 503", got)
	}
}

// emptyHeader makes purgeRequest send an Idempotency-Key header with no
// value.
const emptyHeader = "(empty)"

func purgeRequest(t *testing.T, edgeURL, key, idempotencyKey, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, edgeURL+"/v1/purge", strings.NewReader(body))
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	switch idempotencyKey {
	case "":
	case emptyHeader:
		req.Header["Idempotency-Key"] = []string{""}
	default:
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPurgeAcrossEdgesAndRegions(t *testing.T) {
	other := startRegionWith(t, func(cfg *stack.RegionConfig) { cfg.Name = "eu-west-1"; cfg.EdgePorts = []int{0} })
	region := startGossipRegion(t, 3, func(cfg *stack.RegionConfig) {
		cfg.PeerOrigins = map[string]string{"eu-west-1": other.OriginURL}
	})

	movie := testMovie{Title: "Purge Me", Year: 2001, Cast: []string{"Dana Purge"}, Genres: []string{"Comedy"}}
	put(t, region, "providers/test/purge.json", movie)
	put(t, other, "providers/test/purge.json", movie)
	query, admin := createKey(t, region, apikey.ScopeQuery), createKey(t, region, apikey.ScopeAdmin)
	otherQuery := createKey(t, other, apikey.ScopeQuery)
	id := movieID(t, region.EdgeURLs[0], query, "purge me")
	waitWatermark(t, region, query)
	waitWatermark(t, other, otherQuery)

	edges := map[string]string{} // edge URL to its query key
	for _, u := range region.EdgeURLs {
		edges[u] = query
	}
	edges[other.EdgeURLs[0]] = otherQuery
	// A movie purge drops the movie's document and every search it is in.
	targets := []string{"/v1/movies/" + id, "/v1/movies?cast=dana+purge", "/v1/movies?year=2001&genre=comedy"}
	cacheEverywhere := func() {
		for u, k := range edges {
			for _, target := range targets {
				for range 2 {
					send(t, http.MethodGet, u+target, k, nil)
				}
				if got := xCache(t, u+target, k); got != "hit" {
					t.Fatalf("%s%s: X-Cache %q before the purge, want hit", u, target, got)
				}
			}
		}
	}
	expectMiss := func(what string, targets ...string) {
		for u, k := range edges {
			for _, target := range targets {
				deadline := time.Now().Add(stalenessBound)
				for xCache(t, u+target, k) == "hit" {
					if time.Now().After(deadline) {
						t.Errorf("%s%s: still a hit %s after purging %s", u, target, stalenessBound, what)
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
	}
	expectMissEverywhere := func(what string) { expectMiss(what, targets...) }

	cacheEverywhere()
	status, out := purgeRequest(t, region.EdgeURLs[1], admin, "purge-movie-1", `{"scope": "movie", "target": "`+id+`"}`)
	if status != http.StatusOK || out["created"] != true || fmt.Sprint(out["regions"]) != "[map[region:us-east-1 status:purged] map[region:eu-west-1 status:purged]]" {
		t.Fatalf("purge of one movie: got %d %v, want 200, created, purged in both regions", status, out)
	}
	expectMissEverywhere("the movie")

	cacheEverywhere()
	status, out = purgeRequest(t, region.EdgeURLs[0], admin, "purge-movie-1", `{"scope": "movie", "target": "`+id+`"}`)
	if status != http.StatusOK || out["created"] != false {
		t.Errorf("repeated purge: got %d %v, want 200 and created false", status, out)
	}
	if got := xCache(t, region.EdgeURLs[0]+"/v1/movies/"+id, query); got != "hit" {
		t.Errorf("after a repeated purge: X-Cache %q, want hit (a repeat changes nothing)", got)
	}

	// A tag is folded as the values it names are: "Dana  PURGE" is the cast
	// member "dana purge".
	cacheEverywhere()
	status, out = purgeRequest(t, region.EdgeURLs[0], admin, "", `{"scope": "tag", "target": "c:Dana  PURGE"}`)
	if status != http.StatusOK || out["created"] != true {
		t.Fatalf("purge of a cast tag: got %d %v, want 200 and created", status, out)
	}
	expectMiss("a cast tag", "/v1/movies?cast=dana+purge")

	status, out = purgeRequest(t, region.EdgeURLs[2], admin, "", `{"scope": "all"}`)
	if status != http.StatusOK || out["created"] != true {
		t.Fatalf("purge of everything: got %d %v, want 200 and created", status, out)
	}
	expectMissEverywhere("everything")

	var audit struct {
		Purges []struct {
			ID     string `json:"id"`
			KeyID  string `json:"key_id"`
			Region string `json:"region"`
		} `json:"purges"`
	}
	getJSON(t, other.OriginURL+"/internal/v1/purges", "", &audit)
	if len(audit.Purges) != 3 || audit.Purges[2].ID != "purge-movie-1" || audit.Purges[2].Region != "us-east-1" || audit.Purges[2].KeyID == "" {
		t.Errorf("the other region's purge log: got %+v, want both purges, asked in us-east-1 with a key id", audit.Purges)
	}

	t.Run("bad requests", func(t *testing.T) {
		for _, c := range []struct {
			key, idempotency, body string
			status                 int
			param                  string
		}{
			{query, "", `{"scope": "all"}`, http.StatusForbidden, ""},
			{admin, "", `{"scope": "everything"}`, http.StatusBadRequest, "scope"},
			{admin, "", `{"scope": "movie", "target": "no such id"}`, http.StatusBadRequest, "target"},
			{admin, "", `{"scope": "tag", "target": "q:1"}`, http.StatusBadRequest, "target"},
			{admin, "", `{"scope": "tag", "target": "y:abcd"}`, http.StatusBadRequest, "target"},
			{admin, "", `{"scope": "tag", "target": "t:night"}`, http.StatusBadRequest, "target"},
			{admin, "", `{"scope": "all", "target": "x"}`, http.StatusBadRequest, "target"},
			{admin, "", `not json`, http.StatusBadRequest, "body"},
			{admin, "", `{"scope": "all", "extra": 1}`, http.StatusBadRequest, "body"},
			{admin, "has space", `{"scope": "all"}`, http.StatusBadRequest, "Idempotency-Key"},
			{admin, emptyHeader, `{"scope": "all"}`, http.StatusBadRequest, "Idempotency-Key"},
			{admin, "purge-movie-1", `{"scope": "all"}`, http.StatusConflict, "Idempotency-Key"},
		} {
			status, out := purgeRequest(t, region.EdgeURLs[0], c.key, c.idempotency, c.body)
			detail, _ := out["error"].(map[string]any)
			if status != c.status || c.param != "" && detail["param"] != c.param {
				t.Errorf("purge %s: got %d %v, want %d naming %q", c.body, status, out, c.status, c.param)
			}
		}
		if got := getStatus(t, region.EdgeURLs[0]+"/v1/purge", admin); got != http.StatusMethodNotAllowed {
			t.Errorf("GET /v1/purge: got %d, want 405", got)
		}
	})
}

// TestNoResponseOlderThanItsWatermark updates one movie again and again
// while readers query every edge with random timing, and checks every
// response against the change feed: a response whose X-Data-Watermark is
// w must show the movie as of change w or later. A fill that began before
// an invalidation and stored its response after it would break this.
func TestNoResponseOlderThanItsWatermark(t *testing.T) {
	region := startGossipRegion(t, 3, func(*stack.RegionConfig) {})
	// The readers together send far more than a key's default rate.
	stored, key, err := region.Origin.Store().CreateKey(context.Background(), "readers", []string{apikey.ScopeQuery})
	if err != nil {
		t.Fatal(err)
	}
	if err := region.Origin.Store().SetKeyRate(context.Background(), stored.ID, 1_000_000, 1_000_000); err != nil {
		t.Fatal(err)
	}
	waitForKey(t, region, key)
	versioned := func(k int) testMovie {
		return testMovie{Title: "Watermark Check", Year: 2002, Cast: []string{"Constant Actor", fmt.Sprintf("Version %d", k)}, Genres: []string{"Drama"}}
	}
	put(t, region, "providers/test/wm-000.json", versioned(0))
	id := movieID(t, region.EdgeURLs[0], key, "watermark check")
	waitWatermark(t, region, key)

	targets := []string{"/v1/movies/" + id, "/v1/movies?cast=constant+actor", "/v1/movies?title=watermark+check", "/v1/movies?year=2002", "/v1/movies?genre=drama&year=2000-2005"}
	done := make(chan struct{})
	results := make(chan []observation, 4)
	for reader := range 4 {
		go func() { results <- readVersions(region.EdgeURLs, targets, key, uint64(reader), done) }()
	}

	rng := rand.New(rand.NewPCG(7, 7))
	const updates = 50
	for k := 1; k <= updates; k++ {
		put(t, region, fmt.Sprintf("providers/test/wm-%03d.json", k), versioned(k))
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(done)

	versionAt := feedVersions(t, region, id)
	var observed, latest, maxV int
	var maxW int64
	for range 4 {
		for _, o := range <-results {
			if o.err != nil {
				t.Errorf("%s: %v", o.target, o.err)
				continue
			}
			observed++
			want := versionAt(o.watermark)
			if o.version < want {
				t.Errorf("%s: version %d with watermark %d, want at least version %d", o.target, o.version, o.watermark, want)
			}
			if o.version == updates {
				latest++
			}
			maxV, maxW = max(maxV, o.version), max(maxW, o.watermark)
		}
	}
	if observed < 200 || latest == 0 {
		t.Errorf("%d responses checked, %d of the last version: too few to mean anything (feed version now %d)", observed, latest, versionAt(math.MaxInt64))
	}
	t.Logf("%d responses checked against their watermark; max version %d, max watermark %d", observed, maxV, maxW)
}

type observation struct {
	target    string
	watermark int64
	version   int
	err       error
}

// readVersions queries random edges and targets until done, at most
// 20,000 times and for at most a minute, and returns what each response
// showed.
func readVersions(edgeURLs, targets []string, key string, seed uint64, done chan struct{}) []observation {
	rng := rand.New(rand.NewPCG(seed, 1))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 5 * time.Second}
	var seen []observation
	deadline := time.Now().Add(time.Minute)
	for range 20_000 {
		select {
		case <-done:
			return seen
		default:
		}
		if time.Now().After(deadline) {
			return seen
		}
		target := edgeURLs[rng.IntN(len(edgeURLs))] + targets[rng.IntN(len(targets))]
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("X-API-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			seen = append(seen, observation{target: target, err: err})
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()

		if resp.StatusCode != http.StatusOK {
			seen = append(seen, observation{target: target, err: fmt.Errorf("status %d: %s", resp.StatusCode, body)})
			continue
		}
		var version int
		if i := strings.Index(string(body), "Version "); i >= 0 {
			fmt.Sscanf(string(body[i:]), "Version %d", &version)
			w, _ := strconv.ParseInt(resp.Header.Get("X-Data-Watermark"), 10, 64)
			seen = append(seen, observation{target: target, watermark: w, version: version})
		}
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		}
	}
	return seen
}

// feedVersions returns a function giving the movie's version as of a
// change feed position, read from the changes and their revisions.
func feedVersions(t *testing.T, region *stack.Region, id string) func(int64) int {
	t.Helper()
	conn := connect(t, region.DatabaseURL)
	rows, err := conn.Query(context.Background(), `
		SELECT c.seq, r.raw FROM changes c JOIN revisions r ON r.id = c.revision_id
		WHERE c.movie_id = $1 ORDER BY c.seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		seq     int64
		version int
	}
	var steps []step
	for rows.Next() {
		var s step
		var raw []byte
		var m testMovie
		if err := rows.Scan(&s.seq, &raw); err != nil || json.Unmarshal(raw, &m) != nil {
			t.Fatalf("reading changes: %v", err)
		}
		fmt.Sscanf(m.Cast[1], "Version %d", &s.version)
		steps = append(steps, s)
	}
	return func(watermark int64) int {
		version := 0
		for _, s := range steps {
			if s.seq <= watermark {
				version = s.version
			}
		}
		return version
	}
}
