package stack_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/stack"
)

// crashObjects is how many objects the crash test writes: enough that each
// origin process is killed in the middle of ingest.
const crashObjects = 1500

// TestCrashLosesNothing runs the origin as a real process, kills it with
// SIGKILL at random moments while updates arrive, restarts it, and checks
// that every object is in the history exactly once and that each movie's
// current state is the update the order rule picks.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the origin process many times")
	}
	binary := buildOrigin(t)
	region := startRegionWith(t, func(cfg *stack.RegionConfig) {
		cfg.ExternalOrigin = true
		cfg.VisibilityTimeout = 2 * time.Second
		cfg.MaxReceiveCount = 1000
	})

	updates, want := crashUpdates()
	uploaded := make(chan error, 1)
	go func() { uploaded <- uploadSlowly(region, updates) }()

	rng := rand.New(rand.NewPCG(1, 2))
	for kills := 0; kills < 8; kills++ {
		origin := startOriginProcess(t, binary, region)
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		origin.Process.Signal(syscall.SIGKILL)
		origin.Wait()
	}
	if err := <-uploaded; err != nil {
		t.Fatal(err)
	}

	origin := startOriginProcess(t, binary, region)
	defer func() { origin.Process.Signal(syscall.SIGTERM); origin.Wait() }()
	waitLedger(t, region.DatabaseURL, len(updates))

	checkHistoryExactlyOnce(t, region.DatabaseURL, len(updates))
	checkCurrentState(t, region.DatabaseURL, want)
}

func buildOrigin(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "origin")
	build := exec.Command("go", "build", "-o", binary, "moviequery/cmd/origin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the origin: %v\n%s", err, out)
	}
	return binary
}

func startOriginProcess(t *testing.T, binary string, region *stack.Region) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary,
		"-listen", "127.0.0.1:0",
		"-region", "us-east-1",
		"-database-url", region.DatabaseURL,
		"-queue-url", region.QueueURL,
		"-s3-endpoint", region.S3URL,
		"-sqs-endpoint", region.SQSURL,
		"-bucket", region.Bucket,
		"-reconcile-interval", "1s",
		"-reconcile-grace", "0s",
		"-visibility-timeout", "2s",
	)
	cmd.Stderr = &strings.Builder{}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the origin: %v", err)
	}
	return cmd
}

// crashUpdates returns the updates to write, several per movie with distinct
// first-written times in shuffled order, and each movie's expected current
// cast: the one with the latest first-written time.
func crashUpdates() ([]stack.Update, map[string]string) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	var updates []stack.Update
	want := map[string]string{}
	latest := map[string]int{}
	for i := range crashObjects {
		title := fmt.Sprintf("Crash Movie %03d", i%300)
		second := rng.IntN(100000)
		cast := fmt.Sprintf("Actor %d", i)
		body := fmt.Sprintf(`{"title":%q,"year":2001,"cast":[%q]}`, title, cast)
		key := fmt.Sprintf("providers/crash/%05d.json@%s", i, base.Add(time.Duration(second)*time.Second).Format(time.RFC3339))
		updates = append(updates, stack.Update{Key: key, Body: []byte(body)})

		if prev, seen := latest[title]; !seen || second > prev {
			latest[title], want[title] = second, cast
		}
	}
	return updates, want
}

// uploadSlowly writes the updates over a few seconds, carrying each one's
// first-written time (after the @ of its key) in its metadata.
func uploadSlowly(region *stack.Region, updates []stack.Update) error {
	for i, u := range updates {
		key, written, _ := strings.Cut(u.Key, "@")
		at, err := time.Parse(time.RFC3339, written)
		if err != nil {
			return err
		}
		if err := putWithWrittenAt(region, key, u.Body, at); err != nil {
			return err
		}
		if i%100 == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

func waitLedger(t *testing.T, databaseURL string, n int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var count int
		queryRow(t, databaseURL, `SELECT count(*) FROM ingest_ledger`, &count)
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger holds %d of %d objects after 90 s", count, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func checkHistoryExactlyOnce(t *testing.T, databaseURL string, n int) {
	t.Helper()
	var revisions, distinct, ledger int
	queryRow(t, databaseURL, `SELECT count(*), count(DISTINCT (object_key, version)) FROM revisions`, &revisions, &distinct)
	queryRow(t, databaseURL, `SELECT count(*) FROM ingest_ledger WHERE outcome = 'stored'`, &ledger)
	if revisions != n || distinct != n || ledger != n {
		t.Errorf("history: got %d revisions (%d distinct objects) and %d stored ledger entries, want %d of each", revisions, distinct, ledger, n)
	}
}

func checkCurrentState(t *testing.T, databaseURL string, want map[string]string) {
	t.Helper()
	conn := connect(t, databaseURL)
	rows, err := conn.Query(context.Background(), `SELECT document::json->>'title', document::json->'cast'->>0 FROM movies`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var title, cast string
		if err := rows.Scan(&title, &cast); err != nil {
			t.Fatal(err)
		}
		got[title] = cast
	}

	if len(got) != len(want) {
		t.Errorf("movies: got %d, want %d", len(got), len(want))
	}
	for title, cast := range want {
		if got[title] != cast {
			t.Errorf("%s: current cast %q, want %q", title, got[title], cast)
		}
	}
}

func connect(t *testing.T, databaseURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryRow(t *testing.T, databaseURL, sql string, into ...any) {
	t.Helper()
	if err := connect(t, databaseURL).QueryRow(context.Background(), sql).Scan(into...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
