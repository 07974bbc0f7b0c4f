package origin

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/movie"
	"moviequery/internal/tags"
)

// Object is one version of an S3 object, fetched and ready to ingest.
type Object struct {
	Bucket    string
	Key       string
	Version   string    // the S3 version id, or "etag:<ETag>" where the bucket has no versioning
	WrittenAt time.Time // when the object was first written, carried to replicas
	Raw       []byte
}

// Outcome says what ingesting one object did.
type Outcome string

// Outcomes of ingest.
const (
	OutcomeStored      Outcome = "stored"      // appended to the history
	OutcomeQuarantined Outcome = "quarantined" // rejected and kept with its reason
	OutcomeDuplicate   Outcome = "duplicate"   // seen before; nothing changed
)

// IngestResult is what happened to one object. Changed is true when the
// object became its movie's current state, and Seq is then the change's
// sequence number in the change feed.
type IngestResult struct {
	Outcome Outcome
	MovieID string
	Changed bool
	Seq     int64
	Tags    []string // the cache tags a change touches
	Reason  string
}

var providerKey = regexp.MustCompile(`^providers/([A-Za-z0-9][A-Za-z0-9._-]{0,63})/.+`)

// Provider returns the provider named by an object key's prefix
// providers/<provider-id>/, or an error when the key is outside it.
func Provider(objectKey string) (string, error) {
	m := providerKey.FindStringSubmatch(objectKey)
	if m == nil {
		return "", fmt.Errorf("%w: object key %q is outside providers/<provider-id>/", movie.ErrInvalid, objectKey)
	}
	return m[1], nil
}

// Ingest records objects in one transaction: each goes into the ledger, and
// then into the revision history (and, when its order key is the greatest
// seen, the current state) or into quarantine. An object already in the
// ledger changes nothing. Removed object versions are only recorded in the
// ledger: the store keeps every update. Results are in the order of objects.
//
// The work is done in a fixed number of set-based statements whatever the
// number of objects, so larger batches cost little more than small ones.
func (s *Store) Ingest(ctx context.Context, objects []Object, removed []objectRef) ([]IngestResult, error) {
	var results []IngestResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if results, err = ingestBatch(ctx, tx, objects); err != nil {
			return err
		}
		return recordRemovals(ctx, tx, removed)
	})
	if err == nil {
		s.notifyCommitted(changesOf(results))
	}
	return results, err
}

// pending is one object on its way through ingestBatch.
type pending struct {
	index    int
	obj      Object
	provider string
	record   movie.Record
	reason   string // set when the object is invalid
	movieID  string
	hash     [sha256.Size]byte
	document string
	revision int64
	search   searchFields // the folded values the search index holds
}

func (p *pending) order() movie.Order {
	return movie.Order{WrittenAt: p.obj.WrittenAt.Truncate(time.Microsecond), ObjectKey: p.obj.Key, ContentHash: p.hash}
}

func ingestBatch(ctx context.Context, tx pgx.Tx, objects []Object) ([]IngestResult, error) {
	results := make([]IngestResult, len(objects))
	for i := range results {
		results[i].Outcome = OutcomeDuplicate
	}

	fresh, err := claimLedger(ctx, tx, objects)
	if err != nil || len(fresh) == 0 {
		return results, err
	}

	valid, invalid := validateAll(fresh)
	if err := quarantineAll(ctx, tx, invalid, results); err != nil {
		return nil, err
	}
	if err := storeAll(ctx, tx, valid, results); err != nil {
		return nil, err
	}
	return results, nil
}

