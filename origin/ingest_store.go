package origin

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/movie"
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
func (s *Store) Ingest(ctx context.Context, objects []Object, removed []objectRef) ([]IngestResult, error) {
	order := make([]int, len(objects))
	for i := range order {
		order[i] = i
	}
	// Taking row locks in one global order keeps concurrent batches from
	// deadlocking on the same movies.
	sort.Slice(order, func(a, b int) bool { return ledgerLess(objects[order[a]], objects[order[b]]) })

	results := make([]IngestResult, len(objects))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, i := range order {
			result, err := ingestOne(ctx, tx, objects[i])
			if err != nil {
				return fmt.Errorf("ingesting s3://%s/%s: %w", objects[i].Bucket, objects[i].Key, err)
			}
			results[i] = result
		}
		return recordRemovals(ctx, tx, removed)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
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

func ingestOne(ctx context.Context, tx pgx.Tx, obj Object) (IngestResult, error) {
	fresh, err := claimLedger(ctx, tx, obj)
	if err != nil || !fresh {
		return IngestResult{Outcome: OutcomeDuplicate}, err
	}

	provider, record, err := validate(obj)
	if errors.Is(err, movie.ErrInvalid) {
		return quarantine(ctx, tx, obj, provider, err.Error())
	}
	return store(ctx, tx, obj, provider, record)
}

func validate(obj Object) (string, movie.Record, error) {
	provider, err := Provider(obj.Key)
	if err != nil {
		return unknownProvider(obj.Key), movie.Record{}, err
	}

	record, err := movie.Parse(obj.Raw)
	return provider, record, err
}

// unknownProvider names the provider of a key outside providers/ by its
// first path segment, so a quarantined object still says where it came from.
func unknownProvider(objectKey string) string {
	first, _, _ := strings.Cut(objectKey, "/")
	return "unknown:" + first
}

// claimLedger inserts the object's ledger row, reporting false when the row
// was already there. A concurrent claim of the same object waits for the
// other transaction and then sees its row.
func claimLedger(ctx context.Context, tx pgx.Tx, obj Object) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO ingest_ledger (bucket, object_key, version, outcome)
		VALUES ($1, $2, $3, 'stored')
		ON CONFLICT DO NOTHING`,
		obj.Bucket, obj.Key, obj.Version)
	if err != nil {
		return false, fmt.Errorf("claiming ledger row: %w", err)
	}
	return tag.RowsAffected() == 1, nil
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

func quarantine(ctx context.Context, tx pgx.Tx, obj Object, provider, reason string) (IngestResult, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO quarantine (provider, bucket, object_key, version, reason, raw)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id`,
		provider, obj.Bucket, obj.Key, obj.Version, reason, obj.Raw).Scan(&id)
	if err != nil {
		return IngestResult{}, fmt.Errorf("quarantining: %w", err)
	}

	_, err = tx.Exec(ctx, `
		UPDATE ingest_ledger SET outcome = 'quarantined', quarantine_id = $4
		WHERE bucket = $1 AND object_key = $2 AND version = $3`,
		obj.Bucket, obj.Key, obj.Version, id)
	if err != nil {
		return IngestResult{}, fmt.Errorf("updating ledger: %w", err)
	}
	return IngestResult{Outcome: OutcomeQuarantined, Reason: reason}, nil
}

func store(ctx context.Context, tx pgx.Tx, obj Object, provider string, record movie.Record) (IngestResult, error) {
	movieID := movie.ID(record)
	hash := sha256.Sum256(obj.Raw)

	revisionID, err := appendRevision(ctx, tx, obj, provider, movieID, hash[:])
	if err != nil {
		return IngestResult{}, err
	}

	changed, err := upsertMovie(ctx, tx, obj, record, movieID, hash[:], revisionID)
	if err != nil {
		return IngestResult{}, err
	}

	result := IngestResult{Outcome: OutcomeStored, MovieID: movieID, Changed: changed}
	if changed {
		result.Seq, err = recordChange(ctx, tx, movieID, revisionID)
	}
	return result, err
}

