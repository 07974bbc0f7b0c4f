package edge

import (
	"strconv"
	"testing"
)

func TestParseTarget(t *testing.T) {
	const id = "k7tdzsggcq4g5ds7ixzxzvvu"
	tests := []struct {
		path, query string
		wantRoute   string // "" for no target
		wantKey     string
		wantStatus  int // of the error, 0 for none
	}{
		{"/v1/movies", "year=1994&genre=DRAMA", "movies", "s:year=1994&genre=drama&limit=20", 0},
		{"/v1/movies", "genre=drama&year=1994", "movies", "s:year=1994&genre=drama&limit=20", 0},
		{"/v1/movies", "year=abc", "", "", 400},
		{"/v1/movies", "title=a;b", "", "", 400},
		{"/v1/genres", "", "genres", "g:", 0},
		{"/v1/genres", "x=1", "", "", 400},
		{"/v1/genres", "x&y=1", "", "", 400},
		{"/v1/movies/" + id, "", "movie", "m:" + id, 0},
		{"/v1/movies/" + id + "/revisions", "", "revisions", "r:" + id, 0},
		{"/v1/movies/nope", "", "", "", 404},
		{"/v1/movies/", "", "", "", 0},
		{"/v1/movies/a/b", "", "", "", 0},
		{"/v2/movies", "", "", "", 0},
	}
	for _, tt := range tests {
		target, err := parseTarget(tt.path, []byte(tt.query))
		gotRoute, gotKey, gotStatus := "", "", 0
		if target != nil {
			gotRoute, gotKey = target.route, target.cacheKey
		}
		if err != nil {
			gotStatus = err.status
		}
		if gotRoute != tt.wantRoute || gotKey != tt.wantKey || gotStatus != tt.wantStatus {
			t.Errorf("parseTarget(%q, %q) = route %q key %q status %d, want %q %q %d", tt.path, tt.query, gotRoute, gotKey, gotStatus, tt.wantRoute, tt.wantKey, tt.wantStatus)
		}
	}
}

func TestFirstParamName(t *testing.T) {
	tests := map[string]string{"x=1": "x", "x&y=1": "x", "%41=1": "A", "a%zz=1": "", "=1": ""}
	for raw, want := range tests {
		if got := firstParamName(raw); got != want {
			t.Errorf("firstParamName(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestETagMatches(t *testing.T) {
	etag := []byte(`"0123456789abcdef"`)
	tests := map[string]bool{
		`"0123456789abcdef"`:          true,
		`W/"0123456789abcdef"`:        true,
		`"other", "0123456789abcdef"`: true,
		`*`:                           true,
		`"0123456789abcdeX"`:          false,
		`0123456789abcdef`:            false,
		``:                            false,
	}
	for header, want := range tests {
		if got := etagMatches([]byte(header), etag); got != want {
			t.Errorf("etagMatches(%q) = %v, want %v", header, got, want)
		}
	}
}

// TestTargetMemoBounded fills memos of several sizes with twice their
// bound and checks that each holds at most its bound.
func TestTargetMemoBounded(t *testing.T) {
	for _, cacheMB := range []int{1, 64, 512, 4096} {
		size := memoSize(cacheMB)
		memo := newTargetMemo(size)
		for i := range size * 2 {
			memo.put([]byte("/v1/movies?n="+strconv.Itoa(i)), &target{})
		}

		total := 0
		for i := range memo.shards {
			total += len(memo.shards[i].targets)
		}
		if total > size {
			t.Errorf("cache of %d MB: memo holds %d targets, want at most %d", cacheMB, total, size)
		}
	}
	if got := memoSize(512); got != maxTargets {
		t.Errorf("memo for the default 512 MB cache: %d targets, want %d", got, maxTargets)
	}
	if got := memoSize(1); got != 256 {
		t.Errorf("memo for a 1 MB cache: %d targets, want 256", got)
	}
}
