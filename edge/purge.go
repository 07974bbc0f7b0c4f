package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/valyala/fasthttp"

	"moviequery/internal/apierror"
	"moviequery/internal/apikey"
)

// routePurge takes purge requests from admin-scoped keys.
const routePurge = "/v1/purge"

// purgeBody is the JSON body of a purge request: a scope ("movie", "tag"
// or "all") and its target. An Idempotency-Key header names the purge, so
// that repeating a request changes nothing.
type purgeBody struct {
	Scope  string `json:"scope"`
	Target string `json:"target"`
}

// servePurge forwards an admin's purge to the origin, which records it,
// announces it to this region's edges and forwards it to the other
// regions. The origin's response is passed on.
func (s *Server) servePurge(ctx *fasthttp.RequestCtx, id requestID) (client string) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		s.writeError(ctx, http.StatusMethodNotAllowed, apierror.Detail{Code: apierror.CodeMethodNotAllowed, Message: "purge with POST and a JSON body such as {\"scope\": \"movie\", \"target\": \"<movie id>\"}", RequestID: id.String()})
		return ""
	}
	key, ok := s.authenticate(ctx, id)
	if !ok {
		return ""
	}
	if !s.allowed(ctx, key, apikey.ScopeAdmin, id) || !s.withinRate(ctx, key, id) {
		return key.ID
	}

	body, bad := parsePurge(ctx)
	if bad != nil {
		bad.RequestID = id.String()
		s.writeError(ctx, http.StatusBadRequest, *bad)
		return key.ID
	}

	request := map[string]string{"id": string(ctx.Request.Header.Peek("Idempotency-Key")), "scope": body.Scope, "target": body.Target, "key_id": key.ID}
	answer, err := s.origin.post(context.Background(), "/internal/v1/purges", request)
	if err != nil {
		s.logger.Warn("forwarding a purge to the origin", "request_id", id.String(), "client", key.ID, "error", err)
		s.writeError(ctx, http.StatusServiceUnavailable, apierror.Detail{Code: apierror.CodeUnavailable, Message: "the origin is unavailable; repeat the purge with the same Idempotency-Key", RequestID: id.String()})
		return key.ID
	}
	s.logger.Info("purge requested", "request_id", id.String(), "client", key.ID, "scope", body.Scope, "target", body.Target, "status", answer.status)
	if answer.status >= 400 && answer.status != http.StatusBadGateway {
		s.writeAnswerError(ctx, entry{status: answer.status, body: answer.body}, id)
		return key.ID
	}
	s.writeJSON(ctx, answer.status, answer.body)
	return key.ID
}

// maxPurgeBody bounds a purge request's body.
const maxPurgeBody = 4 << 10

var idempotencyKey = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// parsePurge reads a purge request, or returns the error detail that names
// what is wrong with it.
func parsePurge(ctx *fasthttp.RequestCtx) (purgeBody, *apierror.Detail) {
	var body purgeBody
	bad := func(param, message string) (purgeBody, *apierror.Detail) {
		return body, &apierror.Detail{Code: apierror.CodeInvalidParameter, Param: param, Message: message}
	}

	if len(ctx.URI().QueryString()) > 0 {
		return bad(firstParamName(string(ctx.URI().QueryString())), "this route takes no query parameters; send the purge as a JSON body")
	}
	keys := ctx.Request.Header.PeekAll("Idempotency-Key")
	if len(keys) > 1 {
		return bad("Idempotency-Key", `header "Idempotency-Key": given more than once; send it once`)
	}
	if len(keys) == 1 && !idempotencyKey.Match(keys[0]) {
		return bad("Idempotency-Key", `header "Idempotency-Key": must be 1 to 64 letters, digits, '.', '_' or '-'; leave the header out to have the origin name the purge`)
	}
	raw := ctx.PostBody()
	if len(raw) > maxPurgeBody {
		return bad("body", "the body must be at most 4 KB")
	}

	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	const shape = `the body must be one JSON object with "scope" ("movie", "tag" or "all") and "target", such as {"scope": "movie", "target": "<movie id>"}`
	err := decoder.Decode(&body)
	if err == nil && decoder.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return bad("body", shape+"; it has "+describeJSONError(err))
	}
	return body, nil
}

// describeJSONError describes what a JSON decode error found, in words a
// client can act on.
func describeJSONError(err error) string {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "no content"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "JSON that ends too early"
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return "a JSON " + typeErr.Value + ", not an object"
	case errors.As(err, &typeErr):
		return fmt.Sprintf("a %s as %q, which must be a string", typeErr.Value, typeErr.Field)
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "the unknown field " + field
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
