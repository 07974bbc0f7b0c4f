package edge

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/valyala/fasthttp"
)

// BenchmarkHitTraced measures a 1 KiB cache hit with tracing on: a span
// the sampler drops, and a span that is recorded and handed to a span
// processor that discards it (the exporter's cost is not included).
func BenchmarkHitTraced(b *testing.B) {
	samplers := []struct {
		name    string
		sampler sdktrace.Sampler
	}{
		{"unsampled", sdktrace.NeverSample()},
		{"sampled", sdktrace.AlwaysSample()},
	}
	for _, tc := range samplers {
		b.Run(tc.name, func(b *testing.B) {
			provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(tc.sampler), sdktrace.WithSpanProcessor(discardProcessor{}))
			b.Cleanup(func() { provider.Shutdown(context.Background()) })
			s, secret := newBenchServer(b, 1<<10)
			s.tracer = provider.Tracer(tracerName)

			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/v1/movies?year=1994&genre=DRAMA")
			ctx.Request.Header.Set("X-API-Key", secret)

			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				s.handle(&ctx)
			}
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("got %d, want 200", ctx.Response.StatusCode())
			}
		})
	}
}

// discardProcessor drops every span it is given.
type discardProcessor struct{}

func (discardProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardProcessor) Shutdown(context.Context) error                  { return nil }
func (discardProcessor) ForceFlush(context.Context) error                { return nil }
