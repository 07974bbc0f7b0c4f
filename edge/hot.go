package edge

import (
	"hash/maphash"
	"sync"
	"time"
)

// Hot pages. bigcache copies an entry out of its shard on every read, into
// a new zeroed allocation. For the 32 KB median page of the Wikipedia data
// set, that copy and the garbage it leaves cost more than the rest of a
// hit. So the copy a hit made is kept, under its cache key, and served
// again as it is, without a copy, while it is fresh and valid. Responses
// share the bytes, which nothing writes after the fill. bigcache stays the
// cache of record: a hot page is dropped when it turns stale or invalid,
// and the next hit reads bigcache again.
//
// Two spellings of one query share a cache key, so they share its hot
// page. When the budget is full, a new page replaces pages picked at
// random, so the hot set follows what clients ask for now.

// hotPage is one cached variant (plain or gzip) kept outside bigcache.
type hotPage struct {
	entry entry
	size  int64
}

// hotPages keeps hot pages by cache key within a byte budget, split in
// shards that each hold an equal share of it.
type hotPages struct {
	seed   maphash.Seed
	shards [hotShards]hotShard
}

const hotShards = 64

type hotShard struct {
	mu    sync.RWMutex
	pages map[string]*hotPage // guarded by mu
	used  int64               // guarded by mu
	limit int64
}

func newHotPages(limitBytes int64) *hotPages {
	h := &hotPages{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].pages = make(map[string]*hotPage)
		h.shards[i].limit = limitBytes / hotShards
	}
	return h
}

func (h *hotPages) shard(key string) *hotShard {
	return &h.shards[maphash.String(h.seed, key)%hotShards]
}

func (h *hotPages) get(key string) *hotPage {
	shard := h.shard(key)
	shard.mu.RLock()
	defer shard.mu.RUnlock()
	return shard.pages[key]
}

// drop removes the page stored under key if it is still page, and not a
// page that replaced it meanwhile.
func (h *hotPages) drop(key string, page *hotPage) {
	shard := h.shard(key)
	shard.mu.Lock()
	defer shard.mu.Unlock()
	if shard.pages[key] == page {
		delete(shard.pages, key)
		shard.used -= page.size
	}
}

// keep stores e under key, unless a page is stored there already or e is
// over the shard's share of the budget. Other pages of the shard, picked
// at random, make room.
func (h *hotPages) keep(key string, e entry) {
	size := int64(len(key) + len(e.body) + len(e.etag))
	shard := h.shard(key)
	shard.mu.Lock()
	defer shard.mu.Unlock()
	if _, ok := shard.pages[key]; ok || size > shard.limit {
		return
	}

	for victim, page := range shard.pages { // iteration starts at a random place
		if shard.used+size <= shard.limit {
			break
		}
		delete(shard.pages, victim)
		shard.used -= page.size
	}
	shard.pages[key] = &hotPage{entry: e, size: size}
	shard.used += size
}

// hotPage returns the hot page of a cache variant key when it is fresh and
// valid for the target, and drops it otherwise.
func (s *Server) hotPage(t *target, key string) (entry, bool) {
	page := s.hot.get(key)
	if page == nil {
		return entry{}, false
	}
	if time.Since(page.entry.filledAt) <= s.cfg.CacheFresh && s.gens.valid(t.deps, page.entry.generation) {
		return page.entry, true
	}
	s.hot.drop(key, page)
	return entry{}, false
}

// keepHot keeps a fresh entry read from bigcache as the hot page of its
// cache variant key.
func (s *Server) keepHot(key string, e entry) {
	if time.Since(e.filledAt) > s.cfg.CacheFresh {
		return
	}
	s.hot.keep(key, e)
}
