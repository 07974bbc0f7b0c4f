package origin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"moviequery/internal/awsclient"
)

// RedriveResult is the outcome of redriving one quarantined object.
type RedriveResult struct {
	QuarantineID int64
	Key          string
	Outcome      Outcome
	Reason       string
}

// RedriveQuarantine validates quarantined objects again with the current
// rules: every one when ids is empty. Each object is read again from the
// bucket at its version, because the quarantine keeps at most
// movie.MaxRecordBytes+1 bytes of it; when the bucket no longer has it, the
// stored bytes are used.
func RedriveQuarantine(ctx context.Context, cfg Config, ids []int64) ([]RedriveResult, error) {
	store, err := OpenStore(ctx, cfg.DatabaseURL, cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	clients, err := awsclient.New(ctx, cfg.AWS)
	if err != nil {
		return nil, err
	}

	if len(ids) == 0 {
		if ids, err = allQuarantineIDs(ctx, store); err != nil {
			return nil, err
		}
	}

	results := make([]RedriveResult, 0, len(ids))
	for _, id := range ids {
		result, err := redriveOne(ctx, store, clients, id, cfg.Logger)
		if err != nil {
			return results, err
		}
		results = append(results, result)
	}
	return results, nil
}

func allQuarantineIDs(ctx context.Context, store *Store) ([]int64, error) {
	var ids []int64
	for after := int64(0); ; {
		page, err := store.Quarantine(ctx, after, 1000)
		if err != nil || len(page) == 0 {
			return ids, err
		}
		for _, q := range page {
			ids = append(ids, q.ID)
		}
		after = page[len(page)-1].ID
	}
}

func redriveOne(ctx context.Context, store *Store, clients awsclient.Clients, id int64, logger *slog.Logger) (RedriveResult, error) {
	q, raw, err := store.Quarantined(ctx, id)
	if err != nil {
		return RedriveResult{}, err
	}

	obj, err := refetch(ctx, clients, q)
	if err != nil {
		if logger != nil {
			logger.Warn("reading quarantined object again; validating the stored bytes", "id", id, "key", q.Key, "error", err)
		}
		obj = Object{Bucket: q.Bucket, Key: q.Key, Version: q.Version, WrittenAt: q.ReceivedAt, Raw: raw}
	}

	result, err := store.Redrive(ctx, id, obj)
	if err != nil {
		return RedriveResult{}, err
	}
	return RedriveResult{QuarantineID: id, Key: q.Key, Outcome: result.Outcome, Reason: result.Reason}, nil
}

// refetch reads a quarantined object's version from the bucket. A version
// named by ETag is read as the latest version and must still match.
func refetch(ctx context.Context, clients awsclient.Clients, q QuarantinedObject) (Object, error) {
	ref := objectRef{bucket: q.Bucket, key: q.Key, version: q.Version}
	if strings.HasPrefix(q.Version, "etag:") {
		ref.version = ""
	}

	obj, err := fetch(ctx, clients.S3, ref)
	if err != nil {
		return Object{}, err
	}
	if obj.Version != q.Version {
		return Object{}, fmt.Errorf("s3://%s/%s now holds version %s, not %s", q.Bucket, q.Key, obj.Version, q.Version)
	}
	return obj, nil
}
