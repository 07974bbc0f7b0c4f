package origin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/query"
)

// RouteChanges serves the change feed to edges.
const RouteChanges = "/internal/v1/changes"

// Change is one entry of the region's change feed: a change of a movie's
// current state, or a purge. Seq numbers entries in commit order within
// the region; numbers of rolled-back transactions are skipped.
type Change struct {
	Seq     int64    `json:"seq"`
	MovieID string   `json:"movie_id,omitempty"`
	PurgeID string   `json:"purge_id,omitempty"`
	Tags    []string `json:"tags"`
}

// ChangePage is a run of the change feed. Head is the greatest sequence
// number committed when the page was read. When Changes holds fewer than
// the limit, every change up to Head is in it. That holds because a change
// becomes visible only after every change numbered before it (see
// recordChanges).
type ChangePage struct {
	Head    int64    `json:"head"`
	Changes []Change `json:"changes"`
}

// maxChangePage is the most changes one read of the feed returns.
const maxChangePage = 5000

// Changes returns up to limit changes numbered after after, oldest first,
// read in one snapshot with the feed's head. A limit of 0 reads the head
// alone.
func (s *Store) Changes(ctx context.Context, after int64, limit int) (ChangePage, error) {
	rows, err := s.pool.Query(ctx, `
		WITH head AS (SELECT coalesce(max(seq), 0) AS head FROM changes)
		SELECT head.head, c.seq, c.movie_id, c.purge_id, c.tags
		FROM head LEFT JOIN LATERAL (
			SELECT seq, coalesce(movie_id, '') AS movie_id, coalesce(purge_id, '') AS purge_id, tags
			FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2) c ON true`, after, limit)
	if err != nil {
		return ChangePage{}, fmt.Errorf("reading the change feed: %w", err)
	}

	page := ChangePage{Changes: []Change{}}
	var seq *int64
	var movieID, purgeID *string
	var tagNames []string
	_, err = pgx.ForEachRow(rows, []any{&page.Head, &seq, &movieID, &purgeID, &tagNames}, func() error {
		if seq != nil {
			page.Changes = append(page.Changes, Change{Seq: *seq, MovieID: *movieID, PurgeID: *purgeID, Tags: tagNames})
		}
		return nil
	})
	if err != nil {
		return ChangePage{}, fmt.Errorf("reading the change feed: %w", err)
	}
	return page, nil
}

// OnCommit sets a function that receives the changes of each committed
// ingest or purge of this process, to announce them. It runs on the
// committing goroutine, so it must not block.
func (s *Store) OnCommit(fn func([]Change)) {
	s.committed = fn
}

func (s *Store) notifyCommitted(changes []Change) {
	if len(changes) == 0 {
		return
	}
	for _, c := range changes {
		raiseTo(&s.lastCommitted, c.Seq)
	}
	select {
	case s.commits <- struct{}{}:
	default:
	}
	if s.committed != nil {
		s.committed(changes)
	}
}

// changesOf returns the changes among ingest results.
func changesOf(results []IngestResult) []Change {
	var changes []Change
	for _, r := range results {
		if r.Changed {
			changes = append(changes, Change{Seq: r.Seq, MovieID: r.MovieID, Tags: r.Tags})
		}
	}
	return changes
}

func (a *api) listChanges(ctx context.Context, r *http.Request) ([]byte, error) {
	after, err := feedParam(r, "after", 0)
	if err != nil {
		return nil, err
	}
	limit, err := feedParam(r, "limit", maxChangePage)
	if err != nil {
		return nil, err
	}

	page, err := a.store.Changes(ctx, after, int(min(limit, maxChangePage)))
	if err != nil {
		return nil, err
	}
	return json.Marshal(page)
}

func feedParam(r *http.Request, name string, fallback int64) (int64, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return fallback, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, &query.Error{Param: name, Message: "must be a whole number of at least 0"}
	}
	return n, nil
}

// raiseTo sets n to v unless n is already greater.
func raiseTo(n *atomic.Int64, v int64) {
	for {
		old := n.Load()
		if old >= v || n.CompareAndSwap(old, v) {
			return
		}
	}
}
