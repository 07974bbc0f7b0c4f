package edge

import (
	"strconv"
	"sync"

	"github.com/allegro/bigcache/v3"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the edge's Prometheus series. Labels stay few and bounded:
// route, status and client (an API key id), never a movie id or a raw path.
type metrics struct {
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	cacheHits      prometheus.Counter
	cacheMisses    prometheus.Counter
	fillSeconds    prometheus.Histogram
	staleServed    prometheus.Counter
	staleAge       prometheus.Histogram
	cacheRemovals  *prometheus.CounterVec
	rateLimited    prometheus.Counter
	invalidations  *prometheus.CounterVec
	labels         prometheus.Labels

	// seriesMu guards the caches of children below, which let a request be
	// counted without allocating once its series exists.
	seriesMu        sync.RWMutex
	requestCounters map[requestSeries]prometheus.Counter
	routeHistograms map[string]prometheus.Observer
}

type requestSeries struct {
	route  string
	status int
	client string
}

func (m *metrics) countRequest(route string, status int, client string) {
	series := requestSeries{route: route, status: status, client: client}
	m.seriesMu.RLock()
	counter, ok := m.requestCounters[series]
	m.seriesMu.RUnlock()

	if !ok {
		counter = m.requests.WithLabelValues(route, strconv.Itoa(status), client)
		m.seriesMu.Lock()
		m.requestCounters[series] = counter
		m.seriesMu.Unlock()
	}
	counter.Inc()
}

func (m *metrics) routeSeconds(route string) prometheus.Observer {
	m.seriesMu.RLock()
	observer, ok := m.routeHistograms[route]
	m.seriesMu.RUnlock()

	if !ok {
		observer = m.requestSeconds.WithLabelValues(route)
		m.seriesMu.Lock()
		m.routeHistograms[route] = observer
		m.seriesMu.Unlock()
	}
	return observer
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
	m.staleServed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edge_cache_stale_served_total", Help: "Answers served past their freshness, while a fill replaces them or the origin fails.", ConstLabels: labels,
	})
	m.staleAge = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "edge_cache_stale_age_seconds", Help: "Age of the stale answers served.", ConstLabels: labels,
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
	m.cacheRemovals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_cache_removals_total", Help: "Cache entries removed, by reason (expired, no_space for evictions at the memory limit, deleted).", ConstLabels: labels,
	}, []string{"reason"})
	m.rateLimited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edge_rate_limited_total", Help: "Requests answered 429 because their key was over its rate limit.", ConstLabels: labels,
	})
	m.invalidations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_invalidations_total", Help: "Changes and purges applied to the cache, by how they arrived (gossip, feed).", ConstLabels: labels,
	}, []string{"source"})
	m.labels = labels
	m.requestCounters = map[requestSeries]prometheus.Counter{}
	m.routeHistograms = map[string]prometheus.Observer{}
	registry.MustRegister(m.requests, m.requestSeconds, m.cacheHits, m.cacheMisses, m.fillSeconds, m.staleServed, m.staleAge, m.cacheRemovals, m.rateLimited, m.invalidations)
	return m
}

// watchCache exports the cache's size and the data watermark as gauges
// read at scrape time.
func (m *metrics) watchCache(registry prometheus.Registerer, cache *bigcache.BigCache, feed *follower) {
	registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edge_data_watermark", Help: "Change feed position up to which every change has been applied to the cache.", ConstLabels: m.labels,
		}, func() float64 { return float64(feed.watermark.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edge_cache_entries", Help: "Entries in the cache (each answer is two: plain and gzip).", ConstLabels: m.labels,
		}, func() float64 { return float64(cache.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edge_cache_capacity_bytes", Help: "Memory the cache's shards hold, bounded by CacheMaxMB.", ConstLabels: m.labels,
		}, func() float64 { return float64(cache.Capacity()) }),
	)
}
