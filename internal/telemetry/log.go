package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// requestKey is the context key of a request's ids.
type requestKey struct{}

// request is the identity of one API request, as it appears in log lines.
type request struct {
	id     string
	client string
}

// WithRequest returns a context that carries a request's id and its
// client's id (an API key id, never the secret). Log lines written with
// that context through a LogHandler carry both.
func WithRequest(ctx context.Context, requestID, clientID string) context.Context {
	return context.WithValue(ctx, requestKey{}, request{id: requestID, client: clientID})
}

// RequestFrom returns the request id and client id that ctx carries, or
// empty strings.
func RequestFrom(ctx context.Context) (requestID, clientID string) {
	r, _ := ctx.Value(requestKey{}).(request)
	return r.id, r.client
}

// LogHandler adds to every record logged with a context the request's
// request_id and client_id, and the trace_id and span_id of the context's
// span when it has a valid one. Records logged without a context, or with
// one that carries none of these, pass through unchanged. It is safe for
// concurrent use when the wrapped handler is.
type LogHandler struct {
	next slog.Handler
}

// NewLogHandler wraps next.
func NewLogHandler(next slog.Handler) *LogHandler {
	if h, ok := next.(*LogHandler); ok {
		return h
	}
	return &LogHandler{next: next}
}

// Enabled reports whether the wrapped handler handles level.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the request and trace ids to r and passes it on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if req, ok := ctx.Value(requestKey{}).(request); ok {
		r.AddAttrs(slog.String("request_id", req.id), slog.String("client_id", req.client))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a LogHandler around the wrapped handler with attrs.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a LogHandler around the wrapped handler with a group.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name)}
}

// Headers in which an edge sends the origin the ids of the request and client
// a call is made for, so the origin's log lines name them too.
const (
	HeaderRequestID = "X-Request-Id"
	HeaderClientID  = "X-Client-Id"
)
