package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"moviequery/edge"
	"moviequery/internal/apikey"
	"moviequery/internal/telemetry"
)

// Config configures the local run.
type Config struct {
	// StateDir keeps the database, the bucket and the API key across runs.
	StateDir string
	// Source is a folder of JSON files, one JSON file or an http(s) address.
	Source string
	// Provider is the provider id the data set is written under.
	Provider string
	// Ports on 127.0.0.1.
	S3Port, SQSPort, OriginPort int
	EdgePorts                   []int
	// Out receives the progress display and the summary.
	Out    io.Writer
	Logger *slog.Logger
}

// DefaultConfig returns the local run's defaults.
func DefaultConfig() Config {
	return Config{
		StateDir:   ".state",
		Source:     filepath.Join("..", "shared", "data", "wikipedia-movie-data"),
		Provider:   "wikipedia",
		S3Port:     9000,
		SQSPort:    9324,
		OriginPort: 8081,
		EdgePorts:  []int{8080, 8082},
		Out:        os.Stdout,
	}
}

// Run starts a region, loads the data set into its bucket, waits until the
// origin has stored every object, prints example queries, and keeps running
// until ctx is cancelled. A second run on the same state writes only the
// objects the bucket lacks.
func Run(ctx context.Context, cfg Config) error {
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return fmt.Errorf("creating state folder: %w", err)
	}

	regionCfg := regionConfig(cfg)
	tracing, err := telemetry.NewTracerProvider(ctx, "moviequery-local", regionCfg.Name)
	if err != nil {
		return err
	}
	if tracing != nil {
		regionCfg.TracerProvider = tracing
		defer tracing.Shutdown(context.WithoutCancel(ctx))
	}

	region, err := StartRegion(ctx, regionCfg)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(cfg.Out, "stopping...")
		region.Close()
		fmt.Fprintln(cfg.Out, "stopped")
	}()
	fmt.Fprintf(cfg.Out, "S3 %s · SQS %s · origin %s · edges %s\n", region.S3URL, region.SQSURL, region.OriginURL, strings.Join(region.EdgeURLs, ", "))

	secret, err := apiKey(ctx, region, cfg.StateDir)
	if err != nil {
		return err
	}
	if err := load(ctx, cfg, region); err != nil {
		if ctx.Err() != nil {
			return nil // stopped with Ctrl-C during the load
		}
		return err
	}
	printExamples(cfg.Out, region.EdgeURLs, secret, region.DatabaseURL)

	select {
	case <-ctx.Done():
		return nil
	case err := <-region.Errors():
		return err
	}
}

func regionConfig(cfg Config) RegionConfig {
	edgeConfig := edge.DefaultConfig()
	edgeConfig.DrainDelay = 500 * time.Millisecond
	return RegionConfig{
		Name: "us-east-1",
		// A restart loses the notifications still queued in memory, so the
		// origin lists the bucket often and soon to store what they named.
		ReconcileInterval: 15 * time.Second,
		ReconcileGrace:    time.Minute,
		StateDir:          cfg.StateDir,
		Bucket:            "movie-updates",
		Queue:             "movie-updates",
		S3Port:            cfg.S3Port,
		SQSPort:           cfg.SQSPort,
		OriginPort:        cfg.OriginPort,
		EdgePorts:         cfg.EdgePorts,
		Gossip:            true,
		Edge:              edgeConfig,
		Logger:            cfg.Logger,
	}
}

// apiKey returns the secret of the key kept in the state folder, creating a
// key when there is none or it was revoked.
func apiKey(ctx context.Context, region *Region, stateDir string) (string, error) {
	file := filepath.Join(stateDir, "api-key")
	if data, err := os.ReadFile(file); err == nil {
		secret := strings.TrimSpace(string(data))
		if active(ctx, region, secret) {
			return secret, nil
		}
	}

	_, secret, err := region.Origin.Store().CreateKey(ctx, "local", []string{apikey.ScopeQuery, apikey.ScopeAudit, apikey.ScopeAdmin})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("saving API key: %w", err)
	}
	return secret, nil
}

func active(ctx context.Context, region *Region, secret string) bool {
	keys, err := region.Origin.Store().ActiveKeys(ctx)
	if err != nil {
		return false
	}
	for _, key := range keys {
		if key.Hash == apikey.Hash(secret) {
			return true
		}
	}
	return false
}

