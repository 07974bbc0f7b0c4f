package stack_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"moviequery/edge"
	"moviequery/internal/apikey"
	"moviequery/internal/stack"
)

// rawClient neither asks for nor inflates gzip, so tests see the bytes the
// edge sends.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func send(t *testing.T, method, target, key string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for name, value := range header {
		req.Header.Set(name, value)
	}

	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestEdgeHTTP(t *testing.T) {
	e := loadSample(t)
	target := e.region.EdgeURLs[0] + "/v1/movies?genre=drama&limit=50"

	t.Run("ETag and 304", func(t *testing.T) {
		first, body := send(t, http.MethodGet, target, e.key, nil)
		etag := first.Header.Get("ETag")
		if first.StatusCode != http.StatusOK || etag == "" || first.Header.Get("Cache-Control") == "" {
			t.Fatalf("first answer: got %d with ETag %q and Cache-Control %q, want 200 with both", first.StatusCode, etag, first.Header.Get("Cache-Control"))
		}

		again, againBody := send(t, http.MethodGet, target, e.key, map[string]string{"If-None-Match": etag})
		if again.StatusCode != http.StatusNotModified || len(againBody) != 0 {
			t.Errorf("with If-None-Match: got %d and %d body bytes, want 304 and none", again.StatusCode, len(againBody))
		}
		if again.Header.Get("Vary") != "Accept-Encoding" || again.Header.Get("ETag") != etag {
			t.Errorf("304 headers: got Vary %q and ETag %q, want those of the 200", again.Header.Get("Vary"), again.Header.Get("ETag"))
		}

		other, _ := send(t, http.MethodGet, e.region.EdgeURLs[1]+"/v1/movies?limit=50&genre=DRAMA", e.key, map[string]string{"If-None-Match": etag})
		if other.StatusCode != http.StatusNotModified {
			t.Errorf("same answer on the other edge: got %d, want 304 (ETags agree across edges)", other.StatusCode)
		}
		if len(body) == 0 {
			t.Error("first answer has no body")
		}
	})

	// A miss of a client that does not accept gzip caches only the plain
	// response, and the first gzip request compresses it. A gzip miss
	// caches both. Each order must give the same two responses.
	for _, order := range []struct{ name, target string }{
		{"gzip after plain", target},
		{"plain after gzip", e.region.EdgeURLs[0] + "/v1/movies?genre=comedy&limit=40"},
	} {
		t.Run(order.name, func(t *testing.T) {
			gzipFirst := order.name == "plain after gzip"
			var resp *http.Response
			var plain, compressed []byte
			if gzipFirst {
				resp, compressed = send(t, http.MethodGet, order.target, e.key, map[string]string{"Accept-Encoding": "gzip"})
			}
			plainResp, plain := send(t, http.MethodGet, order.target, e.key, nil)
			if !gzipFirst {
				resp, compressed = send(t, http.MethodGet, order.target, e.key, map[string]string{"Accept-Encoding": "gzip"})
			}
			checkGzipAnswer(t, resp, compressed, plainResp, plain)
		})
	}

	t.Run("HEAD like GET", func(t *testing.T) {
		get, getBody := send(t, http.MethodGet, target, e.key, nil)
		head, headBody := send(t, http.MethodHead, target, e.key, nil)
		if head.StatusCode != http.StatusOK || len(headBody) != 0 {
			t.Errorf("HEAD: got %d with %d body bytes, want 200 and none", head.StatusCode, len(headBody))
		}
		if head.Header.Get("ETag") != get.Header.Get("ETag") || head.Header.Get("Content-Length") != strconv.Itoa(len(getBody)) {
			t.Errorf("HEAD headers: ETag %q, Content-Length %q; want %q and %d like GET", head.Header.Get("ETag"), head.Header.Get("Content-Length"), get.Header.Get("ETag"), len(getBody))
		}
		if noKey, _ := send(t, http.MethodHead, target, "", nil); noKey.StatusCode != http.StatusUnauthorized {
			t.Errorf("HEAD without a key: got %d, want 401", noKey.StatusCode)
		}
	})

	t.Run("request id", func(t *testing.T) {
		a, _ := send(t, http.MethodGet, target, e.key, nil)
		b, _ := send(t, http.MethodGet, target, "", nil)
		if a.Header.Get("X-Request-Id") == "" || a.Header.Get("X-Request-Id") == b.Header.Get("X-Request-Id") {
			t.Errorf("request ids %q and %q: want two distinct ids", a.Header.Get("X-Request-Id"), b.Header.Get("X-Request-Id"))
		}
	})

	t.Run("Date header", func(t *testing.T) {
		resp, _ := send(t, http.MethodGet, target, e.key, nil)
		if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
			t.Errorf("Date %q: want an HTTP date (%v)", resp.Header.Get("Date"), err)
		}
	})

	t.Run("key challenge", func(t *testing.T) {
		resp, _ := send(t, http.MethodGet, target, "", nil)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `ApiKey header="X-API-Key"` {
			t.Errorf("without a key: got %d with WWW-Authenticate %q, want 401 naming the header", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})

	t.Run("repeated key header", func(t *testing.T) { checkRepeatedKey(t, e, target) })
	t.Run("rate limit", func(t *testing.T) { checkRateLimit(t, e) })
	t.Run("revoked key", func(t *testing.T) { checkRevokedKey(t, e) })
}

// checkRepeatedKey sends two X-API-Key headers, a valid key among them,
// and expects 401 whichever comes first.
func checkRepeatedKey(t *testing.T, e env, target string) {
	for i, keys := range [][]string{{"unknown", e.key}, {e.key, "unknown"}} {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header["X-Api-Key"] = keys
		resp, err := rawClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()

		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "send exactly one") {
			t.Errorf("valid key in header %d of 2: got %d %s, want 401 asking for one key", 2-i, resp.StatusCode, body)
		}
	}
}

