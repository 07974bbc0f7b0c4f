package origin

import "github.com/prometheus/client_golang/prometheus"

// metrics are the origin's Prometheus series.
type metrics struct {
	announced        prometheus.Counter
	ingested         *prometheus.CounterVec
	rejectedMessages prometheus.Counter
	reconciled       prometheus.Counter
	commitSeconds    prometheus.Histogram
	requests         *prometheus.CounterVec
	requestSeconds   *prometheus.HistogramVec
}

func newMetrics(registry prometheus.Registerer, region string) *metrics {
	labels := prometheus.Labels{"region": region}
	m := &metrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "origin_ingested_objects_total", Help: "Objects ingested from S3, by outcome (stored, quarantined, duplicate).", ConstLabels: labels,
		}, []string{"outcome"}),
		rejectedMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "origin_rejected_messages_total", Help: "Queue messages that were not S3 event notifications.", ConstLabels: labels,
		}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "origin_reconciled_objects_total", Help: "Objects found by listing the bucket that no notification had delivered.", ConstLabels: labels,
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "origin_ingest_commit_seconds", Help: "Time to commit one batch of ingested objects.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "origin_http_requests_total", Help: "Requests served to edges, by route and status.", ConstLabels: labels,
		}, []string{"route", "status"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "origin_http_request_seconds", Help: "Time to serve a request to an edge, by route.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"route"}),
		announced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "origin_announced_changes_total", Help: "Committed changes announced to the region's edges by gossip.", ConstLabels: labels,
		}),
	}
	registry.MustRegister(m.ingested, m.rejectedMessages, m.reconciled, m.commitSeconds, m.requests, m.requestSeconds, m.announced)
	return m
}
