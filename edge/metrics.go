package edge

import "github.com/prometheus/client_golang/prometheus"

// metrics are the edge's Prometheus series. Labels stay few and bounded:
// route, status and client (an API key id), never a movie id or a raw path.
type metrics struct {
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	cacheHits      prometheus.Counter
	cacheMisses    prometheus.Counter
	fillSeconds    prometheus.Histogram
}

func newMetrics(registry prometheus.Registerer, region string) *metrics {
	labels := prometheus.Labels{"region": region}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_http_requests_total", Help: "Requests answered, by route, status and client.", ConstLabels: labels,
		}, []string{"route", "status", "client"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "edge_http_request_seconds", Help: "Time to answer a request, by route.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}, []string{"route"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_cache_hits_total", Help: "Answers served from the cache.", ConstLabels: labels,
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_cache_misses_total", Help: "Answers not in the cache.", ConstLabels: labels,
		}),
		fillSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "edge_cache_fill_seconds", Help: "Time to fetch a missing answer from the origin.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	registry.MustRegister(m.requests, m.requestSeconds, m.cacheHits, m.cacheMisses, m.fillSeconds)
	return m
}
