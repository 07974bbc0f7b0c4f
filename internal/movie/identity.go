package movie

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// idEncoding writes ids in lowercase base32 without padding: URL-safe, and
// readable over the phone.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// idBytes is how much of the SHA-256 of the identity key an id keeps. 120 bits
// make an accidental collision negligible even at billions of movies.
const idBytes = 15

// FoldIdentity normalizes one part of a movie's identity: Unicode NFC, case
// folded, surrounding white space trimmed. Accents are kept, so "Resume" and
// "Résumé" stay different films.
func FoldIdentity(s string) string {
	folded := cases.Fold().String(norm.NFC.String(s))
	return strings.TrimSpace(norm.NFC.String(folded))
}

// IdentityKey returns the key that identifies a movie: its folded title, year
// and folded href, where a missing or null href counts as empty.
func IdentityKey(r Record) string {
	href := ""
	if r.Href != nil {
		href = *r.Href
	}
	return FoldIdentity(r.Title) + "\x1f" + strconv.Itoa(r.Year) + "\x1f" + FoldIdentity(href)
}

// ID returns the stable, URL-safe id the API exposes for a movie.
func ID(r Record) string {
	sum := sha256.Sum256([]byte(IdentityKey(r)))
	return idEncoding.EncodeToString(sum[:idBytes])
}

// ValidID reports whether s has the shape of an id returned by ID.
func ValidID(s string) bool {
	if len(s) != idEncoding.EncodedLen(idBytes) {
		return false
	}
	_, err := idEncoding.DecodeString(s)
	return err == nil
}

// FoldSearch normalizes text for case- and accent-insensitive matching. It
// decomposes the text, removes combining marks and invisible characters,
// folds case, recomposes, and collapses runs of white space to one space.
// Stored values and query terms both go through it, so composed and
// decomposed input match alike, and a pasted zero-width space changes
// nothing. A change to it must refold the stored values (see
// refoldSearchFields in the origin).
func FoldSearch(s string) string {
	return strings.Join(strings.Fields(foldText(s)), " ")
}

// foldText removes accents and folds case. ASCII text has no accents and
// folds to lower case; other text goes through the Unicode transformers.
func foldText(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}

	folder := searchFolders.Get().(transform.Transformer)
	defer searchFolders.Put(folder)

	stripped, _, err := transform.String(folder, s)
	if err != nil {
		// The transformers used never fail on valid strings; fall back to
		// case folding alone rather than lose the value.
		return cases.Fold().String(s)
	}
	return stripped
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// searchFolders keeps transformer chains between calls. Each chain holds
// buffers of several kilobytes, which ingest would otherwise allocate for
// every title and cast member it folds.
var searchFolders = sync.Pool{New: func() any {
	// Format characters (Cf) are the invisible ones: zero-width space and
	// joiners, direction marks, soft hyphen, byte order mark. Variation
	// selectors are marks (Mn) and go with the accents.
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), runes.Remove(runes.In(unicode.Cf)), cases.Fold(), norm.NFC)
}}

// FoldSearchAll applies FoldSearch to every value, dropping values that fold
// to nothing (the data set has cast entries such as "." and ")" that still
// fold to themselves and are kept).
func FoldSearchAll(values []string) []string {
	folded := make([]string, 0, len(values))
	for _, v := range values {
		if f := FoldSearch(v); f != "" {
			folded = append(folded, f)
		}
	}
	return folded
}

// Order is the key that orders two updates of one movie identically in every
// region: the time the object was first written, then its object key, then
// the SHA-256 of its content. The current state of a movie is the update with
// the greatest Order.
type Order struct {
	WrittenAt   time.Time
	ObjectKey   string
	ContentHash [sha256.Size]byte
}

// Compare returns -1, 0 or +1 as o sorts before, equal to or after other.
func (o Order) Compare(other Order) int {
	if c := o.WrittenAt.Compare(other.WrittenAt); c != 0 {
		return c
	}
	if c := strings.Compare(o.ObjectKey, other.ObjectKey); c != 0 {
		return c
	}
	return bytes.Compare(o.ContentHash[:], other.ContentHash[:])
}
