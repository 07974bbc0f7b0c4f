package origin

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/allegro/bigcache/v3"
	"github.com/jackc/pgx/v5"
)

// documentCache keeps the documents the origin read last, so a search
// page whose movies it contains needs no read from PostgreSQL
// (docs/decisions/0008-document-cache.md). An entry is a movie's document
// with the change that made it current. A change number names one state
// of one movie, so an entry never goes stale: a search takes an entry only
// when its change is the one the memory index records for the movie.
//
// The entries live in bigcache, in byte buffers the garbage collector does
// not scan, within a hard limit on their memory. The oldest go first.
type documentCache struct {
	entries      *bigcache.BigCache
	limit        int // bytes
	hits, misses atomic.Uint64
	warmed       atomic.Bool // set once WarmDocumentCache has finished
}

// newDocumentCache returns a cache whose entries use at most maxMB
// megabytes. A nil logger discards the cache's messages.
func newDocumentCache(maxMB int, logger *slog.Logger) (*documentCache, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Entries never go stale, so none expire. The hard limit evicts the
	// oldest.
	config := bigcache.DefaultConfig(24 * time.Hour)
	config.CleanWindow = 0
	config.Shards = documentCacheShards(maxMB)
	config.HardMaxCacheSize = maxMB
	// These two size only each shard's first buffer, which grows up to the
	// hard limit.
	config.MaxEntriesInWindow = config.Shards * 16
	config.MaxEntrySize = 2 << 10
	config.Hasher = documentHasher{seed: maphash.MakeSeed()}
	config.Verbose = false
	config.Logger = documentCacheLogger{logger: logger}

	entries, err := bigcache.New(context.Background(), config)
	if err != nil {
		return nil, fmt.Errorf("creating the document cache: %w", err)
	}
	return &documentCache{entries: entries, limit: maxMB << 20}, nil
}

// documentCacheShards returns the number of shards for a cache of maxMB
// megabytes: a power of two, at most 256, that leaves each shard at least
// one megabyte, room for about 1,400 documents of the Wikipedia data set's
// average size.
func documentCacheShards(maxMB int) int {
	shards := 1
	for shards*2 <= min(maxMB, 256) {
		shards *= 2
	}
	return shards
}

// get returns the document of movie id as change made it, if cached. A nil
// cache has no documents.
func (c *documentCache) get(id string, change int64) (string, bool) {
	if c == nil {
		return "", false
	}

	entry, err := c.entries.Get(id)
	if err != nil || len(entry) < 8 || int64(binary.BigEndian.Uint64(entry)) != change {
		c.misses.Add(1)
		return "", false
	}
	c.hits.Add(1)
	return documentOf(entry), true
}

// documentOf returns the document of an entry that Get returned, without
// copying it: bigcache copies each entry it returns into a new slice,
// which nothing else holds or changes.
func documentOf(entry []byte) string {
	if len(entry) == 8 {
		return ""
	}
	return unsafe.String(&entry[8], len(entry)-8)
}

// put caches the document of movie id as change made it. A document too
// large for a shard is not cached, and a nil cache caches nothing.
func (c *documentCache) put(id string, change int64, document string) {
	if c == nil {
		return
	}

	buffer := entryBuffers.Get().(*[]byte)
	entry := binary.BigEndian.AppendUint64((*buffer)[:0], uint64(change))
	entry = append(entry, document...)
	_ = c.entries.Set(id, entry)

	*buffer = entry
	entryBuffers.Put(buffer)
}

// entrySize returns the bytes an entry takes in the cache: the change,
// bigcache's 18 bytes of header and up to 5 of length, the id and the
// document.
func entrySize(id, document string) int {
	return 8 + 18 + 5 + len(id) + len(document)
}

// entryBuffers keeps the buffers entries are encoded into, because
// bigcache copies an entry into its own memory on Set.
var entryBuffers = sync.Pool{New: func() any { return new([]byte) }}

// close releases the cache's memory.
func (c *documentCache) close() {
	if c != nil {
		_ = c.entries.Close()
	}
}

// documentHasher hashes movie ids with a seed chosen when the origin
// starts. Providers choose titles, and so ids, and bigcache's default FNV
// hash would let them collide on purpose.
type documentHasher struct{ seed maphash.Seed }

func (h documentHasher) Sum64(key string) uint64 {
	return maphash.String(h.seed, key)
}

// documentCacheLogger sends bigcache's messages to the origin's log at
// debug level.
type documentCacheLogger struct{ logger *slog.Logger }

func (l documentCacheLogger) Printf(format string, args ...any) {
	l.logger.Debug("document cache: " + fmt.Sprintf(format, args...))
}

// warmBatch is the number of documents read from PostgreSQL at a time
// while the cache is warmed.
const warmBatch = 2000

// warmFill is the share of the cache's limit that warming fills. Movies
// spread over the shards by the hash of their ids, so some shards fill
// before others, and a full shard evicts its oldest entries.
const warmFill = 0.9

// WarmDocumentCache reads the documents of every movie, in id order,
// into the document cache until it holds them all or is nearly full, so
// that searches find their movies in memory from the first request. It
// reads a few thousand movies at a time, each with the change that made
// its document current. A movie changed since is read again on its next
// search, as the index then names a later change. It logs what it did and
// returns early, with ctx's error, when ctx ends.
func (s *Store) WarmDocumentCache(ctx context.Context, logger *slog.Logger) error {
	cache := s.documentCache
	if cache == nil {
		return nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	budget := int(float64(cache.limit) * warmFill)

	var after string
	var movies, bytes int
	for bytes < budget {
		read, last, size, err := s.warmBatch(ctx, after, budget-bytes)
		if err != nil {
			return fmt.Errorf("warming the document cache: %w", err)
		}
		movies += read
		bytes += size
		if read < warmBatch || last == "" {
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

// warmBatch caches the documents of up to warmBatch movies whose ids
// follow after, stopping once they take budget bytes. It returns how many
// it read, the last id and the bytes they take.
func (s *Store) warmBatch(ctx context.Context, after string, budget int) (read int, last string, bytes int, err error) {
	rows, err := s.pool.Query(ctx, `SELECT id, change_seq, document FROM movies WHERE id > $1 ORDER BY id LIMIT $2`, after, warmBatch)
	if err != nil {
		return 0, "", 0, err
	}
	var id, document string
	var change int64
	_, err = pgx.ForEachRow(rows, []any{&id, &change, &document}, func() error {
		read++
		last = id
		if bytes >= budget {
			return nil
		}
		s.documentCache.put(id, change, document)
		bytes += entrySize(id, document)
		return nil
	})
	return read, last, bytes, err
}
