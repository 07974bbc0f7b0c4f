package awsclient

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// readOnlyBody is a request body with only Read and Close, so that
// net/http reads it rather than calling its WriteTo.
//
// NOTE: the SDK closes a request body when the response headers arrive,
// and its WriteTo then returns io.EOF as an error. net/http copies the body
// once more after sending it, and when a quick response beats that copy, it
// takes the error for a failed write and closes the connection under the
// response. The SDK sends the request again, and the messages of a lost
// ReceiveMessage response wait out their visibility timeout.
type readOnlyBody struct{ io.ReadCloser }

// readOnlyBodies hands the requests of an SDK client to client with their
// bodies wrapped in readOnlyBody.
type readOnlyBodies struct{ client aws.HTTPClient }

func (c readOnlyBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = readOnlyBody{req.Body}
	}
	return c.client.Do(req)
}
