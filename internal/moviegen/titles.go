package moviegen

import (
	"fmt"
	"strings"
)

// titleShapes are the shapes of generated titles with their relative
// weights, chosen so that the share of titles containing "the" and the mean
// title length (16 characters) come close to the real data set.
var titleShapes = []struct {
	weight float64
	build  func(g *Generator) string
}{
	{8, func(g *Generator) string { return "The " + g.noun() }},
	{11, func(g *Generator) string { return "The " + g.adjective() + " " + g.noun() }},
	{13, func(g *Generator) string { return g.adjective() + " " + g.noun() }},
	{12, func(g *Generator) string { return g.noun() + " " + g.connector() + " " + g.nounOrPlace() }},
	{5, func(g *Generator) string { return "The " + g.noun() + " " + g.connector() + " " + g.nounOrPlace() }},
	{7, func(g *Generator) string { return g.noun() }},
	{3, func(g *Generator) string { return places[g.rng.IntN(len(places))] }},
	{5, func(g *Generator) string { return firstNames[g.rng.IntN(len(firstNames))] + "'s " + g.noun() }},
	{6, func(g *Generator) string { return g.noun() + " " + g.noun() }},
	{6, func(g *Generator) string {
		return g.adjective() + " " + g.noun() + " " + g.connector() + " " + g.nounOrPlace()
	}},
	{4, func(g *Generator) string { return g.noun() + " " + sequel(g) }},
	{4, func(g *Generator) string { return g.noun() + ": " + g.adjective() + " " + g.noun() }},
	{2, func(g *Generator) string { return accented[g.rng.IntN(len(accented))] }},
	{3, func(g *Generator) string { return g.adjective() + " " + accented[g.rng.IntN(len(accented))] }},
	{5, func(g *Generator) string {
		return g.noun() + " " + g.connector() + " " + g.adjective() + " " + plural(g.noun())
	}},
	{3, func(g *Generator) string {
		return firstNames[g.rng.IntN(len(firstNames))] + " and the " + g.adjective() + " " + g.noun()
	}},
	{2, func(g *Generator) string { return fmt.Sprintf("%d %s", 2+g.rng.IntN(99), plural(g.noun())) }},
}

func (g *Generator) title() string {
	weights := make([]float64, len(titleShapes))
	for i, s := range titleShapes {
		weights[i] = s.weight
	}
	return titleShapes[g.pick(weights)].build(g)
}

func (g *Generator) noun() string {
	return nouns[g.nouns.Uint64()]
}

func (g *Generator) adjective() string {
	return adjectives[g.adjectives.Uint64()]
}

func (g *Generator) connector() string {
	return connectors[g.rng.IntN(len(connectors))]
}

// nounOrPlace returns the object of a connector: "the Hunter", "Hunters"
// or "Paris".
func (g *Generator) nounOrPlace() string {
	switch g.rng.IntN(8) {
	case 0, 1:
		return places[g.rng.IntN(len(places))]
	case 2:
		return plural(g.noun())
	}
	return "the " + g.noun()
}

func sequel(g *Generator) string {
	numerals := []string{"2", "3", "II", "III", "Part II", "Returns", "Forever"}
	return numerals[g.rng.IntN(len(numerals))]
}

func plural(noun string) string {
	switch {
	case strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ey"):
		return strings.TrimSuffix(noun, "y") + "ies"
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"):
		return noun + "es"
	case noun == "Man":
		return "Men"
	case noun == "Woman":
		return "Women"
	}
	return noun + "s"
}
