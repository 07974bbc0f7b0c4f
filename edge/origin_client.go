package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"moviequery/internal/announce"
	"moviequery/internal/apikey"
)

// maxOriginBody bounds an origin answer: a page of 100 full movies is under
// 300 KB.
const maxOriginBody = 8 << 20

// originClient calls the region's origin. It is safe for concurrent use.
type originClient struct {
	baseURL string
	token   string
	http    *http.Client
	timeout time.Duration
}

func newOriginClient(baseURL, token string, timeout time.Duration) *originClient {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	return &originClient{baseURL: baseURL, token: token, http: &http.Client{Transport: transport}, timeout: timeout}
}

// originAnswer is a complete origin response.
type originAnswer struct {
	status int
	body   []byte
}

// get fetches path (with its query string) from the origin.
func (c *originClient) get(ctx context.Context, path string) (originAnswer, error) {
	return c.do(ctx, http.MethodGet, path, nil, c.timeout, 0)
}

// fetch gets a response that must reflect at least every change of the
// feed up to seen.
func (c *originClient) fetch(ctx context.Context, path string, seen int64) (originAnswer, error) {
	return c.do(ctx, http.MethodGet, path, nil, c.timeout, seen)
}

// post sends a JSON body to the origin. A purge waits for the origin to
// forward it to the other regions, so it may take longer than a read.
func (c *originClient) post(ctx context.Context, path string, body any) (originAnswer, error) {
	encoded, _ := json.Marshal(body) // the edge's own request types always marshal
	return c.do(ctx, http.MethodPost, path, encoded, 3*c.timeout, 0)
}

// do sends one request to the origin, a JSON body when body is not nil,
// and the feed position seen unless it is 0, and reads the whole response.
func (c *originClient) do(ctx context.Context, method, path string, body []byte, timeout time.Duration, seen int64) (originAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return originAnswer{}, fmt.Errorf("building origin request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if seen > 0 {
		req.Header.Set(announce.HeaderFeedSeen, strconv.FormatInt(seen, 10))
	}
	span := startOriginSpan(ctx, req)
	defer span.End()

	resp, err := c.http.Do(req)
	if err != nil {
		return originAnswer{}, fmt.Errorf("calling origin: %w", err)
	}
	defer resp.Body.Close()

	answer, err := readOriginBody(resp)
	if err != nil {
		return originAnswer{}, fmt.Errorf("reading origin response: %w", err)
	}
	return originAnswer{status: resp.StatusCode, body: answer}, nil
}

// readOriginBody reads a response body into one buffer of its stated
// length. It rejects a body over maxOriginBody rather than cut it short.
func readOriginBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > maxOriginBody {
		return nil, fmt.Errorf("the origin sent %d bytes, over the edge's limit of %d", resp.ContentLength, maxOriginBody)
	}
	if resp.ContentLength >= 0 {
		body := make([]byte, resp.ContentLength)
		_, err := io.ReadFull(resp.Body, body)
		return body, err
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOriginBody+1))
	if err == nil && len(body) > maxOriginBody {
		return nil, fmt.Errorf("the origin sent more than the edge's limit of %d bytes", maxOriginBody)
	}
	return body, err
}

// keys fetches the active API keys.
func (c *originClient) keys(ctx context.Context) ([]apikey.Key, error) {
	answer, err := c.get(ctx, "/internal/v1/keys")
	if err != nil {
		return nil, err
	}
	if answer.status != http.StatusOK {
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
