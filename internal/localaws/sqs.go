package localaws

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	// accountID is the account in every queue URL and ARN.
	accountID = "000000000000"

	// targetPrefix starts the X-Amz-Target header of every SQS request.
	targetPrefix = "AmazonSQS."

	// maxRequestBytes bounds the memory that one request body may use.
	maxRequestBytes = 4 << 20

	maxBatchEntries          = 10
	maxMessageAttributes     = 10
	maxQueueNameLength       = 80
	maxVisibilityTimeoutSecs = 43200
	maxWaitTimeSecs          = 20
	maxDelaySecs             = 900
	maxListQueuesResults     = 1000
)

// ErrQueueDoesNotExist matches, with errors.Is, the error that the methods of
// SQS return for a queue name that no queue has.
var ErrQueueDoesNotExist = errors.New("queue does not exist")

// SQS is an in-process server for the Amazon SQS JSON protocol (awsJson1_0), as
// the aws-sdk-go-v2 service/sqs client v1.53.0 sends it. It keeps standard queues
// in memory and serves the actions listed in actions. Safe for concurrent use.
// The zero value is not usable; use NewSQS.
//
// SQS starts no goroutines. Delays and visibility timeouts are computed from
// timestamps of the clock whenever a request arrives. The long-poll wait of
// ReceiveMessage is measured in real time instead, because it bounds how long an
// HTTP request stays open.
//
// FIFO queues are rejected. Messages never expire, message system attributes on
// send are ignored, and the attributes MessageRetentionPeriod,
// MaximumMessageSize, Policy and the encryption settings are stored and returned
// but have no effect.
type SQS struct {
	region string
	clock  func() time.Time

	mu     sync.Mutex
	queues map[string]*queue // keyed by queue name

	// Logger receives a warning when a response cannot be delivered, such
	// as received messages that stay in flight until their visibility
	// timeout. Nil discards it.
	Logger *slog.Logger
}

// NewSQS returns an empty server whose queue ARNs name region. The clock dates
// messages and decides when they become visible. It must be safe for concurrent
// use. A nil clock means time.Now.
func NewSQS(region string, clock func() time.Time) *SQS {
	if clock == nil {
		clock = time.Now
	}
	return &SQS{region: region, clock: clock, queues: make(map[string]*queue)}
}

// CreateQueue creates the queue if missing (idempotent) with the given attributes,
// same names as the API's. Like SQS, it rejects an existing queue when one of
// the given attributes has another value, and a RedrivePolicy whose dead-letter
// queue does not exist yet.
func (s *SQS) CreateQueue(name string, attributes map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, err := s.createQueueLocked(name, attributes); err != nil {
		return fmt.Errorf("creating queue %q: %w", name, err)
	}
	return nil
}

// Enqueue appends a message to a queue, as the S3 notification path of the local
// stack will do. The message gets the queue's DelaySeconds and no message
// attributes. It wakes the ReceiveMessage requests waiting on the queue.
func (s *SQS) Enqueue(queue, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByNameLocked(queue)
	if err == nil {
		_, err = s.sendLocked(q, body, nil, nil)
	}
	if err != nil {
		return fmt.Errorf("enqueueing message: %w", err)
	}
	return nil
}

// Depth returns the visible and in-flight message counts of a queue. Delayed
// messages, which were sent but are not visible yet, are in neither count.
func (s *SQS) Depth(queue string) (visible, inFlight int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByNameLocked(queue)
	if err != nil {
		return 0, 0, fmt.Errorf("reading queue depth: %w", err)
	}
	visible, inFlight, _ = q.countLocked(s.clock())
	return visible, inFlight, nil
}

// queueByNameLocked returns the queue called name.
func (s *SQS) queueByNameLocked(name string) (*queue, error) {
	q, ok := s.queues[name]
	if !ok {
		return nil, errQueueDoesNotExist(name)
	}
	return q, nil
}

// queueByURLLocked returns the queue that queueURL names.
func (s *SQS) queueByURLLocked(queueURL string) (*queue, error) {
	if queueURL == "" {
		return nil, errMissingParameter("QueueUrl")
	}
	return s.queueByNameLocked(queueNameFromURL(queueURL))
}

// queueNameFromURL returns the last path segment of queueURL, which is the queue
// name in the URLs that this server and SQS return.
func queueNameFromURL(queueURL string) string {
	return queueURL[strings.LastIndexByte(queueURL, '/')+1:]
}

func (s *SQS) queueURL(host, name string) string {
	return "http://" + host + "/" + accountID + "/" + name
}

func (s *SQS) queueARN(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + accountID + ":" + name
}

// queue is one standard queue. SQS.mu guards every field.
type queue struct {
	name     string
	created  time.Time
	settings queueSettings

	messages []*message // in send order

	// changed is closed and replaced whenever a message may have become visible,
	// to wake the long polls waiting on the queue.
	changed chan struct{}

	// waiting counts the ReceiveMessage requests blocked in a long poll.
	waiting int
}

// message is one message of a queue with its delivery state.
type message struct {
	id         string
	body       string
	bodyMD5    string
	attributes map[string]messageAttributeValue
	sent       time.Time
	sourceARN  string // ARN of the queue that moved the message to this dead-letter queue, if any

	visibleAt     time.Time // time before which the message is hidden, because it is delayed or in flight
	receiveCount  int
	firstReceive  time.Time
	receiptHandle string // handle from the latest receive, the only one that deletes the message
}

func (m *message) visible(now time.Time) bool {
	return !now.Before(m.visibleAt)
}

func (m *message) inFlight(now time.Time) bool {
	return m.receiveCount > 0 && !m.visible(now)
}

