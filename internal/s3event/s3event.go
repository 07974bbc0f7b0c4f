// Package s3event reads and writes S3 event notification messages in the
// format AWS delivers to an SQS queue (event version 2.1), including the test
// message S3 sends when a notification is configured.
package s3event

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ErrNotS3Event is returned for a message body that is neither an S3 event
// notification nor S3's test message.
var ErrNotS3Event = errors.New("message is not an S3 event notification")

// Message is the body of one notification: a list of records.
type Message struct {
	Records []Record `json:"Records"`
}

// Record is one event on one object.
type Record struct {
	EventVersion string    `json:"eventVersion"`
	EventSource  string    `json:"eventSource"`
	AWSRegion    string    `json:"awsRegion"`
	EventTime    time.Time `json:"eventTime"`
	EventName    string    `json:"eventName"`
	S3           Entity    `json:"s3"`
}

// Entity names the bucket and object of a record.
type Entity struct {
	SchemaVersion   string `json:"s3SchemaVersion"`
	ConfigurationID string `json:"configurationId"`
	Bucket          Bucket `json:"bucket"`
	Object          Object `json:"object"`
}

// Bucket identifies the bucket of an event.
type Bucket struct {
	Name string `json:"name"`
	ARN  string `json:"arn"`
}

// Object identifies the object of an event. Key is URL-encoded the way S3
// encodes it, with a space as "+"; use DecodedKey for the real key.
type Object struct {
	Key       string `json:"key"`
	Size      int64  `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer"`
}

// testMessage is what S3 sends once when a notification is configured.
type testMessage struct {
	Service string `json:"Service"`
	Event   string `json:"Event"`
}

// Parse decodes a message body. It returns isTest true, and no records, for
// S3's test message, and an error wrapping ErrNotS3Event for any other body
// that is not an S3 event.
func Parse(body string) (msg Message, isTest bool, err error) {
	var probe testMessage
	if json.Unmarshal([]byte(body), &probe) == nil && probe.Event == "s3:TestEvent" {
		return Message{}, true, nil
	}

	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		return Message{}, false, fmt.Errorf("%w: %v", ErrNotS3Event, err)
	}
	if len(msg.Records) == 0 {
		return Message{}, false, fmt.Errorf("%w: no Records", ErrNotS3Event)
	}
	for _, r := range msg.Records {
		if r.EventSource != "aws:s3" || r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
			return Message{}, false, fmt.Errorf("%w: record from %q without bucket or key", ErrNotS3Event, r.EventSource)
		}
	}
	return msg, false, nil
}

// DecodedKey returns the object key with S3's URL encoding removed.
func (o Object) DecodedKey() (string, error) {
	key, err := url.QueryUnescape(o.Key)
	if err != nil {
		return "", fmt.Errorf("decoding object key %q: %w", o.Key, err)
	}
	return key, nil
}

// EncodeKey encodes an object key as S3 does in event notifications.
func EncodeKey(key string) string {
	return url.QueryEscape(key)
}

// IsCreated reports whether the record is an ObjectCreated event.
func (r Record) IsCreated() bool {
	return strings.HasPrefix(r.EventName, "ObjectCreated:")
}

// IsRemoved reports whether the record is an ObjectRemoved event.
func (r Record) IsRemoved() bool {
	return strings.HasPrefix(r.EventName, "ObjectRemoved:")
}

// NewRecord returns a record for one event, filled as AWS fills it.
func NewRecord(region, eventName, bucket string, obj Object, at time.Time) Record {
	return Record{
		EventVersion: "2.1",
		EventSource:  "aws:s3",
		AWSRegion:    region,
		EventTime:    at.UTC(),
		EventName:    eventName,
		S3: Entity{
			SchemaVersion:   "1.0",
			ConfigurationID: "movie-updates",
			Bucket:          Bucket{Name: bucket, ARN: "arn:aws:s3:::" + bucket},
			Object:          obj,
		},
	}
}

// TestMessageBody returns the body of S3's test message for a bucket.
func TestMessageBody(bucket string, at time.Time) string {
	body, _ := json.Marshal(map[string]string{
		"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": at.UTC().Format(time.RFC3339Nano), "Bucket": bucket,
	})
	return string(body)
}
