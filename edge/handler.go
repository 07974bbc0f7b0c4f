package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"moviequery/internal/apierror"
	"moviequery/internal/apikey"
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
	id := s.startResponse(ctx)

	s.startSpan(ctx, id)
	route, client := s.route(ctx, id)
	s.endSpan(ctx, route, client)

	s.metrics.countRequest(route, ctx.Response.StatusCode(), client)
	s.metrics.routeSeconds(route).Observe(time.Since(start).Seconds())
}

// startResponse numbers a request and sets the headers every response
// carries: its request id and the edge's watermark.
func (s *Server) startResponse(ctx *fasthttp.RequestCtx) requestID {
	id := requestID(s.requestCount.Add(1))
	var buf [20]byte
	ctx.Response.Header.SetBytesV("X-Request-Id", id.append(buf[:0]))
	ctx.Response.Header.SetBytesV("X-Data-Watermark", strconv.AppendInt(buf[:0], s.feed.watermark.Load(), 10))
	return id
}

// requestID numbers the requests of one edge process; its text form is
// base 36.
type requestID uint64

func (id requestID) append(buf []byte) []byte {
	return strconv.AppendUint(buf, uint64(id), 36)
}

func (id requestID) String() string {
	return strconv.FormatUint(uint64(id), 36)
}

// route serves one request and returns its route label and client id for
// the metrics.
func (s *Server) route(ctx *fasthttp.RequestCtx, id requestID) (route, client string) {
	if string(ctx.Path()) == routePurge {
		return "purge", s.servePurge(ctx, id)
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.writeError(ctx, http.StatusMethodNotAllowed, apierror.Detail{Code: apierror.CodeMethodNotAllowed, Message: "only GET and HEAD are allowed", RequestID: id.String()})
		return "other", ""
	}
	if route, ok := s.serveOperational(ctx); ok {
		return route, ""
	}

	t, paramErr := s.resolveTarget(ctx)
	if t == nil && paramErr == nil {
		s.writeError(ctx, http.StatusNotFound, apierror.Detail{Code: apierror.CodeNotFound, Message: "no such route; see /v1/movies, /v1/movies/{id}, /v1/movies/{id}/revisions, /v1/genres and /v1/purge", RequestID: id.String()})
		return "other", ""
	}

	key, ok := s.authenticate(ctx, id)
	if !ok {
		return "unauthorized", ""
	}
	if paramErr != nil {
		paramErr.RequestID = id.String()
		s.writeError(ctx, paramErr.status, paramErr.Detail)
		return paramErr.route, key.ID
	}
	if !s.allowed(ctx, key, t.scope, id) || !s.withinRate(ctx, key, id) {
		return t.route, key.ID
	}

	s.serveCached(ctx, t, id, key.ID)
	return t.route, key.ID
}

// serveOperational answers the health, readiness and metrics endpoints,
// which need no key.
func (s *Server) serveOperational(ctx *fasthttp.RequestCtx) (string, bool) {
	switch string(ctx.Path()) {
	case "/healthz":
		ctx.SetStatusCode(http.StatusOK)
		return "healthz", true
	case "/readyz":
		s.readyz(ctx)
		return "readyz", true
	case "/metrics":
		s.serveMetrics(ctx)
		return "metrics", true
	}
	return "", false
}

func (s *Server) authenticate(ctx *fasthttp.RequestCtx, id requestID) (apikey.Key, bool) {
	secrets := ctx.Request.Header.PeekAll("X-API-Key")
	if len(secrets) == 0 || len(secrets[0]) == 0 {
		s.writeUnauthorized(ctx, "missing API key; send it in the X-API-Key header", id)
		return apikey.Key{}, false
	}
	if len(secrets) > 1 {
		s.writeUnauthorized(ctx, fmt.Sprintf("the request has %d X-API-Key headers; send exactly one", len(secrets)), id)
		return apikey.Key{}, false
	}
	secret := secrets[0]

	if !s.keys.loaded() || !s.feed.started.Load() {
		ctx.Response.Header.Set("Retry-After", "1")
		s.writeError(ctx, http.StatusServiceUnavailable, apierror.Detail{Code: apierror.CodeUnavailable, Message: "this edge is still starting: it has not loaded the API keys or the change feed yet; retry shortly", RequestID: id.String()})
		return apikey.Key{}, false
	}
	key, ok := s.keys.lookup(secret)
	if !ok {
		s.writeUnauthorized(ctx, "unknown or revoked API key; check the X-API-Key header, or ask the operator for a new key", id)
		return apikey.Key{}, false
	}
	return key, true
}

