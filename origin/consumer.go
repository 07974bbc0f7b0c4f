package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"moviequery/internal/movie"
	"moviequery/internal/s3event"
)

// writtenAtMetadata is the user metadata key that carries the time an object
// was first written, so a copy in another region orders like the original.
// Without it the object's Last-Modified time is used.
const writtenAtMetadata = "first-written"

// consumer turns S3 event notifications from the region's queue into
// ingested objects.
type consumer struct {
	s3       *s3.Client
	sqs      *sqs.Client
	queueURL string
	store    *Store
	metrics  *metrics
	logger   *slog.Logger
	onChange func(IngestResult)
}

// objectRef is one object version named by an event.
type objectRef struct {
	bucket, key, version string
	removed              bool
}

// run receives and handles messages with workers goroutines until ctx ends.
func (c *consumer) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { c.work(ctx) })
	}
	wg.Wait()
}

func (c *consumer) work(ctx context.Context) {
	for ctx.Err() == nil {
		out, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(c.queueURL),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             20,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Error("receiving from queue", "queue", c.queueURL, "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(out.Messages) > 0 {
			c.handle(context.WithoutCancel(ctx), out.Messages)
		}
	}
}

// handle ingests one batch of messages and deletes those fully handled. A
// message whose object could not be read stays in the queue, so SQS delivers
// it again after its visibility timeout. It does not stop on ctx so a batch
// received before shutdown is finished.
func (c *consumer) handle(ctx context.Context, messages []sqstypes.Message) {
	var done []sqstypes.Message
	var objects []Object

	for _, msg := range messages {
		refs, ok := c.refs(msg)
		if !ok {
			done = append(done, msg)
			continue
		}

		fetched, err := c.fetchAll(ctx, refs)
		if err != nil {
			c.logger.Warn("reading object named by an event; will retry", "message_id", aws.ToString(msg.MessageId), "error", err)
			continue
		}
		objects = append(objects, fetched...)
		done = append(done, msg)
	}

	if len(objects) > 0 && !c.ingest(ctx, objects) {
		return
	}
	c.delete(ctx, done)
}

// refs returns the object versions a message names. ok is false for a
// message to acknowledge without ingest: S3's test message, a body that is
// not an S3 event, and delete events (the store keeps every update).
func (c *consumer) refs(msg sqstypes.Message) ([]objectRef, bool) {
	event, isTest, err := s3event.Parse(aws.ToString(msg.Body))
	if isTest {
		c.logger.Info("received S3 test message", "message_id", aws.ToString(msg.MessageId))
		return nil, false
	}
	if err != nil {
		c.logger.Warn("dropping message that is not an S3 event", "message_id", aws.ToString(msg.MessageId), "error", err)
		c.metrics.rejectedMessages.Inc()
		return nil, false
	}

	var refs []objectRef
	for _, record := range event.Records {
		key, err := record.S3.Object.DecodedKey()
		if err != nil {
			c.logger.Warn("dropping event with an undecodable key", "key", record.S3.Object.Key, "error", err)
			continue
		}
		ref := objectRef{bucket: record.S3.Bucket.Name, key: key, version: record.S3.Object.VersionID, removed: record.IsRemoved()}
		if ref.removed {
			c.logger.Info("object removed from bucket; its revisions stay stored", "bucket", ref.bucket, "key", key)
			continue
		}
		refs = append(refs, ref)
	}
	return refs, len(refs) > 0
}

func (c *consumer) fetchAll(ctx context.Context, refs []objectRef) ([]Object, error) {
	objects := make([]Object, 0, len(refs))
	for _, ref := range refs {
		obj, err := fetch(ctx, c.s3, ref)
		if err != nil {
			return nil, err
		}
		objects = append(objects, obj)
	}
	return objects, nil
}

// fetch reads one object version. It reads at most one byte past
// movie.MaxRecordBytes: that is enough to reject an oversized object, and
// the quarantine keeps that prefix.
func fetch(ctx context.Context, client *s3.Client, ref objectRef) (Object, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	input := &s3.GetObjectInput{Bucket: aws.String(ref.bucket), Key: aws.String(ref.key)}
	if ref.version != "" {
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
		Version:   objectVersion(out),
		WrittenAt: writtenAt(out),
		Raw:       raw,
	}, nil
}

func objectVersion(out *s3.GetObjectOutput) string {
	if v := aws.ToString(out.VersionId); v != "" && v != "null" {
		return v
	}
	return "etag:" + strings.Trim(aws.ToString(out.ETag), `"`)
}

func writtenAt(out *s3.GetObjectOutput) time.Time {
	if raw, ok := out.Metadata[writtenAtMetadata]; ok {
		if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
			return t.UTC()
		}
	}
	return aws.ToTime(out.LastModified).UTC()
}

func (c *consumer) ingest(ctx context.Context, objects []Object) bool {
	start := time.Now()
	results, err := c.store.Ingest(ctx, objects)
	if err != nil {
		c.logger.Error("ingesting batch; messages will be delivered again", "objects", len(objects), "error", err)
		return false
	}
	c.metrics.commitSeconds.Observe(time.Since(start).Seconds())

	for i, result := range results {
		c.metrics.ingested.WithLabelValues(string(result.Outcome)).Inc()
		if result.Outcome == OutcomeQuarantined {
			c.logger.Warn("quarantined invalid update", "bucket", objects[i].Bucket, "key", objects[i].Key, "reason", result.Reason)
		}
		if result.Changed && c.onChange != nil {
			c.onChange(result)
		}
	}
	return true
}

func (c *consumer) delete(ctx context.Context, messages []sqstypes.Message) {
	if len(messages) == 0 {
		return
	}

	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(messages))
	for i, msg := range messages {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: msg.ReceiptHandle}
	}

	out, err := c.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.queueURL), Entries: entries})
	if err == nil && len(out.Failed) > 0 {
		err = errors.New(aws.ToString(out.Failed[0].Message))
	}
	if err != nil {
		// The ledger makes a second delivery a no-op, so a failed delete
		// costs one more receive, never a duplicate.
		c.logger.Warn("deleting handled messages; they will be delivered again", "messages", len(messages), "error", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
