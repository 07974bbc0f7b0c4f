package edge

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"moviequery/internal/apikey"
	"moviequery/internal/query"
	"moviequery/internal/tags"
)

// newBenchServer returns an edge with one API key and one cached answer of
// bodySize bytes for the query "genre=drama&year=1994", without an origin.
func newBenchServer(b *testing.B, bodySize int) (*Server, string) {
	return newBenchServerWith(b, bodySize, DefaultConfig())
}

func newBenchServerWith(b testing.TB, bodySize int, cfg Config) (*Server, string) {
	b.Helper()
	if cfg.OriginURL == "" {
		cfg.OriginURL = "http://127.0.0.1:9" // never called: every request is a hit
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.cache.Close() })

	key, secret, err := apikey.New("bench", []string{apikey.ScopeQuery})
	if err != nil {
		b.Fatal(err)
	}
	key.RatePerSecond, key.Burst = 1<<30, 1<<30
	s.keys.replace([]apikey.Key{key})
	s.feed.started.Store(true)

	values, _ := url.ParseQuery("genre=drama&year=1994")
	q, err := query.Parse(values)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"movies":[` + strings.Repeat("x", bodySize) + `]}`)
	t := newTarget("movies", apikey.ScopeQuery, cacheSearch+q.Encode(), "", tags.OfSearch(q))
	plain := entry{status: 200, filledAt: time.Now(), generation: s.gens.current(), etag: etagOf(body), body: body}
	s.store(context.Background(), t.cacheKey, plain)
	s.compressed(context.Background(), t, plain)
	return s, secret
}

// BenchmarkHit measures one cache hit through the whole request handler,
// with a query string spelled differently from its canonical form: served
// from the hot page, and with hot pages off, from bigcache.
func BenchmarkHit(b *testing.B) {
	for _, hotMB := range []int{64, 0} {
		for _, size := range []int{1 << 10, 18 << 10} {
			name := strconv.Itoa(size>>10) + "KiB"
			if hotMB == 0 {
				name += "/bigcache"
			}
			b.Run(name, func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.HotMB = hotMB
				s, secret := newBenchServerWith(b, size, cfg)
				benchmarkHits(b, s, secret, size)
			})
		}
	}
}

func benchmarkHits(b *testing.B, s *Server, secret string, size int) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/movies?year=1994&genre=DRAMA")
	ctx.Request.Header.Set("X-API-Key", secret)

	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		s.handle(&ctx)
	}
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.Peek("X-Cache")) != "hit" {
		b.Fatalf("got %d %s, want a 200 hit", ctx.Response.StatusCode(), ctx.Response.Header.Peek("X-Cache"))
	}
}
