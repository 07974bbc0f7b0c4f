package edge

import (
	"sync/atomic"
	"time"
)

// Hot pages. bigcache copies an entry out of its shard on every read, into
// a new zeroed allocation. For the 32 KB median page of the Wikipedia data
// set, that copy and the garbage it leaves cost more than the rest of a
// hit. So the copy a hit made is kept on the request URI's target and
// served again as it is, without a copy, while it is fresh and valid.
// Responses share the bytes, which nothing writes after the fill. bigcache
// stays the cache of record: a hot page is dropped when it turns stale or
// invalid, and the next hit reads bigcache again.
//
// NOTE: pages are kept per request URI, so two spellings of one query keep
// two copies of the same bytes against the budget.

// hotPage is one variant of a response kept on a target.
type hotPage struct {
	entry entry
	size  int64
}

// hotBudget bounds the bytes of all hot pages of an edge.
type hotBudget struct {
	limit int64
	used  atomic.Int64
}

func (b *hotBudget) take(n int64) bool {
	if b.used.Add(n) <= b.limit {
		return true
	}
	b.used.Add(-n)
	return false
}

func (b *hotBudget) give(n int64) {
	b.used.Add(-n)
}

// hotVariant indexes a target's hot pages: plain or gzip.
func hotVariant(gzipped bool) int {
	if gzipped {
		return 1
	}
	return 0
}

// hotPage returns the target's hot page of a variant when it is fresh and
// valid, and drops it otherwise.
func (s *Server) hotPage(t *target, variant int) (entry, bool) {
	page := t.hot[variant].Load()
	if page == nil {
		return entry{}, false
	}
	if time.Since(page.entry.filledAt) <= s.cfg.CacheFresh && s.gens.valid(t.deps, page.entry.generation) {
		return page.entry, true
	}
	if t.hot[variant].CompareAndSwap(page, nil) {
		s.hot.give(page.size)
	}
	return entry{}, false
}

// keepHot keeps a fresh, valid entry read from bigcache on the target, when
// the budget allows and the target is still remembered.
func (s *Server) keepHot(t *target, variant int, e entry) {
	if t.forgotten.Load() || t.hot[variant].Load() != nil || time.Since(e.filledAt) > s.cfg.CacheFresh {
		return
	}
	size := int64(len(e.body) + len(e.etag))
	if !s.hot.take(size) {
		return
	}
	if !t.hot[variant].CompareAndSwap(nil, &hotPage{entry: e, size: size}) {
		s.hot.give(size)
	}
}

// forget releases a target's hot pages when the memo drops it.
func (s *Server) forget(t *target) {
	t.forgotten.Store(true)
	for i := range t.hot {
		if page := t.hot[i].Swap(nil); page != nil {
			s.hot.give(page.size)
		}
	}
}