// claimLedger inserts the objects' ledger rows and returns the objects whose
// row was not there before. A concurrent claim of the same object waits for
// the other transaction and then sees its row. Rows are inserted in key
// order, the same in every transaction, so concurrent batches cannot
// deadlock on each other's claims.
func claimLedger(ctx context.Context, tx pgx.Tx, objects []Object) ([]*pending, error) {
	sorted := make([]*pending, len(objects))
	for i, obj := range objects {
		sorted[i] = &pending{index: i, obj: obj}
	}
	sort.SliceStable(sorted, func(a, b int) bool { return ledgerLess(sorted[a].obj, sorted[b].obj) })

	buckets, keys, versions := make([]string, len(sorted)), make([]string, len(sorted)), make([]string, len(sorted))
	for i, p := range sorted {
		buckets[i], keys[i], versions[i] = p.obj.Bucket, p.obj.Key, p.obj.Version
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO ingest_ledger (bucket, object_key, version, outcome)
		SELECT b, k, v, 'stored' FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(b, k, v, n)
		ORDER BY n
		ON CONFLICT DO NOTHING
		RETURNING bucket, object_key, version`, buckets, keys, versions)
	if err != nil {
		return nil, fmt.Errorf("claiming ledger rows: %w", err)
	}

	claimed := map[[3]string]bool{}
	var bucket, key, version string
	_, err = pgx.ForEachRow(rows, []any{&bucket, &key, &version}, func() error {
		claimed[[3]string{bucket, key, version}] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming ledger rows: %w", err)
	}
	return freshOnly(sorted, claimed), nil
}

// freshOnly keeps the claimed objects, each once even when a batch holds
// the same object version twice.
func freshOnly(sorted []*pending, claimed map[[3]string]bool) []*pending {
	var fresh []*pending
	for _, p := range sorted {
		id := [3]string{p.obj.Bucket, p.obj.Key, p.obj.Version}
		if claimed[id] {
			delete(claimed, id)
			fresh = append(fresh, p)
		}
	}
	return fresh
}

func ledgerLess(a, b Object) bool {
	if a.Bucket != b.Bucket {
		return a.Bucket < b.Bucket
	}
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.Version < b.Version
}

// validateAll validates each object and prepares what storing it needs.
func validateAll(fresh []*pending) (valid, invalid []*pending) {
	for _, p := range fresh {
		provider, err := Provider(p.obj.Key)
		if err != nil {
			p.provider = unknownProvider(p.obj.Key)
		} else {
			p.provider = provider
			p.record, err = movie.Parse(p.obj.Raw)
		}
		if err != nil {
			p.reason = err.Error()
			invalid = append(invalid, p)
			continue
		}

		p.movieID = movie.ID(p.record)
		p.search = searchFields{
			id: p.movieID, year: p.record.Year, title: movie.FoldSearch(p.record.Title),
			cast: movie.FoldSearchAll(p.record.Cast), genres: movie.FoldSearchAll(p.record.Genres),
		}
		p.hash = sha256.Sum256(p.obj.Raw)
		document, _ := json.Marshal(movie.NewDocument(p.record)) // a Record always marshals
		p.document = string(document)
		valid = append(valid, p)
	}
	return valid, invalid
}

// unknownProvider names the provider of a key outside providers/ by its
// first path segment, so a quarantined object still says where it came from.
func unknownProvider(objectKey string) string {
	first, _, _ := strings.Cut(objectKey, "/")
	return "unknown:" + first
}

func quarantineAll(ctx context.Context, tx pgx.Tx, invalid []*pending, results []IngestResult) error {
	if len(invalid) == 0 {
		return nil
	}

	cols := newColumns(len(invalid))
	for _, p := range invalid {
		cols.add(p.provider, p.obj.Bucket, p.obj.Key, p.obj.Version, p.reason, p.obj.Raw)
		results[p.index] = IngestResult{Outcome: OutcomeQuarantined, Reason: p.reason}
	}
	_, err := tx.Exec(ctx, `
		WITH q AS (
			INSERT INTO quarantine (provider, bucket, object_key, version, reason, raw)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])
			RETURNING id, bucket, object_key, version)
		UPDATE ingest_ledger l SET outcome = 'quarantined', quarantine_id = q.id
		FROM q WHERE l.bucket = q.bucket AND l.object_key = q.object_key AND l.version = q.version`,
		cols.args()...)
	if err != nil {
		return fmt.Errorf("quarantining %d objects: %w", len(invalid), err)
	}
	return nil
}

func storeAll(ctx context.Context, tx pgx.Tx, valid []*pending, results []IngestResult) error {
	if len(valid) == 0 {
		return nil
	}
	if err := appendRevisions(ctx, tx, valid); err != nil {
		return err
	}

	changed, err := upsertMovies(ctx, tx, latestPerMovie(valid))
	if err != nil {
		return err
	}
	seqs, err := recordChanges(ctx, tx, changed)
	if err != nil {
		return err
	}

	for _, p := range valid {
		seq, isChange := seqs[p.revision]
		results[p.index] = IngestResult{Outcome: OutcomeStored, MovieID: p.movieID, Changed: isChange, Seq: seq}
	}
	for _, c := range changed {
		results[c.index].Tags = c.tags
	}
	return nil
}

// appendRevisions inserts the revisions, sets each pending's revision id and
// links the ledger rows to them.
func appendRevisions(ctx context.Context, tx pgx.Tx, valid []*pending) error {
	cols := newColumns(len(valid))
	for _, p := range valid {
		cols.add(p.movieID, p.provider, p.obj.Bucket, p.obj.Key, p.obj.Version, p.obj.WrittenAt, p.hash[:], p.obj.Raw)
	}
	rows, err := tx.Query(ctx, `
		WITH r AS (
			INSERT INTO revisions (movie_id, provider, bucket, object_key, version, written_at, content_hash, raw)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bytea[], $8::bytea[])
			RETURNING id, bucket, object_key, version),
		l AS (
			UPDATE ingest_ledger l SET revision_id = r.id
			FROM r WHERE l.bucket = r.bucket AND l.object_key = r.object_key AND l.version = r.version)
		SELECT id, bucket, object_key, version FROM r`,
		cols.args()...)
	if err != nil {
		return fmt.Errorf("appending %d revisions: %w", len(valid), err)
	}

	byObject := map[[3]string]*pending{}
	for _, p := range valid {
		byObject[[3]string{p.obj.Bucket, p.obj.Key, p.obj.Version}] = p
	}
	var id int64
	var bucket, key, version string
	_, err = pgx.ForEachRow(rows, []any{&id, &bucket, &key, &version}, func() error {
		byObject[[3]string{bucket, key, version}].revision = id
		return nil
	})
	if err != nil {
		return fmt.Errorf("appending %d revisions: %w", len(valid), err)
	}
	return nil
}

// latestPerMovie keeps, per movie, the pending update with the greatest
// order key, sorted by movie id so row locks are taken in one global order.
// One statement cannot update a row twice, and only the greatest can win.
func latestPerMovie(valid []*pending) []*pending {
	latest := map[string]*pending{}
	for _, p := range valid {
		if cur, ok := latest[p.movieID]; !ok || p.order().Compare(cur.order()) > 0 {
			latest[p.movieID] = p
		}
	}

	out := make([]*pending, 0, len(latest))
	for _, p := range latest {
		out = append(out, p)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].movieID < out[b].movieID })
	return out
}

// upsertMovies makes each update its movie's current state unless the
// current state has a greater order key, and returns those that did. It
// keeps search_postings and search_counts in step in the same transaction.
//
// New movies are inserted first. Existing ones are then locked and read
// before they are updated, so the values the search index holds for them
// are known exactly. One INSERT ... ON CONFLICT DO UPDATE could not return
// the values it replaced, because RETURNING shows only the new row in
// PostgreSQL 15.
func upsertMovies(ctx context.Context, tx pgx.Tx, candidates []*pending) ([]movieChange, error) {
	inserted, err := insertNewMovies(ctx, tx, candidates)
	if err != nil {
		return nil, err
	}

	var existing []*pending
	for _, p := range candidates {
		if !inserted[p.movieID] {
			existing = append(existing, p)
		}
	}
	old, err := lockMovies(ctx, tx, existing)
	if err != nil {
		return nil, err
	}
	updated, err := updateMovies(ctx, tx, existing)
	if err != nil {
		return nil, err
	}

	var changed []movieChange
	var changes []indexChange
	for _, p := range candidates {
		switch {
		case inserted[p.movieID]:
			changes = append(changes, indexChange{new: p.search})
		case updated[p.movieID]:
			prev := old[p.movieID]
			changes = append(changes, indexChange{old: &prev, new: p.search})
		default:
			continue
		}
		changed = append(changed, movieChange{pending: p, old: changes[len(changes)-1].old})
	}
	return changed, updateSearchIndex(ctx, tx, changes)
}

// movieChange is an update that became its movie's current state, with the
// search fields it replaced (nil for a new movie).
type movieChange struct {
	*pending
	old  *searchFields
	tags []string // set by recordChanges
}

// movieColumns returns the candidates as unnest columns in the order that
// insertNewMovies and updateMovies read them.
func movieColumns(candidates []*pending) []any {
	cols := newColumns(len(candidates))
	for _, p := range candidates {
		f := p.search
		cols.add(p.movieID, f.year, f.title, arrayLiteral(f.cast), arrayLiteral(f.genres), arrayLiteral(p.record.Genres),
			p.document, p.obj.WrittenAt, p.obj.Key, p.hash[:], p.revision)
	}
	return cols.args()
}

const candidatesTable = `unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		            $8::timestamptz[], $9::text[], $10::bytea[], $11::bigint[])
		     WITH ORDINALITY AS t(id, year, title, cast_s, genres_s, genres, document, written_at, object_key, content_hash, revision_id, n)`

// insertNewMovies inserts the candidates whose movie does not exist yet and
// returns their ids. Rows go in id order, as in every transaction, so
// concurrent inserts of the same new movies wait rather than deadlock. A
// movie that another transaction is inserting is waited for and then
// counts as existing.
func insertNewMovies(ctx context.Context, tx pgx.Tx, candidates []*pending) (map[string]bool, error) {
	rows, err := tx.Query(ctx, `
		INSERT INTO movies (id, year, title_search, cast_search, genres_search, genres, document,
		                    written_at, object_key, content_hash, revision_id, change_seq)
		SELECT id, year, title, cast_s::text[], genres_s::text[], genres::text[], document, written_at, object_key, content_hash, revision_id, 0
		FROM `+candidatesTable+`
		ORDER BY n
		ON CONFLICT (id) DO NOTHING
		RETURNING id`,
		movieColumns(candidates)...)
	if err != nil {
		return nil, fmt.Errorf("inserting new movies among %d: %w", len(candidates), err)
	}
	return collectIDs(rows, "inserting new movies")
}

// lockMovies locks the candidates' movie rows in id order and returns their
// current search fields by id.
func lockMovies(ctx context.Context, tx pgx.Tx, candidates []*pending) (map[string]searchFields, error) {
	if len(candidates) == 0 {
		return nil, nil
	}

	ids := make([]string, len(candidates))
	for i, p := range candidates {
		ids[i] = p.movieID
	}
	rows, err := tx.Query(ctx, `
		SELECT id, year, title_search, cast_search, genres_search FROM movies
		WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, fmt.Errorf("locking %d movies: %w", len(ids), err)
	}

	old := make(map[string]searchFields, len(ids))
	var f searchFields
	_, err = pgx.ForEachRow(rows, []any{&f.id, &f.year, &f.title, &f.cast, &f.genres}, func() error {
		old[f.id] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("locking %d movies: %w", len(ids), err)
	}
	return old, nil
}

