package origin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"moviequery/internal/movie"
)

// maxRevisions bounds one audit answer. A movie with more revisions gets the
// most recent ones and Truncated set.
const maxRevisions = 1000

// Revision is one stored update of a movie, as the audit trail shows it.
type Revision struct {
	RevisionID    int64         `json:"revision_id"`
	Provider      string        `json:"provider"`
	Bucket        string        `json:"bucket"`
	ObjectKey     string        `json:"object_key"`
	ObjectVersion string        `json:"object_version"`
	WrittenAt     time.Time     `json:"written_at"`
	IngestedAt    time.Time     `json:"ingested_at"`
	ContentSHA256 string        `json:"content_sha256"`
	Current       bool          `json:"current"`
	Changes       []FieldChange `json:"changes"`
}

// FieldChange is how one field differs from the previous revision: Before
// and After for a single value, Added and Removed for cast and genres.
type FieldChange struct {
	Field   string   `json:"field"`
	Before  any      `json:"before,omitempty"`
	After   any      `json:"after,omitempty"`
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// AuditTrail is a movie's revisions in the order of the order rule, oldest
// first; the last is the current state.
type AuditTrail struct {
	MovieID   string     `json:"movie_id"`
	Revisions []Revision `json:"revisions"`
	Truncated bool       `json:"truncated"`
}

// Revisions returns a movie's audit trail, or ErrNotFound.
func (s *Store) Revisions(ctx context.Context, movieID string) (AuditTrail, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id, r.provider, r.bucket, r.object_key, r.version, r.written_at, r.ingested_at,
		       encode(r.content_hash, 'hex'), r.id = m.revision_id, r.raw
		FROM revisions r JOIN movies m ON m.id = r.movie_id
		WHERE r.movie_id = $1
		ORDER BY r.written_at DESC, r.object_key DESC, r.content_hash DESC
		LIMIT $2`, movieID, maxRevisions+1)
	if err != nil {
		return AuditTrail{}, fmt.Errorf("reading revisions of %s: %w", movieID, err)
	}

	type stored struct {
		revision Revision
		record   movie.Record
	}
	var history []stored
	for rows.Next() {
		var st stored
		var raw []byte
		r := &st.revision
		err := rows.Scan(&r.RevisionID, &r.Provider, &r.Bucket, &r.ObjectKey, &r.ObjectVersion, &r.WrittenAt, &r.IngestedAt, &r.ContentSHA256, &r.Current, &raw)
		if err != nil {
			rows.Close()
			return AuditTrail{}, fmt.Errorf("reading revisions of %s: %w", movieID, err)
		}
		// Every stored revision passed validation, so it parses again.
		st.record, _ = movie.Parse(raw)
		history = append(history, st)
	}
	if err := rows.Err(); err != nil {
		return AuditTrail{}, fmt.Errorf("reading revisions of %s: %w", movieID, err)
	}
	if len(history) == 0 {
		return AuditTrail{}, notFound("no movie has id %q", movieID)
	}

	trail := AuditTrail{MovieID: movieID, Truncated: len(history) > maxRevisions}
	history = history[:min(len(history), maxRevisions)]
	slices.Reverse(history)

	for i, st := range history {
		st.revision.Changes = []FieldChange{}
		if i > 0 {
			st.revision.Changes = diff(history[i-1].record, st.record)
		}
		trail.Revisions = append(trail.Revisions, st.revision)
	}
	return trail, nil
}

// diff lists the fields in which next differs from prev.
func diff(prev, next movie.Record) []FieldChange {
	changes := []FieldChange{}
	scalar := func(field string, before, after any) {
		if before != after {
			changes = append(changes, FieldChange{Field: field, Before: before, After: after})
		}
	}
	list := func(field string, before, after []string) {
		added, removed := setDiff(before, after), setDiff(after, before)
		if len(added) > 0 || len(removed) > 0 {
			changes = append(changes, FieldChange{Field: field, Added: added, Removed: removed})
		}
	}

	scalar("title", prev.Title, next.Title)
	scalar("year", prev.Year, next.Year)
	list("cast", prev.Cast, next.Cast)
	list("genres", prev.Genres, next.Genres)
	scalar("href", deref(prev.Href), deref(next.Href))
	scalar("extract", prev.Extract, next.Extract)
	scalar("thumbnail", prev.Thumbnail, next.Thumbnail)
	scalar("thumbnail_width", prev.ThumbnailWidth, next.ThumbnailWidth)
	scalar("thumbnail_height", prev.ThumbnailHeight, next.ThumbnailHeight)
	return changes
}

// setDiff returns the values of b missing from a, in b's order.
func setDiff(a, b []string) []string {
	var out []string
	for _, v := range b {
		if !slices.Contains(a, v) {
			out = append(out, v)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
