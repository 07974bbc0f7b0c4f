package origin

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"moviequery/internal/s3event"
)

// consumer turns S3 event notifications from the region's queue into
// ingested objects. Each worker receives up to ten messages, reads the
// objects they name, commits them in one transaction and only then deletes
// the messages. A message that could not be handled stays in the queue and
// comes back after its visibility timeout. After the queue's maximum receive
// count, SQS moves it to the dead-letter queue.
type consumer struct {
	s3         *s3.Client
	sqs        *sqs.Client
	queueURL   string
	visibility time.Duration
	batchSize  int // messages per transaction, at most
	store      *Store
	metrics    *metrics
	logger     *slog.Logger
	onChange   func(IngestResult)
}

// work is the objects of one message.
type work struct {
	msg     sqstypes.Message
	objects []Object
	removed []objectRef
}

// run receives and handles messages with workers goroutines until ctx ends.
func (c *consumer) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { c.receiveLoop(ctx) })
	}
	wg.Wait()
}

func (c *consumer) receiveLoop(ctx context.Context) {
	for ctx.Err() == nil {
		messages, err := c.receiveBatch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Error("receiving from queue; retrying in 1 s", "queue", c.queueURL, "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(messages) > 0 {
			// A batch received before shutdown is finished, not abandoned.
			c.handle(context.WithoutCancel(ctx), messages)
		}
	}
}

// receiveBatch long-polls for messages, then keeps receiving without
// waiting while full receives come back, up to batchSize messages: a busy
// queue gets large transactions, a quiet one is not kept waiting.
func (c *consumer) receiveBatch(ctx context.Context) ([]sqstypes.Message, error) {
	messages, err := c.receive(ctx, 20)
	for err == nil && len(messages)%10 == 0 && len(messages) > 0 && len(messages) < c.batchSize {
		var more []sqstypes.Message
		if more, err = c.receive(ctx, 0); len(more) == 0 {
			break
		}
		messages = append(messages, more...)
	}
	if err != nil && len(messages) > 0 {
		return messages, nil // handle what was received; the error comes back on the next receive
	}
	return messages, err
}

