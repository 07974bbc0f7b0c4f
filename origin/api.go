package origin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"moviequery/internal/announce"
	"moviequery/internal/apierror"
	"moviequery/internal/movie"
	"moviequery/internal/query"
)

// The routes edges call. They live under /internal/ because they are for
// the region's edges, not for clients.
const (
	RouteMovies = "/internal/v1/movies"
	RouteGenres = "/internal/v1/genres"
	RouteKeys   = "/internal/v1/keys"
	RouteStats  = "/internal/v1/stats"
	RouteDigest = "/internal/v1/digest"
)

// requestTimeout bounds the database work of one request.
const requestTimeout = 10 * time.Second

type api struct {
	store   *Store
	purger  *purger
	metrics *metrics
	logger  *slog.Logger
	ready   *atomic.Bool
	tracer  trace.Tracer // nil when tracing is off
}

func (a *api) routes(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+RouteMovies, a.instrumentPage("movies", a.searchMovies))
	mux.Handle("GET "+RouteMovies+"/{id}", a.instrument("movie", a.getMovie))
	mux.Handle("GET "+RouteMovies+"/{id}/revisions", a.instrument("revisions", a.getRevisions))
	mux.Handle("GET "+RouteGenres, a.instrument("genres", a.listGenres))
	mux.Handle("GET "+RouteKeys, a.instrument("keys", a.listKeys))
	mux.Handle("GET "+RouteStats, a.instrument("stats", a.stats))
	mux.Handle("GET "+RouteDigest, a.instrument("digest", a.digest))
	mux.Handle("GET "+RouteChanges, a.instrument("changes", a.listChanges))
	mux.Handle("GET "+RoutePurges, a.instrument("purges", a.listPurges))
	mux.HandleFunc("POST "+RoutePurges, a.purge)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}

// handlerFunc is an API handler that returns its body or an error.
type handlerFunc func(ctx context.Context, r *http.Request) ([]byte, error)

func (a *api) instrument(route string, fn handlerFunc) http.Handler {
	return a.serve(route, fn, false)
}

// instrumentPage is instrument for a handler whose body comes from
// pageBuffers: the body goes back to the pool once it is written.
func (a *api) instrumentPage(route string, fn handlerFunc) http.Handler {
	return a.serve(route, fn, true)
}

func (a *api) serve(route string, fn handlerFunc, pooledBody bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		requestCtx, span := a.startSpan(r, route)
		ctx, cancel := context.WithTimeout(requestCtx, requestTimeout)
		defer cancel()

		body, err := fn(ctx, r)
		status := a.write(ctx, w, r, body, err)
		if pooledBody && body != nil {
			releasePageBuffer(body)
		}
		endSpan(span, status)

		a.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		a.metrics.requestSeconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

func (a *api) write(ctx context.Context, w http.ResponseWriter, r *http.Request, body []byte, err error) int {
	w.Header().Set("Content-Type", "application/json")
	if err == nil {
		// A stated length lets the edge read the response into one buffer.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return http.StatusOK
	}

	status, code, param := classify(err)
	if status == http.StatusInternalServerError {
		a.logger.ErrorContext(ctx, "serving edge request", "path", r.URL.Path, "error", err)
	}
	w.WriteHeader(status)
	w.Write(apierror.Encode(apierror.Detail{Code: code, Message: publicMessage(status, err), Param: param}))
	return status
}

func classify(err error) (status int, code, param string) {
	var paramErr *query.Error
	switch {
	case errors.As(err, &paramErr):
		return http.StatusBadRequest, apierror.CodeInvalidParameter, paramErr.Param
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, apierror.CodeNotFound, ""
	case errors.Is(err, ErrPurgeConflict):
		return http.StatusConflict, apierror.CodeConflict, "Idempotency-Key"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// The edge gave up on the request, or the origin is stopping.
		return http.StatusServiceUnavailable, apierror.CodeUnavailable, ""
	}
	return http.StatusInternalServerError, apierror.CodeInternal, ""
}

// publicMessage keeps internal details such as SQL errors out of answers.
func publicMessage(status int, err error) string {
	if status == http.StatusInternalServerError {
		return "the origin failed to answer; try again"
	}
	if status == http.StatusServiceUnavailable {
		return "the origin timed out; try again"
	}
	return err.Error()
}

func (a *api) searchMovies(ctx context.Context, r *http.Request) ([]byte, error) {
	q, err := query.ParseFolded(r.URL.Query())
	if err != nil {
		return nil, err
	}

	seen, err := feedPosition(r.Header.Get(announce.HeaderFeedSeen))
	if err != nil {
		return nil, err
	}
	page, err := a.store.SearchSeen(ctx, q, seen)
	if err != nil {
		return nil, err
	}
	return encodePage(page), nil
}

func feedPosition(raw string) (int64, error) {
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, &query.Error{Param: announce.HeaderFeedSeen, Message: "must be a whole number of at least 0"}
	}
	return n, nil
}

