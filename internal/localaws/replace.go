package localaws

import (
	"bytes"
	"fmt"
	"io"

	"github.com/johannesboyne/gofakes3"
)

// replacingBackend gives a plain PUT the metadata of S3: the new object's
// own, and nothing of the object it replaces. gofakes3's backends merge the
// earlier object's metadata into the new one's, so a PUT without a checksum
// kept the earlier content's checksum, and a client that checks it rejected
// the new content. It wraps backends without versioning, where the earlier
// object can go before the new one is stored.
type replacingBackend struct {
	gofakes3.Backend
}

// maxReplacedObject bounds the objects a PUT reads into memory before it
// removes the earlier object. A larger PUT keeps gofakes3's merged
// metadata.
const maxReplacedObject = 64 << 20

// PutObject reads the new content whole, then removes the earlier object
// and stores the new one. A read that fails leaves the earlier object as it
// was. A conditional PUT is checked against the earlier object, so it keeps
// gofakes3's own behaviour.
func (b replacingBackend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	if conditions != nil || size < 0 || size > maxReplacedObject {
		return b.Backend.PutObject(bucket, key, meta, input, size, conditions)
	}

	content := make([]byte, size)
	if _, err := io.ReadFull(input, content); err != nil {
		return gofakes3.PutObjectResult{}, fmt.Errorf("reading object %s/%s: %w", bucket, key, err)
	}
	if _, err := b.Backend.DeleteObject(bucket, key); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		return gofakes3.PutObjectResult{}, err
	}
	return b.Backend.PutObject(bucket, key, meta, bytes.NewReader(content), size, nil)
}