// createQueueLocked returns the queue called name, creating it when missing.
func (s *SQS) createQueueLocked(name string, attributes map[string]string) (*queue, error) {
	if err := validateQueueName(name); err != nil {
		return nil, err
	}

	settings, err := parseQueueSettings(attributes)
	if err != nil {
		return nil, err
	}

	if q, ok := s.queues[name]; ok {
		if err := q.matchSettings(attributes, settings); err != nil {
			return nil, err
		}
		return q, nil
	}

	if err := s.checkDeadLetterTargetLocked(settings.redrive); err != nil {
		return nil, err
	}

	q := &queue{name: name, created: s.clock(), settings: settings, changed: make(chan struct{})}
	s.queues[name] = q
	return q, nil
}

// matchSettings returns QueueNameExists unless every attribute in given has the
// same value in the queue, as SQS requires when CreateQueue names a queue that
// exists.
func (q *queue) matchSettings(given map[string]string, requested queueSettings) error {
	for name := range given {
		if q.settings.attributes[name] != requested.attributes[name] {
			return newAPIError("QueueNameExists", "QueueAlreadyExists",
				"queue %q exists with %s=%q, not %q", q.name, name, q.settings.attributes[name], requested.attributes[name])
		}
	}
	return nil
}

func (s *SQS) checkDeadLetterTargetLocked(redrive *redrivePolicy) error {
	if redrive == nil {
		return nil
	}
	if _, ok := s.queues[redrive.queueName()]; !ok {
		return errInvalidParameter("dead-letter target %q of RedrivePolicy does not exist; create that queue first", redrive.DeadLetterTargetARN)
	}
	return nil
}

func validateQueueName(name string) error {
	if strings.HasSuffix(name, ".fifo") {
		return errInvalidParameter("queue %q: FIFO queues are not supported by this server", name)
	}
	if name == "" || len(name) > maxQueueNameLength || !isIdentifier(name) {
		return errInvalidParameter("queue name %q is invalid: use 1 to %d letters, digits, hyphens and underscores", name, maxQueueNameLength)
	}
	return nil
}

// isIdentifier reports whether s contains only ASCII letters, digits, hyphens and
// underscores, the characters SQS allows in queue names and batch entry IDs.
func isIdentifier(s string) bool {
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// signalLocked wakes the long polls waiting on q.
func (q *queue) signalLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// countLocked returns how many messages are visible, in flight and delayed at now.
func (q *queue) countLocked(now time.Time) (visible, inFlight, delayed int) {
	for _, m := range q.messages {
		switch {
		case m.visible(now):
			visible++
		case m.inFlight(now):
			inFlight++
		default:
			delayed++
		}
	}
	return visible, inFlight, delayed
}

// nextVisibleLocked returns the earliest time after now at which a hidden message
// becomes visible, and false when no message is hidden.
func (q *queue) nextVisibleLocked(now time.Time) (time.Time, bool) {
	var next time.Time
	for _, m := range q.messages {
		if !m.visible(now) && (next.IsZero() || m.visibleAt.Before(next)) {
			next = m.visibleAt
		}
	}
	return next, !next.IsZero()
}

func (q *queue) indexLocked(id string) int {
	return slices.IndexFunc(q.messages, func(m *message) bool { return m.id == id })
}

// pushLocked appends m and wakes the long polls.
func (q *queue) pushLocked(m *message) {
	q.messages = append(q.messages, m)
	q.signalLocked()
}

// sendLocked validates and appends a message. A nil delay means the queue's
// DelaySeconds.
func (s *SQS) sendLocked(q *queue, body string, delay *int32, attributes map[string]messageAttributeValue) (*message, error) {
	if err := validateBody(body); err != nil {
		return nil, err
	}
	if err := checkRange("DelaySeconds", delay, 0, maxDelaySecs); err != nil {
		return nil, err
	}
	if err := validateMessageAttributes(attributes); err != nil {
		return nil, err
	}

	now := s.clock()
	m := &message{
		id:         newMessageID(),
		body:       body,
		bodyMD5:    md5Hex([]byte(body)),
		attributes: attributes,
		sent:       now,
		visibleAt:  now.Add(secondsOr(delay, q.settings.delay)),
	}
	q.pushLocked(m)
	return m, nil
}

// validateBody rejects an empty body and characters that SQS does not allow:
// anything outside #x9, #xA, #xD, #x20 to #xD7FF, #xE000 to #xFFFD and #x10000
// to #x10FFFF.
func validateBody(body string) error {
	if body == "" {
		return errMissingParameter("MessageBody")
	}
	if !utf8.ValidString(body) {
		return newAPIError("InvalidMessageContents", "", "message body is not valid UTF-8")
	}
	for _, r := range body {
		ok := r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000
		if !ok {
			return newAPIError("InvalidMessageContents", "", "message body contains the invalid character %U", r)
		}
	}
	return nil
}

// receiveLocked delivers up to the requested number of visible messages, oldest
// first. A visible message whose receive count has reached the queue's
// maxReceiveCount moves to the dead-letter queue instead.
func (s *SQS) receiveLocked(q *queue, in *receiveMessageInput, now time.Time) []messageOutput {
	maxMessages := int(valueOr(in.MaxNumberOfMessages, 1))
	visibility := secondsOr(in.VisibilityTimeout, q.settings.visibilityTimeout)
	deadLetter := s.deadLetterQueueLocked(q)

	var out []messageOutput
	remaining := q.messages[:0]
	for _, m := range q.messages {
		switch {
		case len(out) == maxMessages || !m.visible(now):
			remaining = append(remaining, m)
		case deadLetter != nil && m.receiveCount >= int(q.settings.redrive.MaxReceiveCount):
			deadLetter.pushLocked(deadLettered(m, s.queueARN(q.name), now))
		default:
			deliver(m, now, visibility)
			out = append(out, newMessageOutput(m, in))
			remaining = append(remaining, m)
		}
	}
	clear(q.messages[len(remaining):])
	q.messages = remaining
	return out
}

// deadLetterQueueLocked returns the dead-letter queue of q, or nil when q has no
// RedrivePolicy.
//
// NOTE: CreateQueue checks that the dead-letter queue exists, but when it is
// deleted later, this returns nil and messages stay in q and are delivered again
// without limit.
func (s *SQS) deadLetterQueueLocked(q *queue) *queue {
	if q.settings.redrive == nil {
		return nil
	}
	deadLetter, ok := s.queues[q.settings.redrive.queueName()]
	if !ok || deadLetter == q {
		return nil
	}
	return deadLetter
}

// deliver marks m as received at now, hidden for visibility, with a new receipt
// handle that replaces the previous one.
func deliver(m *message, now time.Time, visibility time.Duration) {
	m.receiveCount++
	if m.firstReceive.IsZero() {
		m.firstReceive = now
	}
	m.visibleAt = now.Add(visibility)
	m.receiptHandle = newReceiptHandle(m.id)
}

// deadLettered returns the copy of m that a dead-letter queue receives: same ID,
// body, attributes and sent time, visible at now.
//
// NOTE: the SQS Developer Guide states that a moved message keeps its enqueue
// timestamp, but not what happens to its receive count. This server starts the
// count over at zero.
func deadLettered(m *message, sourceARN string, now time.Time) *message {
	return &message{
		id:         m.id,
		body:       m.body,
		bodyMD5:    m.bodyMD5,
		attributes: m.attributes,
		sent:       m.sent,
		sourceARN:  sourceARN,
		visibleAt:  now,
	}
}

// receiveWithWait receives messages from the queue named name. With nothing to
// deliver, it waits until a message may have become visible, the wait time runs
// out or ctx is done, and tries again. It returns no messages and no error when
// ctx is done.
func (s *SQS) receiveWithWait(ctx context.Context, name string, in *receiveMessageInput) ([]messageOutput, error) {
	start := time.Now()
	for {
		s.mu.Lock()
		q, err := s.queueByNameLocked(name)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}

		now := s.clock()
		out := s.receiveLocked(q, in, now)
		wait := secondsOr(in.WaitTimeSeconds, q.settings.receiveWait) - time.Since(start)
		if len(out) > 0 || wait <= 0 {
			s.mu.Unlock()
			return out, nil
		}

		if !s.waitForChange(ctx, q, wait, now) {
			return nil, nil
		}
	}
}

