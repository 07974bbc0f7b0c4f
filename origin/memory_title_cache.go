package origin

import (
	"bytes"
	"cmp"
	"slices"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// titleCache keeps the confirmed matches of recent title terms longer than
// three bytes, so that the later pages and combinations of a term do not
// test every candidate's title again. An entry covers the slots below
// checked. New movies take new slots, so an entry stays exact once it is
// extended over the slots added since. A change of a stored title, which
// ingest never makes because a title is part of a movie's identity,
// clears the cache under the index's write lock. The cache holds up to
// titleCacheBytes of bitmaps and drops entries in no particular order
// beyond that.
type titleCache struct {
	mu      sync.Mutex
	entries map[string]titleEntry
	bytes   uint64
}

type titleEntry struct {
	matches *roaring.Bitmap // never changed once stored, as searches share it
	checked uint32          // slots below this were tested
}

// titleCacheBytes bounds the bitmaps the cache holds: about 32 MiB, or a
// thousand terms of 15,000 matches each.
const titleCacheBytes = 32 << 20

func (c *titleCache) get(term string) (titleEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[term]
	return e, ok
}

func (c *titleCache) put(term string, e titleEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]titleEntry{}
	}
	if old, ok := c.entries[term]; ok {
		c.bytes -= old.matches.GetSizeInBytes()
	}
	c.entries[term] = e
	c.bytes += e.matches.GetSizeInBytes()

	for other, o := range c.entries {
		if c.bytes <= titleCacheBytes {
			break
		}
		if other != term {
			delete(c.entries, other)
			c.bytes -= o.matches.GetSizeInBytes()
		}
	}
}

// clear drops every entry, after a stored title changed. Caller holds the
// index's write lock, so no search is extending an entry meanwhile.
func (c *titleCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.bytes = nil, 0
}

// titleMatches returns the movies whose titles contain term, a term longer
// than three bytes whose 3-byte runs have the bitmaps runs. It tests only
// the movies added since the term's cached entry, if there is one. Caller
// holds the index's lock for reading.
func (ix *memoryIndex) titleMatches(term string, runs []*roaring.Bitmap) *roaring.Bitmap {
	slots := uint32(len(ix.movies))
	cached, ok := ix.titleCache.get(term)
	if ok && cached.checked == slots {
		return cached.matches
	}

	from := uint32(0)
	matches := roaring.New()
	if ok {
		from, matches = cached.checked, cached.matches.Clone()
	}
	matches.AddMany(ix.confirmTitles(runs, []byte(term), from))
	ix.titleCache.put(term, titleEntry{matches: matches, checked: slots})
	return matches
}

// confirmTitles returns the slots from slot from on whose titles contain term,
// in order. It reads the smallest of the term's runs' bitmaps: a title
// that contains the term has all of them.
func (ix *memoryIndex) confirmTitles(runs []*roaring.Bitmap, term []byte, from uint32) []uint32 {
	driver := slices.MinFunc(runs, func(a, b *roaring.Bitmap) int {
		return cmp.Compare(a.GetCardinality(), b.GetCardinality())
	})

	var confirmed []uint32
	it := driver.Iterator()
	it.AdvanceIfNeeded(from)
	for it.HasNext() {
		slot := it.Next()
		if bytes.Contains(ix.textOf(ix.movies[slot].title), term) {
			confirmed = append(confirmed, slot)
		}
	}
	return confirmed
}
