package origin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"moviequery/internal/awsclient"
	"moviequery/internal/localaws"
)

// newTestQueue serves an SQS-compatible queue through wrap and returns a
// consumer of it, with no store: these tests exercise the queue side only.
func newTestQueue(t *testing.T, wrap func(http.Handler) http.Handler) (*consumer, *localaws.SQS) {
	t.Helper()
	server := localaws.NewSQS("us-east-1", nil)
	if err := server.CreateQueue("updates", nil); err != nil {
		t.Fatal(err)
	}
	httpServer := httptest.NewServer(wrap(server))
	t.Cleanup(httpServer.Close)

	clients, err := awsclient.New(context.Background(), awsclient.Config{Region: "us-east-1", SQSEndpoint: httpServer.URL, StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &consumer{sqs: clients.SQS, queueURL: httpServer.URL + "/000000000000/updates", visibility: time.Second, logger: slog.New(slog.DiscardHandler)}
	return c, server
}

func receiveOne(t *testing.T, c *consumer) []sqstypes.Message {
	t.Helper()
	messages, err := c.receive(context.Background(), 1)
	if err != nil || len(messages) != 1 {
		t.Fatalf("receive: got %d messages and error %v, want 1 message", len(messages), err)
	}
	return messages
}

func TestHeartbeatKeepsMessageHidden(t *testing.T) {
	c, server := newTestQueue(t, func(h http.Handler) http.Handler { return h })
	server.Enqueue("updates", "slow work")
	messages := receiveOne(t, c)

	stop := c.startHeartbeat(context.Background(), messages)
	time.Sleep(2500 * time.Millisecond) // two and a half visibility timeouts
	visible, inFlight, _ := server.Depth("updates")
	stop()

	if visible != 0 || inFlight != 1 {
		t.Errorf("during work: got %d visible and %d in flight, want the message still hidden", visible, inFlight)
	}
}

func TestDeleteRetriedAfterFailures(t *testing.T) {
	var failures atomic.Int32
	failDeletes := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// More failures than the SDK's own three attempts, so only the
			// consumer's retry can succeed.
			if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DeleteMessageBatch") && failures.Add(1) <= 4 {
				io.Copy(io.Discard, r.Body)
				http.Error(w, `{"__type":"com.amazonaws.sqs#InternalError","message":"injected"}`, http.StatusInternalServerError)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	c, server := newTestQueue(t, failDeletes)
	server.Enqueue("updates", "done work")
	messages := receiveOne(t, c)

	c.delete(context.Background(), messages)

	visible, inFlight, _ := server.Depth("updates")
	if visible != 0 || inFlight != 0 {
		t.Errorf("after delete: got %d visible and %d in flight, want the message gone", visible, inFlight)
	}
	if n := failures.Load(); n < 5 {
		t.Errorf("delete requests: got %d, want at least 5 (4 failed, then one that succeeded)", n)
	}
}
