package edge

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// hotTotals returns the pages and the bytes all shards account for, and
// checks each shard's account against its pages.
func hotTotals(t *testing.T, h *hotPages) (pages int, used int64) {
	t.Helper()
	for i := range h.shards {
		shard := &h.shards[i]
		var sum int64
		for _, page := range shard.pages {
			sum += page.size
		}
		if sum != shard.used {
			t.Errorf("shard %d accounts for %d bytes, its pages hold %d", i, shard.used, sum)
		}
		if shard.used > shard.limit {
			t.Errorf("shard %d holds %d bytes, over its limit of %d", i, shard.used, shard.limit)
		}
		pages += len(shard.pages)
		used += shard.used
	}
	return pages, used
}

func TestHotPagesStayWithinBudget(t *testing.T) {
	const limit = 1 << 20
	h := newHotPages(limit)
	body := make([]byte, 1000)
	for i := range 5000 {
		h.keep("page-"+strconv.Itoa(i), entry{body: body, filledAt: time.Now()})
	}

	pages, used := hotTotals(t, h)
	if used > limit {
		t.Errorf("hot pages hold %d bytes, over the budget of %d", used, limit)
	}
	if pages < 500 {
		t.Errorf("hot pages keep %d pages of 1 KB in a 1 MB budget; want most of the budget used", pages)
	}
	// The last page kept made room for itself rather than being turned away.
	if h.get("page-4999") == nil {
		t.Error("the newest page was not kept once the budget was full")
	}
}

func TestHotPagesDropOnlyTheSamePage(t *testing.T) {
	h := newHotPages(1 << 20)
	h.keep("k", entry{body: []byte("old")})
	old := h.get("k")
	h.drop("k", old)
	h.keep("k", entry{body: []byte("new")})

	h.drop("k", old) // a late drop of the replaced page
	if page := h.get("k"); page == nil || string(page.entry.body) != "new" {
		t.Errorf("a drop of a replaced page removed its successor: got %v", page)
	}
	if _, used := hotTotals(t, h); used != h.get("k").size {
		t.Errorf("hot pages account for %d bytes, want %d", used, h.get("k").size)
	}
}

// TestHotPageSharedBySpellings checks that two spellings of one query are
// served from one hot page, the same bytes, and that hot pages off means
// none are kept.
func TestHotPageSharedBySpellings(t *testing.T) {
	for _, hotMB := range []int{64, 0} {
		cfg := DefaultConfig()
		cfg.HotMB = hotMB
		s, secret := newBenchServerWith(t, 2000, cfg)

		var bodies [][]byte
		for _, uri := range []string{"/v1/movies?year=1994&genre=DRAMA", "/v1/movies?genre=drama&year=1994", "/v1/movies?year=1994&genre=DRAMA"} {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(uri)
			ctx.Request.Header.Set("X-API-Key", secret)
			s.handle(&ctx)
			if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.Peek("X-Cache")) != "hit" {
				t.Fatalf("%s: status %d, X-Cache %q; want a 200 hit", uri, ctx.Response.StatusCode(), ctx.Response.Header.Peek("X-Cache"))
			}
			bodies = append(bodies, ctx.Response.Body())
		}

		pages, _ := hotTotals(t, s.hot)
		want := 1
		if hotMB == 0 {
			want = 0
		}
		if pages != want {
			t.Errorf("hot-mb %d: %d hot pages after two spellings of one query, want %d", hotMB, pages, want)
		}
		if !bytes.Equal(bodies[0], bodies[1]) || !bytes.Equal(bodies[1], bodies[2]) {
			t.Errorf("hot-mb %d: the spellings got different bodies", hotMB)
		}
	}
}
