package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"moviequery/internal/apierror"
	"moviequery/internal/apikey"
	"moviequery/internal/movie"
	"moviequery/internal/query"
)

// Routes of the public API.
const (
	routeMovies = "/v1/movies"
	routeGenres = "/v1/genres"
)

// Cache key prefixes, one per kind of answer.
const (
	cacheSearch    = "s:"
	cacheMovie     = "m:"
	cacheGenres    = "g:"
	cacheRevisions = "r:"
)

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	requestID := s.nextRequestID()
	ctx.Response.Header.Set("X-Request-Id", requestID)

	route, client := s.route(ctx, requestID)

	status := strconv.Itoa(ctx.Response.StatusCode())
	s.metrics.requests.WithLabelValues(route, status, client).Inc()
	s.metrics.requestSeconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

// route serves one request and returns its route label and client id for
// the metrics.
func (s *Server) route(ctx *fasthttp.RequestCtx, requestID string) (route, client string) {
	path := string(ctx.Path())
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.writeError(ctx, http.StatusMethodNotAllowed, apierror.Detail{Code: apierror.CodeMethodNotAllowed, Message: "only GET and HEAD are allowed", RequestID: requestID})
		return "other", ""
	}

	switch path {
	case "/healthz":
		ctx.SetStatusCode(http.StatusOK)
		return "healthz", ""
	case "/readyz":
		s.readyz(ctx)
		return "readyz", ""
	case "/metrics":
		s.serveMetrics(ctx)
		return "metrics", ""
	}

	name, id := matchRoute(path)
	if name == "" {
		s.writeError(ctx, http.StatusNotFound, apierror.Detail{Code: apierror.CodeNotFound, Message: "no such route; see /v1/movies, /v1/movies/{id}, /v1/movies/{id}/revisions and /v1/genres", RequestID: requestID})
		return "other", ""
	}

	key, ok := s.authenticate(ctx, requestID)
	if !ok {
		return "unauthorized", ""
	}
	if !s.allowed(ctx, key, routeScopes[name], requestID) {
		return name, key.ID
	}
	if ok, delay := s.limits.allow(key); !ok {
		s.metrics.rateLimited.Inc()
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(retryAfterSeconds(delay)))
		s.writeError(ctx, http.StatusTooManyRequests, apierror.Detail{Code: apierror.CodeRateLimited, Message: fmt.Sprintf("this API key is over its rate limit of %d requests per second; retry after the Retry-After seconds", key.RatePerSecond), RequestID: requestID})
		return name, key.ID
	}
	if name != "movies" && ctx.QueryArgs().Len() > 0 {
		s.writeError(ctx, http.StatusBadRequest, apierror.Detail{Code: apierror.CodeInvalidParameter, Message: "this route takes no parameters", Param: firstParam(ctx), RequestID: requestID})
		return name, key.ID
	}

	switch name {
	case "movies":
		s.searchMovies(ctx, requestID)
	case "movie":
		s.getMovie(ctx, id, requestID)
	case "revisions":
		s.getRevisions(ctx, id, requestID)
	case "genres":
		s.serveCached(ctx, cacheGenres, "/internal/v1/genres", requestID)
	}
	return name, key.ID
}

func firstParam(ctx *fasthttp.RequestCtx) string {
	var name string
	ctx.QueryArgs().VisitAll(func(key, _ []byte) {
		if name == "" {
			name = string(key)
		}
	})
	return name
}

// routeScopes is the scope each public route needs.
var routeScopes = map[string]string{
	"movies":    apikey.ScopeQuery,
	"movie":     apikey.ScopeQuery,
	"genres":    apikey.ScopeQuery,
	"revisions": apikey.ScopeAudit,
}

// matchRoute returns the name of the public route of path and the movie id
// it names, or "" when no route matches.
func matchRoute(path string) (name, id string) {
	switch path {
	case routeMovies:
		return "movies", ""
	case routeGenres:
		return "genres", ""
	}

	rest, ok := strings.CutPrefix(path, routeMovies+"/")
	if !ok || rest == "" {
		return "", ""
	}
	if id, ok := strings.CutSuffix(rest, "/revisions"); ok && !strings.Contains(id, "/") {
		return "revisions", id
	}
	if strings.Contains(rest, "/") {
		return "", ""
	}
	return "movie", rest
}

func (s *Server) authenticate(ctx *fasthttp.RequestCtx, requestID string) (apikey.Key, bool) {
	secret := string(ctx.Request.Header.Peek("X-API-Key"))
	if secret == "" {
		s.writeError(ctx, http.StatusUnauthorized, apierror.Detail{Code: apierror.CodeUnauthorized, Message: "missing API key; send it in the X-API-Key header", RequestID: requestID})
		return apikey.Key{}, false
	}

	key, ok := s.keys.lookup(secret)
	if !ok {
		s.writeError(ctx, http.StatusUnauthorized, apierror.Detail{Code: apierror.CodeUnauthorized, Message: "unknown or revoked API key", RequestID: requestID})
		return apikey.Key{}, false
	}
	return key, true
}