func (c *consumer) receive(ctx context.Context, waitSeconds int32) ([]sqstypes.Message, error) {
	out, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(c.queueURL),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             waitSeconds,
		VisibilityTimeout:           int32(c.visibility / time.Second),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// handle ingests one batch of messages and deletes those fully handled,
// extending their visibility while it works.
func (c *consumer) handle(ctx context.Context, messages []sqstypes.Message) {
	stopHeartbeat := c.startHeartbeat(ctx, messages)
	defer stopHeartbeat()

	done, batch := c.prepareAll(ctx, messages)
	done = append(done, c.ingest(ctx, batch)...)
	c.delete(ctx, done)
}

// prepareAll reads the objects of the messages, sixteen at a time. It
// returns the messages to acknowledge without ingest and the work to
// ingest; a message whose object could not be read is in neither.
func (c *consumer) prepareAll(ctx context.Context, messages []sqstypes.Message) (done []sqstypes.Message, batch []work) {
	type prepared struct {
		work   work
		ingest bool
		err    error
	}
	results := make([]prepared, len(messages))

	var reads errgroup.Group
	reads.SetLimit(16)
	for i, msg := range messages {
		reads.Go(func() error {
			w, ok, err := c.prepare(ctx, msg)
			results[i] = prepared{work: w, ingest: ok, err: err}
			return nil
		})
	}
	reads.Wait()

	for i, r := range results {
		switch {
		case r.err != nil:
			c.logger.Warn("reading object named by an event; the message will be delivered again",
				"message_id", aws.ToString(messages[i].MessageId), "receive_count", messages[i].Attributes["ApproximateReceiveCount"], "error", r.err)
		case !r.ingest:
			done = append(done, messages[i])
		default:
			batch = append(batch, r.work)
		}
	}
	return done, batch
}

// prepare reads the objects a message names. ok is false for a message to
// acknowledge without ingest: S3's test message and a body that is not an
// S3 event.
func (c *consumer) prepare(ctx context.Context, msg sqstypes.Message) (work, bool, error) {
	event, isTest, err := s3event.Parse(aws.ToString(msg.Body))
	if isTest {
		c.logger.Info("received S3 test message", "message_id", aws.ToString(msg.MessageId))
		return work{}, false, nil
	}
	if err != nil {
		c.logger.Warn("acknowledging a message that is not an S3 event", "message_id", aws.ToString(msg.MessageId), "error", err)
		c.metrics.rejectedMessages.Inc()
		return work{}, false, nil
	}

	if count := msg.Attributes["ApproximateReceiveCount"]; count != "" && count != "1" {
		c.logger.Warn("a message is delivered again: an earlier receive did not finish it within the visibility timeout",
			"message_id", aws.ToString(msg.MessageId), "receive_count", count)
	}

	w := work{msg: msg}
	for _, record := range event.Records {
		if err := c.prepareRecord(ctx, record, &w); err != nil {
			return work{}, false, err
		}
	}
	return w, true, nil
}

func (c *consumer) prepareRecord(ctx context.Context, record s3event.Record, w *work) error {
	key, err := record.S3.Object.DecodedKey()
	if err != nil {
		c.logger.Warn("skipping an event whose key cannot be decoded", "message_id", aws.ToString(w.msg.MessageId), "key", record.S3.Object.Key, "error", err)
		c.metrics.rejectedMessages.Inc()
		return nil
	}

	ref := objectRef{bucket: record.S3.Bucket.Name, key: key, version: record.S3.Object.VersionID}
	switch {
	case record.IsRemoved():
		if ref.version == "" {
			ref.version = "delete:" + record.S3.Object.Sequencer
		}
		w.removed = append(w.removed, ref)
	case record.IsCreated():
		obj, err := fetch(ctx, c.s3, ref)
		if err != nil {
			return err
		}
		w.objects = append(w.objects, obj)
	}
	return nil
}

// ingest commits the batch in one transaction and returns the messages it
// handled. When the batch fails it commits message by message, so one
// object the database rejects cannot hold back the others.
func (c *consumer) ingest(ctx context.Context, batch []work) []sqstypes.Message {
	if len(batch) == 0 {
		return nil
	}
	if c.commit(ctx, batch) == nil {
		return messagesOf(batch)
	}

	var done []sqstypes.Message
	for _, w := range batch {
		if err := c.commit(ctx, []work{w}); err != nil {
			c.logger.Error("ingesting message; it will be delivered again", "message_id", aws.ToString(w.msg.MessageId), "error", err)
			continue
		}
		done = append(done, w.msg)
	}
	return done
}

func (c *consumer) commit(ctx context.Context, batch []work) error {
	var objects []Object
	var removed []objectRef
	for _, w := range batch {
		objects = append(objects, w.objects...)
		removed = append(removed, w.removed...)
	}

	start := time.Now()
	results, err := c.store.Ingest(ctx, objects, removed)
	if err != nil {
		return err
	}
	c.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	c.report(objects, results)
	return nil
}

func (c *consumer) report(objects []Object, results []IngestResult) {
	for i, result := range results {
		c.metrics.ingested.WithLabelValues(string(result.Outcome)).Inc()
		if result.Outcome == OutcomeQuarantined {
			c.logger.Warn("quarantined invalid update", "bucket", objects[i].Bucket, "key", objects[i].Key, "version", objects[i].Version, "reason", result.Reason)
		}
		if result.Changed && c.onChange != nil {
			c.onChange(result)
		}
	}
}

func messagesOf(batch []work) []sqstypes.Message {
	messages := make([]sqstypes.Message, len(batch))
	for i, w := range batch {
		messages[i] = w.msg
	}
	return messages
}

// startHeartbeat extends the messages' visibility every third of the
// visibility timeout until the returned function is called, so slow work is
// not delivered to a second worker meanwhile.
func (c *consumer) startHeartbeat(ctx context.Context, messages []sqstypes.Message) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(c.visibility / 3)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				c.extendVisibility(ctx, messages)
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

func (c *consumer) extendVisibility(ctx context.Context, messages []sqstypes.Message) {
	for chunk := range slices.Chunk(messages, 10) {
		c.extendVisibilityBatch(ctx, chunk)
	}
}

// extendVisibilityBatch extends at most ten messages, the limit of one SQS
// batch request.
func (c *consumer) extendVisibilityBatch(ctx context.Context, messages []sqstypes.Message) {
	entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, len(messages))
	for i, msg := range messages {
		entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: int32(c.visibility / time.Second),
		}
	}

	_, err := c.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(c.queueURL), Entries: entries})
	if err != nil && ctx.Err() == nil {
		c.logger.Warn("extending message visibility", "messages", len(messages), "error", err)
	}
}

// delete deletes handled messages ten at a time, the limit of one SQS batch
// request.
func (c *consumer) delete(ctx context.Context, messages []sqstypes.Message) {
	for chunk := range slices.Chunk(messages, 10) {
		c.deleteChunk(ctx, chunk)
	}
}

// deleteChunk deletes up to ten messages, retrying failures three times. A
// message still not deleted is delivered again, which the ledger turns into
// a no-op.
func (c *consumer) deleteChunk(ctx context.Context, messages []sqstypes.Message) {
	backoff := 100 * time.Millisecond
	for attempt := 1; len(messages) > 0; attempt++ {
		failed, err := c.deleteBatch(ctx, messages)
		if err == nil && len(failed) == 0 {
			return
		}
		if attempt == 4 {
			c.logger.Warn("deleting handled messages; they will be delivered again", "messages", len(failed), "error", err)
			return
		}
		messages = failed
		sleep(ctx, backoff)
		backoff *= 4
	}
}

// deleteBatch returns the messages SQS did not delete.
func (c *consumer) deleteBatch(ctx context.Context, messages []sqstypes.Message) ([]sqstypes.Message, error) {
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(messages))
	for i, msg := range messages {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle}
	}

	out, err := c.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.queueURL), Entries: entries})
	if err != nil {
		return messages, err
	}

	var failed []sqstypes.Message
	for _, f := range out.Failed {
		i, _ := strconv.Atoi(aws.ToString(f.Id))
		failed = append(failed, messages[i])
	}
	if len(failed) > 0 {
		err = fmt.Errorf("%s: %s", aws.ToString(out.Failed[0].Code), aws.ToString(out.Failed[0].Message))
	}
	return failed, err
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