// encodePage writes a page as {"movies":[...],"total":N,"next_cursor":...}
// by joining the stored documents, which are JSON already, into a buffer
// from pageBuffers. Release the buffer with releasePageBuffer once it is
// written.
func encodePage(page Page) []byte {
	size := 64 + len(page.NextCursor)
	for _, document := range page.Documents {
		size += len(document) + 1
	}

	b := *(pageBuffers.Get().(*[]byte))
	b = slices.Grow(b[:0], size)
	b = append(b, `{"movies":[`...)
	for i, document := range page.Documents {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, document...)
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, page.Total, 10)
	b = append(b, `,"next_cursor":`...)
	if page.NextCursor == "" {
		return append(b, "null}"...)
	}
	b = strconv.AppendQuote(b, page.NextCursor)
	return append(b, '}')
}

// pageBuffers keeps the buffers that pages are encoded into. A new buffer
// for each page (up to 100 KB on the data set) had to be zeroed and then
// collected: in a profile of year misses, allocating them alone took a
// tenth of the origin's CPU.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPage is the largest buffer kept for reuse, so that one page of
// very long documents does not hold its memory for later pages.
const maxPooledPage = 1 << 20

func releasePageBuffer(b []byte) {
	if cap(b) > maxPooledPage {
		return
	}
	b = b[:0]
	pageBuffers.Put(&b)
}

func (a *api) getMovie(ctx context.Context, r *http.Request) ([]byte, error) {
	id := r.PathValue("id")
	if !movie.ValidID(id) {
		return nil, notFound("no movie has id %q", id)
	}

	seen, err := feedPosition(r.Header.Get(announce.HeaderFeedSeen))
	if err != nil {
		return nil, err
	}
	document, err := a.store.MovieSeen(ctx, id, seen)
	return []byte(document), err
}

func (a *api) getRevisions(ctx context.Context, r *http.Request) ([]byte, error) {
	id := r.PathValue("id")
	if !movie.ValidID(id) {
		return nil, notFound("no movie has id %q", id)
	}

	trail, err := a.store.Revisions(ctx, id)
	if err != nil {
		return nil, err
	}
	return json.Marshal(trail)
}

func (a *api) listGenres(ctx context.Context, r *http.Request) ([]byte, error) {
	seen, err := feedPosition(r.Header.Get(announce.HeaderFeedSeen))
	if err != nil {
		return nil, err
	}
	genres, err := a.store.GenresSeen(ctx, seen)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"genres": genres})
}

func (a *api) listKeys(ctx context.Context, _ *http.Request) ([]byte, error) {
	keys, err := a.store.ActiveKeys(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"keys": keys})
}

func (a *api) stats(ctx context.Context, _ *http.Request) ([]byte, error) {
	stats, err := a.store.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(stats)
}

func (a *api) digest(ctx context.Context, _ *http.Request) ([]byte, error) {
	digest, err := a.store.Digest(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(digest)
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()

	if !a.ready.Load() || a.store.Ping(ctx) != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}
