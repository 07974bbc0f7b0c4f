package localaws

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const testRegion = "us-east-1"

// fakeClock is a clock that moves only when the test advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a server on 127.0.0.1 and an SDK client that talks to it.
type fixture struct {
	server *SQS
	http   *httptest.Server
	client *sqs.Client
	clock  *fakeClock
}

// newFixture starts a server whose clock moves only with f.clock.Advance.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	f := newFixtureWithClock(t, clock.Now)
	f.clock = clock
	return f
}

func newFixtureWithClock(t *testing.T, clock func() time.Time) *fixture {
	t.Helper()
	server := NewSQS(testRegion, clock)
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)

	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	return &fixture{server: server, http: ts, client: client}
}

func (f *fixture) createQueue(t *testing.T, name string, attributes map[string]string) string {
	t.Helper()
	out, err := f.client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attributes})
	if err != nil {
		t.Fatalf("CreateQueue(%q): %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func (f *fixture) send(t *testing.T, queueURL, body string) *sqs.SendMessageOutput {
	t.Helper()
	out, err := f.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return out
}

// receive sends a short-poll ReceiveMessage for up to 10 messages with every
// system attribute.
func (f *fixture) receive(t *testing.T, queueURL string) []types.Message {
	t.Helper()
	out, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MaxNumberOfMessages:         10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func (f *fixture) receiveOne(t *testing.T, queueURL string) types.Message {
	t.Helper()
	messages := f.receive(t, queueURL)
	if len(messages) != 1 {
		t.Fatalf("ReceiveMessage returned %d messages, want 1", len(messages))
	}
	return messages[0]
}

// receiveN receives with MaxNumberOfMessages n and fails unless it gets n messages.
func (f *fixture) receiveN(t *testing.T, queueURL string, n int32) {
	t.Helper()
	out, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: n})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != int(n) {
		t.Fatalf("got %d messages, want %d", len(out.Messages), n)
	}
}

func (f *fixture) checkDepth(t *testing.T, queue string, wantVisible, wantInFlight int) {
	t.Helper()
	visible, inFlight, err := f.server.Depth(queue)
	if err != nil {
		t.Fatalf("Depth(%q): %v", queue, err)
	}
	if visible != wantVisible || inFlight != wantInFlight {
		t.Errorf("Depth(%q) = %d visible, %d in flight, want %d, %d", queue, visible, inFlight, wantVisible, wantInFlight)
	}
}

// waitForPoller blocks until a ReceiveMessage request waits in a long poll on queue.
func waitForPoller(t *testing.T, server *SQS, queue string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		server.mu.Lock()
		waiting := server.queues[queue].waiting
		server.mu.Unlock()
		if waiting > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no ReceiveMessage request waits on queue %q after 5s", queue)
}

func checkErrorCode(t *testing.T, err error, want string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got error %v, want an API error with code %s", err, want)
	}
	if got := apiErr.ErrorCode(); got != want {
		t.Errorf("got error code %s, want %s (error: %v)", got, want, err)
	}
}

func md5Of(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSendReceiveDelete(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	if want := f.http.URL + "/000000000000/ingest"; queueURL != want {
		t.Errorf("got queue URL %s, want %s", queueURL, want)
	}

	body := `{"movie":"tt0111161","title":"Die Verurteilten – ☃"}`
	sent := f.send(t, queueURL, body)
	if got, want := aws.ToString(sent.MD5OfMessageBody), md5Of(body); got != want {
		t.Errorf("got MD5OfMessageBody %s, want %s", got, want)
	}

	m := f.receiveOne(t, queueURL)
	if got, want := aws.ToString(m.Body), body; got != want {
		t.Errorf("got body %q, want %q", got, want)
	}
	if got, want := aws.ToString(m.MD5OfBody), md5Of(body); got != want {
		t.Errorf("got MD5OfBody %s, want %s", got, want)
	}
	if got, want := aws.ToString(m.MessageId), aws.ToString(sent.MessageId); got != want {
		t.Errorf("got message ID %s, want %s", got, want)
	}

	millis := strconv.FormatInt(f.clock.Now().UnixMilli(), 10)
	wantAttributes := map[string]string{
		"SenderId":                         "000000000000",
		"SentTimestamp":                    millis,
		"ApproximateReceiveCount":          "1",
		"ApproximateFirstReceiveTimestamp": millis,
	}
	if diff := cmp.Diff(wantAttributes, m.Attributes); diff != "" {
		t.Errorf("system attributes (-want +got):\n%s", diff)
	}
	f.checkDepth(t, "ingest", 0, 1)

	_, err := f.client.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
	if err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	f.checkDepth(t, "ingest", 0, 0)
}

func TestReceiveSelectsSystemAttributes(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	f.send(t, queueURL, "one")

	out, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("got %d messages, want 1", len(out.Messages))
	}
	want := map[string]string{"ApproximateReceiveCount": "1"}
	if diff := cmp.Diff(want, out.Messages[0].Attributes); diff != "" {
		t.Errorf("system attributes (-want +got):\n%s", diff)
	}
}

