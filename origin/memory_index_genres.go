package origin

import (
	"slices"
	"strings"

	"moviequery/internal/movie"
)

// genreSpellings keeps, for the genre list, the spellings the movies give
// each genre: a genre filter value matches several spellings ("Sci-Fi",
// "sci-fi"), and the list shows the first of them in sort order.
type genreSpellings struct {
	numbers map[string]uint32
	names   []string         // by spelling number
	genre   []uint32         // the genre term number of each spelling
	counts  []map[uint32]int // by genre term number: movies per spelling
}

// spellingNumber returns the number of a spelling, giving it one, with the genre
// it folds to, if it has none.
func (ix *memoryIndex) spellingNumber(spelling string) uint32 {
	gs := &ix.spellings
	n, ok := gs.numbers[spelling]
	if ok {
		return n
	}
	if gs.numbers == nil {
		gs.numbers = map[string]uint32{}
	}
	n = uint32(len(gs.names))
	gs.numbers[spelling] = n
	gs.names = append(gs.names, spelling)
	gs.genre = append(gs.genre, ix.genres.number(movie.FoldSearch(spelling)))
	return n
}

// addSpellings records a movie's genre spellings and returns their span.
func (ix *memoryIndex) addSpellings(spellings []string) termSpan {
	span := termSpan{start: uint32(len(ix.terms)), length: uint32(len(spellings))}
	for _, s := range spellings {
		n := ix.spellingNumber(s)
		ix.terms = append(ix.terms, n)
		ix.countSpelling(n, 1)
	}
	return span
}

// removeSpellings removes a movie's genre spellings from the counts.
func (ix *memoryIndex) removeSpellings(span termSpan) {
	for _, n := range ix.termsOf(span) {
		ix.countSpelling(n, -1)
	}
}

func (ix *memoryIndex) countSpelling(n uint32, delta int) {
	gs := &ix.spellings
	g := gs.genre[n]
	for len(gs.counts) <= int(g) {
		gs.counts = append(gs.counts, map[uint32]int{})
	}
	gs.counts[g][n] += delta
	if gs.counts[g][n] == 0 {
		delete(gs.counts[g], n)
	}
}

func (ix *memoryIndex) sameSpellings(span termSpan, spellings []string) bool {
	numbers := ix.termsOf(span)
	if len(numbers) != len(spellings) {
		return false
	}
	for i, s := range spellings {
		if n, ok := ix.spellings.numbers[s]; !ok || n != numbers[i] {
			return false
		}
	}
	return true
}

// genreList returns every genre some movie has, named by its first
// spelling in sort order, with its number of movies, in name order.
func (ix *memoryIndex) genreList() []Genre {
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	genres := []Genre{}
	for g, counts := range ix.spellings.counts {
		if len(counts) == 0 {
			continue
		}
		var names []string
		for n := range counts {
			names = append(names, ix.spellings.names[n])
		}
		movies := ix.genres.cardinality(uint32(g))
		genres = append(genres, Genre{Name: slices.Min(names), Movies: int64(movies)})
	}
	slices.SortFunc(genres, func(a, b Genre) int { return strings.Compare(a.Name, b.Name) })
	return genres
}

// genreNames returns the distinct spellings of a movie's genres, without
// surrounding spaces, leaving out those that fold to nothing.
func genreNames(raw []string) []string {
	var names []string
	for _, g := range raw {
		if name := strings.Trim(g, " "); movie.FoldSearch(name) != "" {
			names = append(names, name)
		}
	}
	return sortedSet(names)
}
