package origin

import (
	"context"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"moviequery/internal/telemetry"
)

// tracerName names the instrumentation scope of the origin's spans.
const tracerName = "moviequery/origin"

// maxHeaderID bounds the request and client ids taken from an edge's
// headers, so a broken caller cannot fill log lines.
const maxHeaderID = 64

// startSpan returns the context of one API request: it carries the request
// and client ids an edge sent, for log lines, and, when tracing is on, a
// server span that joins the trace named by the request's traceparent.
// Database calls made with the context become child spans of it. With
// tracing off the span is a no-op.
func (a *api) startSpan(r *http.Request, route string) (context.Context, trace.Span) {
	ctx := r.Context()
	if requestID := r.Header.Get(telemetry.HeaderRequestID); requestID != "" {
		ctx = telemetry.WithRequest(ctx, truncate(requestID), truncate(r.Header.Get(telemetry.HeaderClientID)))
	}
	if a.tracer == nil {
		return ctx, trace.SpanFromContext(ctx)
	}

	ctx = telemetry.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	// r.Pattern is the route template the request matched, with its method.
	ctx, span := a.tracer.Start(ctx, r.Pattern, trace.WithSpanKind(trace.SpanKindServer))
	if span.IsRecording() {
		requestID, clientID := telemetry.RequestFrom(ctx)
		span.SetAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", strings.TrimPrefix(r.Pattern, r.Method+" ")),
			attribute.String("moviequery.route", route),
			attribute.String("url.path", r.URL.Path),
			attribute.String("moviequery.request_id", requestID),
			attribute.String("moviequery.client_id", clientID),
		)
	}
	return ctx, span
}

// endSpan records a request's status on its span and ends it.
func endSpan(span trace.Span, status int) {
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
}

func truncate(s string) string {
	if len(s) > maxHeaderID {
		return s[:maxHeaderID]
	}
	return s
}

// dbTracer makes a span of every statement and batch run with a context
// whose span is recording. It keeps no state, so it costs a context
// look-up per statement when tracing is off.
type dbTracer struct{}

func (dbTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return startDBSpan(ctx, "postgresql query", attribute.String("db.query.text", data.SQL))
}

func (dbTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	endDBSpan(ctx, data.Err, data.CommandTag.RowsAffected())
}

func (dbTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	return startDBSpan(ctx, "postgresql batch", attribute.Int("db.operation.batch.size", data.Batch.Len()))
}

// TraceBatchQuery records each statement of a batch as an event of the
// batch's span.
func (dbTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{attribute.String("db.query.text", strings.TrimSpace(data.SQL))}
	if data.Err != nil {
		attrs = append(attrs, attribute.String("error.message", data.Err.Error()))
	}
	span.AddEvent("statement", trace.WithAttributes(attrs...))
}

func (dbTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	endDBSpan(ctx, data.Err, -1)
}

func startDBSpan(ctx context.Context, name string, attr attribute.KeyValue) context.Context {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx
	}
	ctx, _ = parent.TracerProvider().Tracer(tracerName).Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attr))
	return ctx
}

// endDBSpan ends the span startDBSpan started; rows below 0 are not recorded.
func endDBSpan(ctx context.Context, err error, rows int64) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if rows >= 0 {
		span.SetAttributes(attribute.Int64("db.response.returned_rows", rows))
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// indexSpanName names the span of a search in the memory index.
const indexSpanName = "search memory index"

// startIndexSpan starts a span for a search in the memory index when ctx's
// span is recording.
func startIndexSpan(ctx context.Context) trace.Span {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return parent
	}
	_, span := parent.TracerProvider().Tracer(tracerName).Start(ctx, indexSpanName, trace.WithSpanKind(trace.SpanKindInternal))
	return span
}

// endIndexSpan records the total and the feed position the index
// reflected, and ends the span.
func endIndexSpan(span trace.Span, ix *memoryIndex, total int64) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Int64("moviequery.search.total", total), attribute.Int64("moviequery.feed_position", ix.Applied()))
	span.End()
}