func load(ctx context.Context, cfg Config, region *Region) error {
	start := time.Now()
	updates, err := ReadSource(ctx, cfg.Source, cfg.Provider)
	if err != nil {
		return err
	}

	existing, err := ExistingKeys(ctx, region.Clients.S3, region.Bucket, "providers/")
	if err != nil {
		return err
	}
	missing := make([]Update, 0, len(updates))
	for _, u := range updates {
		if !existing[u.Key] {
			missing = append(missing, u)
		}
	}
	fmt.Fprintf(cfg.Out, "source %s: %d movies, %d already in the bucket, writing %d\n", cfg.Source, len(updates), len(updates)-len(missing), len(missing))

	var written atomic.Int64
	display := newProgress(cfg.Out, func() string {
		return fmt.Sprintf("written %d/%d", written.Load(), len(missing))
	})
	err = Upload(ctx, region.Clients.S3, region.Bucket, missing, 16, func() { written.Add(1) })
	display.stop()
	if err != nil {
		return err
	}

	total := int64(len(existing) + len(missing))
	stats, err := waitStored(ctx, cfg.Out, region.OriginURL, total)
	if err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "the origin has stored every object in %s: %d objects seen, %d revisions, %d quarantined, %d movies\n",
		time.Since(start).Round(100*time.Millisecond), stats.LedgerEntries, stats.Revisions, stats.Quarantined, stats.Movies)
	return nil
}

type originStats struct {
	LedgerEntries int64 `json:"ledger_entries"`
	Revisions     int64 `json:"revisions"`
	Quarantined   int64 `json:"quarantined"`
	Movies        int64 `json:"movies"`
}

// waitStored polls the origin until its ledger holds total objects, and
// says so when no progress is made for a minute.
func waitStored(ctx context.Context, out io.Writer, originURL string, total int64) (originStats, error) {
	var last atomic.Pointer[originStats]
	last.Store(&originStats{})
	display := newProgress(out, func() string {
		// The ledger counts object versions, so a key written twice can
		// take it past the number of objects.
		return fmt.Sprintf("stored by the origin %d/%d", min(last.Load().LedgerEntries, total), total)
	})
	defer display.stop()

	progressAt, warned := time.Now(), false
	for {
		stats, err := fetchStats(ctx, originURL)
		if err == nil {
			if stats.LedgerEntries > last.Load().LedgerEntries {
				progressAt = time.Now()
			}
			last.Store(&stats)
			if stats.LedgerEntries >= total {
				return stats, nil
			}
		}
		if !warned && time.Since(progressAt) > time.Minute {
			warned = true
			fmt.Fprintln(out, "\nno progress for a minute: see the origin's log with -log-level info; make clean starts over")
		}
		select {
		case <-ctx.Done():
			return originStats{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func fetchStats(ctx context.Context, originURL string) (originStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, originURL+"/internal/v1/stats", nil)
	if err != nil {
		return originStats{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return originStats{}, err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return originStats{}, errors.New(resp.Status)
	}
	var stats originStats
	err = json.NewDecoder(resp.Body).Decode(&stats)
	return stats, err
}

func printExamples(out io.Writer, edgeURLs []string, secret, databaseURL string) {
	a, b := edgeURLs[0], edgeURLs[len(edgeURLs)-1]
	fmt.Fprintf(out, `
API key (query, audit and admin scopes; also saved in the state folder):
  %s

Try:
  curl -s -H 'X-API-Key: %s' '%s/v1/movies?year=1994&genre=drama&limit=3'
  curl -s -H 'X-API-Key: %s' '%s/v1/movies?title=les+miserables'
  curl -s -H 'X-API-Key: %s' '%s/v1/movies?cast=john+wayne&year=1950-1959&limit=5'
  curl -s -H 'X-API-Key: %s' '%s/v1/genres'
  curl -s -X POST -H 'X-API-Key: %s' -H "Idempotency-Key: $(date +%%s)" -d '{"scope": "tag", "target": "y:1994"}' '%s/v1/purge'

Administer this stack's database with movieadmin (the port changes on each run):
  export ORIGIN_DATABASE_URL='%s'
  go run ./cmd/movieadmin keys

Press Ctrl-C to stop.
`, secret, secret, a, secret, b, secret, a, secret, b, secret, a, databaseURL)
}