func TestVisibilityTimeout(t *testing.T) {
	tests := []struct {
		name     string
		queue    string // VisibilityTimeout attribute of the queue
		override int32  // VisibilityTimeout of ReceiveMessage, which the SDK omits when 0
		want     time.Duration
	}{
		{name: "queue default", queue: "30", want: 30 * time.Second},
		{name: "queue attribute", queue: "7", want: 7 * time.Second},
		{name: "request override", queue: "30", override: 5, want: 5 * time.Second},
		{name: "queue zero", queue: "0", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			queueURL := f.createQueue(t, "ingest", map[string]string{"VisibilityTimeout": tt.queue})
			f.send(t, queueURL, "body")

			_, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), VisibilityTimeout: tt.override})
			if err != nil {
				t.Fatalf("ReceiveMessage: %v", err)
			}
			if tt.want > 0 {
				f.clock.Advance(tt.want - time.Millisecond)
				if got := f.receive(t, queueURL); len(got) != 0 {
					t.Fatalf("got %d messages before the visibility timeout ended, want 0", len(got))
				}
				f.clock.Advance(time.Millisecond)
			}
			if got := f.receive(t, queueURL); len(got) != 1 {
				t.Errorf("got %d messages after the visibility timeout ended, want 1", len(got))
			}
		})
	}
}

func TestRedeliveryReplacesReceiptHandle(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", map[string]string{"VisibilityTimeout": "30"})
	f.send(t, queueURL, "body")

	first := f.receiveOne(t, queueURL)
	f.clock.Advance(30 * time.Second)
	second := f.receiveOne(t, queueURL)

	if got, want := aws.ToString(second.MessageId), aws.ToString(first.MessageId); got != want {
		t.Errorf("got message ID %s on redelivery, want %s", got, want)
	}
	if got, want := second.Attributes["ApproximateReceiveCount"], "2"; got != want {
		t.Errorf("got ApproximateReceiveCount %s, want %s", got, want)
	}
	if aws.ToString(second.ReceiptHandle) == aws.ToString(first.ReceiptHandle) {
		t.Errorf("got the same receipt handle on redelivery, want a new one")
	}

	deleteMessage := func(handle *string) {
		t.Helper()
		_, err := f.client.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: handle})
		if err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
	}
	deleteMessage(first.ReceiptHandle) // Succeeds, as in SQS, but the handle is stale.
	f.checkDepth(t, "ingest", 0, 1)
	deleteMessage(second.ReceiptHandle)
	f.checkDepth(t, "ingest", 0, 0)
}

func TestChangeMessageVisibility(t *testing.T) {
	tests := []struct {
		name          string
		visibility    int32
		advance       time.Duration
		wantDelivered bool
	}{
		{name: "zero shows at once", visibility: 0, wantDelivered: true},
		{name: "longer hides past queue timeout", visibility: 60, advance: 31 * time.Second, wantDelivered: false},
		{name: "longer ends", visibility: 60, advance: 60 * time.Second, wantDelivered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			queueURL := f.createQueue(t, "ingest", map[string]string{"VisibilityTimeout": "30"})
			f.send(t, queueURL, "body")
			m := f.receiveOne(t, queueURL)

			_, err := f.client.ChangeMessageVisibility(t.Context(), &sqs.ChangeMessageVisibilityInput{
				QueueUrl:          aws.String(queueURL),
				ReceiptHandle:     m.ReceiptHandle,
				VisibilityTimeout: tt.visibility,
			})
			if err != nil {
				t.Fatalf("ChangeMessageVisibility: %v", err)
			}

			f.clock.Advance(tt.advance)
			if got := len(f.receive(t, queueURL)) == 1; got != tt.wantDelivered {
				t.Errorf("got delivered %t, want %t", got, tt.wantDelivered)
			}
		})
	}
}

