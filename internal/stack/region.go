// Package stack runs the whole system on one machine: per region a
// PostgreSQL cluster, S3- and SQS-compatible servers, an origin and edges,
// all on 127.0.0.1. The local run command and the end-to-end tests use it.
package stack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/memberlist"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"
	"go.opentelemetry.io/otel/trace"

	"moviequery/edge"
	"moviequery/internal/awsclient"
	"moviequery/internal/gossip"
	"moviequery/internal/localaws"
	"moviequery/internal/postgres"
	"moviequery/origin"
)

// RegionConfig describes one region of the local system.
type RegionConfig struct {
	// Name is the region's AWS name, e.g. "us-east-1". The SDK resolves an
	// endpoint faster for a region name it knows: for any other name it
	// compiles a regular expression on every request (aws-sdk-go-v2 v1.48,
	// internal/endpoints/awsrulesfn.getPartition).
	Name string
	// StateDir keeps the database and the bucket across runs. Empty keeps
	// everything in memory and in a temporary folder.
	StateDir string
	// DatabaseURL, when set, is used instead of starting a PostgreSQL cluster.
	DatabaseURL string
	// Bucket and Queue name the region's bucket and notification queue.
	Bucket string
	Queue  string
	// Ports of the servers on 127.0.0.1; 0 picks a free port.
	S3Port, SQSPort, OriginPort int
	EdgePorts                   []int
	// Edge is the template for every edge; OriginURL is filled in.
	Edge edge.Config
	// AdjustEdge, when set, changes edge i's configuration last.
	AdjustEdge func(i int, cfg *edge.Config)
	// NoMemoryIndex runs the origin without its memory search index.
	NoMemoryIndex bool
	// NoDocumentCache runs the origin without its document cache.
	NoDocumentCache bool
	// ExternalOrigin leaves out the in-process origin and the edges, for
	// tests that run the origin as a separate process.
	ExternalOrigin bool
	// OriginWorkers is the number of queue receivers of the origin.
	OriginWorkers int
	// VisibilityTimeout is the queue's and the origin's visibility timeout;
	// 0 means 60 s.
	VisibilityTimeout time.Duration
	// ReconcileInterval is the time between the origin's listings of the
	// bucket; 0 means the origin's default.
	ReconcileInterval time.Duration
	// ReconcileGrace is the age below which the reconciler leaves objects
	// to their notifications.
	ReconcileGrace time.Duration
	// PeerOrigins maps other regions' names to their origins' URLs, where
	// the origin forwards purges.
	PeerOrigins map[string]string
	// Gossip joins the origin and the edges in an encrypted memberlist
	// cluster on 127.0.0.1, so edges hear of changes at once. Without it
	// edges follow the change feed alone.
	Gossip bool
	// GossipTune adjusts memberlist's timings, for tests.
	GossipTune func(*memberlist.Config)
	// MaxReceiveCount is how many receives a message gets before it moves
	// to the dead-letter queue; 0 means 5.
	MaxReceiveCount int
	Logger          *slog.Logger
	// TracerProvider, when set, receives the spans of the origin and of
	// every edge.
	TracerProvider trace.TracerProvider
}

// Region is a running region. Close stops it.
type Region struct {
	Name     string
	Bucket   string
	QueueURL string
	// DeadLetterQueue is the name of the queue's dead-letter queue.
	DeadLetterQueue string
	S3URL           string
	SQSURL          string
	OriginURL       string
	EdgeURLs        []string
	// DatabaseURL is the connection string of the region's database.
	DatabaseURL string
	AWS         awsclient.Config
	Clients     awsclient.Clients
	Origin      *origin.Server
	Edges       []*edge.Server
	S3          *localaws.S3
	SQS         *localaws.SQS

	cluster   *postgres.Cluster
	cancel    context.CancelFunc
	servers   sync.WaitGroup // the origin, stopped by cancel
	stopEdges context.CancelFunc
	edgeGroup sync.WaitGroup // the edges, stopped by stopEdges first
	infra     sync.WaitGroup // S3 and SQS servers, stopped by their closers
	errs      chan error
	closers   []func() error
	logger    *slog.Logger

	gossipKey []byte
}

