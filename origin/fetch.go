package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"moviequery/internal/movie"
)

// writtenAtMetadata is the user metadata key that carries the time an object
// was first written, so a copy in another region orders like the original.
// Without it the object's Last-Modified time is used.
const writtenAtMetadata = "first-written"

// fetchTimeout bounds reading one object.
const fetchTimeout = 30 * time.Second

// objectRef names one object version. An empty version, or one named by
// ETag, means the latest: a bucket without versioning has no other.
type objectRef struct {
	bucket, key, version string
}

// fetch reads one object version. It reads at most one byte past
// movie.MaxRecordBytes: that is enough to reject an oversized object, and
// the quarantine keeps that prefix.
func fetch(ctx context.Context, client *s3.Client, ref objectRef) (Object, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()

	input := &s3.GetObjectInput{Bucket: aws.String(ref.bucket), Key: aws.String(ref.key)}
	if ref.version != "" && !strings.HasPrefix(ref.version, "etag:") {
		input.VersionId = aws.String(ref.version)
	}
	out, err := client.GetObject(ctx, input)
	if err != nil {
		return Object{}, fmt.Errorf("getting s3://%s/%s: %w", ref.bucket, ref.key, err)
	}
	defer out.Body.Close()

	raw, err := io.ReadAll(io.LimitReader(out.Body, movie.MaxRecordBytes+1))
	if err != nil {
		return Object{}, fmt.Errorf("reading s3://%s/%s: %w", ref.bucket, ref.key, err)
	}

	return Object{
		Bucket:    ref.bucket,
		Key:       ref.key,
		Version:   objectVersion(aws.ToString(out.VersionId), aws.ToString(out.ETag)),
		WrittenAt: writtenAt(out.Metadata, aws.ToTime(out.LastModified)),
		Raw:       raw,
	}, nil
}

// objectVersion names a version for the ledger: the S3 version id, or the
// ETag where the bucket has no versioning.
func objectVersion(versionID, etag string) string {
	if versionID != "" && versionID != "null" {
		return versionID
	}
	return "etag:" + strings.Trim(etag, `"`)
}

func writtenAt(metadata map[string]string, lastModified time.Time) time.Time {
	if raw, ok := metadata[writtenAtMetadata]; ok {
		if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
			return t.UTC()
		}
	}
	return lastModified.UTC()
}

// isGone reports whether err says the object or version no longer exists.
func isGone(err error) bool {
	var noKey *s3types.NoSuchKey
	var apiErr smithy.APIError
	if errors.As(err, &noKey) {
		return true
	}
	return errors.As(err, &apiErr) && (apiErr.ErrorCode() == "NoSuchVersion" || apiErr.ErrorCode() == "NotFound")
}