func TestChangeMessageVisibilityErrors(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	f.send(t, queueURL, "body")
	m := f.receiveOne(t, queueURL)

	change := func(handle string) error {
		_, err := f.client.ChangeMessageVisibility(t.Context(), &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(handle), VisibilityTimeout: 0,
		})
		return err
	}

	var invalid *types.ReceiptHandleIsInvalid
	if err := change("garbage"); !errors.As(err, &invalid) {
		t.Errorf("got error %v for a malformed handle, want ReceiptHandleIsInvalid", err)
	}
	if err := change(aws.ToString(m.ReceiptHandle)); err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	var notInFlight *types.MessageNotInflight
	if err := change(aws.ToString(m.ReceiptHandle)); !errors.As(err, &notInFlight) {
		t.Errorf("got error %v for a visible message, want MessageNotInflight", err)
	}
}

func TestChangeMessageVisibilityBatch(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	f.send(t, queueURL, "body")
	m := f.receiveOne(t, queueURL)

	out, err := f.client.ChangeMessageVisibilityBatch(t.Context(), &sqs.ChangeMessageVisibilityBatchInput{
		QueueUrl: aws.String(queueURL),
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("valid"), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0},
			{Id: aws.String("stale"), ReceiptHandle: aws.String("garbage"), VisibilityTimeout: 0},
		},
	})
	if err != nil {
		t.Fatalf("ChangeMessageVisibilityBatch: %v", err)
	}

	var successful []string
	for _, e := range out.Successful {
		successful = append(successful, aws.ToString(e.Id))
	}
	if diff := cmp.Diff([]string{"valid"}, successful); diff != "" {
		t.Errorf("successful IDs (-want +got):\n%s", diff)
	}
	if len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "stale" || aws.ToString(out.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("got failed entries %+v, want one for stale with code ReceiptHandleIsInvalid", out.Failed)
	}
	f.checkDepth(t, "ingest", 1, 0)
}

func TestLongPollReturnsWhenMessageArrives(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)

	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
	}
	results := make(chan result, 1)
	start := time.Now()
	go func() {
		out, err := f.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), WaitTimeSeconds: 20})
		results <- result{out, err}
	}()

	waitForPoller(t, f.server, "ingest")
	if err := f.server.Enqueue("ingest", "arrived"); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}

	select {
	case r := <-results:
		if r.err != nil {
			t.Fatalf("ReceiveMessage: %v", r.err)
		}
		if len(r.out.Messages) != 1 || aws.ToString(r.out.Messages[0].Body) != "arrived" {
			t.Errorf("got messages %+v, want one with body arrived", r.out.Messages)
		}
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("got a response after %v, want it well before the 20s wait time", elapsed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReceiveMessage still waits 10s after Enqueue")
	}
}

func TestLongPollReturnsEmptyAfterWait(t *testing.T) {
	tests := []struct {
		name       string
		attributes map[string]string
		wait       int32
	}{
		{name: "request wait time", wait: 1},
		{name: "queue wait time", attributes: map[string]string{"ReceiveMessageWaitTimeSeconds": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			queueURL := f.createQueue(t, "ingest", tt.attributes)

			start := time.Now()
			out, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), WaitTimeSeconds: tt.wait})
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("ReceiveMessage: %v", err)
			}
			if len(out.Messages) != 0 {
				t.Errorf("got %d messages, want 0", len(out.Messages))
			}
			if elapsed < time.Second || elapsed > 5*time.Second {
				t.Errorf("got a response after %v, want about 1s", elapsed)
			}
		})
	}
}

func TestLongPollWakesWhenVisibilityTimeoutEnds(t *testing.T) {
	f := newFixtureWithClock(t, nil)
	queueURL := f.createQueue(t, "ingest", map[string]string{"VisibilityTimeout": "1"})
	f.send(t, queueURL, "body")
	if got := f.receive(t, queueURL); len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}

	start := time.Now()
	out, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), WaitTimeSeconds: 10})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Errorf("got %d messages, want the redelivered one", len(out.Messages))
	}
	if elapsed > 5*time.Second {
		t.Errorf("got a response after %v, want about 1s", elapsed)
	}
}

