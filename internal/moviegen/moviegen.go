// Package moviegen generates synthetic movies in the format of the Wikipedia
// movie data set, with that set's skew, for load tests at sizes the real set
// does not reach. The same seed always yields the same movies in the same
// order.
//
// The shares follow the real set (36,273 movies). Drama is in 39% of movies
// and Comedy in 29%. Most movies have one to three genres and two or three
// cast members. The most frequent cast member has about 0.12% of all credits
// (0.14% in the real set), and "the" is in 42% of the titles (37% in the real
// set). Years run from 1900 to 2025 and grow more frequent towards the
// present.
package moviegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"moviequery/internal/movie"
)

// Years the generator draws from.
const (
	FirstYear = 1900
	LastYear  = 2025
)

const (
	// castPool is the number of distinct cast members. With the Zipf
	// parameters below, a million movies (seed 1) credit 305,000 of them,
	// and the most frequent appears in 4,072 movies.
	castPool  = 400_000
	castZipfS = 1.05
	castZipfV = 300

	// yearScale sets how fast movies grow more frequent: a year has
	// e^(1/yearScale) times the movies of the year before, so 2025 has
	// about 16 times the movies of 1900.
	yearScale = 45.0

	// maxCastDraws bounds the draws for one cast slot. A draw is retried
	// when the cast member was not active in the movie's year.
	maxCastDraws = 40
)

// genreWeights are the genres of the real data set with their number of
// movies there. Silent is handled apart because it belongs to early years.
var genreWeights = []struct {
	name   string
	weight float64
}{
	{"Drama", 14062}, {"Comedy", 10498}, {"Western", 4436}, {"Romance", 2857}, {"Crime", 2612},
	{"Action", 2241}, {"Thriller", 1998}, {"Musical", 1785}, {"Adventure", 1761}, {"Horror", 1758},
	{"War", 1694}, {"Science Fiction", 1169}, {"Mystery", 1163}, {"Noir", 1120}, {"Short", 1023},
	{"Animated", 897}, {"Fantasy", 777}, {"Biography", 753}, {"Historical", 567}, {"Documentary", 527},
	{"Sports", 459}, {"Family", 435}, {"Independent", 319}, {"Supernatural", 313}, {"Erotic", 240},
	{"Slasher", 231}, {"Superhero", 221}, {"Spy", 214}, {"Teen", 205}, {"Satire", 119},
	{"Suspense", 112}, {"Political", 110}, {"Martial Arts", 105}, {"Disaster", 85}, {"Legal", 56},
	{"Performance", 42}, {"Sport", 39}, {"Live Action", 35}, {"Dance", 34}, {"Found Footage", 25},
}

// Percentages of movies with 0, 1, 2, ... genres and cast members in the
// real data set.
var (
	genreCounts = []float64{1.6, 39, 42.9, 14.1, 2.2, 0.2}
	castCounts  = []float64{2.4, 3.8, 37.4, 33.9, 5.7, 3.7, 3.2, 2.1, 1.5, 1.1, 0.8, 0.6, 0.5, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.1, 0.1}
)

// Generator produces movies one after another. It is not safe for
// concurrent use.
type Generator struct {
	rng        *rand.Rand
	years      []float64 // cumulative weights of FirstYear..LastYear
	cast       *rand.Zipf
	nouns      *rand.Zipf
	adjectives *rand.Zipf
	next       int // sequence number of the next movie, part of its href
}

// New returns a generator whose movies depend only on seed.
func New(seed uint64) *Generator {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Generator{
		rng:        rng,
		cast:       rand.NewZipf(rng, castZipfS, castZipfV, castPool-1),
		nouns:      rand.NewZipf(rng, 1.1, 25, uint64(len(nouns)-1)),
		adjectives: rand.NewZipf(rng, 1.1, 10, uint64(len(adjectives)-1)),
	}

	total := 0.0
	for y := FirstYear; y <= LastYear; y++ {
		total += math.Exp(float64(y-FirstYear) / yearScale)
		g.years = append(g.years, total)
	}
	return g
}

