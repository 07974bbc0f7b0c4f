package stack_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/origin"
)

// TestRedriveQuarantine redrives an object that is still invalid and one
// that an older rule had rejected, which the quarantine stands in for by
// moving a stored object there.
func TestRedriveQuarantine(t *testing.T) {
	region := startRegion(t)
	putObject(t, region, "providers/alpha/bad.json", `{"title":"","year":2001}`, time.Time{})
	putObject(t, region, "providers/alpha/good.json", `{"title":"Good","year":2001}`, time.Time{})
	waitStored(t, region, 2)
	quarantineStored(t, region.DatabaseURL, "providers/alpha/good.json")

	cfg := origin.DefaultConfig()
	cfg.DatabaseURL, cfg.AWS = region.DatabaseURL, region.AWS
	results, err := origin.RedriveQuarantine(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("redrive: %v", err)
	}

	outcomes := map[string]origin.Outcome{}
	for _, r := range results {
		outcomes[r.Key] = r.Outcome
	}
	if outcomes["providers/alpha/bad.json"] != origin.OutcomeQuarantined || outcomes["providers/alpha/good.json"] != origin.OutcomeStored {
		t.Errorf("redrive outcomes: got %v, want bad.json quarantined again and good.json stored", outcomes)
	}

	s := originStats(t, region)
	if s.LedgerEntries != 2 || s.Quarantined != 1 || s.Revisions != 1 || s.Movies != 1 {
		t.Errorf("stats after redrive: got %+v, want 2 ledger entries, 1 quarantined, 1 revision, 1 movie", s)
	}
}

// quarantineStored turns a stored object into a quarantined one, as if the
// rules in force when it arrived had rejected it.
func quarantineStored(t *testing.T, databaseURL, key string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	statements := []string{
		`INSERT INTO quarantine (provider, bucket, object_key, version, reason, raw)
		 SELECT provider, bucket, object_key, version, 'rejected by an older rule', raw FROM revisions WHERE object_key = $1`,
		`UPDATE ingest_ledger SET outcome = 'quarantined', revision_id = NULL WHERE object_key = $1`,
		`DELETE FROM movies WHERE object_key = $1`,
		`DELETE FROM revisions WHERE object_key = $1`,
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, statement := range statements {
			if _, err := tx.Exec(ctx, statement, key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("moving %s to quarantine: %v", key, err)
	}
}
