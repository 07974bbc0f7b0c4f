package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestLogHandlerAddsIDs(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(NewLogHandler(slog.NewJSONHandler(&out, nil))).With("component", "edge")

	spanContext := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(WithRequest(context.Background(), "7f", "key-1"), spanContext)
	logger.InfoContext(ctx, "filled")

	var line map[string]string
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("decoding %q: %v", out.String(), err)
	}
	want := map[string]string{
		"component":  "edge",
		"request_id": "7f",
		"client_id":  "key-1",
		"trace_id":   spanContext.TraceID().String(),
		"span_id":    spanContext.SpanID().String(),
	}
	for name, value := range want {
		if line[name] != value {
			t.Errorf("%s: got %q, want %q", name, line[name], value)
		}
	}
}

func TestLogHandlerWithoutRequest(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(NewLogHandler(slog.NewJSONHandler(&out, nil)))
	logger.Info("started")

	for _, name := range []string{"request_id", "client_id", "trace_id"} {
		if bytes.Contains(out.Bytes(), []byte(name)) {
			t.Errorf("log line %q has %s, want none outside a request", out.String(), name)
		}
	}
}

func TestSampleRatio(t *testing.T) {
	tests := []struct {
		arg     string
		want    float64
		wantErr bool
	}{
		{"", DefaultSampleRatio, false},
		{"0.25", 0.25, false},
		{"1", 1, false},
		{"1.5", 0, true},
		{"-0.1", 0, true},
		{"half", 0, true},
	}
	for _, tt := range tests {
		got, err := sampleRatio(tt.arg)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("sampleRatio(%q): got %v, %v; want %v, error %v", tt.arg, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNoEndpointNoProvider(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	provider, err := NewTracerProvider(context.Background(), "movie-edge", "us-east-1")
	if err != nil || provider != nil {
		t.Errorf("got %v, %v; want no provider and no error without an endpoint", provider, err)
	}
}

func TestEndpointMakesProvider(t *testing.T) {
	// Nothing listens there and no span is exported: the provider is only
	// built and shut down.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_TRACES_SAMPLER", "")
	provider, err := NewTracerProvider(context.Background(), "movie-edge", "us-east-1")
	if err != nil || provider == nil {
		t.Fatalf("got %v, %v; want a provider", provider, err)
	}
	if err := provider.Shutdown(context.Background()); err != nil {
		t.Errorf("shutting down: %v", err)
	}
}
