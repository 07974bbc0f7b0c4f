package edge

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"sync"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
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

// appendEncoded appends the encoded entry to buf.
func (e entry) appendEncoded(buf []byte) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(e.status))
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.filledAt.UnixMilli()))
	buf = binary.BigEndian.AppendUint64(buf, e.generation)
	var etag [18]byte
	copy(etag[:], e.etag)
	buf = append(buf, etag[:]...)
	return append(buf, e.body...)
}

// encodeBuffers keeps the buffers entries are encoded into before
// bigcache copies them into its own memory.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

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
// 304s. It is the body's 64-bit xxHash, because a validator only has to
// tell the bodies of one URL apart, and SHA-256 cost about eight times the
// CPU on every miss (docs/benchmarks.md, "ETag from xxHash").
func etagOf(body []byte) []byte {
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], xxhash.Sum64(body))
	return []byte(`"` + hex.EncodeToString(sum[:]) + `"`)
}

// gzipETag returns the validator of a body's gzip variant, derived from
// the plain variant's validator without reading the body again. A strong
// validator differs between content codings.
func gzipETag(plainETag []byte) []byte {
	return etagOf(append(append([]byte(nil), plainETag...), "\x00gzip"...))
}

// gzipWriters keeps compressors between fills. A new compressor allocates
// hash tables several times the size of a typical page, and on the miss
// path that garbage kept the collector busy.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // BestSpeed is a valid level
	return w
}}

// gzipped compresses a body once, when its entry is filled.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)

	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	w.Write(body)
	w.Close()
	w.Reset(nil)
	gzipWriters.Put(w)

	return buf.Bytes()
}

// gzipKey is the cache key of an answer's compressed variant.
func gzipKey(key string) string {
	return key + "\x00gzip"
}