// waitForChange releases s.mu, which the caller holds, and blocks until q
// changes, a hidden message of q becomes visible, wait passes or ctx is done. It
// reports whether ctx is still live.
//
// NOTE: the time at which a hidden message becomes visible is turned into a real
// timer. A fake clock that jumps forward does not wake the waiting requests.
// They see the jump when their timer fires or when the queue changes.
func (s *SQS) waitForChange(ctx context.Context, q *queue, wait time.Duration, now time.Time) bool {
	if next, ok := q.nextVisibleLocked(now); ok {
		wait = min(wait, next.Sub(now))
	}
	changed := q.changed
	q.waiting++
	s.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()

	var live bool
	select {
	case <-changed:
		live = true
	case <-timer.C:
		live = true
	case <-ctx.Done():
	}

	s.mu.Lock()
	q.waiting--
	s.mu.Unlock()
	return live
}

// deleteLocked deletes the message that handle was issued for, if handle is
// still its latest receipt handle. As in SQS, deleting with a handle that a later
// receive replaced, or deleting a message twice, succeeds and changes nothing.
func (q *queue) deleteLocked(handle string) error {
	id, err := messageIDFromHandle(handle)
	if err != nil {
		return err
	}
	i := q.indexLocked(id)
	if i < 0 || q.messages[i].receiptHandle != handle {
		return nil
	}
	q.messages = slices.Delete(q.messages, i, i+1)
	return nil
}

// changeVisibilityLocked hides the in-flight message that handle was issued for
// until now plus seconds. Zero makes it visible at once. It returns
// ReceiptHandleIsInvalid when handle is malformed, its message is gone or a
// later receive replaced it, and MessageNotInflight when the message is visible.
func (q *queue) changeVisibilityLocked(handle string, seconds int32, now time.Time) error {
	if err := checkRange("VisibilityTimeout", &seconds, 0, maxVisibilityTimeoutSecs); err != nil {
		return err
	}
	id, err := messageIDFromHandle(handle)
	if err != nil {
		return err
	}

	i := q.indexLocked(id)
	if i < 0 || q.messages[i].receiptHandle != handle {
		return newAPIError("ReceiptHandleIsInvalid", "",
			"receipt handle %q is not the latest one of a message in queue %q", handle, q.name)
	}
	m := q.messages[i]
	if !m.inFlight(now) {
		return newAPIError("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
			"message %s is not in flight", m.id)
	}

	m.visibleAt = now.Add(time.Duration(seconds) * time.Second)
	q.signalLocked()
	return nil
}

// newMessageID returns a random version 4 UUID.
func newMessageID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newReceiptHandle returns a handle that names the message and is unique per
// receive.
func newReceiptHandle(messageID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(messageID + ":" + rand.Text()))
}

