// Package movie is the movie model shared by the origin and the edges: the
// provider's record format, its validation, the identity and order rules, and
// the folding that makes searches case- and accent-insensitive.
package movie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxRecordBytes is the largest update object accepted. The biggest record of
// the Wikipedia movie data set is about 2.5 KB, so 64 KiB leaves ample room
// for long extracts while keeping one object from filling memory.
const MaxRecordBytes = 64 << 10

// Year bounds accepted in an update. Films predate 1900 only by a few years.
const (
	MinYear = 1870
	MaxYear = 2100
)

// ErrInvalid wraps every validation failure returned by Parse, so callers can
// tell bad input (to be quarantined) from a failure to read it.
var ErrInvalid = errors.New("invalid movie record")

// Record is one movie as providers send it, in the format of the public
// Wikipedia movie data set. Cast and Genres are never nil after Parse.
type Record struct {
	Title           string   `json:"title"`
	Year            int      `json:"year"`
	Cast            []string `json:"cast"`
	Genres          []string `json:"genres"`
	Href            *string  `json:"href"`
	Extract         string   `json:"extract,omitempty"`
	Thumbnail       string   `json:"thumbnail,omitempty"`
	ThumbnailWidth  int      `json:"thumbnail_width,omitempty"`
	ThumbnailHeight int      `json:"thumbnail_height,omitempty"`
}

// wireRecord mirrors Record with pointers, so Parse can tell a missing field
// from a zero one.
type wireRecord struct {
	Title           *string  `json:"title"`
	Year            *int     `json:"year"`
	Cast            []string `json:"cast"`
	Genres          []string `json:"genres"`
	Href            *string  `json:"href"`
	Extract         string   `json:"extract"`
	Thumbnail       string   `json:"thumbnail"`
	ThumbnailWidth  int      `json:"thumbnail_width"`
	ThumbnailHeight int      `json:"thumbnail_height"`
}

// Parse validates raw as one update object and returns its record. Every
// rejection wraps ErrInvalid and says what was wrong in words a provider can
// act on.
func Parse(raw []byte) (Record, error) {
	if err := checkEnvelope(raw); err != nil {
		return Record{}, err
	}

	var wire wireRecord
	if err := decodeStrict(raw, &wire); err != nil {
		return Record{}, err
	}

	return wire.validate()
}

func checkEnvelope(raw []byte) error {
	if len(raw) > MaxRecordBytes {
		return invalid("object is %d bytes, over the limit of %d bytes", len(raw), MaxRecordBytes)
	}
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return invalid("object starts with a UTF-8 byte-order mark; write plain UTF-8 JSON")
	}
	if !utf8.Valid(raw) {
		return invalid("object is not valid UTF-8")
	}

	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return invalid("object is empty; send one JSON object per movie")
	}
	if trimmed[0] != '{' {
		return invalid("object is not a JSON object (it starts with %q); send one JSON object per movie", trimmed[0])
	}
	return nil
}

func decodeStrict(raw []byte, wire *wireRecord) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(wire); err != nil {
		return invalid("%s", describeJSONError(err))
	}
	if dec.More() {
		return invalid("object is followed by more JSON; send exactly one object")
	}
	return nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %q has a JSON %s where %s is expected", typeErr.Field, typeErr.Value, expectedType(typeErr.Field))
	}

	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("not valid JSON at byte %d: %v", syntaxErr.Offset, err)
	}
	return fmt.Sprintf("not valid JSON: %v", err)
}

func expectedType(field string) string {
	switch {
	case field == "year":
		return "an integer"
	case strings.HasPrefix(field, "cast"), strings.HasPrefix(field, "genres"):
		return "an array of strings"
	case strings.HasPrefix(field, "thumbnail_"):
		return "an integer"
	default:
		return "a string"
	}
}

func (w wireRecord) validate() (Record, error) {
	if w.Title == nil {
		return Record{}, invalid("field \"title\" is missing")
	}
	if strings.TrimSpace(*w.Title) == "" {
		return Record{}, invalid("field \"title\" is empty")
	}
	if w.Year == nil {
		return Record{}, invalid("field \"year\" is missing")
	}
	if *w.Year < MinYear || *w.Year > MaxYear {
		return Record{}, invalid("field \"year\" is %d, outside %d..%d", *w.Year, MinYear, MaxYear)
	}

	if err := w.checkText(); err != nil {
		return Record{}, err
	}

	record := Record{
		Title:           *w.Title,
		Year:            *w.Year,
		Cast:            nonNil(w.Cast),
		Genres:          nonNil(w.Genres),
		Href:            w.Href,
		Extract:         w.Extract,
		Thumbnail:       w.Thumbnail,
		ThumbnailWidth:  w.ThumbnailWidth,
		ThumbnailHeight: w.ThumbnailHeight,
	}
	return record, nil
}

// checkText rejects NUL characters, which JSON can carry as \u0000 but
// PostgreSQL text cannot store.
func (w wireRecord) checkText() error {
	fields := map[string][]string{
		"title": {*w.Title}, "cast": w.Cast, "genres": w.Genres,
		"extract": {w.Extract}, "thumbnail": {w.Thumbnail},
	}
	if w.Href != nil {
		fields["href"] = []string{*w.Href}
	}

	for name, values := range fields {
		for _, v := range values {
			if strings.ContainsRune(v, 0) {
				return invalid("field %q contains a NUL character (\\u0000)", name)
			}
		}
	}
	return nil
}

func nonNil(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Document is a movie as the API returns it: the record with its id.
type Document struct {
	ID string `json:"id"`
	Record
}

// NewDocument returns the API document of a record.
func NewDocument(r Record) Document {
	return Document{ID: ID(r), Record: r}
}
