package stack_test

import (
	"context"
	"testing"
	"time"

	"moviequery/internal/postgres"
	"moviequery/internal/stack"
	"moviequery/origin"
)

func TestLostNotificationReconciled(t *testing.T) {
	region := startRegionWith(t, func(cfg *stack.RegionConfig) { cfg.ReconcileInterval = 500 * time.Millisecond })
	if err := region.S3.Notify(region.Bucket, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}

	putObject(t, region, "providers/alpha/unannounced.json", `{"title":"Unannounced","year":2003}`, time.Time{})
	s := waitStored(t, region, 1)
	if s.Revisions != 1 || s.Movies != 1 {
		t.Errorf("after reconciliation: got %+v, want one revision and one movie", s)
	}
}

func TestRebuildFromBucket(t *testing.T) {
	updates := sample(t)
	region := startRegion(t)
	if err := stack.Upload(context.Background(), region.Clients.S3, region.Bucket, updates, 8, func() {}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(time.Hour)
	putObject(t, region, "providers/beta/heat-1.json", `{"title":"Heat","year":1995,"cast":["A"]}`, t0)
	putObject(t, region, "providers/beta/heat-2.json", `{"title":"Heat","year":1995,"cast":["B"]}`, t0.Add(-time.Second))
	putObject(t, region, "providers/beta/heat-1.json", `{"title":"Heat","year":1995,"cast":["C"]}`, t0.Add(time.Second))
	before := waitStored(t, region, len(updates)+3)

	want, err := region.Origin.Store().Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	rebuilt := postgres.SharedDatabase(t)
	cfg := origin.DefaultConfig()
	cfg.DatabaseURL, cfg.Bucket, cfg.AWS = rebuilt, region.Bucket, region.AWS
	result, err := origin.Rebuild(context.Background(), cfg)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if result.Ingested != int(before.LedgerEntries) {
		t.Errorf("rebuild ingested %d objects, want %d", result.Ingested, before.LedgerEntries)
	}

	store, err := origin.OpenStore(context.Background(), rebuilt, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got, err := store.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("digest after rebuild: got %+v, want %+v", got, want)
	}
}