func TestLongPollEndsWithRequestContext(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := f.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), WaitTimeSeconds: 20})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got error %v, want context.DeadlineExceeded", err)
	}

	// Close blocks until every handler has returned.
	start := time.Now()
	f.http.Close()
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("server closed after %v, want the waiting handler to return at once", elapsed)
	}
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	for _, maxReceiveCount := range []string{`2`, `"2"`} {
		t.Run("maxReceiveCount "+maxReceiveCount, func(t *testing.T) {
			f := newFixture(t)
			f.createQueue(t, "ingest-dlq", nil)
			policy := fmt.Sprintf(`{"deadLetterTargetArn":"arn:aws:sqs:%s:000000000000:ingest-dlq","maxReceiveCount":%s}`, testRegion, maxReceiveCount)
			queueURL := f.createQueue(t, "ingest", map[string]string{"VisibilityTimeout": "10", "RedrivePolicy": policy})
			sentAt := f.clock.Now()
			sent := f.send(t, queueURL, "poison")

			for range 2 {
				f.receiveOne(t, queueURL)
				f.clock.Advance(10 * time.Second)
			}
			if got := f.receive(t, queueURL); len(got) != 0 {
				t.Errorf("got %d messages after maxReceiveCount receives, want 0", len(got))
			}
			f.checkDepth(t, "ingest", 0, 0)
			f.checkDepth(t, "ingest-dlq", 1, 0)

			dlqURL := strings.TrimSuffix(queueURL, "ingest") + "ingest-dlq"
			m := f.receiveOne(t, dlqURL)
			if got, want := aws.ToString(m.MessageId), aws.ToString(sent.MessageId); got != want {
				t.Errorf("got message ID %s in the dead-letter queue, want %s", got, want)
			}
			if got, want := aws.ToString(m.Body), "poison"; got != want {
				t.Errorf("got body %q, want %q", got, want)
			}
			if got, want := m.Attributes["DeadLetterQueueSourceArn"], "arn:aws:sqs:us-east-1:000000000000:ingest"; got != want {
				t.Errorf("got DeadLetterQueueSourceArn %s, want %s", got, want)
			}
			if got, want := m.Attributes["SentTimestamp"], strconv.FormatInt(sentAt.UnixMilli(), 10); got != want {
				t.Errorf("got SentTimestamp %s, want the original %s", got, want)
			}
		})
	}
}

func TestRedrivePolicyAttribute(t *testing.T) {
	f := newFixture(t)
	f.createQueue(t, "ingest-dlq", nil)
	policy := `{"maxReceiveCount":"5","deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:ingest-dlq"}`
	queueURL := f.createQueue(t, "ingest", map[string]string{"RedrivePolicy": policy})

	out, err := f.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	want := map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:ingest-dlq","maxReceiveCount":5}`}
	if diff := cmp.Diff(want, out.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestCreateQueueRejectsRedrivePolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		wantCode string
	}{
		{name: "missing target", policy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nowhere","maxReceiveCount":3}`, wantCode: "InvalidParameterValue"},
		{name: "zero count", policy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:ingest-dlq","maxReceiveCount":0}`, wantCode: "InvalidAttributeValue"},
		{name: "not an ARN", policy: `{"deadLetterTargetArn":"ingest-dlq","maxReceiveCount":3}`, wantCode: "InvalidAttributeValue"},
		{name: "not JSON", policy: `maxReceiveCount=3`, wantCode: "InvalidAttributeValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.createQueue(t, "ingest-dlq", nil)
			_, err := f.client.CreateQueue(t.Context(), &sqs.CreateQueueInput{
				QueueName:  aws.String("ingest"),
				Attributes: map[string]string{"RedrivePolicy": tt.policy},
			})
			checkErrorCode(t, err, tt.wantCode)
		})
	}
}

func TestSendAndDeleteMessageBatch(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)

	var entries []types.SendMessageBatchRequestEntry
	for i := range 3 {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprintf("m%d", i)), MessageBody: aws.String(fmt.Sprintf("body %d", i))})
	}
	sent, err := f.client.SendMessageBatch(t.Context(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(sent.Successful) != 3 || len(sent.Failed) != 0 {
		t.Fatalf("got %d successful and %d failed entries, want 3 and 0", len(sent.Successful), len(sent.Failed))
	}

	messages := f.receive(t, queueURL)
	if len(messages) != 3 {
		t.Fatalf("got %d messages, want 3", len(messages))
	}
	deletes := []types.DeleteMessageBatchRequestEntry{{Id: aws.String("bogus"), ReceiptHandle: aws.String("not-a-handle")}}
	for i, m := range messages {
		deletes = append(deletes, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprintf("d%d", i)), ReceiptHandle: m.ReceiptHandle})
	}

	out, err := f.client.DeleteMessageBatch(t.Context(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: deletes})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	var successful []string
	for _, e := range out.Successful {
		successful = append(successful, aws.ToString(e.Id))
	}
	slices.Sort(successful)
	if diff := cmp.Diff([]string{"d0", "d1", "d2"}, successful); diff != "" {
		t.Errorf("successful IDs (-want +got):\n%s", diff)
	}
	if len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bogus" || aws.ToString(out.Failed[0].Code) != "ReceiptHandleIsInvalid" || !out.Failed[0].SenderFault {
		t.Errorf("got failed entries %+v, want one sender fault for bogus with code ReceiptHandleIsInvalid", out.Failed)
	}
	f.checkDepth(t, "ingest", 0, 0)
}