// Next returns the next movie. Every movie has a distinct href, so no two
// generated movies share an id even when their titles and years match.
func (g *Generator) Next() movie.Record {
	n := g.next
	g.next++

	year := g.year()
	title := g.title()
	genres := g.genres(year)
	cast := g.castOf(year)

	href := fmt.Sprintf("%s_(%d_film_%d)", strings.ReplaceAll(title, " ", "_"), year, n)
	return movie.Record{
		Title:   title,
		Year:    year,
		Cast:    cast,
		Genres:  genres,
		Href:    &href,
		Extract: extract(title, year, genres, cast),
	}
}

func (g *Generator) year() int {
	x := g.rng.Float64() * g.years[len(g.years)-1]
	return FirstYear + sort.SearchFloat64s(g.years, x)
}

// pick returns an index drawn with the given relative weights.
func (g *Generator) pick(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := g.rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// genres draws the movie's genres without repeats. Silent films are the
// third most frequent genre of the real set, all of them from before sound,
// so Silent goes to most movies before 1930 and to none after.
func (g *Generator) genres(year int) []string {
	n := g.pick(genreCounts)
	genres := make([]string, 0, n)
	if year < 1930 && n > 0 && g.rng.Float64() < 0.7 {
		genres = append(genres, "Silent")
	}

	weights := make([]float64, len(genreWeights))
	for i, gw := range genreWeights {
		weights[i] = gw.weight
	}
	for len(genres) < n {
		i := g.pick(weights)
		genres = append(genres, genreWeights[i].name)
		weights[i] = 0
	}
	return genres
}

// castOf draws the cast. Each cast member has a career of 15 to 60 years,
// as real actors do, and is credited only in movies of those years. A
// member drawn outside their career is drawn again, up to maxCastDraws times.
func (g *Generator) castOf(year int) []string {
	n := g.pick(castCounts)
	cast := make([]string, 0, n)
	seen := make(map[uint64]bool, n)
	for len(cast) < n {
		rank := g.castRank(year)
		if seen[rank] {
			continue
		}
		seen[rank] = true
		cast = append(cast, CastName(int(rank)))
	}
	return cast
}

func (g *Generator) castRank(year int) uint64 {
	var rank uint64
	for range maxCastDraws {
		rank = g.cast.Uint64()
		if active(rank, year) {
			break
		}
	}
	return rank
}

// active reports whether the cast member of a rank works in a year.
func active(rank uint64, year int) bool {
	h := mix(rank)
	start := 1885 + int(h%135)
	length := 15 + int((h>>20)%46)
	return year >= start && year <= start+length
}

// mix is the SplitMix64 finalizer: a fixed bijection that spreads
// consecutive ranks over unrelated values.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// surnames are the distinct surnames built from three parts. Some part
// combinations spell the same surname ("Ros"+"wood"+"" and "Ros"+""+"wood"),
// so the list is deduplicated.
var surnames = func() []string {
	seen := map[string]bool{}
	var list []string
	for _, end := range surnameEnds {
		for _, middle := range surnameMiddles {
			for _, start := range surnameStarts {
				if s := start + middle + end; !seen[s] {
					seen[s] = true
					list = append(list, s)
				}
			}
		}
	}
	return list
}()

// CastName returns the name of the cast member of a rank, where rank 0 is
// the most frequent. Distinct ranks below 400,000 have distinct names.
func CastName(rank int) string {
	space := len(firstNames) * len(surnames)

	// 1,000,003 is prime and does not divide space, so the mapping is a
	// bijection that scatters neighboring ranks over the name space.
	idx := (rank*1_000_003 + 12_345) % space
	return firstNames[idx%len(firstNames)] + " " + surnames[idx/len(firstNames)]
}

func extract(title string, year int, genres, cast []string) string {
	kind := "drama"
	if len(genres) > 0 {
		kind = strings.ToLower(genres[0])
	}
	s := fmt.Sprintf("%s is a %d American %s film", title, year, kind)
	switch {
	case len(cast) >= 2:
		s += fmt.Sprintf(" starring %s and %s", cast[0], cast[1])
	case len(cast) == 1:
		s += " starring " + cast[0]
	}
	return s + "."
}