func checkRevokedKey(t *testing.T, e env) {
	secret := createKey(t, e.region, "query")
	keys, err := e.region.Origin.Store().ActiveKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.region.Origin.Store().RevokeKey(context.Background(), keys[len(keys)-1].ID); err != nil {
		t.Fatal(err)
	}
	again := e.region.Origin.Store().RevokeKey(context.Background(), keys[len(keys)-1].ID)
	if again == nil || !strings.Contains(again.Error(), "already revoked") {
		t.Errorf("revoking twice: got %v, want an error saying it was already revoked", again)
	}

	deadline := time.Now().Add(5 * time.Second)
	for getStatus(t, e.region.EdgeURLs[0]+"/v1/genres", secret) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("revoked key still accepted after 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkKeyRate checks the rate limit stored for a key.
func checkKeyRate(t *testing.T, e env, id string, perSecond, burst int) {
	keys, err := e.region.Origin.Store().ActiveKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == id && (k.RatePerSecond != perSecond || k.Burst != burst) {
			t.Errorf("key rate: got %d/s burst %d, want %d/s burst %d (a zero keeps a value)", k.RatePerSecond, k.Burst, perSecond, burst)
		}
	}
}

func checkRateLimit(t *testing.T, e env) {
	secret := createKey(t, e.region, "query")
	keys, err := e.region.Origin.Store().ActiveKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id := keys[len(keys)-1].ID
	if err := e.region.Origin.Store().SetKeyRate(context.Background(), id, 1, 9); err != nil {
		t.Fatal(err)
	}
	if err := e.region.Origin.Store().SetKeyRate(context.Background(), id, 0, 3); err != nil {
		t.Fatal(err)
	}
	checkKeyRate(t, e, id, 1, 3)
	time.Sleep(500 * time.Millisecond) // the edges refresh keys every 200 ms in tests

	limited := 0
	for range 10 {
		resp, body := send(t, http.MethodGet, e.region.EdgeURLs[0]+"/v1/genres", secret, nil)
		if resp.StatusCode != http.StatusTooManyRequests {
			continue
		}
		limited++
		var detail errorBody
		json.Unmarshal(body, &detail)
		if retry, _ := strconv.Atoi(resp.Header.Get("Retry-After")); retry < 1 || detail.Error.Code != "rate_limited" {
			t.Errorf("429: Retry-After %q, code %q; want a whole number of seconds and rate_limited", resp.Header.Get("Retry-After"), detail.Error.Code)
		}
	}
	if limited < 6 {
		t.Errorf("10 quick requests at 1/s with a burst of 3: %d answered 429, want at least 6", limited)
	}
}

// originSwitch proxies to the origin until it is turned off, then answers
// 503 as an origin whose database is down would.
type originSwitch struct {
	proxy *httputil.ReverseProxy
	down  atomic.Bool
}

func (o *originSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o.down.Load() && !strings.HasSuffix(r.URL.Path, "/keys") {
		http.Error(w, `{"error":{"code":"unavailable","message":"down"}}`, http.StatusServiceUnavailable)
		return
	}
	o.proxy.ServeHTTP(w, r)
}

// startEdge runs one more edge of region against origin.
func startEdge(t *testing.T, originURL string, adjust func(*edge.Config)) string {
	t.Helper()
	cfg := edge.DefaultConfig()
	cfg.OriginURL, cfg.DrainDelay, cfg.KeyRefresh = originURL, 0, 200*time.Millisecond
	adjust(&cfg)

	server, err := edge.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	edgeURL := "http://" + ln.Addr().String()
	deadline := time.Now().Add(10 * time.Second)
	for getStatus(t, edgeURL+"/readyz", "") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("edge %s not ready within 10 s", edgeURL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return edgeURL
}

func TestStaleWhileOriginDown(t *testing.T) {
	e := loadSample(t)
	originURL, _ := url.Parse(e.region.OriginURL)
	origin := &originSwitch{proxy: httputil.NewSingleHostReverseProxy(originURL)}
	proxy := &http.Server{Handler: origin}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go proxy.Serve(ln)
	t.Cleanup(func() { proxy.Close() })

	edgeURL := startEdge(t, "http://"+ln.Addr().String(), func(cfg *edge.Config) { cfg.CacheFresh = 300 * time.Millisecond })
	waitForKey(t, &stack.Region{EdgeURLs: []string{edgeURL}}, e.key)
	target := edgeURL + "/v1/movies?year=1994"

	first, firstBody := send(t, http.MethodGet, target, e.key, nil)
	if first.Header.Get("X-Cache") != "miss" {
		t.Fatalf("first answer: X-Cache %q, want miss", first.Header.Get("X-Cache"))
	}

	origin.down.Store(true)
	time.Sleep(500 * time.Millisecond)
	stale, staleBody := send(t, http.MethodGet, target, e.key, nil)
	if stale.StatusCode != http.StatusOK || stale.Header.Get("X-Cache") != "stale" || stale.Header.Get("Age") == "" {
		t.Errorf("with the origin down: got %d, X-Cache %q, Age %q; want 200, stale, an age", stale.StatusCode, stale.Header.Get("X-Cache"), stale.Header.Get("Age"))
	}
	if !bytes.Equal(staleBody, firstBody) {
		t.Error("stale answer differs from the cached one")
	}

	// Only the plain variant was cached, and a gzip client gets it
	// compressed.
	staleGzip, staleCompressed := send(t, http.MethodGet, target, e.key, map[string]string{"Accept-Encoding": "gzip"})
	if staleGzip.StatusCode != http.StatusOK || staleGzip.Header.Get("X-Cache") != "stale" {
		t.Errorf("gzip request with the origin down: got %d, X-Cache %q; want 200, stale", staleGzip.StatusCode, staleGzip.Header.Get("X-Cache"))
	} else {
		checkGzipAnswer(t, staleGzip, staleCompressed, stale, staleBody)
	}

	uncached, _ := send(t, http.MethodGet, edgeURL+"/v1/movies?year=1995", e.key, nil)
	if uncached.StatusCode != http.StatusServiceUnavailable || uncached.Header.Get("Retry-After") == "" {
		t.Errorf("uncached query with the origin down: got %d with Retry-After %q, want 503 with one", uncached.StatusCode, uncached.Header.Get("Retry-After"))
	}

	origin.down.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := send(t, http.MethodGet, target, e.key, nil)
		if resp.Header.Get("X-Cache") == "hit" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the origin came back: X-Cache still %q after 5 s, want hit once refreshed", resp.Header.Get("X-Cache"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCacheMemoryBounded fills an edge with a 2 MB cache far past its limit
// and checks the limit holds, evictions are counted, and answers stay right.
func TestCacheMemoryBounded(t *testing.T) {
	e := loadSample(t)
	edgeURL := startEdge(t, e.region.OriginURL, func(cfg *edge.Config) { cfg.CacheMaxMB = 2 })
	// The fill sends more requests than a key's default rate allows.
	stored, key, err := e.region.Origin.Store().CreateKey(context.Background(), "fill", []string{apikey.ScopeQuery})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.region.Origin.Store().SetKeyRate(context.Background(), stored.ID, 1_000_000, 1_000_000); err != nil {
		t.Fatal(err)
	}
	waitForKey(t, &stack.Region{EdgeURLs: []string{edgeURL}}, key)

	filled := 0
	for year := 1900; year <= 2023; year++ {
		for _, limit := range []int{60, 80, 100} {
			resp, body := get(t, edgeURL+"/v1/movies?year="+strconv.Itoa(year)+"-&limit="+strconv.Itoa(limit), key)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("year %d-: got %d %s", year, resp.StatusCode, body)
			}
			filled += len(body)
		}
	}

	metrics := scrape(t, edgeURL)
	if capacity := metrics["edge_cache_capacity_bytes"]; capacity <= 0 || capacity > 2<<20 {
		t.Errorf("cache capacity: got %.0f bytes, want between 1 and %d", capacity, 2<<20)
	}
	if metrics[`edge_cache_removals_total{reason="no_space"}`] == 0 {
		t.Errorf("after filling %d bytes into a 2 MB cache: no evictions counted", filled)
	}
}

// scrape reads an edge's metrics into a map from series (name and labels,
// less the region label) to value.
func scrape(t *testing.T, edgeURL string) map[string]float64 {
	t.Helper()
	_, body := get(t, edgeURL+"/metrics", "")
	series := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		name = strings.NewReplacer(`region="us-east-1",`, "", `{region="us-east-1"}`, "", `,region="us-east-1"`, "").Replace(name)
		series[name], _ = strconv.ParseFloat(value, 64)
	}
	return series
}

// checkGzipAnswer checks a gzip response against the plain response to
// the same request.
func checkGzipAnswer(t *testing.T, resp *http.Response, compressed []byte, plainResp *http.Response, plain []byte) {
	t.Helper()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("Content-Encoding %q, Vary %q: want gzip and Accept-Encoding", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}
	if resp.Header.Get("ETag") == "" || resp.Header.Get("ETag") == plainResp.Header.Get("ETag") {
		t.Errorf("gzip ETag %q, plain ETag %q: want two distinct validators", resp.Header.Get("ETag"), plainResp.Header.Get("ETag"))
	}

	reader, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	inflated, _ := io.ReadAll(reader)
	if !bytes.Equal(inflated, plain) {
		t.Errorf("inflated gzip response differs from the plain response")
	}
	if len(compressed) >= len(plain) {
		t.Errorf("gzip response is %d bytes, plain %d: want it smaller", len(compressed), len(plain))
	}
}
