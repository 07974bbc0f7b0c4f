// Package localaws runs S3- and SQS-compatible servers in-process, for the
// local stack and the tests. Programs talk to them over HTTP with the real
// aws-sdk-go-v2 clients, exactly as they talk to AWS.
package localaws

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"

	"moviequery/internal/s3event"
)

// S3 is an S3-compatible server built on gofakes3, with one addition that
// gofakes3 lacks: like an S3 bucket with an event notification configured,
// it sends an event message for every object created or removed. It is safe
// for concurrent use.
type S3 struct {
	backend gofakes3.Backend
	handler http.Handler
	region  string
	logger  *slog.Logger

	sequencer atomic.Uint64

	mu      sync.Mutex
	targets map[string]func(body string) error // by bucket
}

// NewS3 returns a server over a gofakes3 backend: s3mem for a versioned
// bucket in memory, s3bolt for an unversioned bucket kept in a file.
func NewS3(backend gofakes3.Backend, region string, logger *slog.Logger) *S3 {
	served := backend
	if _, versioned := backend.(gofakes3.VersionedBackend); !versioned {
		served = replacingBackend{backend}
	}
	faker := gofakes3.New(served, gofakes3.WithAutoBucket(false), gofakes3.WithLogger(gofakes3.DiscardLog()))
	return &S3{
		backend: backend,
		handler: faker.Server(),
		region:  region,
		logger:  logger,
		targets: map[string]func(string) error{},
	}
}

// CreateBucket creates a bucket unless it exists.
func (s *S3) CreateBucket(name string) error {
	exists, err := s.backend.BucketExists(name)
	if err != nil || exists {
		return err
	}
	return s.backend.CreateBucket(name)
}

// Notify sends the bucket's object events to send, which receives each
// message body. As S3 does, it first sends a test message.
func (s *S3) Notify(bucket string, send func(body string) error) error {
	s.mu.Lock()
	s.targets[bucket] = send
	s.mu.Unlock()

	return send(s3event.TestMessageBody(bucket, time.Now()))
}

// NotifyQueue sends the bucket's object events to a queue of sqs.
func (s *S3) NotifyQueue(bucket string, sqs *SQS, queue string) error {
	return s.Notify(bucket, func(body string) error { return sqs.Enqueue(queue, body) })
}

// ServeHTTP serves the S3 API, path-style, and sends notifications for
// successful object writes and deletes.
func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.handler.ServeHTTP(recorder, r)

	if recorder.status/100 != 2 {
		return
	}
	bucket, key, ok := splitPath(r.URL.Path)
	if !ok {
		return
	}
	if name := eventName(r); name != "" {
		s.sendEvent(name, bucket, key, recorder.Header())
	}
}

func splitPath(path string) (bucket, key string, ok bool) {
	bucket, key, ok = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return bucket, key, ok && bucket != "" && key != ""
}

// eventName returns the S3 event a request causes, or "" for none. Multipart
// parts and multi-object deletes send no event here.
func eventName(r *http.Request) string {
	query := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && query.Has("partNumber"):
		return ""
	case r.Method == http.MethodPut && r.Header.Get("x-amz-copy-source") != "":
		return "ObjectCreated:Copy"
	case r.Method == http.MethodPut:
		return "ObjectCreated:Put"
	case r.Method == http.MethodPost && query.Has("uploadId"):
		return "ObjectCreated:CompleteMultipartUpload"
	case r.Method == http.MethodDelete && !query.Has("uploadId"):
		return "ObjectRemoved:Delete"
	}
	return ""
}

func (s *S3) sendEvent(name, bucket, key string, header http.Header) {
	s.mu.Lock()
	send := s.targets[bucket]
	s.mu.Unlock()
	if send == nil {
		return
	}

	obj := s3event.Object{
		Key:       s3event.EncodeKey(key),
		ETag:      strings.Trim(header.Get("ETag"), `"`),
		VersionID: header.Get("x-amz-version-id"),
		Sequencer: fmt.Sprintf("%016X", s.sequencer.Add(1)),
	}
	if head, err := s.backend.HeadObject(bucket, key); err == nil {
		obj.Size = head.Size
	}

	body, _ := json.Marshal(s3event.Message{Records: []s3event.Record{
		s3event.NewRecord(s.region, name, bucket, obj, time.Now()),
	}})
	if err := send(string(body)); err != nil {
		s.logger.Error("sending S3 event notification", "bucket", bucket, "key", key, "event", name, "error", err)
	}
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