// allowed checks that key holds scope, answering 403 when it does not.
func (s *Server) allowed(ctx *fasthttp.RequestCtx, key apikey.Key, scope, requestID string) bool {
	if key.Has(scope) {
		return true
	}
	s.writeError(ctx, http.StatusForbidden, apierror.Detail{Code: apierror.CodeForbidden, Message: "this API key lacks the " + scope + " scope", RequestID: requestID})
	return false
}

func (s *Server) searchMovies(ctx *fasthttp.RequestCtx, requestID string) {
	raw := string(ctx.URI().QueryString())
	values, err := url.ParseQuery(raw)
	if err != nil {
		message := "the query string is not valid URL encoding: " + err.Error()
		if strings.Contains(raw, ";") {
			message = "the query string contains a ';'; separate parameters with '&' and write a ';' inside a value as %3B"
		}
		s.writeError(ctx, http.StatusBadRequest, apierror.Detail{Code: apierror.CodeInvalidParameter, Message: message, RequestID: requestID})
		return
	}

	q, err := query.Parse(values)
	if err != nil {
		paramErr := err.(*query.Error)
		s.writeError(ctx, http.StatusBadRequest, apierror.Detail{Code: apierror.CodeInvalidParameter, Message: paramErr.Error(), Param: paramErr.Param, RequestID: requestID})
		return
	}

	canonical := q.Encode()
	s.serveCached(ctx, cacheSearch+canonical, "/internal/v1/movies?"+canonical, requestID)
}

func (s *Server) getRevisions(ctx *fasthttp.RequestCtx, id, requestID string) {
	if !movie.ValidID(id) {
		s.writeError(ctx, http.StatusNotFound, apierror.Detail{Code: apierror.CodeNotFound, Message: "no movie has id " + strconv.Quote(id), RequestID: requestID})
		return
	}
	s.serveCached(ctx, cacheRevisions+id, "/internal/v1/movies/"+id+"/revisions", requestID)
}

func (s *Server) getMovie(ctx *fasthttp.RequestCtx, id, requestID string) {
	if !movie.ValidID(id) {
		s.writeError(ctx, http.StatusNotFound, apierror.Detail{Code: apierror.CodeNotFound, Message: "no movie has id " + strconv.Quote(id), RequestID: requestID})
		return
	}
	s.serveCached(ctx, cacheMovie+id, "/internal/v1/movies/"+id, requestID)
}

// serveCached answers from the cache, or fetches originPath from the origin
// once for all concurrent requests of the same key and caches the answer
// when it is a success or a 404. An answer older than CacheFresh is still
// served, marked stale, while a background fill replaces it; that also
// keeps answering while the origin is down, until CacheMaxStale.
func (s *Server) serveCached(ctx *fasthttp.RequestCtx, cacheKey, originPath, requestID string) {
	gzipWanted := ctx.Request.Header.HasAcceptEncoding("gzip")
	variant := cacheKey
	if gzipWanted {
		variant = gzipKey(cacheKey)
	}

	if buf, err := s.cache.Get(variant); err == nil {
		if cached, ok := decodeEntry(buf); ok {
			s.serveHit(ctx, cached, cacheKey, originPath, gzipWanted, requestID)
			return
		}
	}

	s.metrics.cacheMisses.Inc()
	filled, err := s.fill(cacheKey, originPath)
	if err != nil {
		s.logger.Warn("filling cache from origin", "request_id", requestID, "path", originPath, "error", err)
		ctx.Response.Header.Set("Retry-After", "1")
		s.writeError(ctx, http.StatusServiceUnavailable, apierror.Detail{Code: apierror.CodeUnavailable, Message: "the origin is unavailable and the answer is not cached; retry shortly", RequestID: requestID})
		return
	}

	ctx.Response.Header.Set("X-Cache", "miss")
	answer := filled.plain
	if gzipWanted {
		answer = filled.gzip
	}
	s.writeEntry(ctx, answer, gzipWanted, requestID)
}

func (s *Server) serveHit(ctx *fasthttp.RequestCtx, cached entry, cacheKey, originPath string, gzipped bool, requestID string) {
	age := time.Since(cached.filledAt)
	if age <= s.cfg.CacheFresh {
		s.metrics.cacheHits.Inc()
		ctx.Response.Header.Set("X-Cache", "hit")
	} else {
		s.metrics.staleServed.Inc()
		s.metrics.staleAge.Observe(age.Seconds())
		ctx.Response.Header.Set("X-Cache", "stale")
		ctx.Response.Header.Set("Age", strconv.Itoa(int(age/time.Second)))
		s.refreshLater(cacheKey, originPath)
	}
	s.writeEntry(ctx, cached, gzipped, requestID)
}

// writeEntry writes a cached answer with its validators. A success whose
// ETag the client already holds gets 304 Not Modified, without a body.
func (s *Server) writeEntry(ctx *fasthttp.RequestCtx, cached entry, gzipped bool, requestID string) {
	if cached.status != http.StatusOK {
		s.writeAnswerError(ctx, cached, requestID)
		return
	}

	header := &ctx.Response.Header
	header.Set("ETag", `"`+cached.etag+`"`)
	header.Set("Cache-Control", "private, no-cache")
	header.Set("Vary", "Accept-Encoding")
	if etagMatches(ctx.Request.Header.Peek("If-None-Match"), cached.etag) {
		ctx.SetStatusCode(http.StatusNotModified)
		return
	}
	if gzipped {
		header.Set("Content-Encoding", "gzip")
	}
	s.writeJSON(ctx, cached.status, cached.body)
}

