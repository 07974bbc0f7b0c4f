package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"moviequery/internal/announce"
	"moviequery/internal/apikey"
)

// maxOriginBody bounds an origin answer: a page of 100 full movies is under
// 300 KB.
const maxOriginBody = 8 << 20

// originClient calls the region's origin over fasthttp's client, which
// reuses its request and response buffers and runs no goroutine per
// connection. It is safe for concurrent use.
type originClient struct {
	baseURL string
	token   string
	client  *fasthttp.HostClient
	timeout time.Duration
}

// newOriginClient returns a client of the origin at baseURL, an http or
// https URL without a path.
func newOriginClient(baseURL, token string, timeout time.Duration) (*originClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("invalid origin URL %q: use http://host:port or https://host:port", baseURL)
	}
	client := &fasthttp.HostClient{
		Addr:                     fasthttp.AddMissingPort(u.Host, u.Scheme == "https"),
		IsTLS:                    u.Scheme == "https",
		MaxConns:                 originConns,
		MaxConnWaitTimeout:       timeout,
		MaxIdleConnDuration:      originIdle,
		MaxResponseBodySize:      maxOriginBody,
		NoDefaultUserAgentHeader: true,
		// The edge sends each path and query string as it built them.
		DisablePathNormalizing: true,
	}
	return &originClient{baseURL: strings.TrimSuffix(baseURL, "/"), token: token, client: client, timeout: timeout}, nil
}

// originConns is the maximum number of connections to the origin. A
// request waits up to the origin timeout for a free one.
const originConns = 512

// originIdle is how long a connection to the origin may stay idle before
// it is closed.
const originIdle = 60 * time.Second

// originAnswer is a complete origin response.
type originAnswer struct {
	status int
	body   []byte
}

// get fetches path (with its query string) from the origin.
func (c *originClient) get(ctx context.Context, path string) (originAnswer, error) {
	return c.do(ctx, fasthttp.MethodGet, path, nil, c.timeout, 0)
}

// fetch gets a response that must reflect at least every change of the
// feed up to seen.
func (c *originClient) fetch(ctx context.Context, path string, seen int64) (originAnswer, error) {
	return c.do(ctx, fasthttp.MethodGet, path, nil, c.timeout, seen)
}

// post sends a JSON body to the origin. A purge waits for the origin to
// forward it to the other regions, so it may take longer than a read.
func (c *originClient) post(ctx context.Context, path string, body any) (originAnswer, error) {
	encoded, _ := json.Marshal(body) // the edge's own request types always marshal
	return c.do(ctx, fasthttp.MethodPost, path, encoded, 3*c.timeout, 0)
}

// do sends one request to the origin, a JSON body when body is not nil,
// and the feed position seen unless it is 0, and reads the whole response.
// It gives up at ctx's deadline or after timeout, whichever comes first. A
// ctx canceled before the call returns at once, but one canceled during the
// request does not stop it.
func (c *originClient) do(ctx context.Context, method, path string, body []byte, timeout time.Duration, seen int64) (originAnswer, error) {
	if err := ctx.Err(); err != nil {
		return originAnswer{}, fmt.Errorf("calling origin: %w", err)
	}

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.SetRequestURI(c.baseURL + path)
	req.Header.SetMethod(method)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if seen > 0 {
		req.Header.Set(announce.HeaderFeedSeen, strconv.FormatInt(seen, 10))
	}
	span := startOriginSpan(ctx, method, c.client.Addr, path, &req.Header)
	defer span.End()

	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.client.DoDeadline(req, resp, deadline); err != nil {
		return originAnswer{}, originError(err)
	}
	return originAnswer{status: resp.StatusCode(), body: bytes.Clone(resp.Body())}, nil
}

// originError returns the error of a failed origin request, naming a
// response over the size limit as such.
func originError(err error) error {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return fmt.Errorf("reading origin response: the origin sent more than the edge's limit of %d bytes", maxOriginBody)
	}
	return fmt.Errorf("calling origin: %w", err)
}

// keys fetches the active API keys.
func (c *originClient) keys(ctx context.Context) ([]apikey.Key, error) {
	answer, err := c.get(ctx, "/internal/v1/keys")
	if err != nil {
		return nil, err
	}
	if answer.status != fasthttp.StatusOK {
		return nil, fmt.Errorf("origin responded with status %d to the key list request", answer.status)
	}

	var list struct {
		Keys []apikey.Key `json:"keys"`
	}
	if err := json.Unmarshal(answer.body, &list); err != nil {
		return nil, fmt.Errorf("decoding key list: %w", err)
	}
	return list.Keys, nil
}
