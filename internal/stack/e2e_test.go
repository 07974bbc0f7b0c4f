package stack_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"moviequery/edge"
	"moviequery/internal/apikey"
	"moviequery/internal/postgres"
	"moviequery/internal/stack"
)

// dataDir is the movie data set beside the repository.
var dataDir = filepath.Join("..", "..", "..", "shared", "data", "wikipedia-movie-data")

// sampleMovie is a record of the data set as the test reads it, kept apart
// from the product's own model so the expectations are computed
// independently.
type sampleMovie struct {
	Title  string   `json:"title"`
	Year   int      `json:"year"`
	Cast   []string `json:"cast"`
	Genres []string `json:"genres"`
	Href   *string  `json:"href"`
}

// fold lower-cases, strips accents and collapses white space: the test's own
// reading of "case- and accent-insensitive".
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func identity(m sampleMovie) string {
	href := ""
	if m.Href != nil {
		href = *m.Href
	}
	lower := func(s string) string { return strings.ToLower(strings.TrimSpace(norm.NFC.String(s))) }
	return fmt.Sprintf("%s|%d|%s", lower(m.Title), m.Year, lower(href))
}

// env is a running region with a loaded sample and a query key.
type env struct {
	region *stack.Region
	key    string
	movies []sampleMovie // distinct by identity, as uploaded
}

func startRegion(t *testing.T) *stack.Region {
	t.Helper()
	return startRegionWith(t, func(*stack.RegionConfig) {})
}

// startRegionWith starts a region on a fresh database after letting adjust
// change its configuration.
func startRegionWith(t *testing.T, adjust func(*stack.RegionConfig)) *stack.Region {
	t.Helper()
	edgeConfig := edge.DefaultConfig()
	edgeConfig.DrainDelay = 0
	edgeConfig.KeyRefresh = 200 * time.Millisecond

	cfg := stack.RegionConfig{
		Name:        "us-east-1",
		DatabaseURL: postgres.SharedDatabase(t),
		Bucket:      "movie-updates",
		Queue:       "movie-updates",
		EdgePorts:   []int{0, 0},
		Edge:        edgeConfig,
	}
	adjust(&cfg)

	region, err := stack.StartRegion(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting region: %v", err)
	}
	t.Cleanup(func() { region.Close() })
	return region
}

func createKey(t *testing.T, region *stack.Region, scopes ...string) string {
	t.Helper()
	_, secret, err := region.Origin.Store().CreateKey(context.Background(), "test", scopes)
	if err != nil {
		t.Fatalf("creating key: %v", err)
	}
	waitForKey(t, region, secret)
	return secret
}

