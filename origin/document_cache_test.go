package origin

import (
	"fmt"
	"strings"
	"testing"
)

// TestDocumentCacheHoldsItsLimit writes four times the cache's limit in
// documents: the cache's buffers must stay within the limit, the newest
// documents must be found, and the oldest must be gone.
func TestDocumentCacheHoldsItsLimit(t *testing.T) {
	cache, err := newDocumentCache(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.close()

	document := strings.Repeat("x", 2000)
	const movies = 2000 // 4 MB of documents
	for i := range movies {
		cache.put(fmt.Sprintf("movie-%d", i), int64(i), document)
	}

	if got := cache.entries.Capacity(); got > 1<<20 {
		t.Errorf("cache buffers take %d bytes, want at most 1 MiB", got)
	}
	if got, ok := cache.get(fmt.Sprintf("movie-%d", movies-1), movies-1); !ok || got != document {
		t.Errorf("newest document not found")
	}
	if _, ok := cache.get("movie-0", 0); ok {
		t.Errorf("oldest document still cached past the limit")
	}
}

// TestDocumentCacheMatchesTheChange checks that a document is found only
// under the change it was cached with.
func TestDocumentCacheMatchesTheChange(t *testing.T) {
	cache, err := newDocumentCache(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.close()

	cache.put("movie", 7, `{"id":"movie"}`)
	if _, ok := cache.get("movie", 8); ok {
		t.Errorf("document cached under change 7 found under change 8")
	}
	if got, ok := cache.get("movie", 7); !ok || got != `{"id":"movie"}` {
		t.Errorf("document under change 7: got %q, %v", got, ok)
	}
}
