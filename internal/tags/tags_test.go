package tags

import (
	"slices"
	"strings"
	"testing"

	"moviequery/internal/query"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"g:Drama", "g:drama", ""},
		{"c:Penélope  CRUZ", "c:penelope cruz", ""},
		{"t:Lov", "t:lov", ""},
		{"y:1994", "y:1994", ""},
		{"a", "a", ""},
		{"*", "*", ""},
		{"genres", "genres", ""},
		{"y:abcd", "", "year"},
		{"y:1994 ", "", "year"},
		{"y:1800", "", "year"},
		{"y:01994", "", "year"},
		{"y:+1994", "", "year"},
		{"g:a\u0085b", "", "control character"},
		{"t:night", "", "exactly 3"},
		{"g:", "", "not a cache tag"},
		{"g:  ", "", "no letters"},
		{"q:1", "", "not a cache tag"},
		{"m:nope", "", "movie id"},
	} {
		got, err := Normalize(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("Normalize(%q): got %q, %v; want %q", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("Normalize(%q): got %q, %v; want an error about %q", c.in, got, err, c.err)
		}
	}
}

func TestOfSearchPicksOneFilter(t *testing.T) {
	for _, c := range []struct {
		q    query.Query
		want string
	}{
		{query.Query{Cast: "ada marsh", Genre: "drama", YearFrom: 1994, YearTo: 1994}, "c:ada marsh"},
		{query.Query{Title: "lighthouse", YearFrom: 1994, YearTo: 1994}, "t:tho"},
		{query.Query{Genre: "drama", YearFrom: 1994, YearTo: 1994}, "y:1994"},
		{query.Query{Genre: "drama", YearFrom: 1990, YearTo: 1999}, "g:drama"},
		{query.Query{YearFrom: 1990, YearTo: 1992}, "y:1990 y:1991 y:1992"},
		{query.Query{YearFrom: 1900, YearTo: 2000}, "a"},
		{query.Query{Title: "ab"}, "a"},
		{query.Query{}, "a"},
	} {
		if got := strings.Join(OfSearch(c.q), " "); got != c.want {
			t.Errorf("OfSearch(%+v): got %q, want %q", c.q, got, c.want)
		}
	}
}

func TestChangeTouchesEveryValue(t *testing.T) {
	old := Fields{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Year: 1994, Title: "the lighthouse", Cast: []string{"ada marsh"}, Genres: []string{"drama"}}
	moved := Fields{ID: old.ID, Year: 1995, Title: "the lighthouse", Cast: []string{"ben ford"}, Genres: []string{"drama"}}
	changed := OfChange(&old, moved)
	for _, tag := range []string{Cast("ada marsh"), Cast("ben ford"), TitleGram("tho"), Year(1994), Year(1995), Genre("drama"), AnyMovie, Movie(old.ID)} {
		if !slices.Contains(changed, tag) {
			t.Errorf("the change does not touch %q: %q", tag, changed)
		}
	}
	if slices.Contains(changed, Genres) {
		t.Errorf("the genres did not change, yet the change touches %q", Genres)
	}
}
