package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gocmp "github.com/google/go-cmp/cmp"

	"moviequery/internal/s3event"
	"moviequery/internal/stack"
)

func putObject(t *testing.T, region *stack.Region, key, body string, firstWritten time.Time) {
	t.Helper()
	if err := putWithWrittenAt(region, key, []byte(body), firstWritten); err != nil {
		t.Fatal(err)
	}
}

// putWithWrittenAt writes an object carrying its first-written time, unless
// firstWritten is zero.
func putWithWrittenAt(region *stack.Region, key string, body []byte, firstWritten time.Time) error {
	input := &s3.PutObjectInput{Bucket: aws.String(region.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)}
	if !firstWritten.IsZero() {
		input.Metadata = map[string]string{"first-written": firstWritten.Format(time.RFC3339Nano)}
	}
	if _, err := region.Clients.S3.PutObject(context.Background(), input); err != nil {
		return fmt.Errorf("putting %s: %w", key, err)
	}
	return nil
}

func currentCast(t *testing.T, region *stack.Region, title string, year int) []string {
	t.Helper()
	var page moviePage
	getJSON(t, region.OriginURL+"/internal/v1/movies?title="+title+"&year="+itoa(year), "", &page)
	if len(page.Movies) != 1 {
		t.Fatalf("movies titled %q in %d: got %d, want 1", title, year, len(page.Movies))
	}
	return page.Movies[0].Cast
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestIngestOrderAndQuarantine checks the order rule across providers
// whatever the arrival order, that invalid objects are kept with a reason,
// and that a repeated notification changes nothing.
func TestIngestOrderAndQuarantine(t *testing.T) {
	region := startRegion(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	movie := func(cast string) string {
		return `{"title":"Heat","year":1995,"cast":["` + cast + `"],"genres":["Crime"],"href":"Heat_(1995_film)"}`
	}

	putObject(t, region, "providers/alpha/heat.json", movie("Al Pacino"), t0.Add(2*time.Second))
	waitStored(t, region, 1)
	putObject(t, region, "providers/beta/heat.json", movie("Robert De Niro"), t0.Add(time.Second))
	waitStored(t, region, 2)
	if got := currentCast(t, region, "heat", 1995); got[0] != "Al Pacino" {
		t.Errorf("after an older update arrived late: cast %v, want the newer [Al Pacino]", got)
	}

	putObject(t, region, "providers/beta/heat-recut.json", "  "+movie("Val Kilmer")+"\n", t0.Add(3*time.Second))
	waitStored(t, region, 3)
	if got := currentCast(t, region, "heat", 1995); got[0] != "Val Kilmer" {
		t.Errorf("after a newer update: cast %v, want [Val Kilmer]", got)
	}

	putObject(t, region, "providers/alpha/broken.json", `{"title": "Heat", "year": "1995"}`, time.Time{})
	putObject(t, region, "elsewhere/heat.json", movie("Tom Sizemore"), time.Time{})
	s := waitStored(t, region, 5)
	if s.Revisions != 3 || s.Quarantined != 2 || s.Movies != 1 {
		t.Errorf("stats: got %+v, want 3 revisions, 2 quarantined, 1 movie", s)
	}

	checkQuarantineReasons(t, region)
	checkReplayIsNoop(t, region, s)
	checkAuditTrail(t, region)
}

type auditTrail struct {
	MovieID   string `json:"movie_id"`
	Revisions []struct {
		Provider  string `json:"provider"`
		ObjectKey string `json:"object_key"`
		Current   bool   `json:"current"`
		Changes   []struct {
			Field   string   `json:"field"`
			Added   []string `json:"added"`
			Removed []string `json:"removed"`
		} `json:"changes"`
	} `json:"revisions"`
}

// checkAuditTrail reads the revisions of the movie built by
// TestIngestOrderAndQuarantine through an edge.
func checkAuditTrail(t *testing.T, region *stack.Region) {
	t.Helper()
	var page moviePage
	getJSON(t, region.OriginURL+"/internal/v1/movies?title=heat", "", &page)
	target := region.EdgeURLs[0] + "/v1/movies/" + page.Movies[0].ID + "/revisions"

	if status := getStatus(t, target, createKey(t, region, "query")); status != http.StatusForbidden {
		t.Errorf("revisions with a query-only key: got status %d, want 403", status)
	}

	var trail auditTrail
	getJSON(t, target, createKey(t, region, "audit"), &trail)
	var keys []string
	for _, r := range trail.Revisions {
		keys = append(keys, r.Provider+" "+r.ObjectKey)
	}
	want := []string{"beta providers/beta/heat.json", "alpha providers/alpha/heat.json", "beta providers/beta/heat-recut.json"}
	if diff := gocmp.Diff(want, keys); diff != "" {
		t.Fatalf("revisions in order (-want +got):\n%s", diff)
	}

	second := trail.Revisions[1]
	if len(second.Changes) != 1 || second.Changes[0].Field != "cast" ||
		!slices.Equal(second.Changes[0].Added, []string{"Al Pacino"}) || !slices.Equal(second.Changes[0].Removed, []string{"Robert De Niro"}) {
		t.Errorf("changes of the second revision: got %+v, want cast +Al Pacino -Robert De Niro", second.Changes)
	}
	if !trail.Revisions[2].Current || trail.Revisions[0].Current {
		t.Errorf("current flags: got %v %v %v, want only the last", trail.Revisions[0].Current, trail.Revisions[1].Current, trail.Revisions[2].Current)
	}
}

func checkQuarantineReasons(t *testing.T, region *stack.Region) {
	t.Helper()
	objects, err := region.Origin.Store().Quarantine(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}

	reasons := map[string]string{}
	for _, o := range objects {
		reasons[o.Key] = o.Reason
	}
	if r := reasons["providers/alpha/broken.json"]; !strings.Contains(r, `"year"`) {
		t.Errorf("reason for a year as a string: got %q, want it to name the field", r)
	}
	if r := reasons["elsewhere/heat.json"]; !strings.Contains(r, "outside providers/") {
		t.Errorf("reason for a key outside providers/: got %q", r)
	}
}

// checkReplayIsNoop sends the notification of an ingested object again.
func checkReplayIsNoop(t *testing.T, region *stack.Region, before stats) {
	t.Helper()
	head, err := region.Clients.S3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(region.Bucket), Key: aws.String("providers/alpha/heat.json")})
	if err != nil {
		t.Fatal(err)
	}

	obj := s3event.Object{Key: s3event.EncodeKey("providers/alpha/heat.json"), VersionID: aws.ToString(head.VersionId), Sequencer: "01"}
	body, _ := json.Marshal(s3event.Message{Records: []s3event.Record{s3event.NewRecord("us-east-1", "ObjectCreated:Put", region.Bucket, obj, time.Now())}})
	if err := region.SQS.Enqueue("movie-updates", string(body)); err != nil {
		t.Fatal(err)
	}
	if err := region.SQS.Enqueue("movie-updates", "this is not an S3 event"); err != nil {
		t.Fatal(err)
	}

	waitQueueEmpty(t, region)
	if after := originStats(t, region); after != before {
		t.Errorf("stats after a replayed notification: got %+v, want %+v", after, before)
	}
}

func waitQueueEmpty(t *testing.T, region *stack.Region) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		visible, inFlight, err := region.SQS.Depth("movie-updates")
		if err != nil {
			t.Fatal(err)
		}
		if visible == 0 && inFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %d visible and %d in-flight messages after 10 s", visible, inFlight)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
