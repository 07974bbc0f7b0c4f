// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_
// environment variables, and ties log lines to the request they belong to.
package telemetry

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultSampleRatio is the share of traces started at an edge that are
// recorded when OTEL_TRACES_SAMPLER is not set. An edge serves thousands of
// requests per second, so recording every one would cost more than the
// requests themselves. OTEL_TRACES_SAMPLER_ARG overrides the ratio.
const DefaultSampleRatio = 0.01

// Propagator carries the trace context between edge and origin in the W3C
// traceparent and tracestate headers.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// NewTracerProvider returns a tracer provider that exports spans over
// OTLP/HTTP, or nil when neither OTEL_EXPORTER_OTLP_ENDPOINT nor
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, so that a process without a
// collector pays nothing for tracing. The exporter reads the other
// OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression) and the
// provider reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. Without
// OTEL_TRACES_SAMPLER, sampling is parent-based: a request that carries a
// sampled traceparent is recorded, and a new trace is recorded with the
// probability DefaultSampleRatio or OTEL_TRACES_SAMPLER_ARG. OTEL_SERVICE_NAME
// and OTEL_RESOURCE_ATTRIBUTES override service and region. The caller
// must call Shutdown on the provider to flush the last spans.
func NewTracerProvider(ctx context.Context, service, region string) (*sdktrace.TracerProvider, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}

	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", service), attribute.String("cloud.region", region)),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("describing the trace resource: %w", err)
	}

	options := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)}
	if os.Getenv("OTEL_TRACES_SAMPLER") == "" {
		ratio, err := sampleRatio(os.Getenv("OTEL_TRACES_SAMPLER_ARG"))
		if err != nil {
			return nil, err
		}
		options = append(options, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	}
	return sdktrace.NewTracerProvider(options...), nil
}

func sampleRatio(arg string) (float64, error) {
	if arg == "" {
		return DefaultSampleRatio, nil
	}
	ratio, err := strconv.ParseFloat(arg, 64)
	if err != nil || ratio < 0 || ratio > 1 {
		return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q is not a ratio between 0 and 1", arg)
	}
	return ratio, nil
}
