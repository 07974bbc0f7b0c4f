package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
)

// documentCache keeps movie documents in memory, so a search page or a
// movie whose documents it contains needs no read from PostgreSQL
// (docs/decisions/0008-document-cache.md). An entry is a movie's document
// with the change that made it current. A change number names one state
// of one movie, so an entry never goes stale: a read takes an entry only
// when its change is the one the memory index records for the movie.
//
// Entries are found by the movie's slot in the memory index, with no hash
// or key comparison. Documents are appended to chunks of chunkSize bytes,
// and a document's bytes are never written again, so a document read under
// the lock stays valid after it. When the chunks reach the limit, the
// oldest chunk goes, and the entries in it with it. Neither the chunks nor
// the entries hold pointers, so the garbage collector does not scan them.
type documentCache struct {
	mu        sync.RWMutex
	entries   []documentEntry // by slot of the memory index
	chunks    [][]byte        // chunks[i] has the sequence number first+i
	first     uint32
	maxChunks int

	hits, misses atomic.Uint64
	warmed       atomic.Bool // set once WarmDocumentCache has finished
}

// documentEntry locates one movie's document in the chunks. A zero length
// is no entry, as a document is never empty.
type documentEntry struct {
	change int64
	chunk  uint32 // sequence number
	offset uint32
	length uint32
}

// chunkSize is the size of the buffers documents are appended to. A larger
// document is not cached.
const chunkSize = 1 << 20

// newDocumentCache returns a cache whose documents use at most maxMB
// megabytes.
func newDocumentCache(maxMB int) (*documentCache, error) {
	if maxMB < 1 {
		return nil, fmt.Errorf("invalid document cache size %d MB: must be at least 1", maxMB)
	}
	return &documentCache{maxChunks: maxMB * (1 << 20) / chunkSize}, nil
}

// getPage fills documents[i] with the cached document of matches[i] and
// returns the indexes of the matches it has none for, under one lock.
func (c *documentCache) getPage(matches []match, documents []string) (missing []int) {
	if c == nil {
		for i := range matches {
			missing = append(missing, i)
		}
		return missing
	}

	c.mu.RLock()
	for i, m := range matches {
		document, ok := c.lookup(m.slot, m.change)
		if ok {
			documents[i] = document
		} else {
			missing = append(missing, i)
		}
	}
	c.mu.RUnlock()

	c.hits.Add(uint64(len(matches) - len(missing)))
	c.misses.Add(uint64(len(missing)))
	return missing
}

// lookup returns the document of slot as change made it. The string shares
// the chunk's bytes, which are never written again. Caller holds mu.
func (c *documentCache) lookup(slot uint32, change int64) (string, bool) {
	if int(slot) >= len(c.entries) {
		return "", false
	}
	e := c.entries[slot]
	if e.length == 0 || e.change != change || e.chunk < c.first {
		return "", false
	}
	chunk := c.chunks[e.chunk-c.first]
	return unsafe.String(&chunk[e.offset], e.length), true
}

// put caches the document of the movie in slot as change made it. An
// empty document or one larger than a chunk is not cached, and a nil cache
// caches nothing.
func (c *documentCache) put(slot uint32, change int64, document string) {
	if c == nil || len(document) == 0 || len(document) > chunkSize {
		return
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	last := len(c.chunks) - 1
	if last < 0 || len(c.chunks[last])+len(document) > chunkSize {
		c.addChunk()
		last = len(c.chunks) - 1
	}
	offset := len(c.chunks[last])
	c.chunks[last] = append(c.chunks[last], document...)

	if int(slot) >= len(c.entries) {
		c.entries = slices.Grow(c.entries, int(slot)+1-len(c.entries))[:slot+1]
	}
	c.entries[slot] = documentEntry{change: change, chunk: c.first + uint32(last), offset: uint32(offset), length: uint32(len(document))}
}

// addChunk starts a new chunk, dropping the oldest when the chunks would
// pass the limit. Caller holds mu for writing.
func (c *documentCache) addChunk() {
	if len(c.chunks) >= c.maxChunks {
		c.chunks[0] = nil
		c.chunks = c.chunks[1:]
		c.first++
	}
	c.chunks = append(c.chunks, make([]byte, 0, chunkSize))
}

// bytes returns the memory of the chunks and the entries.
func (c *documentCache) bytes() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.chunks)*chunkSize + cap(c.entries)*int(unsafe.Sizeof(documentEntry{}))
}

// limit returns the bytes the chunks may take.
func (c *documentCache) limit() int {
	return c.maxChunks * chunkSize
}

// warmBatchSize is the number of documents read from PostgreSQL at a time
// while the cache is warmed.
const warmBatchSize = 2000

// warmFill is the share of the cache's limit that warming fills. The rest
// takes the documents of movies that change after warming, so the oldest
// chunk of warmed documents is not dropped at once.
const warmFill = 0.9

// WarmDocumentCache reads the documents of every movie, in id order,
// into the document cache until it contains them all or is nearly full, so
// that searches and movies by id find them in memory from the first request. It
// reads a few thousand movies at a time, each with the change that made
// its document current. A movie changed since is read again on its next
// search, as the index then names a later change. It logs what it did and
// returns early, with ctx's error, when ctx ends.
func (s *Store) WarmDocumentCache(ctx context.Context, logger *slog.Logger) error {
	cache := s.documentCache
	if cache == nil {
		return nil
	}
	ix := s.index.Load()
	if ix == nil {
		return errors.New("warming the document cache: the memory index is not loaded (call LoadMemoryIndex first)")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	budget := int(float64(cache.limit()) * warmFill)

	var after string
	var movies, bytes int
	for bytes < budget {
		read, last, size, err := s.warmBatch(ctx, ix, after, budget-bytes)
		if err != nil {
			return fmt.Errorf("warming the document cache: %w", err)
		}
		movies += read
		bytes += size
		if read < warmBatchSize || last == "" {
			break
		}
		after = last
	}

	cache.warmed.Store(true)
	logger.Info("document cache warmed", "movies", movies, "megabytes", bytes>>20, "full", bytes >= budget, "duration", time.Since(start))
	return nil
}

// DocumentCacheWarmed reports whether WarmDocumentCache has finished. A
// store without the cache reports false.
func (s *Store) DocumentCacheWarmed() bool {
	return s.documentCache != nil && s.documentCache.warmed.Load()
}

// warmBatch caches the documents of up to warmBatchSize movies whose ids
// follow after, stopping once they take budget bytes. A movie the index
// does not hold yet is skipped. It returns how many it read, the last id
// and the bytes they take.
func (s *Store) warmBatch(ctx context.Context, ix *memoryIndex, after string, budget int) (read int, last string, bytes int, err error) {
	rows, err := s.pool.Query(ctx, `SELECT id, change_seq, document FROM movies WHERE id > $1 ORDER BY id LIMIT $2`, after, warmBatchSize)
	if err != nil {
		return 0, "", 0, err
	}
	var id, document string
	var change int64
	_, err = pgx.ForEachRow(rows, []any{&id, &change, &document}, func() error {
		read++
		last = id
		slot, _, ok := ix.lookup(id)
		if bytes >= budget || !ok {
			return nil
		}
		s.documentCache.put(slot, change, document)
		bytes += len(document)
		return nil
	})
	return read, last, bytes, err
}
