package query

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"moviequery/internal/movie"
)

func mustParse(t *testing.T, raw string) Query {
	t.Helper()
	values, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("url.ParseQuery(%q): %v", raw, err)
	}
	q, err := Parse(values)
	if err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	return q
}

func TestParseCanonicalForm(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", "limit=20"},
		{"year=1994", "year=1994&limit=20"},
		{"year=1990-1999", "year=1990-1999&limit=20"},
		{"year=1990-", "year=1990-&limit=20"},
		{"year=-1999&limit=5", "year=-1999&limit=5"},
		{"year=1994-1994", "year=1994&limit=20"},
		{"year=1990+-+1999", "year=1990-1999&limit=20"},
		{"genre=DRAMA&year=1994", "year=1994&genre=drama&limit=20"},
		{"title=Les+Mis%C3%A9rables", "title=les+miserables&limit=20"},
		{"title=Les+Mise%CC%81rables", "title=les+miserables&limit=20"},
		{"title=%EF%BB%BFStar%E2%80%8BWars%C2%AD", "title=starwars&limit=20"},
		{"cast=%20John%20%20WAYNE%20", "cast=john+wayne&limit=20"},
		{"title=100%25+_x_*", "title=100%25+_x_%2A&limit=20"},
		{"title=a%2Bb", "title=a%2Bb&limit=20"},
		{"title=a+b", "title=a+b&limit=20"},
		{"title=AC%2FDC", "title=ac%2Fdc&limit=20"},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.raw).Encode(); got != tt.want {
			t.Errorf("Parse(%q).Encode() = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ raw, param string }{
		{"year=abc", "year"},
		{"year=1800", "year"},
		{"year=1999-1990", "year"},
		{"year=-", "year"},
		{"year=1994.5", "year"},
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"limit=+5", "limit"},
		{"limit=010", "limit"},
		{"limit=%205", "limit"},
		{"limit=", "limit"},
		{"limit=99999999999999999999", "limit"},
		{"genre=drama&genre=comedy", "genre"},
		{"title=", "title"},
		{"colour=red", "colour"},
		{"=1994", ""},
		{"year=1990--1999", "year"},
		{"year=%2B1990", "year"},
		{"year=01990", "year"},
		{"cursor=abc", "cursor"},
		{"cast=" + string(make([]byte, 201)), "cast"},
		{"cast=%CC%81", "cast"},
		{"title=%E2%80%8B", "title"},
		{"genre=%EF%BB%BF", "genre"},
		{"title=%CC%81%CC%81&year=1994", "title"},
		{"year=%091994", "year"},
		{"year=1994%0A", "year"},
		{"year=1990%09-%091991", "year"},
		{"year=%C2%A01994", "year"},
	}
	for _, tt := range tests {
		values, _ := url.ParseQuery(tt.raw)
		_, err := Parse(values)

		var paramErr *Error
		if !errors.As(err, &paramErr) {
			t.Errorf("Parse(%q) error: got %v, want *Error", tt.raw, err)
			continue
		}
		if paramErr.Param != tt.param {
			t.Errorf("Parse(%q) param: got %q, want %q", tt.raw, paramErr.Param, tt.param)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	q := mustParse(t, "genre=drama&limit=5")
	id := movie.ID(movie.Record{Title: "Heat", Year: 1995})
	q.After = &Cursor{Year: 1995, Title: "heat", ID: id}

	again := mustParse(t, q.Encode())
	if again.After == nil || *again.After != *q.After {
		t.Fatalf("cursor after round trip: got %+v, want %+v", again.After, q.After)
	}
	if again.Encode() != q.Encode() {
		t.Errorf("Encode after round trip: got %q, want %q", again.Encode(), q.Encode())
	}
}

func TestCursorYearOutOfRange(t *testing.T) {
	q := Query{Genre: "drama", Limit: 20}
	id := movie.ID(movie.Record{Title: "Heat", Year: 1995})
	raw := Cursor{Year: 99999, Title: "heat", ID: id}.Encode(q.Fingerprint())

	if _, err := DecodeCursor(raw, q.Fingerprint()); err == nil {
		t.Error("a cursor with year 99999: got no error, want it rejected")
	}
}

func TestCursorWithUnknownField(t *testing.T) {
	q := Query{Genre: "drama", Limit: 20}
	id := movie.ID(movie.Record{Title: "Heat", Year: 1995})
	raw := Cursor{Year: 1995, Title: "heat", ID: id}.Encode(q.Fingerprint())
	data, _ := base64.RawURLEncoding.DecodeString(raw)
	edited := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(data), "{", `{"x":1,`, 1)))

	if _, err := DecodeCursor(edited, q.Fingerprint()); err == nil {
		t.Error("a cursor with an added field: got no error, want it rejected")
	}
}

