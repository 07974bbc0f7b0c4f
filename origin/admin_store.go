package origin

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/apikey"
)

// CreateKey stores a new API key and returns it with its secret, which is
// not kept anywhere and must be shown to the caller now.
func (s *Store) CreateKey(ctx context.Context, name string, scopes []string) (apikey.Key, string, error) {
	key, secret, err := apikey.New(name, scopes)
	if err != nil {
		return apikey.Key{}, "", err
	}

	hash, _ := hex.DecodeString(key.Hash) // apikey.Hash always returns valid hex
	_, err = s.pool.Exec(ctx, `INSERT INTO api_keys (id, name, hash, scopes, rate_per_second, burst) VALUES ($1, $2, $3, $4, $5, $6)`,
		key.ID, key.Name, hash, key.Scopes, key.RatePerSecond, key.Burst)
	if err != nil {
		return apikey.Key{}, "", fmt.Errorf("storing key %s: %w", key.ID, err)
	}
	return key, secret, nil
}

// ActiveKeys returns every key that is not revoked.
func (s *Store) ActiveKeys(ctx context.Context) ([]apikey.Key, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, name, encode(hash, 'hex'), scopes, rate_per_second, burst FROM api_keys
		WHERE revoked_at IS NULL ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}

	keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[apikey.Key])
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	return keys, nil
}

// Stats counts what the store holds, for operators and for the local stack
// to tell when a load is complete.
type Stats struct {
	LedgerEntries int64 `json:"ledger_entries"`
	Revisions     int64 `json:"revisions"`
	Quarantined   int64 `json:"quarantined"`
	Movies        int64 `json:"movies"`
	LastChangeSeq int64 `json:"last_change_seq"`
}

// Stats returns the current counts.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM ingest_ledger),
		       (SELECT count(*) FROM revisions),
		       (SELECT count(*) FROM quarantine),
		       (SELECT count(*) FROM movies),
		       (SELECT coalesce(max(seq), 0) FROM changes)`).
		Scan(&st.LedgerEntries, &st.Revisions, &st.Quarantined, &st.Movies, &st.LastChangeSeq)
	if err != nil {
		return Stats{}, fmt.Errorf("counting store contents: %w", err)
	}
	return st, nil
}

// QuarantinedObject is an update that failed validation, kept with its
// reason.
type QuarantinedObject struct {
	ID         int64     `json:"id"`
	Provider   string    `json:"provider"`
	Bucket     string    `json:"bucket"`
	Key        string    `json:"key"`
	Version    string    `json:"version"`
	Reason     string    `json:"reason"`
	ReceivedAt time.Time `json:"received_at"`
}

// Quarantine lists quarantined objects, oldest first, after the given id.
func (s *Store) Quarantine(ctx context.Context, afterID int64, limit int) ([]QuarantinedObject, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, provider, bucket, object_key, version, reason, received_at
		FROM quarantine WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}

	objects, err := pgx.CollectRows(rows, pgx.RowToStructByPos[QuarantinedObject])
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	return objects, nil
}

// LedgerEntry is one object version the origin has seen and its outcome.
type LedgerEntry struct {
	Bucket  string    `json:"bucket"`
	Key     string    `json:"key"`
	Version string    `json:"version"`
	Outcome string    `json:"outcome"`
	SeenAt  time.Time `json:"seen_at"`
}

// Ledger lists ledger entries in key order, starting after the given key.
func (s *Store) Ledger(ctx context.Context, afterKey string, limit int) ([]LedgerEntry, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT bucket, object_key, version, outcome, seen_at FROM ingest_ledger
		WHERE object_key > $1 ORDER BY object_key, version LIMIT $2`, afterKey, limit)
	if err != nil {
		return nil, fmt.Errorf("listing ledger: %w", err)
	}

	entries, err := pgx.CollectRows(rows, pgx.RowToStructByPos[LedgerEntry])
	if err != nil {
		return nil, fmt.Errorf("listing ledger: %w", err)
	}
	return entries, nil
}

// Digest is a fingerprint of the current state: the SHA-256 over every
// movie's id and the content hash of its current revision, in id order. Two
// regions, or a region before and after a rebuild, hold the same state
// exactly when their digests are equal.
type Digest struct {
	Movies int64  `json:"movies"`
	SHA256 string `json:"sha256"`
}

// Digest computes the digest of the current state.
func (s *Store) Digest(ctx context.Context) (Digest, error) {
	var d Digest
	err := s.pool.QueryRow(ctx, `
		SELECT count(*),
		       encode(sha256(convert_to(coalesce(string_agg(id || ':' || encode(content_hash, 'hex'), ',' ORDER BY id), ''), 'UTF8')), 'hex')
		FROM movies`).Scan(&d.Movies, &d.SHA256)
	if err != nil {
		return Digest{}, fmt.Errorf("computing digest: %w", err)
	}
	return d, nil
}

// SetKeyRate sets the requests per second each edge allows a key, and the
// burst above that rate. A zero keeps that value as it is. Edges apply it
// at their next key refresh.
func (s *Store) SetKeyRate(ctx context.Context, id string, perSecond, burst int) error {
	if perSecond < 0 || burst < 0 || perSecond == 0 && burst == 0 {
		return fmt.Errorf("invalid rate %d/s with burst %d: give a positive rate, burst or both", perSecond, burst)
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE api_keys
		SET rate_per_second = coalesce(nullif($2, 0), rate_per_second), burst = coalesce(nullif($3, 0), burst)
		WHERE id = $1 AND revoked_at IS NULL`, id, perSecond, burst)
	if err != nil {
		return fmt.Errorf("setting rate of key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("no active key has id %q", id)
	}
	return nil
}

// RevokeKey revokes an API key. Edges stop accepting it at their next key
// refresh.
func (s *Store) RevokeKey(ctx context.Context, id string) error {
	var revokedBefore *time.Time
	err := s.pool.QueryRow(ctx, `
		WITH key AS (SELECT id, revoked_at FROM api_keys WHERE id = $1 FOR UPDATE),
		     revoked AS (UPDATE api_keys SET revoked_at = now() FROM key WHERE api_keys.id = key.id AND key.revoked_at IS NULL)
		SELECT revoked_at FROM key`, id).Scan(&revokedBefore)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("no key has id %q; the keys command lists the active ones", id)
	}
	if err != nil {
		return fmt.Errorf("revoking key %s: %w", id, err)
	}
	if revokedBefore != nil {
		return notFound("key %q was already revoked at %s", id, revokedBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
