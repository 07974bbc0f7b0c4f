// Package tags names what a change to a movie touches, so that edges drop
// exactly the cached responses a change can affect. The origin lists the
// tags of every change in its change feed; an edge files each cached
// response under the tags it depends on. A response depends on a set of
// tags such that every movie it could list carries at least one of them, so
// a change to any movie it could list touches one of its tags.
package tags

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"moviequery/internal/movie"
	"moviequery/internal/query"
)

// Tags every change carries, and the tag of a purge of everything.
const (
	// AnyMovie is touched by every change to a movie: responses that any
	// movie could appear in depend on it.
	AnyMovie = "a"
	// Genres is touched when a movie's genres may have changed: the genre
	// list depends on it.
	Genres = "genres"
	// All is purged to drop every cached response.
	All = "*"
)

// Movie, Year, Genre, Cast and TitleGram name one value of a movie. Genre,
// cast and title values are folded with movie.FoldSearch.
func Movie(id string) string     { return "m:" + id }
func Year(year int) string       { return "y:" + strconv.Itoa(year) }
func Genre(folded string) string { return "g:" + folded }
func Cast(folded string) string  { return "c:" + folded }

// TitleGram names a run of GramLength characters of a folded title.
func TitleGram(gram string) string { return "t:" + gram }

// GramLength is the length in characters of the title runs that title
// tags name. A title term at least this long depends on one of its runs; a
// shorter one depends on AnyMovie.
const GramLength = 3

// Fields are the values of a movie that tags name, folded.
type Fields struct {
	ID     string
	Year   int
	Title  string
	Cast   []string
	Genres []string
}

// OfChange returns the sorted, distinct tags a change from old to new
// touches; old is nil for a new movie.
func OfChange(old *Fields, new Fields) []string {
	out := []string{AnyMovie}
	if old == nil || !slices.Equal(old.Genres, new.Genres) {
		out = append(out, Genres)
	}
	if old != nil {
		out = appendFields(out, *old)
	}
	out = appendFields(out, new)

	slices.Sort(out)
	return slices.Compact(out)
}

func appendFields(out []string, f Fields) []string {
	out = append(out, Movie(f.ID), Year(f.Year))
	for _, g := range f.Genres {
		out = append(out, Genre(g))
	}
	for _, c := range f.Cast {
		out = append(out, Cast(c))
	}
	for _, gram := range titleGrams(f.Title) {
		out = append(out, TitleGram(gram))
	}
	return out
}

// titleGrams returns every run of GramLength characters of a folded title.
func titleGrams(title string) []string {
	runes := []rune(title)
	var grams []string
	for i := 0; i+GramLength <= len(runes); i++ {
		grams = append(grams, string(runes[i:i+GramLength]))
	}
	return grams
}

// maxYearTags is the widest year range a search depends on year by year;
// a wider one depends on AnyMovie or another filter.
const maxYearTags = 12

// OfSearch returns the tags a search response depends on. Of the filters,
// the one that most likely matches fewest movies is used: every movie the
// search could list carries that filter's tag.
func OfSearch(q query.Query) []string {
	switch {
	case q.Cast != "":
		return []string{Cast(q.Cast)}
	case len([]rune(q.Title)) >= GramLength:
		return []string{TitleGram(middleGram(q.Title))}
	case q.YearFrom != 0 && q.YearFrom == q.YearTo:
		return []string{Year(q.YearFrom)}
	case q.Genre != "":
		return []string{Genre(q.Genre)}
	case q.YearFrom != 0 && q.YearTo != 0 && q.YearTo-q.YearFrom < maxYearTags:
		var out []string
		for y := q.YearFrom; y <= q.YearTo; y++ {
			out = append(out, Year(y))
		}
		return out
	}
	return []string{AnyMovie}
}

// middleGram picks one run of a title term. Any run will do, because a
// matching title contains all of them. One from the middle skips common
// word starts and endings such as "the" more often than the first would.
func middleGram(term string) string {
	grams := titleGrams(term)
	return grams[len(grams)/2]
}

// Hash maps a tag to the 64-bit value that announcements carry, with
// FNV-1a. Two tags that collide only make edges drop more than they must.
func Hash(tag string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(tag); i++ {
		h ^= uint64(tag[i])
		h *= prime
	}
	return h
}

// Normalize returns the tag s names in the form changes carry: genre,
// cast and title values folded with movie.FoldSearch, a year as a plain
// number. It returns an error saying what is wrong with any other string.
func Normalize(s string) (string, error) {
	switch s {
	case AnyMovie, Genres, All:
		return s, nil
	}

	prefix, value, ok := strings.Cut(s, ":")
	if !ok || value == "" {
		return "", fmt.Errorf("%q is not a cache tag; use m:<movie id>, y:<year>, g:<genre>, c:<cast member>, t:<three title characters>, a, genres or *", s)
	}
	switch prefix {
	case "m":
		if !movie.ValidID(value) {
			return "", fmt.Errorf("%q does not name a movie id after \"m:\"", s)
		}
		return Movie(value), nil
	case "y":
		year, err := strconv.Atoi(value)
		if len(value) != 4 || strings.Trim(value, "0123456789") != "" || err != nil || year < movie.MinYear || year > movie.MaxYear {
			return "", fmt.Errorf("%q does not name a year from %d to %d after \"y:\"", s, movie.MinYear, movie.MaxYear)
		}
		return Year(year), nil
	case "g", "c", "t":
		return foldedTag(prefix, value)
	}
	return "", fmt.Errorf("%q is not a cache tag; use m:<movie id>, y:<year>, g:<genre>, c:<cast member>, t:<three title characters>, a, genres or *", s)
}

func foldedTag(prefix, value string) (string, error) {
	if strings.IndexFunc(value, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%s:%q contains a control character; send printable text only", prefix, value)
	}
	folded := movie.FoldSearch(value)
	if folded == "" {
		return "", fmt.Errorf("%s:%q has no letters or digits to match", prefix, value)
	}
	if prefix == "t" && len([]rune(folded)) != GramLength {
		return "", fmt.Errorf("t:%q must be exactly %d characters of a title", value, GramLength)
	}
	return prefix + ":" + folded, nil
}

// OfMovie returns every tag of a movie's current values: its document and
// every search it could appear in depend on one of them.
func OfMovie(f Fields) []string {
	return OfChange(nil, f)
}
