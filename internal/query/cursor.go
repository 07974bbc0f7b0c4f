package query

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"

	"moviequery/internal/movie"
)

// maxCursorBytes bounds an encoded cursor before it is decoded.
const maxCursorBytes = 1024

// Cursor is a position in the result order (year, folded title, id): the
// last movie of the previous page. Clients see it only as an opaque string.
type Cursor struct {
	Year  int
	Title string
	ID    string
}

// cursorWire is the encoded form. Filters binds the cursor to the filters it
// was issued for, so it cannot be replayed against another query.
type cursorWire struct {
	Version int    `json:"v"`
	Filters string `json:"f"`
	Year    int    `json:"y"`
	Title   string `json:"t"`
	ID      string `json:"i"`
}

// Fingerprint returns a short digest of the query's filters, which a cursor
// carries.
func (q Query) Fingerprint() string {
	sum := sha256.Sum256([]byte(q.Filters()))
	return hex.EncodeToString(sum[:6])
}

// Encode returns the opaque string form of c, bound to a query fingerprint.
func (c Cursor) Encode(fingerprint string) string {
	wire := cursorWire{Version: 1, Filters: fingerprint, Year: c.Year, Title: c.Title, ID: c.ID}
	data, _ := json.Marshal(wire) // a struct of strings and ints always marshals
	return base64.RawURLEncoding.EncodeToString(data)
}

// DecodeCursor parses a cursor issued for a query with the given fingerprint.
func DecodeCursor(s, fingerprint string) (Cursor, error) {
	if len(s) > maxCursorBytes {
		return Cursor{}, errors.New("cursor is too long")
	}

	invalid := errors.New("cursor is not valid: it is damaged or was not issued by this API")
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, invalid
	}

	var wire cursorWire
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&wire); err != nil || decoder.More() || wire.Version != 1 || !movie.ValidID(wire.ID) ||
		wire.Year < movie.MinYear || wire.Year > movie.MaxYear {
		return Cursor{}, invalid
	}
	if wire.Filters != fingerprint {
		return Cursor{}, errors.New("cursor was issued for other filters")
	}
	return Cursor{Year: wire.Year, Title: wire.Title, ID: wire.ID}, nil
}