// updateMovies replaces the current state of locked movies whose order key
// is smaller than the candidate's and returns the ids it replaced.
func updateMovies(ctx context.Context, tx pgx.Tx, candidates []*pending) (map[string]bool, error) {
	if len(candidates) == 0 {
		return nil, nil
	}

	rows, err := tx.Query(ctx, `
		UPDATE movies m SET
			year = t.year, title_search = t.title, cast_search = t.cast_s::text[],
			genres_search = t.genres_s::text[], genres = t.genres::text[], document = t.document,
			written_at = t.written_at, object_key = t.object_key,
			content_hash = t.content_hash, revision_id = t.revision_id
		FROM `+candidatesTable+`
		WHERE m.id = t.id
		  AND (m.written_at, m.object_key, m.content_hash) < (t.written_at, t.object_key, t.content_hash)
		RETURNING m.id`,
		movieColumns(candidates)...)
	if err != nil {
		return nil, fmt.Errorf("updating current state of %d movies: %w", len(candidates), err)
	}
	return collectIDs(rows, "updating current state")
}

func collectIDs(rows pgx.Rows, what string) (map[string]bool, error) {
	ids := map[string]bool{}
	var id string
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { ids[id] = true; return nil }); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ids, nil
}

// recordChanges appends one change feed entry per changed movie and returns
// each entry's sequence number by revision id. It first takes the change
// feed lock, which the transaction holds until it ends, so that sequence
// numbers become visible in order: a reader that sees change n has seen
// every change before it, or it was rolled back. The lock is taken last
// and held only for the commit.
func recordChanges(ctx context.Context, tx pgx.Tx, changed []movieChange) (map[int64]int64, error) {
	seqs := map[int64]int64{}
	if len(changed) == 0 {
		return seqs, nil
	}
	if err := lockChangeFeed(ctx, tx); err != nil {
		return nil, err
	}

	cols := newColumns(len(changed))
	for i := range changed {
		c := &changed[i]
		c.tags = changeTags(*c)
		var oldYear *int
		var oldTitle *string
		if c.old != nil {
			oldYear, oldTitle = &c.old.year, &c.old.title
		}
		cols.add(c.movieID, c.revision, oldYear, oldTitle, c.search.year, c.search.title, arrayLiteral(c.tags))
	}
	rows, err := tx.Query(ctx, `
		WITH c AS (
			INSERT INTO changes (movie_id, revision_id, old_year, old_title, new_year, new_title, tags)
			SELECT m, r, oy, ot, ny, nt, tg::text[]
			FROM unnest($1::text[], $2::bigint[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[])
			     WITH ORDINALITY AS t(m, r, oy, ot, ny, nt, tg, n)
			ORDER BY n
			RETURNING seq, movie_id, revision_id),
		u AS (UPDATE movies m SET change_seq = c.seq FROM c WHERE m.id = c.movie_id)
		SELECT seq, revision_id FROM c`,
		cols.args()...)
	if err != nil {
		return nil, fmt.Errorf("recording %d changes: %w", len(changed), err)
	}

	var seq, revision int64
	_, err = pgx.ForEachRow(rows, []any{&seq, &revision}, func() error { seqs[revision] = seq; return nil })
	if err != nil {
		return nil, fmt.Errorf("recording changes: %w", err)
	}
	return seqs, nil
}

