package stack_test

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	gocmp "github.com/google/go-cmp/cmp"
)

// TestEndToEnd writes real records to S3, lets them flow through the queue
// and the origin into PostgreSQL, and checks the edges' answers against
// answers computed from the records.
func TestEndToEnd(t *testing.T) {
	e := loadSample(t)
	t.Run("queries match data", func(t *testing.T) { checkQueries(t, e) })
	t.Run("movie by id", func(t *testing.T) { checkMovieByID(t, e) })
	t.Run("genre counts", func(t *testing.T) { checkGenres(t, e) })
	t.Run("cache answers repeat", func(t *testing.T) { checkCache(t, e) })
	t.Run("API key required", func(t *testing.T) { checkKeys(t, e) })
	t.Run("bad parameters", func(t *testing.T) { checkBadParameters(t, e) })
}

// checkQueries runs every query kind and their combinations on both edges.
func checkQueries(t *testing.T, e env) {
	if n := len(e.movies); n < 300 {
		t.Fatalf("sample has %d movies, want at least 300", n)
	}

	s := originStats(t, e.region)
	if s.Movies != int64(len(e.movies)) || s.Revisions != int64(len(e.movies)) || s.Quarantined != 0 {
		t.Fatalf("origin stats: got %+v, want %d movies and revisions, none quarantined", s, len(e.movies))
	}

	tests := []struct {
		query string
		match expectation
	}{
		{"year=1994", func(m sampleMovie) bool { return m.Year == 1994 }},
		{"year=1950-1959", func(m sampleMovie) bool { return m.Year >= 1950 && m.Year <= 1959 }},
		{"year=2015-", func(m sampleMovie) bool { return m.Year >= 2015 }},
		{"genre=drama", func(m sampleMovie) bool { return anyFold(m.Genres, "drama") }},
		{"genre=WESTERN", func(m sampleMovie) bool { return anyFold(m.Genres, "western") }},
		{"cast=john+wayne", func(m sampleMovie) bool { return anyFold(m.Cast, "john wayne") }},
		{"cast=JOHN++WAYNE", func(m sampleMovie) bool { return anyFold(m.Cast, "john wayne") }},
		{"cast=john", func(m sampleMovie) bool { return anyFold(m.Cast, "john") }},
		{"title=love", func(m sampleMovie) bool { return strings.Contains(fold(m.Title), "love") }},
		{"title=THE", func(m sampleMovie) bool { return strings.Contains(fold(m.Title), "the") }},
		{"title=miserables", func(m sampleMovie) bool { return strings.Contains(fold(m.Title), "miserables") }},
		{"title=Mis%C3%A9rables", func(m sampleMovie) bool { return strings.Contains(fold(m.Title), "miserables") }},
		{"title=%EF%BB%BFMis%C2%ADe%CC%81rables", func(m sampleMovie) bool { return strings.Contains(fold(m.Title), "miserables") }},
		{"cast=john%E2%80%8B+wayne", func(m sampleMovie) bool { return anyFold(m.Cast, "john wayne") }},
		// 150 characters that case folding doubles: the origin accepts the
		// edge's folded term too.
		{"title=" + strings.Repeat("%C3%9F", 150), func(sampleMovie) bool { return false }},
		{"title=%25", func(m sampleMovie) bool { return strings.Contains(m.Title, "%") }},
		{"title=_", func(m sampleMovie) bool { return strings.Contains(m.Title, "_") }},
		{"cast=john+wayne&genre=western", func(m sampleMovie) bool {
			return anyFold(m.Cast, "john wayne") && anyFold(m.Genres, "western")
		}},
		{"year=1950-1955&cast=john+wayne", func(m sampleMovie) bool {
			return m.Year >= 1950 && m.Year <= 1955 && anyFold(m.Cast, "john wayne")
		}},
		{"year=1990-1999&genre=comedy&title=the", func(m sampleMovie) bool {
			return m.Year >= 1990 && m.Year <= 1999 && anyFold(m.Genres, "comedy") && strings.Contains(fold(m.Title), "the")
		}},
		{"genre=no-such-genre", func(sampleMovie) bool { return false }},
		{"", func(sampleMovie) bool { return true }},
	}

	checkEmptyArrays(t, e)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			want := expected(e.movies, tt.match)
			for i, edgeURL := range e.region.EdgeURLs {
				movies, total := searchAll(t, edgeURL, e.key, tt.query, 7+i*50)
				checkOrder(t, movies)

				sorted := slices.Sorted(slices.Values(got(movies)))
				if diff := gocmp.Diff(slices.Sorted(slices.Values(want)), sorted, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("edge %d: movies differ (-want +got):\n%s", i, diff)
				}
				if total != len(want) {
					t.Errorf("edge %d: total: got %d, want %d", i, total, len(want))
				}
			}
		})
	}
}