func TestBatchRejectsEntries(t *testing.T) {
	entry := func(id string) types.DeleteMessageBatchRequestEntry {
		return types.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: aws.String("handle")}
	}
	var eleven []types.DeleteMessageBatchRequestEntry
	for i := range 11 {
		eleven = append(eleven, entry(fmt.Sprintf("e%d", i)))
	}

	tests := []struct {
		name    string
		entries []types.DeleteMessageBatchRequestEntry
		wantErr any
	}{
		{name: "empty", entries: []types.DeleteMessageBatchRequestEntry{}, wantErr: new(*types.EmptyBatchRequest)},
		{name: "eleven entries", entries: eleven, wantErr: new(*types.TooManyEntriesInBatchRequest)},
		{name: "duplicate ID", entries: []types.DeleteMessageBatchRequestEntry{entry("a"), entry("a")}, wantErr: new(*types.BatchEntryIdsNotDistinct)},
		{name: "invalid ID", entries: []types.DeleteMessageBatchRequestEntry{entry("a b")}, wantErr: new(*types.InvalidBatchEntryId)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			queueURL := f.createQueue(t, "ingest", nil)
			_, err := f.client.DeleteMessageBatch(t.Context(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: tt.entries})
			if !errors.As(err, tt.wantErr) {
				t.Errorf("got error %v, want %T", err, tt.wantErr)
			}
		})
	}
}

func TestUnknownQueue(t *testing.T) {
	f := newFixture(t)
	missing := aws.String(f.http.URL + "/000000000000/missing")

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"GetQueueUrl", func(ctx context.Context) error {
			_, err := f.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
			return err
		}},
		{"SendMessage", func(ctx context.Context) error {
			_, err := f.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: missing, MessageBody: aws.String("body")})
			return err
		}},
		{"ReceiveMessage", func(ctx context.Context) error {
			_, err := f.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: missing})
			return err
		}},
		{"DeleteMessage", func(ctx context.Context) error {
			_, err := f.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: missing, ReceiptHandle: aws.String("handle")})
			return err
		}},
		{"GetQueueAttributes", func(ctx context.Context) error {
			_, err := f.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: missing})
			return err
		}},
		{"PurgeQueue", func(ctx context.Context) error {
			_, err := f.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: missing})
			return err
		}},
		{"DeleteQueue", func(ctx context.Context) error {
			_, err := f.client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: missing})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			var notFound *types.QueueDoesNotExist
			if !errors.As(err, &notFound) {
				t.Fatalf("got error %v, want *types.QueueDoesNotExist", err)
			}
			if got, want := notFound.ErrorCode(), "AWS.SimpleQueueService.NonExistentQueue"; got != want {
				t.Errorf("got error code %s, want %s", got, want)
			}
		})
	}
}

