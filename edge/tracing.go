package edge

import (
	"context"
	"strings"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"moviequery/internal/telemetry"
)

// tracerName names the instrumentation scope of the edge's spans.
const tracerName = "moviequery/edge"

// Span attributes of the edge. The client id is the API key id, never its
// secret.
const (
	attrClientID  = attribute.Key("moviequery.client_id")
	attrRequestID = attribute.Key("moviequery.request_id")
	attrCache     = attribute.Key("moviequery.cache")
)

// routeTemplates maps route labels to the route templates that name spans.
var routeTemplates = map[string]string{
	"movies":    routeMovies,
	"movie":     routeMovies + "/{id}",
	"revisions": routeMovies + "/{id}/revisions",
	"genres":    routeGenres,
	"healthz":   "/healthz",
	"readyz":    "/readyz",
	"metrics":   "/metrics",
}

// spanKey is the fasthttp user value key of a request's span.
type spanKey struct{}

// startSpan starts the server span of a request when tracing is on, as a
// child of the trace the request's traceparent names, and keeps it in the
// request's user values until endSpan. With tracing off it does nothing and
// allocates nothing.
func (s *Server) startSpan(ctx *fasthttp.RequestCtx, id requestID) {
	if s.tracer == nil {
		return
	}
	parent := telemetry.Propagator.Extract(context.Background(), requestHeaderCarrier{header: &ctx.Request.Header})
	_, span := s.tracer.Start(parent, methodName(ctx), trace.WithSpanKind(trace.SpanKindServer))
	// Attributes are set only on a span the sampler keeps, so that an
	// unsampled request does not pay for them.
	if span.IsRecording() {
		span.SetAttributes(
			attrRequestID.String(id.String()),
			attribute.String("http.request.method", methodName(ctx)),
			attribute.String("url.path", string(ctx.Path())),
		)
	}
	ctx.SetUserValue(spanKey{}, span)
}

// endSpan names the request's span after its route, records the client,
// the status and how the cache served it, and ends the span.
func (s *Server) endSpan(ctx *fasthttp.RequestCtx, route, client string) {
	span, ok := ctx.UserValue(spanKey{}).(trace.Span)
	if !ok {
		return
	}
	ctx.RemoveUserValue(spanKey{})
	if !span.IsRecording() {
		span.End()
		return
	}

	status := ctx.Response.StatusCode()
	if template, ok := routeTemplates[route]; ok {
		span.SetName(methodName(ctx) + " " + template)
		span.SetAttributes(attribute.String("http.route", template))
	}
	span.SetAttributes(
		attrClientID.String(client),
		attribute.Int("http.response.status_code", status),
		attrCache.String(string(ctx.Response.Header.Peek("X-Cache"))),
	)
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// methodName returns the request's method without allocating for the
// methods the API serves.
func methodName(ctx *fasthttp.RequestCtx) string {
	switch {
	case ctx.IsGet():
		return fasthttp.MethodGet
	case ctx.IsHead():
		return fasthttp.MethodHead
	}
	return string(ctx.Method())
}

// requestContext returns a context for the work a request does beyond the
// cache: it carries the request's span, if any, to the origin call, and the
// request and client ids to log lines. Only misses and stale hits build one,
// so a fresh hit allocates nothing for it.
func (s *Server) requestContext(ctx *fasthttp.RequestCtx, id requestID, client string) context.Context {
	c := telemetry.WithRequest(context.Background(), id.String(), client)
	if span, ok := ctx.UserValue(spanKey{}).(trace.Span); ok {
		c = trace.ContextWithSpan(c, span)
	}
	return c
}

// requestHeaderCarrier reads trace context headers from a fasthttp request.
type requestHeaderCarrier struct {
	header *fasthttp.RequestHeader
}

func (c requestHeaderCarrier) Get(key string) string {
	return string(c.header.Peek(key))
}

func (c requestHeaderCarrier) Set(key, value string) {
	c.header.Set(key, value)
}

func (c requestHeaderCarrier) Keys() []string {
	var keys []string
	for key := range c.header.All() {
		keys = append(keys, string(key))
	}
	return keys
}

// startOriginSpan starts a client span for an origin request when ctx
// carries a recording span. It writes the trace context and the request and
// client ids into the request's headers, so the origin's span joins the
// trace and its log lines name the request. An unsampled trace is still
// propagated, so the origin's parent-based sampler leaves it out too.
func startOriginSpan(ctx context.Context, method, address, path string, header *fasthttp.RequestHeader) trace.Span {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		urlPath, _, _ := strings.Cut(path, "?")
		ctx, span = span.TracerProvider().Tracer(tracerName).Start(ctx, method,
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("server.address", address), attribute.String("url.path", urlPath)))
	}
	telemetry.Propagator.Inject(ctx, requestHeaderCarrier{header: header})

	requestID, clientID := telemetry.RequestFrom(ctx)
	if requestID != "" {
		header.Set(telemetry.HeaderRequestID, requestID)
		header.Set(telemetry.HeaderClientID, clientID)
	}
	return span
}
