package movie

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

func ptr(s string) *string { return &s }

func TestIdentityKeyFolding(t *testing.T) {
	tests := []struct {
		name string
		a, b Record
		same bool
	}{
		{"case and spaces", Record{Title: " The Thing ", Year: 1982, Href: ptr("The_Thing")}, Record{Title: "the thing", Year: 1982, Href: ptr("the_thing")}, true},
		{"composed and decomposed", Record{Title: "Les Mis\u00e9rables", Year: 2012}, Record{Title: "Les Mise\u0301rables", Year: 2012}, true},
		{"null and missing href", Record{Title: "Heat", Year: 1995, Href: nil}, Record{Title: "Heat", Year: 1995, Href: ptr("")}, true},
		{"accents kept apart", Record{Title: "Resume", Year: 2000}, Record{Title: "R\u00e9sum\u00e9", Year: 2000}, false},
		{"different href", Record{Title: "Heat", Year: 1995, Href: ptr("Heat_(1995_film)")}, Record{Title: "Heat", Year: 1995, Href: ptr("Heat_(1995_TV)")}, false},
		{"different year", Record{Title: "Heat", Year: 1995}, Record{Title: "Heat", Year: 1996}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ID(tt.a) == ID(tt.b)
			if got != tt.same {
				t.Errorf("same id for %q and %q: got %v, want %v", IdentityKey(tt.a), IdentityKey(tt.b), got, tt.same)
			}
		})
	}
}

func TestIDShape(t *testing.T) {
	id := ID(Record{Title: "Heat", Year: 1995})
	if !ValidID(id) {
		t.Fatalf("ValidID(%q) = false, want true", id)
	}
	for _, bad := range []string{"", "abc", id + "a", "ABCDEFGHIJKLMNOPQRSTUVWX", "../../etc/passwd"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true, want false", bad)
		}
	}
}

func TestFoldSearch(t *testing.T) {
	tests := map[string]string{
		"Les Mis\u00e9rables":                  "les miserables",
		"LES MISE\u0301RABLES":                 "les miserables",
		"  John   Wayne ":                      "john wayne",
		"Stra\u00dfe":                          "strasse",
		"100% _Pure_ *Love*":                   "100% _pure_ *love*",
		"'49\u2013'17":                         "'49\u2013'17",
		"Bj\u00f6rk\tGu\u00f0mundsd\u00f3ttir": "bjork gu\u00f0mundsdottir",
		"Star\u200bWars":                       "starwars",
		"\ufeffAlien":                          "alien",
		"Zo\u00eb\u00ad Salda\u00f1a":          "zoe saldana",
		"a \u200b b\u2060":                     "a b",
		"\u200e\u05e9\u05dc\u05d5\u05dd\u200f": "\u05e9\u05dc\u05d5\u05dd",
		"I \u2764\ufe0f NY":                    "i \u2764 ny",
		"\u200b":                               "",
	}
	for in, want := range tests {
		if got := FoldSearch(in); got != want {
			t.Errorf("FoldSearch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOrderCompare(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := Order{WrittenAt: t0, ObjectKey: "providers/a/1.json", ContentHash: [32]byte{1}}

	later := base
	later.WrittenAt = t0.Add(time.Second)
	greaterKey := base
	greaterKey.ObjectKey = "providers/b/1.json"
	greaterHash := base
	greaterHash.ContentHash = [32]byte{2}

	for name, other := range map[string]Order{"time": later, "key": greaterKey, "hash": greaterHash} {
		if got := base.Compare(other); got != -1 {
			t.Errorf("%s: base.Compare(other) = %d, want -1", name, got)
		}
		if got := other.Compare(base); got != 1 {
			t.Errorf("%s: other.Compare(base) = %d, want 1", name, got)
		}
	}
	if got := base.Compare(base); got != 0 {
		t.Errorf("base.Compare(base) = %d, want 0", got)
	}
}

// TestDataSetIdentities checks the identity rule on the real data set: it
// merges the same film listed twice and keeps apart films that share a title
// and year.
func TestDataSetIdentities(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "wikipedia-movie-data", "movies-*.json"))
	if len(files) == 0 {
		t.Skip("data set not found beside the repository")
	}

	records, ids := 0, map[string]bool{}
	for _, file := range files {
		for _, raw := range readArray(t, file) {
			record, err := Parse(raw)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			records++
			ids[ID(record)] = true
		}
	}

	if records != 36273 {
		t.Errorf("records: got %d, want 36273", records)
	}
	if len(ids) != 36254 {
		t.Errorf("distinct movies: got %d, want 36254", len(ids))
	}
}

func readArray(t *testing.T, file string) []json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return raws
}

// TestFoldASCIIAgreesWithTransformers checks the ASCII shortcut of
// FoldSearch against the Unicode transformers it skips.
func TestFoldASCIIAgreesWithTransformers(t *testing.T) {
	var all []byte
	for b := byte(0); b < utf8.RuneSelf; b++ {
		all = append(all, b)
	}
	folder := searchFolders.Get().(transform.Transformer)
	defer searchFolders.Put(folder)

	want, _, err := transform.String(folder, string(all))
	if err != nil {
		t.Fatal(err)
	}
	if got := foldText(string(all)); got != want {
		t.Errorf("foldText of the ASCII bytes = %q, the transformers give %q", got, want)
	}
}
