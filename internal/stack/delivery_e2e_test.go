package stack_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"moviequery/internal/s3event"
	"moviequery/internal/stack"
)

func quickRedelivery(cfg *stack.RegionConfig) {
	cfg.VisibilityTimeout = time.Second
	cfg.MaxReceiveCount = 3
}

// sendCreatedEvent enqueues the notification S3 would send for key, without
// writing the object.
func sendCreatedEvent(t *testing.T, region *stack.Region, key string) {
	t.Helper()
	obj := s3event.Object{Key: s3event.EncodeKey(key), Sequencer: "0A"}
	body, _ := json.Marshal(s3event.Message{Records: []s3event.Record{s3event.NewRecord("us-east-1", "ObjectCreated:Put", region.Bucket, obj, time.Now())}})
	if err := region.SQS.Enqueue("movie-updates", string(body)); err != nil {
		t.Fatal(err)
	}
}

func ledgerKeys(t *testing.T, region *stack.Region) map[string]string {
	t.Helper()
	rows, err := region.Origin.Store().Ledger(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, row := range rows {
		outcomes[row.Key] = row.Outcome
	}
	return outcomes
}

func TestKeyDecodedOnce(t *testing.T) {
	region := startRegion(t)
	keys := []string{"providers/alpha/Heat + Ronin 1995.json", "providers/alpha/caf\u00e9 100%.json", "providers/alpha/a%2Bb.json"}
	for _, key := range keys {
		putObject(t, region, key, `{"title":"`+key+`","year":1995}`, time.Time{})
	}

	waitStored(t, region, len(keys))
	outcomes := ledgerKeys(t, region)
	for _, key := range keys {
		if outcomes[key] != "stored" {
			t.Errorf("ledger outcome of %q: got %q, want stored (ledger: %v)", key, outcomes[key], outcomes)
		}
	}
}

func TestObjectNotYetReadableIsRetried(t *testing.T) {
	region := startRegionWith(t, quickRedelivery)
	key := "providers/alpha/late.json"

	sendCreatedEvent(t, region, key)
	time.Sleep(1500 * time.Millisecond) // at least one failed read
	putObject(t, region, key, `{"title":"Late","year":2001}`, time.Time{})

	waitStored(t, region, 1)
	if got := ledgerKeys(t, region)[key]; got != "stored" {
		t.Errorf("ledger outcome: got %q, want stored", got)
	}
}

func TestUnreadableMessageDeadLettered(t *testing.T) {
	region := startRegionWith(t, quickRedelivery)
	sendCreatedEvent(t, region, "providers/alpha/never-written.json")
	putObject(t, region, "providers/alpha/fine.json", `{"title":"Fine","year":2001}`, time.Time{})

	waitStored(t, region, 1)
	deadline := time.Now().Add(20 * time.Second)
	for {
		visible, _, err := region.SQS.Depth(region.DeadLetterQueue)
		if err != nil {
			t.Fatal(err)
		}
		if visible == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead-letter queue holds %d messages after 20 s, want 1", visible)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitQueueEmpty(t, region)
}

func TestDeleteEventKeepsMovie(t *testing.T) {
	region := startRegion(t)
	key := "providers/alpha/gone.json"
	putObject(t, region, key, `{"title":"Gone","year":2001}`, time.Time{})
	waitStored(t, region, 1)

	_, err := region.Clients.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(region.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}

	s := waitStored(t, region, 2)
	if s.Movies != 1 || s.Revisions != 1 {
		t.Errorf("after delete: got %+v, want the movie and its revision kept", s)
	}
	rows, err := region.Origin.Store().Ledger(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, row := range rows {
		outcomes[row.Outcome]++
	}
	if outcomes["stored"] != 1 || outcomes["deleted"] != 1 {
		t.Errorf("ledger outcomes: got %v, want one stored and one deleted", outcomes)
	}
}
