package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"moviequery/internal/announce"
	"moviequery/internal/tags"
)

// generations records which cached responses invalidations have dropped,
// without touching the cache. Every invalidation takes the next number of
// a counter and stamps it on the tags it touches. A fill reads the counter
// before it requests the origin. Its response is valid while every tag it
// depends on carries a smaller stamp. So a fill that began before an
// invalidation is never served after it, whenever it is stored.
type generations struct {
	counter atomic.Uint64

	mu     sync.RWMutex
	stamps map[uint64]stamp // by tag hash; guarded by mu
}

type stamp struct {
	generation uint64
	at         time.Time
}

func newGenerations() *generations {
	return &generations{stamps: make(map[uint64]stamp)}
}

// allTags is the hash of the tag every response depends on, purged to drop
// everything.
var allTags = tags.Hash(tags.All)

// current returns the generation a fill starting now records.
func (g *generations) current() uint64 {
	return g.counter.Load()
}

// invalidate stamps the tags with a new generation.
func (g *generations) invalidate(hashes []uint64, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.counter.Add(1)
	for _, h := range hashes {
		g.stamps[h] = stamp{generation: n, at: now}
	}
}

// valid reports whether a response filled at generation filled, depending
// on deps, is still valid.
func (g *generations) valid(deps []uint64, filled uint64) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.stamps[allTags].generation > filled {
		return false
	}
	for _, d := range deps {
		if g.stamps[d].generation > filled {
			return false
		}
	}
	return true
}

// forget drops stamps older than the oldest response the cache may hold:
// every response filled before them has expired, so they can no longer
// decide anything.
func (g *generations) forget(before time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for h, s := range g.stamps {
		if s.at.Before(before) {
			delete(g.stamps, h)
		}
	}
}

// follower keeps the generations in step with the region's change feed. It
// applies announcements as gossip delivers them, and reads the feed from
// the origin every interval, and at once when an announcement shows a gap,
// so a lost announcement, a partition or a restart is repaired within
// about one interval. The watermark is the feed position up to which every
// change has been applied.
type follower struct {
	gens     *generations
	origin   *originClient
	interval time.Duration
	logger   *slog.Logger
	metrics  *metrics

	changeApplied func(seq int64) // see Config.ChangeApplied
	flush         bool            // see Config.FlushOnChange

	mu      sync.Mutex
	applied int64          // watermark; guarded by mu
	ahead   map[int64]bool // changes applied from gossip after the watermark; guarded by mu

	watermark atomic.Int64 // applied, for the response header
	highest   atomic.Int64 // the greatest change applied or passed over by the watermark
	started   atomic.Bool  // the feed has been read once
	wake      chan struct{}
}

func newFollower(gens *generations, origin *originClient, interval time.Duration, m *metrics, logger *slog.Logger) *follower {
	return &follower{gens: gens, origin: origin, interval: interval, metrics: m, logger: logger, ahead: map[int64]bool{}, wake: make(chan struct{}, 1)}
}

// onAnnouncement applies one gossip message. A truncated change, or one
// that leaves a gap after the watermark, wakes the feed reader.
func (f *follower) onAnnouncement(msg []byte) {
	changes, err := announce.Unpack(msg)
	if err != nil {
		f.logger.Warn("ignoring a gossip message", "error", err)
		return
	}

	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	gap := false
	for _, c := range changes {
		if c.Truncated || c.Seq > f.applied+1 && !f.ahead[c.Seq-1] {
			gap = true
		}
		if c.Truncated || c.Seq <= f.applied {
			continue
		}
		f.apply(c.Seq, c.Tags, now)
		f.ahead[c.Seq] = true
		f.metrics.invalidations.WithLabelValues("gossip").Inc()
	}
	f.advance()
	if gap {
		f.wakeReader()
	}
}

// seen returns the greatest change feed position the edge has applied,
// which the origin's response must reflect.
func (f *follower) seen() int64 {
	return f.highest.Load()
}