// checkEmptyArrays checks that movies without cast or genres carry empty
// arrays, never null.
func checkEmptyArrays(t *testing.T, e env) {
	t.Helper()
	_, body := get(t, e.region.EdgeURLs[0]+"/v1/movies?limit=100", e.key)
	for _, field := range []string{`"cast":null`, `"genres":null`, `"movies":null`} {
		if strings.Contains(string(body), field) {
			t.Errorf("page holds %s, want []", field)
		}
	}
}

// checkOrder checks the result order: year, then folded title, then id.
func checkOrder(t *testing.T, movies []apiMovie) {
	t.Helper()
	for i := 1; i < len(movies); i++ {
		a, b := movies[i-1], movies[i]
		order := cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(fold(a.Title), fold(b.Title)), cmp.Compare(a.ID, b.ID))
		if order >= 0 {
			t.Fatalf("movies %d and %d out of order: %q (%d, %s) before %q (%d, %s)", i-1, i, a.Title, a.Year, a.ID, b.Title, b.Year, b.ID)
		}
	}
}

func checkMovieByID(t *testing.T, e env) {
	edgeURL := e.region.EdgeURLs[0]

	var page moviePage
	getJSON(t, edgeURL+"/v1/movies?cast=john+wayne&limit=5", e.key, &page)
	if len(page.Movies) == 0 {
		t.Fatal("no John Wayne movie in the sample")
	}

	for _, listed := range page.Movies {
		var single apiMovie
		getJSON(t, edgeURL+"/v1/movies/"+listed.ID, e.key, &single)
		if diff := gocmp.Diff(listed, single); diff != "" {
			t.Errorf("movie %s differs from its search result (-search +single):\n%s", listed.ID, diff)
		}
	}

	for attempt, wantCache := range []string{"miss", "hit"} {
		resp, body := get(t, edgeURL+"/v1/movies/aaaaaaaaaaaaaaaaaaaaaaaa", e.key)
		var detail struct {
			Error struct {
				Code      string `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		json.Unmarshal(body, &detail)
		if resp.StatusCode != http.StatusNotFound || detail.Error.Code != "not_found" || detail.Error.RequestID == "" {
			t.Errorf("unknown id, attempt %d: got %d %s, want 404 not_found with a request id", attempt, resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-Cache"); got != wantCache {
			t.Errorf("unknown id, attempt %d: X-Cache %q, want %q", attempt, got, wantCache)
		}
	}
}

func checkGenres(t *testing.T, e env) {

	want := map[string]int{}
	for _, m := range e.movies {
		seen := map[string]bool{}
		for _, g := range m.Genres {
			if !seen[strings.ToLower(g)] {
				seen[strings.ToLower(g)] = true
				want[g]++
			}
		}
	}

	var list struct {
		Genres []struct {
			Name   string `json:"name"`
			Movies int    `json:"movies"`
		} `json:"genres"`
	}
	getJSON(t, e.region.EdgeURLs[1]+"/v1/genres", e.key, &list)

	gotCounts := map[string]int{}
	for _, g := range list.Genres {
		gotCounts[g.Name] = g.Movies
	}
	if diff := gocmp.Diff(want, gotCounts); diff != "" {
		t.Errorf("genre counts differ (-want +got):\n%s", diff)
	}
}

func checkCache(t *testing.T, e env) {
	target := e.region.EdgeURLs[0] + "/v1/movies?genre=drama&year=1996"

	first, firstBody := get(t, target, e.key)
	second, secondBody := get(t, e.region.EdgeURLs[0]+"/v1/movies?year=1996&genre=DRAMA", e.key)
	if first.Header.Get("X-Cache") != "miss" || second.Header.Get("X-Cache") != "hit" {
		t.Errorf("X-Cache: got %q then %q, want miss then hit", first.Header.Get("X-Cache"), second.Header.Get("X-Cache"))
	}
	if string(firstBody) != string(secondBody) {
		t.Errorf("cached body differs from the first answer")
	}
}

func checkKeys(t *testing.T, e env) {
	target := e.region.EdgeURLs[0] + "/v1/movies?year=1994"

	for name, key := range map[string]string{"missing": "", "unknown": "mq_not-a-real-key"} {
		resp, body := get(t, target, key)
		var detail errorBody
		json.Unmarshal(body, &detail)
		if resp.StatusCode != http.StatusUnauthorized || detail.Error.Code != "unauthorized" {
			t.Errorf("%s key: got %d %s, want 401 with code unauthorized", name, resp.StatusCode, body)
		}
	}

	auditOnly := createKey(t, e.region, "audit")
	if status := getStatus(t, target, auditOnly); status != http.StatusForbidden {
		t.Errorf("key without query scope: got status %d, want 403", status)
	}
}

func checkBadParameters(t *testing.T, e env) {
	tests := []struct{ query, param string }{
		{"year=nineteen", "year"},
		{"year=1999-1990", "year"},
		{"limit=0", "limit"},
		{"limit=1000", "limit"},
		{"cursor=garbage", "cursor"},
		{"genre=drama&genre=comedy", "genre"},
		{"titel=love", "titel"},
		{"title=", "title"},
		{"title=a;b", ""},
	}
	for _, tt := range tests {
		resp, body := get(t, e.region.EdgeURLs[0]+"/v1/movies?"+tt.query, e.key)
		var detail errorBody
		if err := json.Unmarshal(body, &detail); err != nil {
			t.Errorf("%s: body %q is not JSON: %v", tt.query, body, err)
			continue
		}
		if resp.StatusCode != http.StatusBadRequest || detail.Error.Param != tt.param || detail.Error.Message == "" {
			t.Errorf("%s: got %d %s, want 400 naming %q with a message", tt.query, resp.StatusCode, body, tt.param)
		}
	}

	checkBadRequests(t, e)
}

// checkBadRequests sends requests that are wrong beyond one parameter; each
// gets a JSON error.
func checkBadRequests(t *testing.T, e env) {
	edgeURL := e.region.EdgeURLs[0]
	tests := []struct {
		name, target string
		status       int
	}{
		{"parameter on the genres route", "/v1/genres?x=1", http.StatusBadRequest},
		{"parameter on a movie route", "/v1/movies/aaaaaaaaaaaaaaaaaaaaaaaa?year=1994", http.StatusBadRequest},
		{"trailing slash", "/v1/movies/", http.StatusNotFound},
		{"unknown route", "/v2/movies", http.StatusNotFound},
		{"request line over 16 KB", "/v1/movies?title=" + strings.Repeat("a", 17000), http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		resp, body := get(t, edgeURL+tt.target, e.key)
		var detail errorBody
		if err := json.Unmarshal(body, &detail); err != nil || detail.Error.Message == "" {
			t.Errorf("%s: body %q is not a JSON error", tt.name, body)
		}
		if resp.StatusCode != tt.status {
			t.Errorf("%s: got status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}

	req, _ := http.NewRequest(http.MethodPost, edgeURL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz: got %d with Allow %q, want 405 with Allow GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
