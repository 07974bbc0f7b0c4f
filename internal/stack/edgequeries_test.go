package stack

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"moviequery/internal/movie"
	"moviequery/internal/query"
)

func TestQueryCorpusDistinct(t *testing.T) {
	records := []movie.Record{
		{Title: "The Great Train Robbery", Year: 1903, Cast: []string{"Gilbert M. Anderson"}, Genres: []string{"Western"}},
		{Title: "the great escape", Year: 1963, Cast: []string{"Steve McQueen", "James Garner"}, Genres: []string{"War", "western"}},
		{Title: "Amélie", Year: 2001, Cast: []string{"Audrey Tautou", "STEVE MCQUEEN"}, Genres: []string{"Comedy"}},
	}
	corpus := queryCorpus(slices.Values(records))

	seen := map[string]string{}
	for _, kind := range QueryKinds {
		if len(corpus[kind]) == 0 {
			t.Errorf("kind %s: no queries", kind)
		}
		for _, path := range corpus[kind] {
			key := canonical(t, path)
			if other, ok := seen[key]; ok {
				t.Errorf("%s and %s are the same query %q to the edge", other, path, key)
			}
			seen[key] = path
		}
	}
	if got, want := len(corpus["movie-id"]), 3; got != want {
		t.Errorf("movie ids: got %d, want %d", got, want)
	}
	if got, want := len(corpus["cast"]), 4; got != want {
		t.Errorf("cast queries: got %d, want %d (Steve McQueen once)", got, want)
	}
}

// canonical returns the edge's cache identity of a request path.
func canonical(t *testing.T, path string) string {
	t.Helper()
	route, rawQuery, _ := strings.Cut(path, "?")
	if route != "/v1/movies" {
		return route
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	q, err := query.Parse(values)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return q.Encode()
}

func TestInterleaveTakesEachKind(t *testing.T) {
	corpus := map[string][]string{"year": {"y1", "y2", "y3"}, "cast": {"c1"}, "movie-id": {"m1", "m2"}}
	got := strings.Join(interleave(corpus, 5), " ")
	if want := "y1 c1 m1 y2 m2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := len(interleave(corpus, 100)); got != 6 {
		t.Errorf("asking for more than there is: got %d paths, want all 6", got)
	}
}
