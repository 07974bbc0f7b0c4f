package edge

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestPurgeBodyErrors checks that a bad purge body gets a message that
// names what is wrong with it.
func TestPurgeBodyErrors(t *testing.T) {
	tests := map[string]string{
		``: "it has no content",
		`{"scope":"tag","target":"y:1994","extra":1}`: `it has the unknown field "extra"`,
		`{"scope":"tag"} {"scope":"all"}`:             "it has more than one JSON value",
		`["all"]`:                                     "it has a JSON array, not an object",
		`{"scope":1}`:                                 `it has a number as "scope", which must be a string`,
		`garbage`:                                     "it has invalid JSON at byte 1",
		`{"scope":`:                                   "it has JSON that ends too early",
	}
	for body, want := range tests {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(routePurge)
		ctx.Request.SetBodyString(body)

		_, detail := parsePurge(&ctx)
		if detail == nil || detail.Param != "body" || !strings.Contains(detail.Message, want) {
			t.Errorf("body %q: got %+v, want param body and a message containing %q", body, detail, want)
		}
	}
}
