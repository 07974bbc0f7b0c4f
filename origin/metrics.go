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

// watchMemoryIndex exports the size of the store's memory index and the
// change feed position it reflects, both 0 until it is loaded.
func watchMemoryIndex(registry prometheus.Registerer, region string, store *Store) {
	labels := prometheus.Labels{"region": region}
	read := func(value func(*memoryIndex) float64) func() float64 {
		return func() float64 {
			if ix := store.index.Load(); ix != nil {
				return value(ix)
			}
			return 0
		}
	}
	registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "origin_search_index_movies", Help: "Movies in the memory search index; 0 while searches run in PostgreSQL alone.", ConstLabels: labels,
		}, read(func(ix *memoryIndex) float64 { return float64(ix.Len()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "origin_search_index_feed_position", Help: "Change feed position up to which the memory search index reflects every change.", ConstLabels: labels,
		}, read(func(ix *memoryIndex) float64 { return float64(ix.Applied()) })),
	)
}

// watchDocumentCache exports the document cache's counters, when the store
// has the cache.
func watchDocumentCache(registry prometheus.Registerer, region string, store *Store) {
	cache := store.documentCache
	if cache == nil {
		return
	}
	labels := prometheus.Labels{"region": region}
	registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "origin_document_cache_hits_total", Help: "Movie documents taken from the document cache, for search pages and movies by id.", ConstLabels: labels,
		}, func() float64 { return float64(cache.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "origin_document_cache_misses_total", Help: "Movie documents read from PostgreSQL because the document cache lacked their current state.", ConstLabels: labels,
		}, func() float64 { return float64(cache.misses.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "origin_document_cache_bytes", Help: "Bytes the document cache takes: its documents, within -document-cache-mb, and an entry of 24 bytes for each movie of the search index it has held.", ConstLabels: labels,
		}, func() float64 { return float64(cache.bytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "origin_document_cache_warmed", Help: "1 once the document cache has been warmed after the search index loaded (see -document-cache-warm), otherwise 0.", ConstLabels: labels,
		}, func() float64 {
			if cache.warmed.Load() {
				return 1
			}
			return 0
		}),
	)
}