func (r *Region) newGossipKey() error {
	r.gossipKey = make([]byte, 32)
	if _, err := rand.Read(r.gossipKey); err != nil {
		return fmt.Errorf("making a gossip key: %w", err)
	}
	return nil
}

// gossipConfig returns the gossip settings of one member, joining through
// seed when set.
func (r *Region) gossipConfig(cfg RegionConfig, name, seed string) *gossip.Config {
	g := &gossip.Config{Name: cfg.Name + "-" + name, BindAddr: "127.0.0.1", SecretKey: r.gossipKey, Tune: cfg.GossipTune}
	if seed != "" {
		g.Seeds = []string{seed}
	}
	return g
}

// StartRegion starts a region and returns once every part accepts requests.
func StartRegion(ctx context.Context, cfg RegionConfig) (*Region, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.VisibilityTimeout == 0 {
		cfg.VisibilityTimeout = 60 * time.Second
	}
	if cfg.MaxReceiveCount == 0 {
		cfg.MaxReceiveCount = 5
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &Region{Name: cfg.Name, Bucket: cfg.Bucket, cancel: cancel, stopEdges: func() {}, errs: make(chan error, 16), logger: cfg.Logger}

	steps := []func(context.Context, RegionConfig) error{r.startDatabase, r.startAWS, r.startOrigin, r.startEdges}
	for _, step := range steps {
		if err := step(runCtx, cfg); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

func (r *Region) startDatabase(ctx context.Context, cfg RegionConfig) error {
	if cfg.DatabaseURL != "" {
		return nil
	}

	dir := ""
	if cfg.StateDir != "" {
		dir = filepath.Join(cfg.StateDir, "postgres")
	}
	if dir == "" {
		return errors.New("a region needs a StateDir or a DatabaseURL")
	}
	pgConfig := postgres.DefaultConfig(dir)
	pgConfig.Durable = true
	pgConfig.Logger = cfg.Logger

	cluster, err := postgres.Start(ctx, pgConfig)
	if err != nil {
		return fmt.Errorf("starting PostgreSQL for region %s: %w", cfg.Name, err)
	}
	r.cluster = cluster
	r.closers = append(r.closers, cluster.Stop)
	return nil
}

func (r *Region) databaseURL(cfg RegionConfig) string {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL
	}
	return r.cluster.DSN()
}

func (r *Region) startAWS(ctx context.Context, cfg RegionConfig) error {
	backend, err := r.newBackend(cfg)
	if err != nil {
		return err
	}
	r.S3 = localaws.NewS3(backend, cfg.Name, cfg.Logger)
	r.SQS = localaws.NewSQS(cfg.Name, nil)
	r.SQS.Logger = cfg.Logger

	if r.S3URL, err = r.serveHTTP(cfg.S3Port, r.S3); err != nil {
		return fmt.Errorf("starting S3 server: %w", err)
	}
	if r.SQSURL, err = r.serveHTTP(cfg.SQSPort, r.SQS); err != nil {
		return fmt.Errorf("starting SQS server: %w", err)
	}

	r.AWS = awsclient.Config{Region: cfg.Name, S3Endpoint: r.S3URL, SQSEndpoint: r.SQSURL, StaticCredentials: true}
	if r.Clients, err = awsclient.New(ctx, r.AWS); err != nil {
		return err
	}
	if err := r.createBucketAndQueue(cfg); err != nil {
		return err
	}
	if cfg.StateDir == "" {
		return r.enableVersioning(ctx)
	}
	return nil
}

// enableVersioning turns on versioning as the production buckets have it.
// Only the in-memory backend supports it; the file backend keeps one
// version per key, and the origin then names versions by ETag.
func (r *Region) enableVersioning(ctx context.Context) error {
	_, err := r.Clients.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(r.Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		return fmt.Errorf("enabling versioning on bucket %s: %w", r.Bucket, err)
	}
	return nil
}

func (r *Region) newBackend(cfg RegionConfig) (gofakes3.Backend, error) {
	if cfg.StateDir == "" {
		return s3mem.New(), nil
	}

	// Without a sync per write the file keeps up with the loader; a crash of
	// the process loses nothing, a crash of the machine may lose the last
	// writes, which is acceptable for a development bucket.
	//
	// gofakes3's bolt backend returns object bytes that still point into
	// bolt's memory map, and bolt remaps the file when it grows, which would
	// leave a concurrent read pointing at unmapped memory. Mapping 4 GiB of
	// address space up front means the file never outgrows the first map.
	// NOTE: a bucket file over 4 GiB would remap again; the movie data set
	// makes a file of about 100 MB.
	db, err := bolt.Open(filepath.Join(cfg.StateDir, "s3.bolt"), 0o600, &bolt.Options{NoSync: true, Timeout: 5 * time.Second, InitialMmapSize: 4 << 30})
	if err != nil {
		return nil, fmt.Errorf("opening bucket store (is another local stack running on this state folder?): %w", err)
	}
	r.closers = append(r.closers, db.Close)
	return s3bolt.New(db), nil
}

// createBucketAndQueue creates the bucket, the queue with a dead-letter
// queue that takes a message after five failed receives, and the bucket's
// notification to the queue.
func (r *Region) createBucketAndQueue(cfg RegionConfig) error {
	if err := r.S3.CreateBucket(cfg.Bucket); err != nil {
		return fmt.Errorf("creating bucket %s: %w", cfg.Bucket, err)
	}

	r.DeadLetterQueue = cfg.Queue + "-dead-letter"
	if err := r.SQS.CreateQueue(r.DeadLetterQueue, nil); err != nil {
		return fmt.Errorf("creating queue %s: %w", r.DeadLetterQueue, err)
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":"arn:aws:sqs:%s:000000000000:%s","maxReceiveCount":%d}`, cfg.Name, r.DeadLetterQueue, cfg.MaxReceiveCount)
	visibility := strconv.Itoa(int(cfg.VisibilityTimeout / time.Second))
	if err := r.SQS.CreateQueue(cfg.Queue, map[string]string{"VisibilityTimeout": visibility, "RedrivePolicy": redrive}); err != nil {
		return fmt.Errorf("creating queue %s: %w", cfg.Queue, err)
	}

	r.QueueURL = r.SQSURL + "/000000000000/" + cfg.Queue
	return r.S3.NotifyQueue(cfg.Bucket, r.SQS, cfg.Queue)
}

func (r *Region) startOrigin(ctx context.Context, cfg RegionConfig) error {
	r.DatabaseURL = r.databaseURL(cfg)
	if cfg.ExternalOrigin {
		return nil
	}

	originConfig := origin.DefaultConfig()
	originConfig.MemoryIndex = !cfg.NoMemoryIndex
	if cfg.NoDocumentCache {
		originConfig.DocumentCacheMB = 0
	}
	originConfig.Region = cfg.Name
	originConfig.DatabaseURL = r.DatabaseURL
	originConfig.QueueURL = r.QueueURL
	originConfig.AWS = r.AWS
	originConfig.Logger = cfg.Logger.With("component", "origin")
	originConfig.TracerProvider = cfg.TracerProvider
	originConfig.VisibilityTimeout = cfg.VisibilityTimeout
	originConfig.Bucket = cfg.Bucket
	if cfg.ReconcileInterval > 0 {
		originConfig.ReconcileInterval = cfg.ReconcileInterval
		originConfig.ReconcileGrace = cfg.ReconcileGrace
	}
	if cfg.OriginWorkers > 0 {
		originConfig.Workers = cfg.OriginWorkers
	}
	originConfig.PeerOrigins = cfg.PeerOrigins
	if cfg.Gossip {
		if err := r.newGossipKey(); err != nil {
			return err
		}
		originConfig.Gossip = r.gossipConfig(cfg, "origin", "")
	}

	server, err := origin.New(ctx, originConfig)
	if err != nil {
		return fmt.Errorf("starting origin: %w", err)
	}
	r.Origin = server

	ln, err := listen(cfg.OriginPort)
	if err != nil {
		server.Store().Close()
		return fmt.Errorf("starting origin: %w", err)
	}
	r.OriginURL = "http://" + ln.Addr().String()
	r.goRun(func() error { return server.Run(ctx, ln) })
	return nil
}

func (r *Region) startEdges(ctx context.Context, cfg RegionConfig) error {
	if cfg.ExternalOrigin {
		return nil
	}

	// Close stops the edges before the origin, so that no edge logs a
	// failed feed read while the origin goes away.
	edgeCtx, stopEdges := context.WithCancel(ctx)
	r.stopEdges = stopEdges
	for i, port := range cfg.EdgePorts {
		edgeConfig := cfg.Edge
		edgeConfig.Region = cfg.Name
		edgeConfig.OriginURL = r.OriginURL
		edgeConfig.Logger = cfg.Logger.With("component", "edge", "edge", i)
		if cfg.Gossip {
			edgeConfig.Gossip = r.gossipConfig(cfg, "edge-"+strconv.Itoa(i), r.Origin.GossipAddress())
		}

		if cfg.TracerProvider != nil {
			edgeConfig.TracerProvider = cfg.TracerProvider
		}
		if cfg.AdjustEdge != nil {
			cfg.AdjustEdge(i, &edgeConfig)
		}

		server, err := edge.New(ctx, edgeConfig)
		if err != nil {
			return fmt.Errorf("starting edge %d: %w", i, err)
		}
		ln, err := listen(port)
		if err != nil {
			return fmt.Errorf("starting edge %d: %w", i, err)
		}
		r.EdgeURLs = append(r.EdgeURLs, "http://"+ln.Addr().String())
		r.Edges = append(r.Edges, server)
		r.edgeGroup.Go(func() { r.collect(server.Run(edgeCtx, ln)) })
	}
	return r.waitReady(ctx)
}

// waitReady polls every edge's readiness, which needs the origin's key list.
func (r *Region) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, url := range r.EdgeURLs {
		for !isReady(ctx, url) {
			if time.Now().After(deadline) {
				return fmt.Errorf("edge %s not ready after 30 s", url)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func isReady(ctx context.Context, baseURL string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func listen(port int) (net.Listener, error) {
	return net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

func (r *Region) serveHTTP(port int, handler http.Handler) (string, error) {
	ln, err := listen(port)
	if err != nil {
		return "", err
	}

	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	r.infra.Go(func() {
		if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			r.logger.Error("server of the local stack stopped", "region", r.Name, "error", err)
			r.errs <- err
		}
	})
	r.closers = append(r.closers, server.Close)
	return "http://" + ln.Addr().String(), nil
}

// goRun runs a server until the region's context ends and collects its error.
func (r *Region) goRun(run func() error) {
	r.servers.Go(func() { r.collect(run()) })
}

func (r *Region) collect(err error) {
	if err != nil {
		r.logger.Error("server of the local stack stopped", "region", r.Name, "error", err)
		r.errs <- err
	}
}

// Errors delivers the error of any server that stopped on its own.
func (r *Region) Errors() <-chan error {
	return r.errs
}

// Close stops the edges, then the origin (each drains first), then the S3 and
// SQS servers and PostgreSQL.
func (r *Region) Close() error {
	r.stopEdges()
	r.edgeGroup.Wait()
	r.cancel()
	r.servers.Wait()

	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i]())
	}
	r.infra.Wait()
	return errors.Join(errs...)
}
