package origin

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestConcurrentPagesKeepTheirBodies requests different pages from many
// goroutines at once. Pages are encoded into pooled buffers, so a buffer
// reused before its page is written would show up as another page's body.
func TestConcurrentPagesKeepTheirBodies(t *testing.T) {
	store := newTestStore(t)
	var updates []update
	for i := range 60 {
		r := record(fmt.Sprintf("Movie %02d", i), 1990+i%4, "", []string{fmt.Sprintf("Actor %d", i%5)}, []string{[]string{"Drama", "Comedy", "War"}[i%3]})
		updates = append(updates, update{fmt.Sprintf("providers/test/%d.json", i), r, testEpoch})
	}
	ingest(t, store, updates...)

	registry := prometheus.NewRegistry()
	a := &api{store: store, metrics: newMetrics(registry, "test"), logger: slog.New(slog.DiscardHandler), ready: &atomic.Bool{}}
	server := httptest.NewServer(a.routes(registry))
	defer server.Close()

	paths := []string{"?year=1990", "?year=1991&limit=3", "?genre=drama", "?genre=war&limit=50", "?cast=actor+2", "?title=movie+1", "?limit=100", "?year=1993&genre=comedy"}
	want := map[string]string{}
	for _, p := range paths {
		want[p] = getBody(t, server.URL+RouteMovies+p)
	}

	var wg sync.WaitGroup
	var mismatches atomic.Int64
	for worker := range 8 {
		wg.Go(func() {
			for i := range 40 {
				p := paths[(worker+i)%len(paths)]
				if getBody(t, server.URL+RouteMovies+p) != want[p] {
					mismatches.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := mismatches.Load(); n > 0 {
		t.Errorf("%d of 320 concurrent pages differed from the same page requested alone", n)
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: status %d, error %v", url, resp.StatusCode, err)
	}
	return string(body)
}
