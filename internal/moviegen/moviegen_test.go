package moviegen

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"moviequery/internal/movie"
	"moviequery/internal/stack"
)

func TestSameSeedSameMovies(t *testing.T) {
	a, b, other := New(1), New(1), New(2)
	differ := 0
	for i := range 1000 {
		ra, rb, ro := a.Next(), b.Next(), other.Next()
		if diff := gocmp.Diff(ra, rb); diff != "" {
			t.Fatalf("movie %d differs between two generators of seed 1 (-first +second):\n%s", i, diff)
		}
		if ra.Title != ro.Title || ra.Year != ro.Year {
			differ++
		}
	}
	if differ < 900 {
		t.Errorf("seeds 1 and 2: %d of 1000 movies differ in title or year, want most", differ)
	}
}

func TestMoviesAreValidAndDistinct(t *testing.T) {
	ids := map[string]bool{}
	for key, body := range Objects("gen", 1, 5000) {
		r, err := movie.Parse(body)
		if err != nil {
			t.Fatalf("movie %s is invalid: %v", key, err)
		}
		if r.Year < FirstYear || r.Year > LastYear {
			t.Errorf("movie %s: year %d outside %d..%d", key, r.Year, FirstYear, LastYear)
		}
		id := movie.ID(r)
		if ids[id] {
			t.Errorf("movie %s: id %s repeats an earlier movie's", key, id)
		}
		ids[id] = true
	}
}

// TestSkewResemblesRealData checks the shares the package documentation
// promises, on 50,000 movies.
func TestSkewResemblesRealData(t *testing.T) {
	const n = 50_000
	g := New(3)
	genres, titles, cast := map[string]int{}, map[string]int{}, map[string]int{}
	accented, recent := 0, 0
	for range n {
		r := g.Next()
		for _, name := range movie.FoldSearchAll(r.Genres) {
			genres[name]++
		}
		for _, name := range movie.FoldSearchAll(r.Cast) {
			cast[name]++
		}
		title := movie.FoldSearch(r.Title)
		for _, term := range []string{"the", "love"} {
			if strings.Contains(title, term) {
				titles[term]++
			}
		}
		if title != strings.ToLower(r.Title) {
			accented++
		}
		if r.Year >= 1963 {
			recent++
		}
	}

	share := func(count int) float64 { return float64(count) / n }
	checks := []struct {
		name          string
		got, low, top float64
	}{
		{"movies with genre drama", share(genres["drama"]), 0.34, 0.44},
		{"movies with genre comedy", share(genres["comedy"]), 0.24, 0.34},
		{"titles containing the", share(titles["the"]), 0.30, 0.48},
		{"titles containing love", share(titles["love"]), 0.01, 0.04},
		{"titles with accents", share(accented), 0.01, 0.10},
		{"movies from 1963 on", share(recent), 0.6, 0.9},
		{"distinct genres", float64(len(genres)), 38, 41},
	}
	for _, c := range checks {
		if c.got < c.low || c.got > c.top {
			t.Errorf("%s: got %.3f, want %.3f..%.3f", c.name, c.got, c.low, c.top)
		}
	}

	counts := slices.Sorted(func(yield func(int) bool) {
		for _, c := range cast {
			if !yield(c) {
				return
			}
		}
	})
	if top, median := counts[len(counts)-1], counts[len(counts)/2]; top < 50*median {
		t.Errorf("cast skew: the most frequent cast member has %d movies and the median %d, want at least 50 times the median", top, median)
	}
}

func TestCastNamesDistinct(t *testing.T) {
	seen := make(map[string]int, castPool)
	for rank := range castPool {
		name := CastName(rank)
		if other, ok := seen[name]; ok {
			t.Fatalf("ranks %d and %d share the name %q", other, rank, name)
		}
		seen[name] = rank
	}
}

func TestWordListsHaveNoRepeats(t *testing.T) {
	lists := map[string][]string{
		"nouns": nouns, "adjectives": adjectives, "places": places, "accented": accented,
		"firstNames": firstNames, "surnameStarts": surnameStarts, "surnameMiddles": surnameMiddles, "surnameEnds": surnameEnds,
	}
	for name, list := range lists {
		seen := map[string]bool{}
		for _, w := range list {
			if seen[w] {
				t.Errorf("%s lists %q twice", name, w)
			}
			seen[w] = true
		}
	}
}

// TestFilesReadBackWithSameKeys writes files and reads them with the local
// stack's reader, which must see the objects Objects yields.
func TestFilesReadBackWithSameKeys(t *testing.T) {
	dir := t.TempDir()
	const n = PerFile + 25
	if err := WriteFiles(dir, 5, n); err != nil {
		t.Fatal(err)
	}
	updates, err := stack.ReadSource(context.Background(), dir, "gen")
	if err != nil {
		t.Fatal(err)
	}
	if len(updates) != n {
		t.Fatalf("read %d movies back, want %d", len(updates), n)
	}

	i := 0
	for key, body := range Objects("gen", 5, n) {
		u := updates[i]
		if u.Key != key {
			t.Errorf("movie %d: file key %q, object key %q", i, u.Key, key)
		}
		var fromFile, generated movie.Record
		json.Unmarshal(u.Body, &fromFile)
		json.Unmarshal(body, &generated)
		if diff := gocmp.Diff(generated, fromFile); diff != "" {
			t.Errorf("movie %d differs between file and Objects (-generated +file):\n%s", i, diff)
		}
		i++
	}
}
