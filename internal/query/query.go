// Package query parses and normalizes the movie search parameters of the
// public API. The edge uses the normalized form as its cache key and forwards
// it to the origin, which parses it again with the same rules before running
// it, so both sides agree on what a query means.
package query

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"moviequery/internal/movie"
)

// Page sizes of GET /v1/movies.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// maxTermRunes bounds a title, cast or genre term. The longest title of the
// data set is under 200 characters.
const maxTermRunes = 200

// Query is a validated movie search. Text terms are already folded with
// movie.FoldSearch; an empty term matches everything. YearFrom and YearTo are
// inclusive, and 0 leaves that side open.
type Query struct {
	YearFrom int
	YearTo   int
	Title    string
	Cast     string
	Genre    string
	Limit    int
	After    *Cursor
}

// Error is a rejected parameter. It names the parameter and says what is
// allowed, for the 400 answer.
type Error struct {
	Param   string
	Message string
}

func (e *Error) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return fmt.Sprintf("parameter %q: %s", e.Param, e.Message)
}

func paramError(param, format string, args ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, args...)}
}

var knownParams = map[string]bool{"year": true, "title": true, "cast": true, "genre": true, "limit": true, "cursor": true}

// Parse validates the parameters of GET /v1/movies. Every parameter may
// appear at most once; unknown parameters are rejected so a misspelt filter
// never silently matches everything. The returned error is an *Error.
func Parse(values url.Values) (Query, error) {
	return parse(values, maxTermRunes)
}

// ParseFolded is Parse for a query that Parse has checked and Encode has
// written, as an edge sends it to the origin. Its terms are folded
// already, and full case folding writes some characters as two or three
// (ß as ss), so a term may be up to three times as long.
func ParseFolded(values url.Values) (Query, error) {
	return parse(values, maxFoldExpansion*maxTermRunes)
}

// maxFoldExpansion is the most characters that Unicode's full case folding
// writes for one character (ﬃ folds to ffi).
const maxFoldExpansion = 3

func parse(values url.Values, maxTerm int) (Query, error) {
	if err := checkParams(values); err != nil {
		return Query{}, err
	}

	q := Query{Limit: DefaultLimit}
	parseTerms := func(values url.Values) error { return q.parseTerms(values, maxTerm) }
	steps := []func(url.Values) error{q.parseYear, parseTerms, q.parseLimit, q.parseCursor}
	for _, step := range steps {
		if err := step(values); err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

func checkParams(values url.Values) error {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)

	for _, name := range names {
		if name == "" {
			return paramError(name, "a parameter has no name (the query string has \"=value\"); use year, title, cast, genre, limit or cursor")
		}
		if !knownParams[name] {
			return paramError(clip(name), "unknown parameter; use year, title, cast, genre, limit or cursor")
		}
		if len(values[name]) > 1 {
			return paramError(name, "given %d times; give it at most once", len(values[name]))
		}
		// A value of white space alone is empty, unless that space is a
		// control character such as U+0085, which its own check reports.
		if value := values.Get(name); strings.TrimSpace(value) == "" && strings.IndexFunc(value, unicode.IsControl) < 0 {
			return paramError(name, "is empty or only white space; %s", emptyHint(name))
		}
	}
	return nil
}

// clip shortens a value that an error message repeats to 64 characters,
// so a long mistake does not make a long response.
func clip(s string) string {
	const maxRunes = 64
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	return string([]rune(s)[:maxRunes]) + "…"
}

func emptyHint(name string) string {
	switch name {
	case "cursor":
		return "leave it out for the first page"
	case "limit":
		return fmt.Sprintf("leave it out for the default of %d", DefaultLimit)
	}
	return "leave it out to match everything"
}

func (q *Query) parseYear(values url.Values) error {
	raw, ok := values["year"]
	if !ok {
		return nil
	}

	from, to, err := parseYearRange(strings.Trim(raw[0], " "))
	if err != nil {
		return paramError("year", "%q %s; use a year such as 1994 or a range such as 1990-1999, 1990- or -1999, within %d..%d", clip(raw[0]), err, movie.MinYear, movie.MaxYear)
	}
	q.YearFrom, q.YearTo = from, to
	return nil
}

func parseYearRange(s string) (from, to int, err error) {
	left, right, isRange := strings.Cut(s, "-")
	left, right = strings.Trim(left, " "), strings.Trim(right, " ")
	if !isRange {
		year, err := parseYear(s)
		return year, year, err
	}
	if left == "" && right == "" {
		return 0, 0, errors.New("is a range with no bound")
	}

	if left != "" {
		if from, err = parseYear(left); err != nil {
			return 0, 0, err
		}
	}
	if right != "" {
		if to, err = parseYear(right); err != nil {
			return 0, 0, err
		}
	}
	if from != 0 && to != 0 && from > to {
		return 0, 0, errors.New("is a range that ends before it starts")
	}
	return from, to, nil
}

func parseYear(s string) (int, error) {
	if len(s) != 4 || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New("is not a year or a range of years")
	}
	year, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("is not a year or a range of years")
	}
	if year < movie.MinYear || year > movie.MaxYear {
		return 0, fmt.Errorf("is out of range")
	}
	return year, nil
}

