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
	b.Helper()
	cfg := DefaultConfig()
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
	s.store(context.Background(), newTarget("movies", apikey.ScopeQuery, cacheSearch+q.Encode(), "", tags.OfSearch(q)), newFilledEntry(originAnswer{status: 200, body: body}, time.Now(), s.gens.current()))
	return s, secret
}

// BenchmarkHit measures one cache hit through the whole request handler,
// with a query string spelled differently from its canonical form.
func BenchmarkHit(b *testing.B) {
	for _, size := range []int{1 << 10, 18 << 10} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			s, secret := newBenchServer(b, size)
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
		})
	}
}
