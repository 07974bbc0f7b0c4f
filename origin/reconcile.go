package origin

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// reconcileBatch is how many missing objects one transaction ingests.
const reconcileBatch = 50

// reconciler lists a bucket and ingests every object version the ledger
// lacks, so a lost or late notification delays an update but never loses
// it. A pass costs one listing request and one ledger query per thousand
// objects when nothing is missing.
type reconciler struct {
	s3      *s3.Client
	bucket  string
	store   *Store
	metrics *metrics
	logger  *slog.Logger
	// grace leaves objects younger than this to their notifications, so a
	// pass does not race the queue for objects still in flight.
	grace time.Duration
	now   func() time.Time
}

// ReconcileResult counts what one pass did.
type ReconcileResult struct {
	Listed   int
	Ingested int
}

// run reconciles at start and then every interval until ctx ends.
func (r *reconciler) run(ctx context.Context, interval time.Duration) {
	for {
		start := time.Now()
		result, err := r.pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.logger.Error("reconciling bucket; resuming at the next pass", "bucket", r.bucket, "error", err)
		case err == nil && result.Ingested > 0:
			r.logger.Warn("reconciliation found objects without a notification", "bucket", r.bucket, "listed", result.Listed, "ingested", result.Ingested, "duration", time.Since(start))
		case err == nil:
			r.logger.Info("reconciled bucket", "bucket", r.bucket, "listed", result.Listed, "duration", time.Since(start))
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// listPosition is where a listing resumes: after this key, and for a
// versioned bucket after this version of it.
type listPosition struct {
	Key     string
	Version string
}

// pass lists the whole bucket once, resuming where an interrupted pass
// stopped, and ingests what the ledger lacks.
func (r *reconciler) pass(ctx context.Context) (ReconcileResult, error) {
	var result ReconcileResult
	locked, err := r.store.withTryLock(ctx, "reconcile:"+r.bucket, func() error {
		var err error
		result, err = r.passLocked(ctx)
		return err
	})
	if err == nil && !locked {
		r.logger.Info("another origin is reconciling the bucket; skipping this pass", "bucket", r.bucket)
	}
	return result, err
}

// passLocked runs a pass while holding the bucket's reconciliation lock.
func (r *reconciler) passLocked(ctx context.Context) (ReconcileResult, error) {
	versioned, err := r.isVersioned(ctx)
	if err != nil {
		return ReconcileResult{}, err
	}
	position, err := r.store.reconcileProgress(ctx, r.bucket)
	if err != nil {
		return ReconcileResult{}, err
	}

	var result ReconcileResult
	for {
		refs, next, more, err := r.listPage(ctx, versioned, position)
		if err != nil {
			return result, err
		}
		ingested, err := r.ingestMissing(ctx, refs)
		result.Listed += len(refs)
		result.Ingested += ingested
		if err != nil {
			return result, err
		}

		if !more {
			return result, r.store.saveReconcileProgress(ctx, r.bucket, listPosition{})
		}
		if err := r.store.saveReconcileProgress(ctx, r.bucket, next); err != nil {
			return result, err
		}
		position = next
	}
}

func (r *reconciler) isVersioned(ctx context.Context) (bool, error) {
	out, err := r.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(r.bucket)})
	if err != nil {
		return false, fmt.Errorf("reading versioning of bucket %s: %w", r.bucket, err)
	}
	return out.Status == s3types.BucketVersioningStatusEnabled || out.Status == s3types.BucketVersioningStatusSuspended, nil
}

// listPage lists up to a thousand object versions after position. more is
// false at the end of the bucket.
func (r *reconciler) listPage(ctx context.Context, versioned bool, position listPosition) (refs []objectRef, next listPosition, more bool, err error) {
	if versioned {
		return r.listVersions(ctx, position)
	}

	out, err := r.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(r.bucket), StartAfter: aws.String(position.Key)})
	if err != nil {
		return nil, next, false, fmt.Errorf("listing bucket %s after %q: %w", r.bucket, position.Key, err)
	}

	for _, obj := range out.Contents {
		next.Key = aws.ToString(obj.Key)
		if r.settled(obj.LastModified) {
			refs = append(refs, objectRef{bucket: r.bucket, key: next.Key, version: objectVersion("", aws.ToString(obj.ETag))})
		}
	}
	return refs, next, aws.ToBool(out.IsTruncated) && next.Key != "", nil
}

func (r *reconciler) listVersions(ctx context.Context, position listPosition) (refs []objectRef, next listPosition, more bool, err error) {
	input := &s3.ListObjectVersionsInput{Bucket: aws.String(r.bucket)}
	if position.Key != "" {
		input.KeyMarker = aws.String(position.Key)
	}
	if position.Version != "" {
		input.VersionIdMarker = aws.String(position.Version)
	}
	out, err := r.s3.ListObjectVersions(ctx, input)
	if err != nil {
		return nil, next, false, fmt.Errorf("listing versions of bucket %s after %q: %w", r.bucket, position.Key, err)
	}

	for _, v := range out.Versions {
		if r.settled(v.LastModified) {
			refs = append(refs, objectRef{bucket: r.bucket, key: aws.ToString(v.Key), version: objectVersion(aws.ToString(v.VersionId), aws.ToString(v.ETag))})
		}
	}
	next = listPosition{Key: aws.ToString(out.NextKeyMarker), Version: aws.ToString(out.NextVersionIdMarker)}
	return refs, next, aws.ToBool(out.IsTruncated) && next.Key != "", nil
}

func (r *reconciler) settled(lastModified *time.Time) bool {
	return r.grace == 0 || lastModified == nil || r.now().Sub(*lastModified) >= r.grace
}

func (r *reconciler) ingestMissing(ctx context.Context, refs []objectRef) (int, error) {
	missing, err := r.store.missingFromLedger(ctx, r.bucket, refs)
	if err != nil {
		return 0, err
	}

	ingested := 0
	for start := 0; start < len(missing); start += reconcileBatch {
		batch := missing[start:min(start+reconcileBatch, len(missing))]
		n, err := r.ingestBatch(ctx, batch)
		ingested += n
		if err != nil {
			return ingested, err
		}
	}
	return ingested, nil
}

// ingestBatch reads and ingests listed objects. An object deleted since the
// listing is skipped, so it cannot stop every later pass at the same page.
func (r *reconciler) ingestBatch(ctx context.Context, refs []objectRef) (int, error) {
	fetched := make([]Object, len(refs))
	fetches, fetchCtx := errgroup.WithContext(ctx)
	fetches.SetLimit(8)
	for i, ref := range refs {
		fetches.Go(func() error {
			obj, err := fetch(fetchCtx, r.s3, ref)
			if isGone(err) {
				r.logger.Info("listed object is gone; skipping it", "bucket", ref.bucket, "key", ref.key, "version", ref.version)
				return nil
			}
			fetched[i] = obj
			return err
		})
	}
	if err := fetches.Wait(); err != nil {
		return 0, err
	}

	objects := make([]Object, 0, len(fetched))
	for _, obj := range fetched {
		if obj.Key != "" {
			objects = append(objects, obj)
		}
	}

	results, err := r.store.Ingest(ctx, objects, nil)
	if err != nil {
		return 0, err
	}
	for _, result := range results {
		r.metrics.ingested.WithLabelValues(string(result.Outcome)).Inc()
		if result.Outcome != OutcomeDuplicate {
			r.metrics.reconciled.Inc()
		}
	}
	return len(objects), nil
}