// apply invalidates one change's tags. It raises the highest position
// first, so a fill that reads the generation and then the position never
// reads this change's generation with a lower position.
func (f *follower) apply(seq int64, hashes []uint64, now time.Time) {
	if f.flush {
		hashes = []uint64{allTags}
	}
	f.highest.Store(max(f.highest.Load(), seq))
	f.gens.invalidate(hashes, now)
	if f.changeApplied != nil {
		f.changeApplied(seq)
	}
}

// advance moves the watermark over changes applied from gossip that follow
// it without a gap. Caller holds mu.
func (f *follower) advance() {
	for f.ahead[f.applied+1] {
		delete(f.ahead, f.applied+1)
		f.applied++
	}
	f.watermark.Store(f.applied)
	f.highest.Store(max(f.highest.Load(), f.applied))
}

func (f *follower) wakeReader() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run sets the watermark to the feed's head, then reads the feed until ctx
// ends.
func (f *follower) run(ctx context.Context) {
	for !f.started.Load() {
		err := f.start(ctx)
		if err == nil {
			break
		}
		f.logger.Warn("reading the change feed's head; not ready until it answers", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.interval):
		}
	}

	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-f.wake:
		}
		if err := f.catchUp(ctx); err != nil && ctx.Err() == nil {
			f.logger.Warn("reading the change feed failed; serving the cached responses meanwhile and retrying at the next interval", "error", err)
		}
	}
}

// catchUp reads the feed from the watermark to its head and applies what
// gossip has not delivered.
func (f *follower) catchUp(ctx context.Context) error {
	for {
		f.mu.Lock()
		after := f.applied
		f.mu.Unlock()

		page, err := f.origin.changes(ctx, after, feedPage)
		if err != nil {
			return err
		}
		f.applyPage(page)
		if len(page.Changes) < feedPage {
			return nil
		}
	}
}

// feedPage is the most changes one read of the feed requests.
const feedPage = 2000

func (f *follower) applyPage(page changePage) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()

	for _, c := range page.Changes {
		if c.Seq <= f.applied || f.ahead[c.Seq] {
			continue // applied from gossip already
		}
		f.apply(c.Seq, announce.Hashes(c.Tags), now)
		f.metrics.invalidations.WithLabelValues("feed").Inc()
	}

	// A page shorter than requested holds every change up to the head.
	reached := page.Head
	if n := len(page.Changes); n == feedPage {
		reached = page.Changes[n-1].Seq
	}
	f.applied = max(f.applied, reached)
	for seq := range f.ahead {
		if seq <= f.applied {
			delete(f.ahead, seq)
		}
	}
	f.advance()
}

// start sets the watermark to the feed's head without applying anything:
// it runs before the edge fills its empty cache.
func (f *follower) start(ctx context.Context) error {
	page, err := f.origin.changes(ctx, 0, 0)
	if err != nil {
		return err
	}

	f.mu.Lock()
	f.applied = max(f.applied, page.Head)
	f.advance()
	f.mu.Unlock()
	f.started.Store(true)
	return nil
}

// changePage is the origin's change feed page.
type changePage struct {
	Head    int64 `json:"head"`
	Changes []struct {
		Seq  int64    `json:"seq"`
		Tags []string `json:"tags"`
	} `json:"changes"`
}

func (c *originClient) changes(ctx context.Context, after int64, limit int) (changePage, error) {
	answer, err := c.get(ctx, "/internal/v1/changes?after="+strconv.FormatInt(after, 10)+"&limit="+strconv.Itoa(limit))
	if err != nil {
		return changePage{}, err
	}
	if answer.status != http.StatusOK {
		return changePage{}, fmt.Errorf("origin responded with status %d to the change feed request", answer.status)
	}

	var page changePage
	if err := json.Unmarshal(answer.body, &page); err != nil {
		return changePage{}, fmt.Errorf("decoding the change feed: %w", err)
	}
	return page, nil
}
