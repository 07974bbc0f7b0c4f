// Package apierror defines the JSON shape of every error response of the
// API, from the edges and from the origin alike.
package apierror

import "encoding/json"

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

// Encode returns the JSON of an error answer.
func Encode(detail Detail) []byte {
	data, _ := json.Marshal(Body{Error: detail}) // strings always marshal
	return data
}