func appendRevision(ctx context.Context, tx pgx.Tx, obj Object, provider, movieID string, hash []byte) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO revisions (movie_id, provider, bucket, object_key, version, written_at, content_hash, raw)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`,
		movieID, provider, obj.Bucket, obj.Key, obj.Version, obj.WrittenAt, hash, obj.Raw).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("appending revision: %w", err)
	}

	_, err = tx.Exec(ctx, `
		UPDATE ingest_ledger SET revision_id = $4
		WHERE bucket = $1 AND object_key = $2 AND version = $3`,
		obj.Bucket, obj.Key, obj.Version, id)
	if err != nil {
		return 0, fmt.Errorf("updating ledger: %w", err)
	}
	return id, nil
}

// upsertMovie makes the record the movie's current state unless the current
// state has a greater order key, and reports whether it did.
func upsertMovie(ctx context.Context, tx pgx.Tx, obj Object, record movie.Record, movieID string, hash []byte, revisionID int64) (bool, error) {
	document, err := json.Marshal(movie.NewDocument(record))
	if err != nil {
		return false, fmt.Errorf("encoding document: %w", err)
	}

	tag, err := tx.Exec(ctx, `
		INSERT INTO movies (id, year, title_search, cast_search, genres_search, genres, document,
		                    written_at, object_key, content_hash, revision_id, change_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)
		ON CONFLICT (id) DO UPDATE SET
			year = EXCLUDED.year, title_search = EXCLUDED.title_search,
			cast_search = EXCLUDED.cast_search, genres_search = EXCLUDED.genres_search,
			genres = EXCLUDED.genres, document = EXCLUDED.document,
			written_at = EXCLUDED.written_at, object_key = EXCLUDED.object_key,
			content_hash = EXCLUDED.content_hash, revision_id = EXCLUDED.revision_id
		WHERE (movies.written_at, movies.object_key, movies.content_hash)
		    < (EXCLUDED.written_at, EXCLUDED.object_key, EXCLUDED.content_hash)`,
		movieID, record.Year, movie.FoldSearch(record.Title), movie.FoldSearchAll(record.Cast),
		movie.FoldSearchAll(record.Genres), record.Genres, string(document),
		obj.WrittenAt, obj.Key, hash, revisionID)
	if err != nil {
		return false, fmt.Errorf("updating current state: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func recordChange(ctx context.Context, tx pgx.Tx, movieID string, revisionID int64) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `
		INSERT INTO changes (movie_id, revision_id) VALUES ($1, $2) RETURNING seq`,
		movieID, revisionID).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("recording change: %w", err)
	}

	_, err = tx.Exec(ctx, `UPDATE movies SET change_seq = $2 WHERE id = $1`, movieID, seq)
	if err != nil {
		return 0, fmt.Errorf("recording change: %w", err)
	}
	return seq, nil
}

// missingFromLedger returns the refs the ledger has no entry for.
func (s *Store) missingFromLedger(ctx context.Context, bucket string, refs []objectRef) ([]objectRef, error) {
	keys := make([]string, len(refs))
	versions := make([]string, len(refs))
	for i, ref := range refs {
		keys[i], versions[i] = ref.key, ref.version
	}

	rows, err := s.pool.Query(ctx, `
		SELECT t.key, t.version FROM unnest($2::text[], $3::text[]) AS t(key, version)
		WHERE NOT EXISTS (
			SELECT 1 FROM ingest_ledger l
			WHERE l.bucket = $1 AND l.object_key = t.key AND l.version = t.version)`,
		bucket, keys, versions)
	if err != nil {
		return nil, fmt.Errorf("checking ledger: %w", err)
	}

	missing, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (objectRef, error) {
		ref := objectRef{bucket: bucket}
		return ref, row.Scan(&ref.key, &ref.version)
	})
	if err != nil {
		return nil, fmt.Errorf("checking ledger: %w", err)
	}
	return missing, nil
}

func (s *Store) reconcileProgress(ctx context.Context, bucket string) (listPosition, error) {
	var position listPosition
	err := s.pool.QueryRow(ctx, `SELECT after_key, after_version FROM reconcile_progress WHERE bucket = $1`, bucket).
		Scan(&position.Key, &position.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return position, nil
	}
	if err != nil {
		return position, fmt.Errorf("reading reconciliation progress: %w", err)
	}
	return position, nil
}

func (s *Store) saveReconcileProgress(ctx context.Context, bucket string, position listPosition) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO reconcile_progress (bucket, after_key, after_version) VALUES ($1, $2, $3)
		ON CONFLICT (bucket) DO UPDATE SET
			after_key = EXCLUDED.after_key, after_version = EXCLUDED.after_version, updated_at = now()`,
		bucket, position.Key, position.Version)
	if err != nil {
		return fmt.Errorf("saving reconciliation progress: %w", err)
	}
	return nil
}

// Quarantined returns one quarantined object with its stored bytes, or
// ErrNotFound.
func (s *Store) Quarantined(ctx context.Context, id int64) (QuarantinedObject, []byte, error) {
	var q QuarantinedObject
	var raw []byte
	err := s.pool.QueryRow(ctx, `
		SELECT id, provider, bucket, object_key, version, reason, received_at, raw
		FROM quarantine WHERE id = $1`, id).
		Scan(&q.ID, &q.Provider, &q.Bucket, &q.Key, &q.Version, &q.Reason, &q.ReceivedAt, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, nil, notFound("no quarantined object has id %d", id)
	}
	if err != nil {
		return q, nil, fmt.Errorf("reading quarantined object %d: %w", id, err)
	}
	return q, raw, nil
}

// Redrive validates a quarantined object again, as obj, in one transaction:
// its quarantine and ledger entries are removed and it is ingested anew. An
// object that is still invalid goes back to quarantine with the current
// reason.
func (s *Store) Redrive(ctx context.Context, id int64, obj Object) (IngestResult, error) {
	var result IngestResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM quarantine WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("removing quarantined object %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("no quarantined object has id %d", id)
		}

		_, err = tx.Exec(ctx, `DELETE FROM ingest_ledger WHERE bucket = $1 AND object_key = $2 AND version = $3`, obj.Bucket, obj.Key, obj.Version)
		if err != nil {
			return fmt.Errorf("removing ledger entry of quarantined object %d: %w", id, err)
		}

		result, err = ingestOne(ctx, tx, obj)
		return err
	})
	return result, err
}
