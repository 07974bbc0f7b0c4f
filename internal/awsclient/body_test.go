package awsclient

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkRequest builds a request with a body as the SDK does for each attempt.
func sdkRequest(t *testing.T) *http.Request {
	t.Helper()
	stack := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	stack.URL.Scheme, stack.URL.Host = "http", "127.0.0.1"
	withBody, err := stack.SetStream(bytes.NewReader([]byte(`{"QueueUrl":"q"}`)))
	if err != nil {
		t.Fatal(err)
	}
	return withBody.Build(context.Background())
}

func TestBodyClosedEarlyEndsCleanly(t *testing.T) {
	req := sdkRequest(t)
	body := readOnlyBody{req.Body}
	if _, err := io.Copy(io.Discard, io.LimitReader(body, req.ContentLength)); err != nil {
		t.Fatal(err)
	}

	// The SDK closes the body once the response headers arrive, which can
	// be before net/http checks the body for bytes beyond its length.
	req.Body.Close()

	if _, err := io.Copy(io.Discard, body); err != nil {
		t.Errorf("reading the closed body: got %v, want a plain end of body", err)
	}
}

// recordingClient keeps the request it is given.
type recordingClient struct{ req *http.Request }

func (c *recordingClient) Do(req *http.Request) (*http.Response, error) {
	c.req = req
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestRequestBodiesOnlyRead(t *testing.T) {
	recorder := &recordingClient{}
	if _, err := (readOnlyBodies{recorder}).Do(sdkRequest(t)); err != nil {
		t.Fatal(err)
	}

	if _, ok := recorder.req.Body.(io.WriterTo); ok {
		t.Error("request body passed on with WriteTo, want only Read and Close")
	}
}