func messageIDFromHandle(handle string) (string, error) {
	decoded, err := base64.RawURLEncoding.DecodeString(handle)
	id, _, found := strings.Cut(string(decoded), ":")
	if err != nil || !found || id == "" {
		return "", newAPIError("ReceiptHandleIsInvalid", "", "receipt handle %q is not valid", handle)
	}
	return id, nil
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// actionFunc serves one SQS action. It returns the response to encode as JSON.
type actionFunc func(s *SQS, r *http.Request, body []byte) (any, error)

// actions maps the action names of X-Amz-Target to their handlers.
var actions = map[string]actionFunc{
	"CreateQueue":                  decoded((*SQS).createQueueAction),
	"GetQueueUrl":                  decoded((*SQS).getQueueURLAction),
	"ListQueues":                   decoded((*SQS).listQueuesAction),
	"GetQueueAttributes":           decoded((*SQS).getQueueAttributesAction),
	"DeleteQueue":                  decoded((*SQS).deleteQueueAction),
	"PurgeQueue":                   decoded((*SQS).purgeQueueAction),
	"SendMessage":                  decoded((*SQS).sendMessageAction),
	"SendMessageBatch":             decoded((*SQS).sendMessageBatchAction),
	"ReceiveMessage":               decoded((*SQS).receiveMessageAction),
	"DeleteMessage":                decoded((*SQS).deleteMessageAction),
	"DeleteMessageBatch":           decoded((*SQS).deleteMessageBatchAction),
	"ChangeMessageVisibility":      decoded((*SQS).changeMessageVisibilityAction),
	"ChangeMessageVisibilityBatch": decoded((*SQS).changeMessageVisibilityBatchAction),
}

// decoded adapts an action that takes its decoded JSON request body.
func decoded[In any](serve func(*SQS, *http.Request, *In) (any, error)) actionFunc {
	return func(s *SQS, r *http.Request, body []byte) (any, error) {
		in := new(In)
		if len(body) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, errInvalidParameter("decoding request body: %v", err)
			}
		}
		return serve(s, r, in)
	}
}

// ServeHTTP serves one SQS request of the JSON protocol: a POST whose
// X-Amz-Target header names the action and whose body is the JSON input. Errors
// carry status 400, or 405 for a method other than POST. The body names the
// error shape in __type, and the x-amzn-query-error header carries the error
// code of the older query protocol, which query-compatible clients report.
// ReceiveMessage with a wait time blocks until it has messages, the wait time
// passes or the request context is done.
func (s *SQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, newAPIError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation",
			"method %s is not supported: send SQS requests with POST", r.Method))
		return
	}

	target := r.Header.Get("X-Amz-Target")
	name, hasPrefix := strings.CutPrefix(target, targetPrefix)
	serve, known := actions[name]
	if !hasPrefix || !known {
		writeError(w, http.StatusBadRequest, newAPIError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation",
			"action %q is not supported by this server", target))
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, errInvalidParameter("reading request body: %v", err))
		return
	}

	out, err := serve(s, r, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := writeJSON(w, http.StatusOK, out); err != nil && s.Logger != nil {
		s.Logger.Warn("an SQS response was not delivered; messages it received stay in flight until their visibility timeout", "action", name, "error", err)
	}
}

// writeJSON writes v with status. The status is sent first, so an encoding
// error, which means that the client has gone away, can only be returned.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeError sends err in the JSON protocol's error format. An error that is not
// an *apiError is an internal failure with status 500.
func writeError(w http.ResponseWriter, status int, err error) {
	var apiErr *apiError
	if !errors.As(err, &apiErr) {
		status = http.StatusInternalServerError
		apiErr = newAPIError("InternalFailure", "", "%v", err)
	}

	fault := "Sender"
	if status >= http.StatusInternalServerError {
		fault = "Receiver"
	}
	w.Header().Set("x-amzn-query-error", apiErr.queryCode+";"+fault)
	_ = writeJSON(w, status, errorOutput{Type: "com.amazonaws.sqs#" + apiErr.shape, Message: apiErr.message})
}

type errorOutput struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// apiError is an SQS error as the JSON protocol sends it.
type apiError struct {
	shape     string // error shape in the SQS model, such as "QueueDoesNotExist"
	queryCode string // code of the older query protocol, such as "AWS.SimpleQueueService.NonExistentQueue"
	message   string
}

// newAPIError returns an error of the given shape. An empty queryCode means
// that the query code is the shape name.
func newAPIError(shape, queryCode, format string, args ...any) *apiError {
	if queryCode == "" {
		queryCode = shape
	}
	return &apiError{shape: shape, queryCode: queryCode, message: fmt.Sprintf(format, args...)}
}

func (e *apiError) Error() string {
	return e.shape + ": " + e.message
}

// Is makes a QueueDoesNotExist error match ErrQueueDoesNotExist.
func (e *apiError) Is(target error) bool {
	return target == ErrQueueDoesNotExist && e.shape == "QueueDoesNotExist"
}

func errQueueDoesNotExist(name string) *apiError {
	return newAPIError("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
		"queue %q does not exist", name)
}

func errInvalidParameter(format string, args ...any) *apiError {
	return newAPIError("InvalidParameterValue", "", format, args...)
}

func errMissingParameter(name string) *apiError {
	return newAPIError("MissingParameter", "", "the request must contain the parameter %s", name)
}

// checkRange returns InvalidParameterValue when v is set and outside [low, high].
func checkRange(name string, v *int32, low, high int32) error {
	if v != nil && (*v < low || *v > high) {
		return errInvalidParameter("value %d for parameter %s is invalid: must be between %d and %d", *v, name, low, high)
	}
	return nil
}

func valueOr(v *int32, fallback int32) int32 {
	if v == nil {
		return fallback
	}
	return *v
}

// secondsOr converts v from seconds, or returns fallback when v is nil.
func secondsOr(v *int32, fallback time.Duration) time.Duration {
	if v == nil {
		return fallback
	}
	return time.Duration(*v) * time.Second
}

// Queue actions.

type queueNameInput struct {
	QueueName  string            `json:"QueueName"`
	Attributes map[string]string `json:"Attributes"`
}

type queueURLInput struct {
	QueueURL string `json:"QueueUrl"`
}

type queueURLOutput struct {
	QueueURL string `json:"QueueUrl"`
}

