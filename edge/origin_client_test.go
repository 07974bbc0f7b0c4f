package edge

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestOriginBodyLimit checks that an origin response over the limit is an
// error, never a page cut short and cached as if whole.
func TestOriginBodyLimit(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		if r.URL.Query().Get("stated") == "1" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		for size > 0 {
			n := min(size, 64<<10)
			_, _ = w.Write(bytes.Repeat([]byte("x"), n))
			w.(http.Flusher).Flush() // without a stated length, the body is chunked
			size -= n
		}
	}))
	defer origin.Close()
	client, err := newOriginClient(origin.URL, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		size   int
		stated bool
		ok     bool
	}{
		{"stated length within the limit", 1000, true, true},
		{"unstated length within the limit", maxOriginBody, false, true},
		{"stated length over the limit", maxOriginBody + 1, true, false},
		{"unstated length over the limit", maxOriginBody + 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/body?size=" + strconv.Itoa(tt.size) + "&stated=" + map[bool]string{true: "1", false: "0"}[tt.stated]
			answer, err := client.get(t.Context(), path)
			if tt.ok && (err != nil || len(answer.body) != tt.size) {
				t.Fatalf("read %d of %d bytes, error %v", len(answer.body), tt.size, err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("read %d bytes over the limit without an error", len(answer.body))
			}
		})
	}
}

// TestOriginRequestTarget checks that the origin receives each path and
// query string exactly as the edge built them, escapes included.
func TestOriginRequestTarget(t *testing.T) {
	received := make(chan string, 1)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.RequestURI
	}))
	defer origin.Close()
	client, err := newOriginClient(origin.URL, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	for _, target := range []string{
		"/v1/movies?title=a%2Fb+c%2B&cast=%C3%A9mile",
		"/v1/movies/the-50%25-solution-1999",
		"/v1/movies/a%2F..%2Fb",
		"/v1/movies?title=%2E%2E%2F",
	} {
		if _, err := client.get(t.Context(), target); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if got := <-received; got != target {
			t.Errorf("origin received %q, want %q", got, target)
		}
	}
}

// TestOriginURLChecked checks that an edge rejects an origin URL it
// cannot call.
func TestOriginURLChecked(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:8081", "ftp://origin:21", "http://", "http://origin:8081/v1"} {
		if _, err := newOriginClient(raw, "", time.Second); err == nil {
			t.Errorf("origin URL %q accepted", raw)
		}
	}
	for _, raw := range []string{"http://127.0.0.1:8081", "https://origin.internal", "http://origin:8081/"} {
		if _, err := newOriginClient(raw, "", time.Second); err != nil {
			t.Errorf("origin URL %q rejected: %v", raw, err)
		}
	}
}