// etagMatches reports whether an If-None-Match value names etag, as one of
// a list, weak or strong, or as "*".
func etagMatches(ifNoneMatch []byte, etag string) bool {
	for _, candidate := range strings.Split(string(ifNoneMatch), ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || candidate == `"`+etag+`"` {
			return true
		}
	}
	return false
}

// writeAnswerError writes an origin error answer with this request's id,
// because a cached one carries none.
func (s *Server) writeAnswerError(ctx *fasthttp.RequestCtx, answer entry, requestID string) {
	var body apierror.Body
	if err := json.Unmarshal(plainBody(answer), &body); err != nil || body.Error.Code == "" {
		body.Error = apierror.Detail{Code: apierror.CodeInternal, Message: "the origin answered " + strconv.Itoa(answer.status)}
	}
	body.Error.RequestID = requestID
	s.writeError(ctx, answer.status, body.Error)
}

// plainBody returns an entry's body uncompressed. Error answers are cached
// uncompressed in both variants, so this never inflates.
func plainBody(e entry) []byte {
	return e.body
}

// filledEntry is both variants of one origin answer.
type filledEntry struct {
	plain, gzip entry
}

// fill fetches an answer from the origin once for all concurrent callers
// with the same key and caches both variants.
func (s *Server) fill(cacheKey, originPath string) (filledEntry, error) {
	value, err, _ := s.fills.Do(cacheKey, func() (any, error) {
		start := time.Now()
		answer, err := s.origin.get(context.Background(), originPath)
		if err != nil {
			return filledEntry{}, err
		}
		if answer.status >= 500 {
			return filledEntry{}, &originStatusError{status: answer.status}
		}
		s.metrics.fillSeconds.Observe(time.Since(start).Seconds())

		filled := newFilledEntry(answer, time.Now())
		if answer.status == http.StatusOK || answer.status == http.StatusNotFound {
			s.store(cacheKey, filled)
		}
		return filled, nil
	})
	if err != nil {
		return filledEntry{}, err
	}
	return value.(filledEntry), nil
}

func newFilledEntry(answer originAnswer, now time.Time) filledEntry {
	plain := entry{status: answer.status, filledAt: now, etag: etagOf(answer.body), body: answer.body}
	compressed := plain
	if answer.status == http.StatusOK {
		compressed.body = gzipped(answer.body)
	}
	return filledEntry{plain: plain, gzip: compressed}
}

func (s *Server) store(cacheKey string, filled filledEntry) {
	for key, e := range map[string]entry{cacheKey: filled.plain, gzipKey(cacheKey): filled.gzip} {
		if err := s.cache.Set(key, e.encode()); err != nil {
			s.logger.Warn("caching origin answer", "key_bytes", len(key), "bytes", len(e.body), "error", err)
		}
	}
}

// refreshLater fills a stale entry again in the background. At most
// maxRefreshes run at once; a refresh that finds them all busy is skipped,
// and the next stale hit asks again.
func (s *Server) refreshLater(cacheKey, originPath string) {
	select {
	case s.refreshes <- struct{}{}:
	default:
		return
	}

	s.background.Go(func() {
		defer func() { <-s.refreshes }()
		if _, err := s.fill(cacheKey, originPath); err != nil {
			s.logger.Debug("refreshing stale answer; serving it stale meanwhile", "path", originPath, "error", err)
		}
	})
}

type originStatusError struct{ status int }

func (e *originStatusError) Error() string {
	return "origin answered " + strconv.Itoa(e.status)
}

func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

func (s *Server) writeError(ctx *fasthttp.RequestCtx, status int, detail apierror.Detail) {
	s.writeJSON(ctx, status, apierror.Encode(detail))
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if s.ready.Load() && s.keys.loaded() {
		ctx.SetStatusCode(http.StatusOK)
		return
	}
	ctx.SetStatusCode(http.StatusServiceUnavailable)
}

func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))(ctx)
}

// nextRequestID returns a request id unique within this process: a random
// per-process prefix would add nothing the edge's pod name does not.
func (s *Server) nextRequestID() string {
	return strconv.FormatUint(s.requestCount.Add(1), 36)
}

// handleBadRequest answers a request fasthttp could not parse, in the
// API's JSON error shape.
func (s *Server) handleBadRequest(ctx *fasthttp.RequestCtx, err error) {
	status, message := http.StatusBadRequest, "the request could not be parsed: "+err.Error()
	var tooBig *fasthttp.ErrSmallBuffer
	if errors.As(err, &tooBig) {
		status, message = http.StatusRequestHeaderFieldsTooLarge, "the request line and headers are over 16 KB; shorten the query"
	}
	s.writeError(ctx, status, apierror.Detail{Code: apierror.CodeInvalidParameter, Message: message})
}
