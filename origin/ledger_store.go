package origin

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

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

		results, err := ingestBatch(ctx, tx, []Object{obj})
		if err == nil {
			result = results[0]
		}
		return err
	})
	return result, err
}