func (q *Query) parseTerms(values url.Values, maxTerm int) error {
	terms := []struct {
		name string
		dst  *string
	}{{"title", &q.Title}, {"cast", &q.Cast}, {"genre", &q.Genre}}

	for _, term := range terms {
		raw, ok := values[term.name]
		if !ok {
			continue
		}
		if err := checkTerm(raw[0], maxTerm); err != nil {
			return paramError(term.name, "%s", err)
		}
		// Folding removes accents, invisible characters and surrounding
		// spaces, so a term of nothing else folds to "".
		*term.dst = movie.FoldSearch(raw[0])
		if *term.dst == "" {
			return paramError(term.name, "has no letters, digits or symbols, only accents or invisible characters; leave it out to match everything")
		}
	}
	return nil
}

// termLength counts the characters of s in composed form (NFC), leaving
// out combining marks (an accent written as a code point of its own) and
// invisible format characters. A letter is then one character whether it
// was sent composed or decomposed, as a Hangul syllable or as its jamo.
func termLength(s string) int {
	n := 0
	for _, r := range norm.NFC.String(s) {
		if !unicode.In(r, unicode.M, unicode.Cf) {
			n++
		}
	}
	return n
}

func checkTerm(s string, maxTerm int) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8; percent-encode the UTF-8 bytes of the text")
	}
	if n := termLength(s); n > maxTerm {
		return fmt.Errorf("is %d characters long; the maximum is %d", n, maxTerm)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return errors.New("contains a control character; send printable text only")
	}
	return nil
}

func (q *Query) parseLimit(values url.Values) error {
	raw, ok := values["limit"]
	if !ok {
		return nil
	}

	limit, ok := plainNumber(raw[0])
	if !ok || limit < 1 || limit > MaxLimit {
		return paramError("limit", "%q is not allowed%s; use a whole number from 1 to %d (default %d)", clip(raw[0]), limitFault(raw[0]), MaxLimit, DefaultLimit)
	}
	q.Limit = limit
	return nil
}

// limitFault names what keeps a number-like limit from being read as one.
func limitFault(s string) string {
	switch {
	case strings.Trim(s, "0123456789") == "" && strings.HasPrefix(s, "0") && len(s) > 1:
		return " (it has a leading zero)"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return " (it has a control character)"
	case strings.TrimSpace(s) != s:
		return " (it has spaces)"
	case strings.HasPrefix(s, "+"):
		return " (it has a sign)"
	}
	return ""
}

// plainNumber parses decimal digits without a sign, spaces or a leading
// zero, which strconv.Atoi alone would accept.
func plainNumber(s string) (int, bool) {
	if s == "" || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func (q *Query) parseCursor(values url.Values) error {
	raw, ok := values["cursor"]
	if !ok {
		return nil
	}

	cursor, err := DecodeCursor(raw[0], q.Fingerprint())
	if err == nil && (q.YearFrom != 0 && cursor.Year < q.YearFrom || q.YearTo != 0 && cursor.Year > q.YearTo) {
		err = errors.New("cursor is not valid: its position is outside the year filter")
	}
	if err != nil {
		return paramError("cursor", "%s; pass the next_cursor value of the previous page unchanged, with the same filters", err)
	}
	q.After = &cursor
	return nil
}

// Filters returns the normalized filters alone, without page size or
// position: the part of a query that a cursor is bound to.
func (q Query) Filters() string {
	var b strings.Builder
	if q.YearFrom != 0 || q.YearTo != 0 {
		b.WriteString("year=" + yearRange(q.YearFrom, q.YearTo) + "&")
	}
	for _, term := range [][2]string{{"title", q.Title}, {"cast", q.Cast}, {"genre", q.Genre}} {
		if term[1] != "" {
			b.WriteString(term[0] + "=" + url.QueryEscape(term[1]) + "&")
		}
	}
	return strings.TrimSuffix(b.String(), "&")
}

func yearRange(from, to int) string {
	if from == to {
		return strconv.Itoa(from)
	}

	var b strings.Builder
	if from != 0 {
		b.WriteString(strconv.Itoa(from))
	}
	b.WriteByte('-')
	if to != 0 {
		b.WriteString(strconv.Itoa(to))
	}
	return b.String()
}

// Encode returns the canonical query string: the same for every spelling of
// the same query, so it serves as the cache key and as the origin request.
func (q Query) Encode() string {
	parts := []string{}
	if filters := q.Filters(); filters != "" {
		parts = append(parts, filters)
	}
	parts = append(parts, "limit="+strconv.Itoa(q.Limit))
	if q.After != nil {
		parts = append(parts, "cursor="+q.After.Encode(q.Fingerprint()))
	}
	return strings.Join(parts, "&")
}