// writeUnauthorized writes a 401 with the challenge that names the header
// a key goes in, as HTTP requires of a 401.
func (s *Server) writeUnauthorized(ctx *fasthttp.RequestCtx, message string, id requestID) {
	ctx.Response.Header.Set("WWW-Authenticate", `ApiKey header="X-API-Key"`)
	s.writeError(ctx, http.StatusUnauthorized, apierror.Detail{Code: apierror.CodeUnauthorized, Message: message, RequestID: id.String()})
}

func (s *Server) withinRate(ctx *fasthttp.RequestCtx, key apikey.Key, id requestID) bool {
	ok, delay := s.limits.allow(key)
	if ok {
		return true
	}

	s.metrics.rateLimited.Inc()
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(retryAfterSeconds(delay)))
	s.writeError(ctx, http.StatusTooManyRequests, apierror.Detail{Code: apierror.CodeRateLimited, Message: fmt.Sprintf("this API key is over its rate limit (%d per second); retry after the Retry-After seconds", key.RatePerSecond), RequestID: id.String()})
	return false
}

// allowed checks that key holds scope, answering 403 when it does not.
func (s *Server) allowed(ctx *fasthttp.RequestCtx, key apikey.Key, scope string, id requestID) bool {
	if key.Has(scope) {
		return true
	}
	s.writeError(ctx, http.StatusForbidden, apierror.Detail{Code: apierror.CodeForbidden, Message: "this API key lacks the " + scope + " scope; use a key with that scope", RequestID: id.String()})
	return false
}

// serveCached serves the target from the cache, or fetches it from the
// origin once for all concurrent requests of the same key and caches a
// success or a 404. A response older than CacheFresh is still served,
// marked stale, while a background fill replaces it. While the origin is
// down, stale responses are served until CacheMaxStale, and so are
// responses that a change has invalidated.
func (s *Server) serveCached(ctx *fasthttp.RequestCtx, t *target, id requestID, client string) {
	gzipWanted := ctx.Request.Header.HasAcceptEncoding("gzip")
	variant := t.cacheKey
	if gzipWanted {
		variant = t.gzipKey
	}

	var invalidated *entry
	staleGzipped := gzipWanted
	if t.cached() {
		if page, ok := s.hotPage(t, variant); ok {
			s.serveHit(ctx, page, t, gzipWanted, id, client)
			return
		}
		cached, valid, found := s.cachedEntry(t, variant)
		if !valid && gzipWanted {
			// A fill for a client that does not accept gzip stores only
			// the plain variant. The first gzip hit compresses it.
			plain, plainValid, plainFound := s.cachedEntry(t, t.cacheKey)
			switch {
			case plainValid:
				cached, valid = s.compressed(ctx, t, plain), true
			case plainFound && !found:
				// If the origin fails, the invalidated plain variant is
				// served stale and uncompressed.
				cached, found, staleGzipped = plain, true, false
			}
		}
		if valid {
			s.serveHit(ctx, cached, t, gzipWanted, id, client)
			s.keepHot(variant, cached)
			return
		}
		if found {
			invalidated = &cached
		}
	}

	s.metrics.cacheMisses.Inc()
	requestCtx := s.requestContext(ctx, id, client)
	filled, err := s.fillCurrent(requestCtx, t)
	if err != nil {
		s.logger.WarnContext(requestCtx, "filling cache from origin", "path", t.originPath, "error", err)
		if invalidated != nil {
			s.serveStale(ctx, *invalidated, staleGzipped, id)
			return
		}
		ctx.Response.Header.Set("Retry-After", "1")
		s.writeError(ctx, http.StatusServiceUnavailable, apierror.Detail{Code: apierror.CodeUnavailable, Message: "the origin is unavailable and the response is not cached; retry shortly", RequestID: id.String()})
		return
	}

	ctx.Response.Header.Set("X-Cache", "miss")
	answer := filled
	if gzipWanted {
		answer = s.compressed(requestCtx, t, filled)
	}
	s.writeEntry(ctx, answer, gzipWanted, id)
}

