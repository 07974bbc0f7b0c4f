package edge

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
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
// when it is a success or a 404.
func (s *Server) serveCached(ctx *fasthttp.RequestCtx, cacheKey, originPath, requestID string) {
	if entry, err := s.cache.Get(cacheKey); err == nil {
		s.metrics.cacheHits.Inc()
		ctx.Response.Header.Set("X-Cache", "hit")
		s.writeAnswer(ctx, decodeEntry(entry), requestID)
		return
	}

	s.metrics.cacheMisses.Inc()
	answer, err := s.fill(cacheKey, originPath)
	if err != nil {
		s.logger.Warn("filling cache from origin", "request_id", requestID, "path", originPath, "error", err)
		ctx.Response.Header.Set("Retry-After", "1")
		s.writeError(ctx, http.StatusServiceUnavailable, apierror.Detail{Code: apierror.CodeUnavailable, Message: "the origin is unavailable and the answer is not cached; retry shortly", RequestID: requestID})
		return
	}

	ctx.Response.Header.Set("X-Cache", "miss")
	s.writeAnswer(ctx, answer, requestID)
}

// writeAnswer writes an origin answer. An error answer gets this request's
// id, because a cached one carries none.
func (s *Server) writeAnswer(ctx *fasthttp.RequestCtx, answer originAnswer, requestID string) {
	if answer.status == http.StatusOK {
		s.writeJSON(ctx, answer.status, answer.body)
		return
	}

	var body apierror.Body
	if err := json.Unmarshal(answer.body, &body); err != nil || body.Error.Code == "" {
		body.Error = apierror.Detail{Code: apierror.CodeInternal, Message: "the origin answered " + strconv.Itoa(answer.status)}
	}
	body.Error.RequestID = requestID
	s.writeError(ctx, answer.status, body.Error)
}

func (s *Server) fill(cacheKey, originPath string) (originAnswer, error) {
	value, err, _ := s.fills.Do(cacheKey, func() (any, error) {
		start := time.Now()
		answer, err := s.origin.get(context.Background(), originPath)
		if err != nil {
			return originAnswer{}, err
		}
		if answer.status >= 500 {
			return originAnswer{}, &originStatusError{status: answer.status}
		}

		s.metrics.fillSeconds.Observe(time.Since(start).Seconds())
		if answer.status == http.StatusOK || answer.status == http.StatusNotFound {
			if err := s.cache.Set(cacheKey, encodeEntry(answer)); err != nil {
				s.logger.Warn("caching origin answer", "path", originPath, "bytes", len(answer.body), "error", err)
			}
		}
		return answer, nil
	})
	if err != nil {
		return originAnswer{}, err
	}
	return value.(originAnswer), nil
}

// encodeEntry stores an answer as its status in two bytes, then its body.
func encodeEntry(answer originAnswer) []byte {
	entry := make([]byte, 2+len(answer.body))
	binary.BigEndian.PutUint16(entry, uint16(answer.status))
	copy(entry[2:], answer.body)
	return entry
}

func decodeEntry(entry []byte) originAnswer {
	return originAnswer{status: int(binary.BigEndian.Uint16(entry)), body: entry[2:]}
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