func TestReceiveMaxNumberOfMessages(t *testing.T) {
	// The SDK omits a MaxNumberOfMessages of 0, which then means 1.
	// TestErrorWireFormat sends an explicit 0.
	tests := []struct {
		max     int32
		wantErr bool
	}{
		{max: -1, wantErr: true},
		{max: 0},
		{max: 1},
		{max: 10},
		{max: 11, wantErr: true},
	}
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	for _, tt := range tests {
		t.Run(strconv.Itoa(int(tt.max)), func(t *testing.T) {
			_, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: tt.max})
			if !tt.wantErr {
				if err != nil {
					t.Errorf("got error %v, want none", err)
				}
				return
			}
			checkErrorCode(t, err, "InvalidParameterValue")
		})
	}
}

func TestReceiveReturnsAtMostMaxNumberOfMessages(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	for i := range 12 {
		f.send(t, queueURL, fmt.Sprintf("body %d", i))
	}

	out, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL)})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Errorf("got %d messages without MaxNumberOfMessages, want 1", len(out.Messages))
	}
	if got := f.receive(t, queueURL); len(got) != 10 {
		t.Errorf("got %d messages with MaxNumberOfMessages 10, want 10", len(got))
	}
	f.checkDepth(t, "ingest", 1, 11)
}

func TestUnsupportedAction(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)

	_, err := f.client.TagQueue(t.Context(), &sqs.TagQueueInput{QueueUrl: aws.String(queueURL), Tags: map[string]string{"team": "ingest"}})
	var unsupported *types.UnsupportedOperation
	if !errors.As(err, &unsupported) {
		t.Fatalf("got error %v, want *types.UnsupportedOperation", err)
	}
	if !strings.Contains(unsupported.ErrorMessage(), "TagQueue") {
		t.Errorf("got message %q, want it to name TagQueue", unsupported.ErrorMessage())
	}
}

func TestErrorWireFormat(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	tests := []struct {
		name           string
		target         string
		body           string
		wantType       string
		wantQueryError string
	}{
		{"unknown action", "AmazonSQS.Frobnicate", `{}`, "com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation;Sender"},
		{"other service", "DynamoDB_20120810.GetItem", `{}`, "com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation;Sender"},
		{"unknown queue", "AmazonSQS.GetQueueUrl", `{"QueueName":"missing"}`, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"malformed JSON", "AmazonSQS.GetQueueUrl", `{"QueueName":`, "com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue;Sender"},
		{"zero MaxNumberOfMessages", "AmazonSQS.ReceiveMessage", `{"QueueUrl":"` + queueURL + `","MaxNumberOfMessages":0}`, "com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue;Sender"},
		{"missing QueueUrl", "AmazonSQS.SendMessage", `{"MessageBody":"body"}`, "com.amazonaws.sqs#MissingParameter", "MissingParameter;Sender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.http.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			defer resp.Body.Close()

			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("got status %d, want %d", resp.StatusCode, http.StatusBadRequest)
			}
			if got := resp.Header.Get("x-amzn-query-error"); got != tt.wantQueryError {
				t.Errorf("got x-amzn-query-error %q, want %q", got, tt.wantQueryError)
			}
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decoding error body: %v", err)
			}
			if body.Type != tt.wantType {
				t.Errorf("got __type %q, want %q", body.Type, tt.wantType)
			}
			if body.Message == "" {
				t.Errorf("got an empty message, want a description")
			}
		})
	}
}

func TestCreateQueueIdempotent(t *testing.T) {
	f := newFixture(t)
	attributes := map[string]string{"VisibilityTimeout": "45"}
	first := f.createQueue(t, "ingest", attributes)

	if again := f.createQueue(t, "ingest", attributes); again != first {
		t.Errorf("got queue URL %s on the second CreateQueue, want %s", again, first)
	}
	if plain := f.createQueue(t, "ingest", nil); plain != first {
		t.Errorf("got queue URL %s for CreateQueue without attributes, want %s", plain, first)
	}

	_, err := f.client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("ingest"), Attributes: map[string]string{"VisibilityTimeout": "60"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) {
		t.Errorf("got error %v for other attributes, want *types.QueueNameExists", err)
	}
}