// cachedEntry reads one variant of the target from bigcache. found is true
// for an entry younger than CacheMaxStale, and valid when, in addition, no
// invalidation has applied to it since its fill began.
func (s *Server) cachedEntry(t *target, key string) (cached entry, valid, found bool) {
	buf, err := s.cache.Get(key)
	if err != nil {
		return entry{}, false, false
	}
	cached, ok := decodeEntry(buf)
	if !ok || time.Since(cached.filledAt) > s.cfg.CacheMaxStale {
		return entry{}, false, false
	}
	return cached, s.gens.valid(t.deps, cached.generation), true
}

// fillCurrent fills the target, and fills it once more when the fill it
// joined began before an invalidation this edge has already applied. So a
// request never gets a response older than the edge's watermark.
func (s *Server) fillCurrent(ctx context.Context, t *target) (entry, error) {
	filled, err := s.fill(ctx, t, false)
	if err != nil || !t.cached() || s.gens.valid(t.deps, filled.generation) {
		return filled, err
	}
	return s.fill(ctx, t, false)
}

func (s *Server) serveStale(ctx *fasthttp.RequestCtx, cached entry, gzipped bool, id requestID) {
	age := time.Since(cached.filledAt)
	s.metrics.staleServed.Inc()
	s.metrics.staleAge.Observe(age.Seconds())
	ctx.Response.Header.Set("X-Cache", "stale")
	ctx.Response.Header.Set("Age", strconv.Itoa(int(age/time.Second)))
	s.writeEntry(ctx, cached, gzipped, id)
}

func (s *Server) serveHit(ctx *fasthttp.RequestCtx, cached entry, t *target, gzipped bool, id requestID, client string) {
	if time.Since(cached.filledAt) > s.cfg.CacheFresh {
		s.refreshLater(s.requestContext(ctx, id, client), t)
		s.serveStale(ctx, cached, gzipped, id)
		return
	}
	s.metrics.cacheHits.Inc()
	ctx.Response.Header.Set("X-Cache", "hit")
	s.writeEntry(ctx, cached, gzipped, id)
}

// writeEntry writes a cached answer with its validators. A success whose
// ETag the client already holds gets 304 Not Modified, without a body.
func (s *Server) writeEntry(ctx *fasthttp.RequestCtx, cached entry, gzipped bool, id requestID) {
	if cached.status != http.StatusOK {
		s.writeAnswerError(ctx, cached, id)
		return
	}

	header := &ctx.Response.Header
	header.SetBytesV("ETag", cached.etag)
	header.Set("Cache-Control", "private, no-cache")
	header.Set("Vary", "Accept-Encoding")
	if etagMatches(ctx.Request.Header.Peek("If-None-Match"), cached.etag) {
		ctx.SetStatusCode(http.StatusNotModified)
		return
	}
	if gzipped {
		header.Set("Content-Encoding", "gzip")
	}
	ctx.SetStatusCode(cached.status)
	ctx.SetContentType("application/json")
	// The body is the copy bigcache made, which nothing writes: the
	// response shares it without a second copy, as later responses of a
	// hot page do.
	ctx.Response.SetBodyRaw(cached.body)
}

// etagMatches reports whether an If-None-Match value names etag (quoted),
// as one of a list, weak or strong, or as "*".
func etagMatches(ifNoneMatch, etag []byte) bool {
	for len(ifNoneMatch) > 0 {
		var candidate []byte
		candidate, ifNoneMatch, _ = bytes.Cut(ifNoneMatch, []byte(","))
		candidate = bytes.TrimPrefix(bytes.TrimSpace(candidate), []byte("W/"))
		if bytes.Equal(candidate, []byte("*")) || bytes.Equal(candidate, etag) {
			return true
		}
	}
	return false
}

// writeAnswerError writes an origin error answer with this request's id,
// because a cached one carries none.
func (s *Server) writeAnswerError(ctx *fasthttp.RequestCtx, answer entry, id requestID) {
	var body apierror.Body
	if err := json.Unmarshal(plainBody(answer), &body); err != nil || body.Error.Code == "" {
		body.Error = apierror.Detail{Code: apierror.CodeInternal, Message: "the origin responded with status " + strconv.Itoa(answer.status)}
	}
	body.Error.RequestID = id.String()
	s.writeError(ctx, answer.status, body.Error)
}

// plainBody returns an entry's body uncompressed. Error answers are cached
// uncompressed in both variants, so this never inflates.
func plainBody(e entry) []byte {
	return e.body
}

