// Package apierror defines the JSON shape of every error response of the
// API, from the edges and from the origin alike.
package apierror

import (
	"bytes"
	"encoding/json"
)

// Codes used in error responses.
const (
	CodeInvalidParameter = "invalid_parameter"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
	CodeConflict         = "conflict"
)

// Body is the JSON of an error response.
type Body struct {
	Error Detail `json:"error"`
}

// Detail describes what went wrong: a stable machine-readable code, a message for
// people, the offending parameter when there is one, and the request id to
// quote when reporting a problem.
type Detail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Param     string `json:"param,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// Encode returns the JSON of an error response. Messages quote characters
// such as '&' and '<', which stay as they are rather than as \u escapes
// so that the message reads plainly in a terminal.
func Encode(detail Detail) []byte {
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	_ = encoder.Encode(Body{Error: detail}) // strings always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