func (s *SQS) createQueueAction(r *http.Request, in *queueNameInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	if _, err := s.createQueueLocked(in.QueueName, in.Attributes); err != nil {
		return nil, err
	}
	return queueURLOutput{QueueURL: s.queueURL(r.Host, in.QueueName)}, nil
}

func (s *SQS) getQueueURLAction(r *http.Request, in *queueNameInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, err := s.queueByNameLocked(in.QueueName); err != nil {
		return nil, err
	}
	return queueURLOutput{QueueURL: s.queueURL(r.Host, in.QueueName)}, nil
}

type listQueuesInput struct {
	QueueNamePrefix string `json:"QueueNamePrefix"`
	MaxResults      *int32 `json:"MaxResults"`
	NextToken       string `json:"NextToken"`
}

type listQueuesOutput struct {
	QueueURLs []string `json:"QueueUrls,omitempty"`
	NextToken string   `json:"NextToken,omitempty"`
}

// listQueuesAction lists queues by name. The NextToken is the last name of the
// previous page, and like SQS it is set only when MaxResults is.
func (s *SQS) listQueuesAction(r *http.Request, in *listQueuesInput) (any, error) {
	if err := checkRange("MaxResults", in.MaxResults, 1, maxListQueuesResults); err != nil {
		return nil, err
	}

	s.mu.Lock()
	names := make([]string, 0, len(s.queues))
	for name := range s.queues {
		if strings.HasPrefix(name, in.QueueNamePrefix) && name > in.NextToken {
			names = append(names, name)
		}
	}
	s.mu.Unlock()
	slices.Sort(names)

	var out listQueuesOutput
	limit := int(valueOr(in.MaxResults, maxListQueuesResults))
	if len(names) > limit {
		names = names[:limit]
		if in.MaxResults != nil {
			out.NextToken = names[limit-1]
		}
	}
	for _, name := range names {
		out.QueueURLs = append(out.QueueURLs, s.queueURL(r.Host, name))
	}
	return out, nil
}

type getQueueAttributesInput struct {
	QueueURL       string   `json:"QueueUrl"`
	AttributeNames []string `json:"AttributeNames"`
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty"`
}

// getQueueAttributesAction returns the named attributes, all of them for "All",
// and none when no names are given, as SQS does.
func (s *SQS) getQueueAttributesAction(_ *http.Request, in *getQueueAttributesInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByURLLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}

	all := s.queueAttributesLocked(q)
	if slices.Contains(in.AttributeNames, "All") {
		return attributesOutput{Attributes: all}, nil
	}
	selected := make(map[string]string)
	for _, name := range in.AttributeNames {
		if !settableAttributes[name] && !readOnlyAttributes[name] {
			return nil, newAPIError("InvalidAttributeName", "", "unknown attribute %q", name)
		}
		if value, ok := all[name]; ok {
			selected[name] = value
		}
	}
	return attributesOutput{Attributes: selected}, nil
}

// readOnlyAttributes are the queue attributes that SQS computes.
var readOnlyAttributes = map[string]bool{
	"ApproximateNumberOfMessages":           true,
	"ApproximateNumberOfMessagesNotVisible": true,
	"ApproximateNumberOfMessagesDelayed":    true,
	"CreatedTimestamp":                      true,
	"LastModifiedTimestamp":                 true,
	"QueueArn":                              true,
}

// queueAttributesLocked returns every attribute that q has, settable and computed.
func (s *SQS) queueAttributesLocked(q *queue) map[string]string {
	visible, inFlight, delayed := q.countLocked(s.clock())
	created := strconv.FormatInt(q.created.Unix(), 10)

	attributes := map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"CreatedTimestamp":                      created,
		"LastModifiedTimestamp":                 created,
		"QueueArn":                              s.queueARN(q.name),
	}
	for name, value := range q.settings.attributes {
		attributes[name] = value
	}
	return attributes
}

func (s *SQS) deleteQueueAction(_ *http.Request, in *queueURLInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByURLLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	delete(s.queues, q.name)
	q.signalLocked() // The waiting long polls then report that the queue does not exist.
	return struct{}{}, nil
}

// purgeQueueAction deletes every message of the queue. Unlike SQS, it allows
// purging again within 60 seconds.
func (s *SQS) purgeQueueAction(_ *http.Request, in *queueURLInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByURLLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	clear(q.messages)
	q.messages = q.messages[:0]
	return struct{}{}, nil
}

// Message actions.

type sendMessageInput struct {
	QueueURL          string                           `json:"QueueUrl"`
	MessageBody       string                           `json:"MessageBody"`
	DelaySeconds      *int32                           `json:"DelaySeconds"`
	MessageAttributes map[string]messageAttributeValue `json:"MessageAttributes"`
}

type sendMessageOutput struct {
	MessageID              string `json:"MessageId"`
	MD5OfMessageBody       string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes string `json:"MD5OfMessageAttributes,omitempty"`
}

func (s *SQS) sendMessageAction(_ *http.Request, in *sendMessageInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByURLLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	m, err := s.sendLocked(q, in.MessageBody, in.DelaySeconds, in.MessageAttributes)
	if err != nil {
		return nil, err
	}
	return sendMessageOutput{
		MessageID:              m.id,
		MD5OfMessageBody:       m.bodyMD5,
		MD5OfMessageAttributes: md5OfMessageAttributes(m.attributes),
	}, nil
}