// changeFeedLock is the advisory lock key that orders change feed entries.
const changeFeedLock = 0x6d6f7669655f6364 // "movie_cd"

func lockChangeFeed(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(changeFeedLock)); err != nil {
		return fmt.Errorf("taking the change feed lock: %w", err)
	}
	return nil
}

// changeTags returns the cache tags a change touches.
func changeTags(c movieChange) []string {
	var old *tags.Fields
	if c.old != nil {
		old = c.old.tagFields()
	}
	return tags.OfChange(old, *c.search.tagFields())
}

func recordRemovals(ctx context.Context, tx pgx.Tx, removed []objectRef) error {
	for _, ref := range removed {
		_, err := tx.Exec(ctx, `
			INSERT INTO ingest_ledger (bucket, object_key, version, outcome)
			VALUES ($1, $2, $3, 'deleted')
			ON CONFLICT DO NOTHING`,
			ref.bucket, ref.key, ref.version)
		if err != nil {
			return fmt.Errorf("recording removal of s3://%s/%s: %w", ref.bucket, ref.key, err)
		}
	}
	return nil
}

// columns gathers rows into one slice per column, the shape unnest takes.
type columns struct {
	values [][]any
	rows   int
}

func newColumns(rows int) *columns {
	return &columns{rows: rows}
}

func (c *columns) add(row ...any) {
	if c.values == nil {
		c.values = make([][]any, len(row))
		for i := range c.values {
			c.values[i] = make([]any, 0, c.rows)
		}
	}
	for i, v := range row {
		c.values[i] = append(c.values[i], v)
	}
}

func (c *columns) args() []any {
	args := make([]any, len(c.values))
	for i, v := range c.values {
		args[i] = v
	}
	return args
}

// arrayLiteral writes a text array as a PostgreSQL array literal, so arrays
// of different lengths fit in one unnest column of text.
func arrayLiteral(values []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		arrayEscaper.WriteString(&b, v)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// arrayEscaper escapes an element of an array literal. Building a Replacer
// is costly, so there is one.
var arrayEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