func TestCursorOutsideYearFilter(t *testing.T) {
	q := mustParse(t, "year=1990-1991")
	id := movie.ID(movie.Record{Title: "Heat", Year: 1995})
	raw := Cursor{Year: 2005, Title: "heat", ID: id}.Encode(q.Fingerprint())

	_, err := Parse(url.Values{"year": {"1990-1991"}, "cursor": {raw}})
	if err == nil || !strings.Contains(err.Error(), "outside the year filter") {
		t.Errorf("cursor of 2005 with year=1990-1991: got %v, want it rejected", err)
	}
}

func TestCursorBoundToFilters(t *testing.T) {
	q := mustParse(t, "genre=drama")
	id := movie.ID(movie.Record{Title: "Heat", Year: 1995})
	cursor := Cursor{Year: 1995, Title: "heat", ID: id}.Encode(q.Fingerprint())

	values := url.Values{"genre": {"comedy"}, "cursor": {cursor}}
	if _, err := Parse(values); err == nil {
		t.Fatal("Parse with a cursor of other filters: got nil error, want one")
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{"year=1994&title=love", "year=1990-&cast=John+Wayne&limit=5", "genre=%C3%A9", "cursor=eyJ2IjoxfQ"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := Parse(values)
		if err != nil {
			return
		}

		canonical := q.Encode()
		again := mustParse(t, canonical)
		if again.Encode() != canonical {
			t.Errorf("canonical form not stable: %q then %q", canonical, again.Encode())
		}
	})
}

func TestParseAcceptsSpacesAroundYear(t *testing.T) {
	q := mustParse(t, "year=+1990+-+1999+")
	if q.YearFrom != 1990 || q.YearTo != 1999 {
		t.Errorf("year range: got %d..%d, want 1990..1999", q.YearFrom, q.YearTo)
	}
}

func TestUnknownParamNameClipped(t *testing.T) {
	values := url.Values{strings.Repeat("x", 5000): {"1"}}
	_, err := Parse(values)

	var paramErr *Error
	if !errors.As(err, &paramErr) {
		t.Fatalf("error: got %v, want *Error", err)
	}
	if len(paramErr.Param) > 100 {
		t.Errorf("param: got %d bytes, want the name clipped", len(paramErr.Param))
	}
}

func TestTermLengthCountsComposedCharacters(t *testing.T) {
	decomposed := strings.Repeat("e\u0301", maxTermRunes)
	if _, err := Parse(url.Values{"title": {decomposed}}); err != nil {
		t.Errorf("200 decomposed characters: got %v, want them accepted like 200 composed ones", err)
	}

	// U+0958 stays decomposed in NFC, as two code points.
	if _, err := Parse(url.Values{"title": {strings.Repeat("\u0958", maxTermRunes)}}); err != nil {
		t.Errorf("200 letters that NFC decomposes: got %v, want them accepted", err)
	}
	if _, err := Parse(url.Values{"cast": {strings.Repeat("a", maxTermRunes) + "\u200b"}}); err != nil {
		t.Errorf("200 letters and a zero-width space: got %v, want them accepted", err)
	}

	hangul := norm.NFD.String(strings.Repeat("\uac00", maxTermRunes))
	if _, err := Parse(url.Values{"genre": {hangul}}); err != nil {
		t.Errorf("200 Hangul syllables written as jamo: got %v, want them accepted", err)
	}

	_, err := Parse(url.Values{"title": {strings.Repeat("a", maxTermRunes+1) + strings.Repeat("\u034f", 30)}})
	if want := "is 201 characters long"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("201 letters and 30 joiners: got %v, want an error that says %q", err, want)
	}
}

