package stack

import (
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"moviequery/internal/movie"
)

// Query kinds of the edge benchmarks, in the order they are reported.
var QueryKinds = []string{"year", "year-range", "genre", "cast", "title", "combination", "movie-id"}

// queryCorpus lists, per query kind, request paths over the records that
// are distinct after the edge's normalization, so each is its own cache
// entry. Paths of one kind are ordered so that neighbours differ in their
// main value, not only in their page size.
func queryCorpus(records iter.Seq[movie.Record]) map[string][]string {
	values := collectValues(records)
	corpus := map[string][]string{}
	add := func(kind string, params ...string) {
		query := url.Values{}
		for i := 0; i+1 < len(params); i += 2 {
			query.Set(params[i], params[i+1])
		}
		corpus[kind] = append(corpus[kind], "/v1/movies?"+query.Encode())
	}

	// Year and genre have few values, so page sizes (limit 1 to 100)
	// multiply them into distinct responses.
	for limit := 1; limit <= 100; limit++ {
		for _, year := range values.years {
			add("year", "year", strconv.Itoa(year), "limit", strconv.Itoa(limit))
		}
		for _, genre := range values.genres {
			add("genre", "genre", genre, "limit", strconv.Itoa(limit))
		}
	}
	for span := 1; span < len(values.years); span++ {
		for i := 0; i+span < len(values.years); i++ {
			add("year-range", "year", fmt.Sprintf("%d-%d", values.years[i], values.years[i+span]))
		}
	}
	for _, name := range values.cast {
		add("cast", "cast", name)
	}
	for _, word := range values.titleWords {
		add("title", "title", word)
	}
	for _, c := range values.combinations {
		add("combination", c...)
	}
	for _, id := range values.ids {
		corpus["movie-id"] = append(corpus["movie-id"], "/v1/movies/"+id)
	}
	return corpus
}

// corpusValues are the distinct values of the records, each in the
// spelling of its first appearance, in the records' order.
type corpusValues struct {
	years        []int
	genres       []string
	cast         []string
	titleWords   []string
	combinations [][]string // parameter name and value pairs
	ids          []string
}

func collectValues(records iter.Seq[movie.Record]) corpusValues {
	var v corpusValues
	seen := map[string]bool{}
	first := func(kind, folded string) bool {
		key := kind + "\x00" + folded
		if seen[key] {
			return false
		}
		seen[key] = true
		return true
	}

	for r := range records {
		if first("year", strconv.Itoa(r.Year)) {
			v.years = append(v.years, r.Year)
		}
		if first("id", movie.ID(r)) {
			v.ids = append(v.ids, movie.ID(r))
		}
		for _, genre := range r.Genres {
			if first("genre", movie.FoldSearch(genre)) {
				v.genres = append(v.genres, genre)
			}
			if first("year+genre", strconv.Itoa(r.Year)+"\x00"+movie.FoldSearch(genre)) {
				v.combinations = append(v.combinations, []string{"year", strconv.Itoa(r.Year), "genre", genre})
			}
		}
		for _, name := range r.Cast {
			if first("cast", movie.FoldSearch(name)) {
				v.cast = append(v.cast, name)
			}
			if len(r.Genres) > 0 && first("cast+genre", movie.FoldSearch(name)+"\x00"+movie.FoldSearch(r.Genres[0])) {
				v.combinations = append(v.combinations, []string{"cast", name, "genre", r.Genres[0]})
			}
		}
		for _, word := range strings.Fields(r.Title) {
			word = strings.Trim(word, `.,:;!?"'()[]`)
			if len([]rune(word)) < 3 {
				continue
			}
			if first("title", movie.FoldSearch(word)) {
				v.titleWords = append(v.titleWords, word)
			}
			decade := r.Year / 10 * 10
			if first("decade+title", strconv.Itoa(decade)+"\x00"+movie.FoldSearch(word)) {
				v.combinations = append(v.combinations, []string{"year", fmt.Sprintf("%d-%d", decade, decade+9), "title", word})
			}
		}
	}
	slices.Sort(v.years)
	return v
}

// interleave takes paths from each kind in turn until n are taken or every
// kind is used up.
func interleave(corpus map[string][]string, n int) []string {
	var paths []string
	for i := 0; len(paths) < n; i++ {
		took := false
		for _, kind := range QueryKinds {
			if i < len(corpus[kind]) && len(paths) < n {
				paths = append(paths, corpus[kind][i])
				took = true
			}
		}
		if !took {
			break
		}
	}
	return paths
}

// parseRecords yields the updates that are valid movies.
func parseRecords(updates []Update) iter.Seq[movie.Record] {
	return func(yield func(movie.Record) bool) {
		for _, u := range updates {
			r, err := movie.Parse(u.Body)
			if err == nil && !yield(r) {
				return
			}
		}
	}
}