type receiveMessageInput struct {
	QueueURL                    string   `json:"QueueUrl"`
	AttributeNames              []string `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages         *int32   `json:"MaxNumberOfMessages"`
	VisibilityTimeout           *int32   `json:"VisibilityTimeout"`
	WaitTimeSeconds             *int32   `json:"WaitTimeSeconds"`
}

type receiveMessageOutput struct {
	Messages []messageOutput `json:"Messages,omitempty"`
}

type messageOutput struct {
	MessageID              string                           `json:"MessageId"`
	ReceiptHandle          string                           `json:"ReceiptHandle"`
	MD5OfBody              string                           `json:"MD5OfBody"`
	Body                   string                           `json:"Body"`
	Attributes             map[string]string                `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                           `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]messageAttributeValue `json:"MessageAttributes,omitempty"`
}

func (in *receiveMessageInput) validate() error {
	if err := checkRange("MaxNumberOfMessages", in.MaxNumberOfMessages, 1, maxBatchEntries); err != nil {
		return err
	}
	if err := checkRange("VisibilityTimeout", in.VisibilityTimeout, 0, maxVisibilityTimeoutSecs); err != nil {
		return err
	}
	return checkRange("WaitTimeSeconds", in.WaitTimeSeconds, 0, maxWaitTimeSecs)
}

// receiveMessageAction receives messages, waiting up to WaitTimeSeconds, or the
// queue's ReceiveMessageWaitTimeSeconds when that is not given.
func (s *SQS) receiveMessageAction(r *http.Request, in *receiveMessageInput) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.QueueURL == "" {
		return nil, errMissingParameter("QueueUrl")
	}

	messages, err := s.receiveWithWait(r.Context(), queueNameFromURL(in.QueueURL), in)
	if err != nil {
		return nil, err
	}
	return receiveMessageOutput{Messages: messages}, nil
}

// newMessageOutput returns m as ReceiveMessage sends it, with the system
// attributes and message attributes that in requests.
func newMessageOutput(m *message, in *receiveMessageInput) messageOutput {
	attributes := selectMessageAttributes(m.attributes, in.MessageAttributeNames)
	return messageOutput{
		MessageID:              m.id,
		ReceiptHandle:          m.receiptHandle,
		MD5OfBody:              m.bodyMD5,
		Body:                   m.body,
		Attributes:             systemAttributes(m, slices.Concat(in.AttributeNames, in.MessageSystemAttributeNames)),
		MD5OfMessageAttributes: md5OfMessageAttributes(attributes),
		MessageAttributes:      attributes,
	}
}

// systemAttributes returns the requested system attributes of m. It ignores
// names that apply only to FIFO queues or that this server does not track.
func systemAttributes(m *message, names []string) map[string]string {
	all := map[string]string{
		"SenderId":                         accountID,
		"SentTimestamp":                    strconv.FormatInt(m.sent.UnixMilli(), 10),
		"ApproximateReceiveCount":          strconv.Itoa(m.receiveCount),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceive.UnixMilli(), 10),
	}
	if m.sourceARN != "" {
		all["DeadLetterQueueSourceArn"] = m.sourceARN
	}
	if slices.Contains(names, "All") {
		return all
	}

	selected := make(map[string]string)
	for _, name := range names {
		if value, ok := all[name]; ok {
			selected[name] = value
		}
	}
	return selected
}

type receiptHandleInput struct {
	QueueURL          string `json:"QueueUrl"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout int32  `json:"VisibilityTimeout"`
}

// deleteMessageAction deletes a message. See queue.deleteLocked for stale
// receipt handles.
func (s *SQS) deleteMessageAction(_ *http.Request, in *receiptHandleInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByURLLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, errMissingParameter("ReceiptHandle")
	}
	if err := q.deleteLocked(in.ReceiptHandle); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *SQS) changeMessageVisibilityAction(_ *http.Request, in *receiptHandleInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByURLLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, errMissingParameter("ReceiptHandle")
	}
	if err := q.changeVisibilityLocked(in.ReceiptHandle, in.VisibilityTimeout, s.clock()); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// Batch actions.

// batchEntry is an entry of SendMessageBatch, DeleteMessageBatch or
// ChangeMessageVisibilityBatch. Each action reads only its own fields.
type batchEntry struct {
	ID                string                           `json:"Id"`
	MessageBody       string                           `json:"MessageBody"`
	DelaySeconds      *int32                           `json:"DelaySeconds"`
	MessageAttributes map[string]messageAttributeValue `json:"MessageAttributes"`
	ReceiptHandle     string                           `json:"ReceiptHandle"`
	VisibilityTimeout int32                            `json:"VisibilityTimeout"`
}

type batchInput struct {
	QueueURL string       `json:"QueueUrl"`
	Entries  []batchEntry `json:"Entries"`
}

type batchOutput struct {
	Successful []any              `json:"Successful"`
	Failed     []batchResultError `json:"Failed"`
}

type batchResultEntry struct {
	ID string `json:"Id"`
}

type sendBatchResultEntry struct {
	ID                     string `json:"Id"`
	MessageID              string `json:"MessageId"`
	MD5OfMessageBody       string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes string `json:"MD5OfMessageAttributes,omitempty"`
}

type batchResultError struct {
	ID          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

// runBatch validates the entry IDs, then applies apply to each entry in order.
// An entry whose apply fails goes to Failed with the error's code, the others to
// Successful with the result of apply.
func (s *SQS) runBatch(in *batchInput, apply func(q *queue, e *batchEntry) (any, error)) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	q, err := s.queueByURLLocked(in.QueueURL)
	if err != nil {
		return nil, err
	}
	if err := validateBatchIDs(in.Entries); err != nil {
		return nil, err
	}

	out := batchOutput{Successful: []any{}, Failed: []batchResultError{}}
	for i := range in.Entries {
		result, err := apply(q, &in.Entries[i])
		if err != nil {
			out.Failed = append(out.Failed, newBatchResultError(in.Entries[i].ID, err))
			continue
		}
		out.Successful = append(out.Successful, result)
	}
	return out, nil
}

func newBatchResultError(id string, err error) batchResultError {
	var apiErr *apiError
	if !errors.As(err, &apiErr) {
		return batchResultError{ID: id, Code: "InternalFailure", Message: err.Error()}
	}
	return batchResultError{ID: id, SenderFault: true, Code: apiErr.shape, Message: apiErr.message}
}