// TestFoldedTermsPassTheOrigin checks that a term the edge accepts, which
// case folding makes longer, is accepted again in the folded form the edge
// sends to the origin.
func TestFoldedTermsPassTheOrigin(t *testing.T) {
	for _, term := range []string{strings.Repeat("\u00df", maxTermRunes), strings.Repeat("\ufb03", maxTermRunes)} {
		q, err := Parse(url.Values{"cast": {term}})
		if err != nil {
			t.Fatalf("%q at the edge: %v", term[:6], err)
		}
		encoded, _ := url.ParseQuery(q.Encode())
		if _, err := ParseFolded(encoded); err != nil {
			t.Errorf("%q folded, at the origin: %v", term[:6], err)
		}
	}
	if _, err := ParseFolded(url.Values{"cast": {strings.Repeat("a", maxFoldExpansion*maxTermRunes+1)}}); err == nil {
		t.Errorf("a folded term of %d letters: got no error, want one", maxFoldExpansion*maxTermRunes+1)
	}
}

func TestParseRejectsUnsafeText(t *testing.T) {
	for _, raw := range []string{"title=a%00b", "cast=%FF", "genre=drama%0A"} {
		values, _ := url.ParseQuery(raw)
		if _, err := Parse(values); err == nil {
			t.Errorf("Parse(%q): got nil error, want one", raw)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	q := Query{Genre: "drama", Limit: 20}
	id := movie.ID(movie.Record{Title: "Heat", Year: 1995})
	f.Add(Cursor{Year: 1995, Title: "heat", ID: id}.Encode(q.Fingerprint()))
	f.Add("")
	f.Add("eyJ2IjoxfQ")
	f.Fuzz(func(t *testing.T, raw string) {
		cursor, err := DecodeCursor(raw, q.Fingerprint())
		if err != nil {
			return
		}
		if !movie.ValidID(cursor.ID) {
			t.Errorf("DecodeCursor(%q) accepted id %q", raw, cursor.ID)
		}
		if cursor.Year < movie.MinYear || cursor.Year > movie.MaxYear {
			t.Errorf("DecodeCursor(%q) accepted year %d", raw, cursor.Year)
		}
		again, err := DecodeCursor(cursor.Encode(q.Fingerprint()), q.Fingerprint())
		if err != nil || again != cursor {
			t.Errorf("cursor %+v does not survive a round trip: got %+v, %v", cursor, again, err)
		}
	})
}

// TestParseMessages checks the wording a client sees for values that are
// easy to misreport.
func TestParseMessages(t *testing.T) {
	tests := map[string]string{
		"title=%C2%85":                      `parameter "title": contains a control character`,
		"cast=%09":                          `parameter "cast": contains a control character`,
		"title=%20%20":                      `parameter "title": is empty`,
		"=5":                                `a parameter has no name`,
		"limit=010":                         `parameter "limit": "010" is not allowed (it has a leading zero)`,
		"limit=%2B5":                        `parameter "limit": "+5" is not allowed (it has a sign)`,
		"limit=%205":                        `parameter "limit": " 5" is not allowed (it has spaces)`,
		"limit=5%0A":                        `parameter "limit": "5\n" is not allowed (it has a control character)`,
		"genre=%CC%81":                      `parameter "genre": has no letters, digits or symbols, only accents or invisible characters`,
		"limit=" + strings.Repeat("9", 100): `parameter "limit": "` + strings.Repeat("9", 64) + `…" is not allowed`,
	}
	for raw, want := range tests {
		values, _ := url.ParseQuery(raw)
		_, err := Parse(values)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%q) error: got %v, want one starting %q", raw, err, want)
		}
	}
}
