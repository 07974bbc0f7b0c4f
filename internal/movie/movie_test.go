package movie

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	raw := `{"title":"Heat","year":1995,"cast":["Al Pacino"],"href":null,"extra":"ignored"}`
	got, err := Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.Title != "Heat" || got.Year != 1995 || got.Href != nil {
		t.Errorf("got %+v, want Heat 1995 with a nil href", got)
	}
	if got.Genres == nil || len(got.Genres) != 0 {
		t.Errorf("genres: got %#v, want an empty non-nil slice", got.Genres)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, raw, reason string
	}{
		{"not json", `hello`, "not a JSON object"},
		{"array", `[{"title":"Heat","year":1995}]`, "not a JSON object"},
		{"byte-order mark", "\xef\xbb\xbf{\"title\":\"Heat\",\"year\":1995}", "byte-order mark"},
		{"invalid utf-8", "{\"title\":\"H\xffat\",\"year\":1995}", "not valid UTF-8"},
		{"year as string", `{"title":"Heat","year":"1995"}`, `field "year" has a JSON string`},
		{"year as fraction", `{"title":"Heat","year":1995.5}`, `field "year"`},
		{"missing title", `{"year":1995}`, `"title" is missing`},
		{"empty title", `{"title":"  ","year":1995}`, `"title" is empty`},
		{"missing year", `{"title":"Heat"}`, `"year" is missing`},
		{"year out of range", `{"title":"Heat","year":3000}`, "outside"},
		{"cast entry not a string", `{"title":"Heat","year":1995,"cast":[1]}`, `field "cast`},
		{"NUL in a cast name", `{"title":"Heat","year":1995,"cast":["Al\u0000Pacino"]}`, "NUL character"},
		{"two objects", `{"title":"Heat","year":1995} {}`, "more JSON"},
		{"truncated", `{"title":"Heat","year":`, "not valid JSON"},
		{"too large", `{"title":"` + strings.Repeat("x", MaxRecordBytes) + `","year":1995}`, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.raw))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error: got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("reason: got %q, want it to contain %q", err, tt.reason)
			}
		})
	}
}