func TestCreateQueueRejects(t *testing.T) {
	tests := []struct {
		name       string
		queue      string
		attributes map[string]string
		wantCode   string
	}{
		{name: "invalid name", queue: "movie ingest", wantCode: "InvalidParameterValue"},
		{name: "long name", queue: strings.Repeat("q", 81), wantCode: "InvalidParameterValue"},
		{name: "FIFO name", queue: "ingest.fifo", wantCode: "InvalidParameterValue"},
		{name: "FIFO attribute", queue: "ingest", attributes: map[string]string{"FifoQueue": "true"}, wantCode: "InvalidParameterValue"},
		{name: "unknown attribute", queue: "ingest", attributes: map[string]string{"Colour": "blue"}, wantCode: "InvalidAttributeName"},
		{name: "visibility too long", queue: "ingest", attributes: map[string]string{"VisibilityTimeout": "43201"}, wantCode: "InvalidAttributeValue"},
		{name: "wait not a number", queue: "ingest", attributes: map[string]string{"ReceiveMessageWaitTimeSeconds": "soon"}, wantCode: "InvalidAttributeValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(tt.queue), Attributes: tt.attributes})
			checkErrorCode(t, err, tt.wantCode)
		})
	}
}

func TestListQueues(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"movies-b", "movies-a", "movies-c", "other"} {
		f.createQueue(t, name, nil)
	}
	url := func(name string) string { return f.http.URL + "/000000000000/" + name }

	all, err := f.client.ListQueues(t.Context(), &sqs.ListQueuesInput{QueueNamePrefix: aws.String("movies-")})
	if err != nil {
		t.Fatalf("ListQueues: %v", err)
	}
	if diff := cmp.Diff([]string{url("movies-a"), url("movies-b"), url("movies-c")}, all.QueueUrls); diff != "" {
		t.Errorf("queue URLs (-want +got):\n%s", diff)
	}

	var paged []string
	paginator := sqs.NewListQueuesPaginator(f.client, &sqs.ListQueuesInput{MaxResults: aws.Int32(2)})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListQueues page: %v", err)
		}
		paged = append(paged, page.QueueUrls...)
	}
	if diff := cmp.Diff([]string{url("movies-a"), url("movies-b"), url("movies-c"), url("other")}, paged); diff != "" {
		t.Errorf("paged queue URLs (-want +got):\n%s", diff)
	}
}

func TestGetQueueAttributes(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", map[string]string{"VisibilityTimeout": "20"})
	for _, body := range []string{"visible", "in flight"} {
		f.send(t, queueURL, body)
	}
	f.receiveN(t, queueURL, 1)
	_, err := f.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String("delayed"), DelaySeconds: 60})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}

	out, err := f.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	want := map[string]string{
		"ApproximateNumberOfMessages":           "1",
		"ApproximateNumberOfMessagesNotVisible": "1",
		"ApproximateNumberOfMessagesDelayed":    "1",
		"QueueArn":                              "arn:aws:sqs:us-east-1:000000000000:ingest",
		"VisibilityTimeout":                     "20",
		"ReceiveMessageWaitTimeSeconds":         "0",
		"DelaySeconds":                          "0",
	}
	for name, value := range want {
		if got := out.Attributes[name]; got != value {
			t.Errorf("got %s %q, want %q", name, got, value)
		}
	}

	_, err = f.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{"Colour"},
	})
	var invalid *types.InvalidAttributeName
	if !errors.As(err, &invalid) {
		t.Errorf("got error %v for an unknown attribute, want *types.InvalidAttributeName", err)
	}
}

func TestDelaySeconds(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	_, err := f.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String("later"), DelaySeconds: 10})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}

	if got := f.receive(t, queueURL); len(got) != 0 {
		t.Errorf("got %d messages during the delay, want 0", len(got))
	}
	f.checkDepth(t, "ingest", 0, 0)
	f.clock.Advance(10 * time.Second)
	f.receiveOne(t, queueURL)
}

