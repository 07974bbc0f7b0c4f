package edge

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"time"

	"github.com/allegro/bigcache/v3"
)

// keyedHasher hashes cache keys with a seed chosen at random when the edge
// starts, so a client cannot craft query strings that collide in the cache
// on purpose: bigcache's default FNV hash is not keyed.
type keyedHasher struct{ seed maphash.Seed }

func newKeyedHasher() keyedHasher {
	return keyedHasher{seed: maphash.MakeSeed()}
}

// Sum64 implements bigcache.Hasher.
func (h keyedHasher) Sum64(key string) uint64 {
	return maphash.String(h.seed, key)
}

var _ bigcache.Hasher = keyedHasher{}

// entry is one cached origin answer. Each answer is cached twice, plain and
// gzip-compressed, under two keys, so a hit copies out only the variant it
// sends: bigcache copies an entry on every read.
//
// Encoded layout: status (2 bytes), fill time in Unix milliseconds (8),
// generation when the fill began (8), quoted ETag (18), body.
type entry struct {
	status     int
	filledAt   time.Time
	generation uint64 // see generations
	etag       []byte // with its quotes, as the ETag header carries it
	body       []byte
}

const entryHeader = 2 + 8 + 8 + 18

func (e entry) encode() []byte {
	buf := make([]byte, entryHeader+len(e.body))
	binary.BigEndian.PutUint16(buf, uint16(e.status))
	binary.BigEndian.PutUint64(buf[2:], uint64(e.filledAt.UnixMilli()))
	binary.BigEndian.PutUint64(buf[10:], e.generation)
	copy(buf[18:36], e.etag)
	copy(buf[entryHeader:], e.body)
	return buf
}

// decodeEntry reads an encoded entry. The body aliases buf.
func decodeEntry(buf []byte) (entry, bool) {
	if len(buf) < entryHeader {
		return entry{}, false
	}
	return entry{
		status:     int(binary.BigEndian.Uint16(buf)),
		filledAt:   time.UnixMilli(int64(binary.BigEndian.Uint64(buf[2:]))),
		generation: binary.BigEndian.Uint64(buf[10:]),
		etag:       buf[18:36],
		body:       buf[entryHeader:],
	}, true
}

// etagOf returns a strong validator for a body, quoted: the same on every
// edge for the same answer, so a client moving between edges still gets
// 304s.
func etagOf(body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(`"` + hex.EncodeToString(sum[:8]) + `"`)
}

// gzipped compresses a body once, when its entry is filled.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // BestSpeed is a valid level
	w.Write(body)
	w.Close()
	return buf.Bytes()
}

// gzipKey is the cache key of an answer's compressed variant.
func gzipKey(key string) string {
	return key + "\x00gzip"
}
