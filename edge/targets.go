package edge

import (
	"hash/maphash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"moviequery/internal/announce"
	"moviequery/internal/apierror"
	"moviequery/internal/apikey"
	"moviequery/internal/movie"
	"moviequery/internal/query"
	"moviequery/internal/tags"
)

// target is the resolution of a valid request URI: its route, the scope it
// needs, its two cache keys, the origin path that fills them and the
// hashes of the cache tags its response depends on. A target without tags
// is not cached.
type target struct {
	route      string
	scope      string
	cacheKey   string
	gzipKey    string
	originPath string
	deps       []uint64
}

func newTarget(route, scope, cacheKey, originPath string, deps []string) *target {
	return &target{route: route, scope: scope, cacheKey: cacheKey, gzipKey: gzipKey(cacheKey), originPath: originPath, deps: announce.Hashes(deps)}
}

func (t *target) cached() bool {
	return len(t.deps) > 0
}

// targetError is a request URI that names a route but carries bad
// parameters, reported after the key check.
type targetError struct {
	apierror.Detail
	status int
	route  string
}

// resolveTarget returns the target of the request URI, a targetError, or
// neither for an unknown route. Resolved URIs are remembered, so a repeated
// request skips parsing and normalizing its query.
func (s *Server) resolveTarget(ctx *fasthttp.RequestCtx) (*target, *targetError) {
	uri := ctx.RequestURI()
	if t := s.targets.get(uri); t != nil {
		return t, nil
	}

	t, err := parseTarget(string(ctx.Path()), ctx.URI().QueryString())
	if t != nil {
		s.targets.put(uri, t)
	}
	return t, err
}

// parseTarget resolves a decoded path and a raw query string.
func parseTarget(path string, rawQuery []byte) (*target, *targetError) {
	switch path {
	case routeMovies:
		return parseSearch(string(rawQuery))
	case routeGenres:
		return noParams(newTarget("genres", apikey.ScopeQuery, cacheGenres, "/internal/v1/genres", []string{tags.Genres}), rawQuery)
	}

	rest, ok := strings.CutPrefix(path, routeMovies+"/")
	if !ok || rest == "" {
		return nil, nil
	}
	// The audit trail changes with every stored revision, also those that
	// do not change the current state and are not announced, so it is not
	// cached.
	if id, ok := strings.CutSuffix(rest, "/revisions"); ok && !strings.Contains(id, "/") {
		return movieTarget("revisions", apikey.ScopeAudit, cacheRevisions, id, "/revisions", rawQuery, nil)
	}
	if strings.Contains(rest, "/") {
		return nil, nil
	}
	return movieTarget("movie", apikey.ScopeQuery, cacheMovie, rest, "", rawQuery, []string{tags.Movie(rest)})
}

func parseSearch(raw string) (*target, *targetError) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		message := "the query string is not valid URL encoding: " + err.Error() + "; write a literal '%' as %25"
		if strings.Contains(raw, ";") {
			message = "the query string contains a ';'; separate parameters with '&' and write a ';' inside a value as %3B"
		}
		return nil, badParam("movies", "", message)
	}

	q, err := query.Parse(values)
	if err != nil {
		paramErr := err.(*query.Error)
		return nil, badParam("movies", paramErr.Param, paramErr.Error())
	}

	canonical := q.Encode()
	return newTarget("movies", apikey.ScopeQuery, cacheSearch+canonical, "/internal/v1/movies?"+canonical, tags.OfSearch(q)), nil
}

func movieTarget(route, scope, prefix, id, suffix string, rawQuery []byte, deps []string) (*target, *targetError) {
	if !movie.ValidID(id) {
		return nil, &targetError{status: http.StatusNotFound, route: route, Detail: apierror.Detail{Code: apierror.CodeNotFound, Message: "no movie has id " + strconv.Quote(truncate(id, 64))}}
	}
	return noParams(newTarget(route, scope, prefix+id, "/internal/v1/movies/"+id+suffix, deps), rawQuery)
}

// noParams rejects a query string on a route that takes no parameters.
func noParams(t *target, rawQuery []byte) (*target, *targetError) {
	if len(rawQuery) == 0 {
		return t, nil
	}
	name := firstParamName(string(rawQuery))
	if name == "" {
		return nil, badParam(t.route, name, "this route takes no parameters; remove the query string")
	}
	return nil, badParam(t.route, name, "this route takes no parameters; remove "+strconv.Quote(truncate(name, 64))+" and the rest of the query string")
}

// firstParamName returns the decoded name of a query string's first
// parameter, or its raw text when that does not decode.
func firstParamName(rawQuery string) string {
	first, _, _ := strings.Cut(rawQuery, "&")
	name, _, _ := strings.Cut(first, "=")
	decoded, err := url.QueryUnescape(name)
	if err != nil {
		return "" // no parameter name can be told from bad encoding
	}
	return decoded
}

// truncate shortens s to at most n bytes for an error message, marking the
// cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func badParam(route, param, message string) *targetError {
	return &targetError{status: http.StatusBadRequest, route: route, Detail: apierror.Detail{Code: apierror.CodeInvalidParameter, Message: message, Param: param}}
}

// targetMemo remembers the targets of request URIs, split in shards to
// keep lock contention low. A full shard is emptied and starts again, which
// bounds memory at targetShards × perShard URIs.
type targetMemo struct {
	seed     maphash.Seed
	perShard int
	shards   [targetShards]targetShard
}

const (
	targetShards = 64
	maxTargets   = targetShards * 2048
)

// targetsPerCacheMB is the number of targets the memo keeps per megabyte
// of response cache: one per 4 KB response. Targets hold pointers that the
// garbage collector scans on every cycle, so a memo far larger than the
// cache costs CPU and keeps targets of responses long evicted.
const targetsPerCacheMB = 256

// memoSize returns the memo's bound for a response cache of cacheMB
// megabytes: maxTargets from 512 MB up.
func memoSize(cacheMB int) int {
	return min(maxTargets, max(targetShards, cacheMB*targetsPerCacheMB))
}

type targetShard struct {
	mu      sync.RWMutex
	targets map[string]*target // guarded by mu
}

// newTargetMemo returns a memo of at most size targets.
func newTargetMemo(size int) *targetMemo {
	m := &targetMemo{seed: maphash.MakeSeed(), perShard: max(1, size/targetShards)}
	for i := range m.shards {
		m.shards[i].targets = make(map[string]*target)
	}
	return m
}

func (m *targetMemo) shard(uri []byte) *targetShard {
	return &m.shards[maphash.Bytes(m.seed, uri)%targetShards]
}

func (m *targetMemo) get(uri []byte) *target {
	shard := m.shard(uri)
	shard.mu.RLock()
	defer shard.mu.RUnlock()
	return shard.targets[string(uri)]
}

func (m *targetMemo) put(uri []byte, t *target) {
	shard := m.shard(uri)
	shard.mu.Lock()
	defer shard.mu.Unlock()
	if len(shard.targets) >= m.perShard {
		clear(shard.targets)
	}
	shard.targets[string(uri)] = t
}