func TestPurgeAndDeleteQueue(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	f.send(t, queueURL, "one")
	f.send(t, queueURL, "two")

	if _, err := f.client.PurgeQueue(t.Context(), &sqs.PurgeQueueInput{QueueUrl: aws.String(queueURL)}); err != nil {
		t.Fatalf("PurgeQueue: %v", err)
	}
	f.checkDepth(t, "ingest", 0, 0)

	if _, err := f.client.DeleteQueue(t.Context(), &sqs.DeleteQueueInput{QueueUrl: aws.String(queueURL)}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	if _, _, err := f.server.Depth("ingest"); !errors.Is(err, ErrQueueDoesNotExist) {
		t.Errorf("got error %v after DeleteQueue, want ErrQueueDoesNotExist", err)
	}
}

func TestMessageAttributes(t *testing.T) {
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	attributes := map[string]types.MessageAttributeValue{
		"Hello":   {DataType: aws.String("String"), StringValue: aws.String("There")},
		"General": {DataType: aws.String("String"), StringValue: aws.String("Kenobi")},
	}
	// The same digest is in a ReceiveMessage response fixture of LocalStack's unit tests.
	const wantMD5 = "fca026605781cb4126a1e9044df24232"

	sent, err := f.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String("body"), MessageAttributes: attributes})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if got := aws.ToString(sent.MD5OfMessageAttributes); got != wantMD5 {
		t.Errorf("got MD5OfMessageAttributes %s from SendMessage, want %s", got, wantMD5)
	}

	out, err := f.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("got %d messages, want 1", len(out.Messages))
	}
	m := out.Messages[0]
	if got := aws.ToString(m.MD5OfMessageAttributes); got != wantMD5 {
		t.Errorf("got MD5OfMessageAttributes %s from ReceiveMessage, want %s", got, wantMD5)
	}
	got := make(map[string]string)
	for name, v := range m.MessageAttributes {
		got[name] = aws.ToString(v.DataType) + "=" + aws.ToString(v.StringValue)
	}
	if diff := cmp.Diff(map[string]string{"Hello": "String=There", "General": "String=Kenobi"}, got); diff != "" {
		t.Errorf("message attributes (-want +got):\n%s", diff)
	}
}

func TestSelectMessageAttributes(t *testing.T) {
	attributes := map[string]messageAttributeValue{
		"movie.id":    {DataType: "String", StringValue: "tt0111161"},
		"movie.year":  {DataType: "Number", StringValue: "1994"},
		"source":      {DataType: "String", StringValue: "s3"},
		"fingerprint": {DataType: "Binary", BinaryValue: []byte{1, 2}},
	}
	tests := []struct {
		names []string
		want  []string
	}{
		{names: nil, want: nil},
		{names: []string{"All"}, want: []string{"fingerprint", "movie.id", "movie.year", "source"}},
		{names: []string{".*"}, want: []string{"fingerprint", "movie.id", "movie.year", "source"}},
		{names: []string{"movie.*"}, want: []string{"movie.id", "movie.year"}},
		{names: []string{"source", "missing"}, want: []string{"source"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			selected := selectMessageAttributes(attributes, tt.names)
			var got []string
			for name := range selected {
				got = append(got, name)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("selected names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendMessageRejects(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		attributes map[string]types.MessageAttributeValue
		wantCode   string
	}{
		{name: "control character", body: "a\x01b", wantCode: "InvalidMessageContents"},
		{name: "attribute without value", body: "body", attributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String")}}, wantCode: "InvalidParameterValue"},
		{name: "attribute bad number", body: "body", attributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Number"), StringValue: aws.String("ten")}}, wantCode: "InvalidParameterValue"},
		{name: "attribute bad type", body: "body", attributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Date"), StringValue: aws.String("today")}}, wantCode: "InvalidParameterValue"},
	}
	f := newFixture(t)
	queueURL := f.createQueue(t, "ingest", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(tt.body), MessageAttributes: tt.attributes})
			checkErrorCode(t, err, tt.wantCode)
		})
	}
	f.checkDepth(t, "ingest", 0, 0)
}

func TestEnqueueAndDepth(t *testing.T) {
	f := newFixture(t)
	if err := f.server.Enqueue("missing", "body"); !errors.Is(err, ErrQueueDoesNotExist) {
		t.Errorf("got Enqueue error %v, want ErrQueueDoesNotExist", err)
	}
	if _, _, err := f.server.Depth("missing"); !errors.Is(err, ErrQueueDoesNotExist) {
		t.Errorf("got Depth error %v, want ErrQueueDoesNotExist", err)
	}
	if err := f.server.CreateQueue("ingest", map[string]string{"Colour": "blue"}); err == nil {
		t.Errorf("got no error for an unknown attribute, want one")
	}

	if err := f.server.CreateQueue("ingest", map[string]string{"DelaySeconds": "5"}); err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	if err := f.server.Enqueue("ingest", "body"); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	f.checkDepth(t, "ingest", 0, 0)
	f.clock.Advance(5 * time.Second)
	f.checkDepth(t, "ingest", 1, 0)
}
