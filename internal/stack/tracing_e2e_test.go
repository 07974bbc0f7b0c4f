package stack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"moviequery/internal/apikey"
	"moviequery/internal/stack"
)

func TestTraceEdgeToOrigin(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { provider.Shutdown(context.Background()) })
	region := startRegionWith(t, func(cfg *stack.RegionConfig) { cfg.TracerProvider = provider })

	key, secret, err := region.Origin.Store().CreateKey(context.Background(), "tracing", []string{apikey.ScopeQuery})
	if err != nil {
		t.Fatalf("creating key: %v", err)
	}
	waitForKey(t, region, secret)

	// The client is traced itself and sends its trace context, so the
	// edge's span must join the client's trace.
	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	header := map[string]string{"traceparent": "00-" + clientTrace + "-00f067aa0ba902b7-01"}
	resp, _ := send(t, http.MethodGet, region.EdgeURLs[0]+"/v1/movies?year=1931&genre=western", secret, header)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != "miss" {
		t.Fatalf("got %d with X-Cache %q, want a 200 miss", resp.StatusCode, resp.Header.Get("X-Cache"))
	}
	requestID := resp.Header.Get("X-Request-Id")

	edgeSpan := waitSpan(t, recorder, "moviequery/edge", trace.SpanKindServer, "GET /v1/movies")
	originSpan := waitSpan(t, recorder, "moviequery/origin", trace.SpanKindServer, "GET /internal/v1/movies")
	if got := edgeSpan.SpanContext().TraceID().String(); got != clientTrace {
		t.Errorf("edge span trace id: got %s, want the client's %s", got, clientTrace)
	}
	if got := attributeOf(edgeSpan, "moviequery.client_id"); got != key.ID {
		t.Errorf("edge span client id: got %q, want the key id %q", got, key.ID)
	}
	if got := attributeOf(edgeSpan, "moviequery.request_id"); got != requestID {
		t.Errorf("edge span request id: got %q, want %q from X-Request-Id", got, requestID)
	}
	if got := attributeOf(edgeSpan, "moviequery.cache"); got != "miss" {
		t.Errorf("edge span cache: got %q, want miss", got)
	}
	for _, kv := range edgeSpan.Attributes() {
		if kv.Value.String() == secret {
			t.Errorf("edge span attribute %s holds the API key's secret", kv.Key)
		}
	}

	if originSpan.SpanContext().TraceID() != edgeSpan.SpanContext().TraceID() {
		t.Errorf("origin span trace id: got %s, want the edge's %s", originSpan.SpanContext().TraceID(), edgeSpan.SpanContext().TraceID())
	}
	if got := attributeOf(originSpan, "moviequery.client_id"); got != key.ID {
		t.Errorf("origin span client id: got %q, want %q", got, key.ID)
	}
	// The search runs in PostgreSQL, or in the memory index once it is
	// loaded, which reads no documents for an empty page.
	ended := recorder.Ended()
	if !hasDescendant(ended, originSpan, "moviequery/origin", trace.SpanKindClient) && !hasDescendant(ended, originSpan, "moviequery/origin", trace.SpanKindInternal) {
		t.Error("origin span has neither a database span nor a memory index span below it")
	}
}

func TestTraceHitNotSampled(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())), sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { provider.Shutdown(context.Background()) })
	region := startRegionWith(t, func(cfg *stack.RegionConfig) { cfg.TracerProvider = provider })
	secret := createKey(t, region, apikey.ScopeQuery)

	// A traceparent without the sampled flag: neither the edge nor the
	// origin records the request.
	header := map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}
	for range 2 {
		resp, _ := send(t, http.MethodGet, region.EdgeURLs[0]+"/v1/movies?year=1932", secret, header)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d, want 200", resp.StatusCode)
		}
	}
	if ended := recorder.Ended(); len(ended) != 0 {
		t.Errorf("got %d recorded spans, want none; the first is %q", len(ended), ended[0].Name())
	}
}

// waitSpan waits up to 5 s for an ended span of the given scope, kind and
// name, and returns it.
func waitSpan(t *testing.T, recorder *tracetest.SpanRecorder, scope string, kind trace.SpanKind, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var names []string
		for _, span := range recorder.Ended() {
			if span.InstrumentationScope().Name == scope && span.SpanKind() == kind && span.Name() == name {
				return span
			}
			names = append(names, span.InstrumentationScope().Name+": "+span.Name())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ended %s span %q of %s within 5 s; ended spans: %q", kind, name, scope, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func attributeOf(span sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range span.Attributes() {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

// hasDescendant reports whether a span of the given scope and kind lies
// below root in spans.
func hasDescendant(spans []sdktrace.ReadOnlySpan, root sdktrace.ReadOnlySpan, scope string, kind trace.SpanKind) bool {
	below := map[trace.SpanID]bool{root.SpanContext().SpanID(): true}
	for changed := true; changed; {
		changed = false
		for _, span := range spans {
			id := span.SpanContext().SpanID()
			if below[span.Parent().SpanID()] && !below[id] {
				below[id] = true
				changed = true
				if span.InstrumentationScope().Name == scope && span.SpanKind() == kind {
					return true
				}
			}
		}
	}
	return false
}
