package localaws

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
)

// TestPutReplacesMetadata writes an object with a checksum, then new
// content to the same key without one, as a plain HTTP client does: the
// object must no longer carry the first content's checksum, and the new
// content must be served.
func TestPutReplacesMetadata(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "s3.bolt"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s3 := NewS3(s3bolt.New(db), "us-east-1", nil)
	if err := s3.CreateBucket("movies"); err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(s3)
	defer server.Close()
	url := server.URL + "/movies/providers/me/movie.json"

	put(t, url, `{"title":"First"}`, map[string]string{"x-amz-checksum-crc32": "Ez4hdQ==", "x-amz-meta-note": "first"})
	put(t, url, `{"title":"Second"}`, nil)

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	content, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(content); got != `{"title":"Second"}` {
		t.Errorf("object content %q, want the second write", got)
	}
	if got := resp.Header.Get("x-amz-checksum-crc32"); got != "" {
		t.Errorf("object carries checksum %q of the first write", got)
	}
	if got := resp.Header.Get("x-amz-meta-note"); got != "" {
		t.Errorf("object carries metadata %q of the first write", got)
	}
}

func put(t *testing.T, url, content string, header map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: status %d", url, resp.StatusCode)
	}
}