func validateBatchIDs(entries []batchEntry) error {
	if len(entries) == 0 {
		return newAPIError("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "the batch request contains no entries")
	}
	if len(entries) > maxBatchEntries {
		return newAPIError("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
			"the batch request contains %d entries, more than the maximum of %d", len(entries), maxBatchEntries)
	}

	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.ID == "" || len(e.ID) > maxQueueNameLength || !isIdentifier(e.ID) {
			return newAPIError("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
				"batch entry ID %q is invalid: use 1 to %d letters, digits, hyphens and underscores", e.ID, maxQueueNameLength)
		}
		if seen[e.ID] {
			return newAPIError("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
				"batch entry ID %q appears more than once", e.ID)
		}
		seen[e.ID] = true
	}
	return nil
}

func (s *SQS) sendMessageBatchAction(_ *http.Request, in *batchInput) (any, error) {
	return s.runBatch(in, func(q *queue, e *batchEntry) (any, error) {
		m, err := s.sendLocked(q, e.MessageBody, e.DelaySeconds, e.MessageAttributes)
		if err != nil {
			return nil, err
		}
		return sendBatchResultEntry{
			ID:                     e.ID,
			MessageID:              m.id,
			MD5OfMessageBody:       m.bodyMD5,
			MD5OfMessageAttributes: md5OfMessageAttributes(m.attributes),
		}, nil
	})
}

func (s *SQS) deleteMessageBatchAction(_ *http.Request, in *batchInput) (any, error) {
	return s.runBatch(in, func(q *queue, e *batchEntry) (any, error) {
		if err := q.deleteLocked(e.ReceiptHandle); err != nil {
			return nil, err
		}
		return batchResultEntry{ID: e.ID}, nil
	})
}

func (s *SQS) changeMessageVisibilityBatchAction(_ *http.Request, in *batchInput) (any, error) {
	return s.runBatch(in, func(q *queue, e *batchEntry) (any, error) {
		if err := q.changeVisibilityLocked(e.ReceiptHandle, e.VisibilityTimeout, s.clock()); err != nil {
			return nil, err
		}
		return batchResultEntry{ID: e.ID}, nil
	})
}

// Queue attributes.

// settableAttributes are the queue attributes that CreateQueue accepts.
var settableAttributes = map[string]bool{
	"DelaySeconds":                  true,
	"MaximumMessageSize":            true,
	"MessageRetentionPeriod":        true,
	"Policy":                        true,
	"ReceiveMessageWaitTimeSeconds": true,
	"VisibilityTimeout":             true,
	"RedrivePolicy":                 true,
	"RedriveAllowPolicy":            true,
	"KmsMasterKeyId":                true,
	"KmsDataKeyReusePeriodSeconds":  true,
	"SqsManagedSseEnabled":          true,
	"FifoQueue":                     true,
	"ContentBasedDeduplication":     true,
	"DeduplicationScope":            true,
	"FifoThroughputLimit":           true,
}

// defaultAttributes are the values that a new SQS queue has without attributes.
var defaultAttributes = map[string]string{
	"DelaySeconds":                  "0",
	"MaximumMessageSize":            "262144",
	"MessageRetentionPeriod":        "345600",
	"ReceiveMessageWaitTimeSeconds": "0",
	"VisibilityTimeout":             "30",
}

// queueSettings are the attributes of a queue, as given and parsed.
type queueSettings struct {
	attributes        map[string]string // every attribute set, defaults included, in normalized form
	visibilityTimeout time.Duration
	receiveWait       time.Duration
	delay             time.Duration
	redrive           *redrivePolicy // nil without a dead-letter queue
}

// parseQueueSettings applies given over the default attributes and parses the
// ones that this server acts on.
func parseQueueSettings(given map[string]string) (queueSettings, error) {
	attributes, err := mergeAttributes(given)
	if err != nil {
		return queueSettings{}, err
	}

	settings := queueSettings{attributes: attributes}
	if settings.visibilityTimeout, err = parseSeconds(attributes, "VisibilityTimeout", maxVisibilityTimeoutSecs); err != nil {
		return queueSettings{}, err
	}
	if settings.receiveWait, err = parseSeconds(attributes, "ReceiveMessageWaitTimeSeconds", maxWaitTimeSecs); err != nil {
		return queueSettings{}, err
	}
	if settings.delay, err = parseSeconds(attributes, "DelaySeconds", maxDelaySecs); err != nil {
		return queueSettings{}, err
	}

	if policy, ok := attributes["RedrivePolicy"]; ok {
		if settings.redrive, err = parseRedrivePolicy(policy); err != nil {
			return queueSettings{}, err
		}
		attributes["RedrivePolicy"] = settings.redrive.String()
	}
	return settings, nil
}

// mergeAttributes returns the default attributes overridden by given. It
// rejects unknown names and FIFO queues.
func mergeAttributes(given map[string]string) (map[string]string, error) {
	attributes := maps.Clone(defaultAttributes)
	for name, value := range given {
		if !settableAttributes[name] {
			return nil, newAPIError("InvalidAttributeName", "", "unknown attribute %q", name)
		}
		attributes[name] = value
	}
	if attributes["FifoQueue"] == "true" {
		return nil, errInvalidParameter("FIFO queues are not supported by this server")
	}
	return attributes, nil
}

// parseSeconds parses the attribute name as a whole number of seconds from 0 to
// high and stores it back in normalized form.
func parseSeconds(attributes map[string]string, name string, high int) (time.Duration, error) {
	seconds, err := strconv.Atoi(attributes[name])
	if err != nil || seconds < 0 || seconds > high {
		return 0, newAPIError("InvalidAttributeValue", "",
			"value %q for attribute %s is invalid: must be a whole number of seconds from 0 to %d", attributes[name], name, high)
	}
	attributes[name] = strconv.Itoa(seconds)
	return time.Duration(seconds) * time.Second, nil
}