// waitForKey waits until every edge accepts the key: it answers 503 until
// it has loaded the key list, then 401 until the list has the key.
func waitForKey(t *testing.T, region *stack.Region, secret string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, edgeURL := range region.EdgeURLs {
		for status := 0; status == 0 || status == http.StatusUnauthorized || status == http.StatusServiceUnavailable; status = getStatus(t, edgeURL+"/v1/genres", secret) {
			if time.Now().After(deadline) {
				t.Fatalf("edge %s did not load the new key within 10 s", edgeURL)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// sample reads about four hundred records spread over the data set: every
// 120th record, every John Wayne film of the 1950s, and titles with
// accents. Records that repeat an identity are left out so each movie has
// exactly one update.
func sample(t *testing.T) []stack.Update {
	t.Helper()
	if _, err := os.Stat(dataDir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("data set not found at %s: CI runs need it", dataDir)
		}
		t.Skipf("data set not found at %s", dataDir)
	}

	all, err := stack.ReadSource(context.Background(), dataDir, "wikipedia")
	if err != nil {
		t.Fatalf("reading data set: %v", err)
	}

	seen := map[string]bool{}
	var picked []stack.Update
	for i, u := range all {
		var m sampleMovie
		if err := json.Unmarshal(u.Body, &m); err != nil {
			t.Fatalf("%s: %v", u.Key, err)
		}
		accented := fold(m.Title) != strings.ToLower(m.Title)
		wayne := m.Year >= 1950 && m.Year < 1960 && slices.Contains(m.Cast, "John Wayne")
		if (i%120 == 0 || accented && i%3 == 0 || wayne) && !seen[identity(m)] {
			seen[identity(m)] = true
			picked = append(picked, u)
		}
	}
	return picked
}

func loadSample(t *testing.T) env {
	t.Helper()
	updates := sample(t)
	region := startRegion(t)

	if err := stack.Upload(context.Background(), region.Clients.S3, region.Bucket, updates, 8, func() {}); err != nil {
		t.Fatalf("uploading: %v", err)
	}
	waitStored(t, region, len(updates))
	waitQueueEmpty(t, region) // every handled message was deleted

	movies := make([]sampleMovie, len(updates))
	for i, u := range updates {
		json.Unmarshal(u.Body, &movies[i])
	}
	return env{region: region, key: createKey(t, region, apikey.ScopeQuery), movies: movies}
}

type stats struct {
	LedgerEntries int64 `json:"ledger_entries"`
	Revisions     int64 `json:"revisions"`
	Quarantined   int64 `json:"quarantined"`
	Movies        int64 `json:"movies"`
}

func originStats(t *testing.T, region *stack.Region) stats {
	t.Helper()
	var s stats
	getJSON(t, region.OriginURL+"/internal/v1/stats", "", &s)
	return s
}

// waitStored waits until the origin's ledger holds n objects.
func waitStored(t *testing.T, region *stack.Region, n int) stats {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := originStats(t, region)
		if s.LedgerEntries >= int64(n) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("origin stored %d of %d objects within 60 s", s.LedgerEntries, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type moviePage struct {
	Movies     []apiMovie `json:"movies"`
	Total      int        `json:"total"`
	NextCursor *string    `json:"next_cursor"`
}

type apiMovie struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Year   int      `json:"year"`
	Cast   []string `json:"cast"`
	Genres []string `json:"genres"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Param   string `json:"param"`
	} `json:"error"`
}

func get(t *testing.T, target, key string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return resp, body
}

func getStatus(t *testing.T, target, key string) int {
	t.Helper()
	resp, _ := get(t, target, key)
	return resp.StatusCode
}

func getJSON(t *testing.T, target, key string, into any) *http.Response {
	t.Helper()
	resp, body := get(t, target, key)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d (%s), want 200", target, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: decoding %q: %v", target, body, err)
	}
	return resp
}

// searchAll walks every page of a search with the given page size.
func searchAll(t *testing.T, edgeURL, key, rawQuery string, limit int) ([]apiMovie, int) {
	t.Helper()
	var all []apiMovie
	values, _ := url.ParseQuery(rawQuery)
	values.Set("limit", fmt.Sprint(limit))

	total := -1
	for pages := 0; pages < 1000; pages++ {
		var page moviePage
		getJSON(t, edgeURL+"/v1/movies?"+values.Encode(), key, &page)
		if total >= 0 && page.Total != total {
			t.Fatalf("%s: total changed between pages: %d then %d", rawQuery, total, page.Total)
		}
		total = page.Total
		all = append(all, page.Movies...)
		if page.NextCursor == nil {
			return all, total
		}
		values.Set("cursor", *page.NextCursor)
	}
	t.Fatalf("%s: more than 1000 pages", rawQuery)
	return nil, 0
}

type expectation func(sampleMovie) bool

func expected(movies []sampleMovie, match expectation) []string {
	var want []string
	for _, m := range movies {
		if match(m) {
			want = append(want, fmt.Sprintf("%d %s", m.Year, m.Title))
		}
	}
	slices.SortFunc(want, func(a, b string) int { return cmp.Compare(sortKey(a), sortKey(b)) })
	return want
}

func sortKey(yearTitle string) string {
	year, title, _ := strings.Cut(yearTitle, " ")
	return year + " " + fold(title)
}

func got(movies []apiMovie) []string {
	out := make([]string, len(movies))
	for i, m := range movies {
		out[i] = fmt.Sprintf("%d %s", m.Year, m.Title)
	}
	return out
}

func anyFold(values []string, term string) bool {
	return slices.ContainsFunc(values, func(v string) bool { return fold(v) == fold(term) })
}
