package edge

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// TestOriginBodyLimit checks that an origin response over the limit is an
// error, never a page cut short and cached as if whole.
func TestOriginBodyLimit(t *testing.T) {
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
			body := bytes.Repeat([]byte("x"), tt.size)
			resp := &http.Response{Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1}
			if tt.stated {
				resp.ContentLength = int64(tt.size)
			}

			got, err := readOriginBody(resp)
			if tt.ok && (err != nil || !bytes.Equal(got, body)) {
				t.Fatalf("read %d of %d bytes, error %v", len(got), tt.size, err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("read %d bytes over the limit without an error", len(got))
			}
		})
	}
}