// redrivePolicy is the RedrivePolicy queue attribute.
type redrivePolicy struct {
	DeadLetterTargetARN string      `json:"deadLetterTargetArn"`
	MaxReceiveCount     flexibleInt `json:"maxReceiveCount"`
}

// flexibleInt decodes a JSON number or a string that contains one, because SQS
// accepts maxReceiveCount in either form.
type flexibleInt int

func (n *flexibleInt) UnmarshalJSON(b []byte) error {
	text := string(b)
	if unquoted, err := strconv.Unquote(text); err == nil {
		text = unquoted
	}
	v, err := strconv.Atoi(text)
	if err != nil {
		return fmt.Errorf("parsing %s as an integer: %w", b, err)
	}
	*n = flexibleInt(v)
	return nil
}

func parseRedrivePolicy(text string) (*redrivePolicy, error) {
	var policy redrivePolicy
	if err := json.Unmarshal([]byte(text), &policy); err != nil {
		return nil, newAPIError("InvalidAttributeValue", "", "RedrivePolicy %q is invalid: %v", text, err)
	}
	if !strings.HasPrefix(policy.DeadLetterTargetARN, "arn:aws:sqs:") || policy.queueName() == "" {
		return nil, newAPIError("InvalidAttributeValue", "",
			"deadLetterTargetArn %q of RedrivePolicy is invalid: want arn:aws:sqs:REGION:ACCOUNT:QUEUE", policy.DeadLetterTargetARN)
	}
	if policy.MaxReceiveCount < 1 || policy.MaxReceiveCount > 1000 {
		return nil, newAPIError("InvalidAttributeValue", "",
			"maxReceiveCount %d of RedrivePolicy is invalid: must be between 1 and 1000", policy.MaxReceiveCount)
	}
	return &policy, nil
}

// queueName returns the dead-letter queue name, the last field of its ARN.
func (p *redrivePolicy) queueName() string {
	return p.DeadLetterTargetARN[strings.LastIndexByte(p.DeadLetterTargetARN, ':')+1:]
}

// String returns the policy as GetQueueAttributes sends it, with
// maxReceiveCount as a number.
func (p *redrivePolicy) String() string {
	b, _ := json.Marshal(p) // Marshaling a string and an int cannot fail.
	return string(b)
}

// Message attributes.

// messageAttributeValue is a user-defined message attribute. String and Number
// attributes carry StringValue, Binary attributes carry BinaryValue.
type messageAttributeValue struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// baseType returns String, Number or Binary. A data type may add a custom
// suffix after a dot, as in "Number.float".
func (v messageAttributeValue) baseType() string {
	base, _, _ := strings.Cut(v.DataType, ".")
	return base
}

func validateMessageAttributes(attributes map[string]messageAttributeValue) error {
	if len(attributes) > maxMessageAttributes {
		return errInvalidParameter("the message has %d attributes, more than the maximum of %d", len(attributes), maxMessageAttributes)
	}
	for name, v := range attributes {
		if err := validateMessageAttribute(name, v); err != nil {
			return err
		}
	}
	return nil
}

func validateMessageAttribute(name string, v messageAttributeValue) error {
	if name == "" || len(name) > 256 {
		return errInvalidParameter("message attribute name %q is invalid: must have 1 to 256 characters", name)
	}

	switch v.baseType() {
	case "String":
		if v.StringValue == "" {
			return errInvalidParameter("message attribute %q of type %s must have a StringValue", name, v.DataType)
		}
	case "Number":
		if _, err := strconv.ParseFloat(v.StringValue, 64); err != nil {
			return errInvalidParameter("message attribute %q of type %s has the invalid number %q", name, v.DataType, v.StringValue)
		}
	case "Binary":
		if len(v.BinaryValue) == 0 {
			return errInvalidParameter("message attribute %q of type %s must have a BinaryValue", name, v.DataType)
		}
	default:
		return errInvalidParameter("message attribute %q has the invalid data type %q: want String, Number or Binary", name, v.DataType)
	}
	return nil
}

// selectMessageAttributes returns the attributes that names requests: all of them
// for "All" or ".*", those starting with a prefix for "prefix.*", and exact names.
func selectMessageAttributes(attributes map[string]messageAttributeValue, names []string) map[string]messageAttributeValue {
	selected := make(map[string]messageAttributeValue)
	for name, v := range attributes {
		if attributeRequested(name, names) {
			selected[name] = v
		}
	}
	if len(selected) == 0 {
		return nil
	}
	return selected
}

func attributeRequested(name string, requested []string) bool {
	for _, pattern := range requested {
		prefix, isPrefix := strings.CutSuffix(pattern, ".*")
		if pattern == "All" || pattern == name || isPrefix && strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// md5OfMessageAttributes returns the MD5OfMessageAttributes digest in hex, or ""
// for no attributes. The digest covers the attributes sorted by name. Each adds
// its name, its data type, a transport byte (1 for String and Number, 2 for
// Binary) and its value, and every string or value is preceded by its length as
// a 4-byte big-endian integer.
func md5OfMessageAttributes(attributes map[string]messageAttributeValue) string {
	if len(attributes) == 0 {
		return ""
	}

	var buf []byte
	appendField := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	for _, name := range slices.Sorted(maps.Keys(attributes)) {
		v := attributes[name]
		appendField([]byte(name))
		appendField([]byte(v.DataType))
		if v.baseType() == "Binary" {
			buf = append(buf, 2)
			appendField(v.BinaryValue)
		} else {
			buf = append(buf, 1)
			appendField([]byte(v.StringValue))
		}
	}
	return md5Hex(buf)
}