// fill fetches a response from the origin once for all concurrent callers
// with the same key, caches it, and returns it uncompressed. The first
// caller's ctx carries the origin request's trace and log ids. With
// compress, as in a background refresh, it also caches the gzip variant.
// Otherwise the first request that accepts gzip compresses it (see
// compressed), so a miss of a client that does not accept gzip skips the
// compression.
func (s *Server) fill(ctx context.Context, t *target, compress bool) (entry, error) {
	value, err, _ := s.fills.Do(t.cacheKey, func() (any, error) {
		start := time.Now()
		// The generation before the feed position: every invalidation the
		// generation counts has then raised the position already.
		generation := s.gens.current()
		answer, err := s.origin.fetch(ctx, t.originPath, s.feed.seen())
		if err != nil {
			return entry{}, err
		}
		if answer.status >= 500 {
			return entry{}, &originStatusError{status: answer.status}
		}
		s.metrics.fillSeconds.Observe(time.Since(start).Seconds())

		plain := entry{status: answer.status, filledAt: time.Now(), generation: generation, etag: etagOf(answer.body), body: answer.body}
		if t.cached() && (answer.status == http.StatusOK || answer.status == http.StatusNotFound) {
			s.store(ctx, t.cacheKey, plain)
			if compress {
				s.compressed(ctx, t, plain)
			}
		}
		return plain, nil
	})
	if err != nil {
		return entry{}, err
	}
	return value.(entry), nil
}

// compressed returns the gzip variant of a plain response, compressing it
// once for all concurrent callers with the same response and caching it
// with the plain variant's fill time and generation. An error response is
// its own gzip variant, as error bodies are never compressed.
func (s *Server) compressed(ctx context.Context, t *target, plain entry) entry {
	if plain.status != http.StatusOK {
		return plain
	}

	value, _, _ := s.compressions.Do(t.gzipKey+"\x00"+string(plain.etag), func() (any, error) {
		variant := plain
		variant.body = gzipped(plain.body)
		variant.etag = gzipETag(plain.etag)
		if t.cached() {
			s.store(ctx, t.gzipKey, variant)
		}
		return variant, nil
	})
	return value.(entry)
}

func (s *Server) store(ctx context.Context, key string, e entry) {
	buf := encodeBuffers.Get().(*[]byte)
	defer encodeBuffers.Put(buf)

	*buf = e.appendEncoded((*buf)[:0])
	if err := s.cache.Set(key, *buf); err != nil {
		s.logger.WarnContext(ctx, "caching origin answer", "key_bytes", len(key), "bytes", len(e.body), "error", err)
	}
}

// refreshLater fills a stale entry again in the background. At most
// maxRefreshes run at once; a refresh that finds them all busy is skipped,
// and the next stale hit asks again.
func (s *Server) refreshLater(ctx context.Context, t *target) {
	select {
	case s.refreshes <- struct{}{}:
	default:
		return
	}

	s.background.Go(func() {
		defer func() { <-s.refreshes }()
		if _, err := s.fill(ctx, t, true); err != nil {
			s.logger.DebugContext(ctx, "refreshing a stale response; serving it stale meanwhile", "path", t.originPath, "error", err)
		}
	})
}

type originStatusError struct{ status int }

func (e *originStatusError) Error() string {
	return "origin responded with status " + strconv.Itoa(e.status)
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
	if s.ready.Load() && s.keys.loaded() && s.feed.started.Load() {
		ctx.SetStatusCode(http.StatusOK)
		return
	}
	ctx.SetStatusCode(http.StatusServiceUnavailable)
}

func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))(ctx)
}

// handleBadRequest answers a request fasthttp could not parse, in the
// API's JSON error shape.
func (s *Server) handleBadRequest(ctx *fasthttp.RequestCtx, err error) {
	id := s.startResponse(ctx)

	// fasthttp's error text quotes the request head, API key included, so
	// none of it goes into the response.
	status, message := http.StatusBadRequest, "the request could not be parsed as HTTP/1.1; check that the request line has a method, a percent-encoded target without spaces, and a version, and that no header contains a control character"
	var tooBig *fasthttp.ErrSmallBuffer
	if errors.As(err, &tooBig) {
		status, message = http.StatusRequestHeaderFieldsTooLarge, "the request line and headers together are over 16 KB; shorten the query or the headers"
	}
	s.writeError(ctx, status, apierror.Detail{Code: apierror.CodeInvalidParameter, Message: message, RequestID: id.String()})
}
