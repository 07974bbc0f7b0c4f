package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Update is one provider object to write: its key in the bucket and its body.
type Update struct {
	Key  string
	Body []byte
}

// ReadSource reads updates from a folder of JSON files, one JSON file, or an
// http or https address of a JSON file. Each file holds one movie object or
// an array of them; every movie becomes one update under
// providers/<provider>/<file name>/<index>.json, so the same source always
// yields the same keys.
func ReadSource(ctx context.Context, source, provider string) ([]Update, error) {
	files, err := sourceFiles(ctx, source)
	if err != nil {
		return nil, err
	}

	var updates []Update
	for _, file := range files {
		bodies, err := splitMovies(file.data)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file.name, err)
		}
		base := strings.TrimSuffix(path.Base(file.name), ".json")
		for i, body := range bodies {
			key := fmt.Sprintf("providers/%s/%s/%05d.json", provider, base, i)
			updates = append(updates, Update{Key: key, Body: body})
		}
	}
	return updates, nil
}

type sourceFile struct {
	name string
	data []byte
}

func sourceFiles(ctx context.Context, source string) ([]sourceFile, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		data, err := download(ctx, source)
		return []sourceFile{{name: source, data: data}}, err
	}

	info, err := os.Stat(source)
	if err != nil {
		return nil, fmt.Errorf("reading data source: %w", err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(source)
		return []sourceFile{{name: source, data: data}}, err
	}
	return folderFiles(source)
}

// folderFiles reads the folder's *.json files in name order, skipping
// genres.json, which lists genre names rather than movies.
func folderFiles(dir string) ([]sourceFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)

	var files []sourceFile
	for _, name := range names {
		if filepath.Base(name) == "genres.json" {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading data source: %w", err)
		}
		files = append(files, sourceFile{name: name, data: data})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .json files in %s", dir)
	}
	return files, nil
}

func download(ctx context.Context, address string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, address, nil)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", address, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", address, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading %s: server answered %s", address, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<30))
}

// splitMovies returns each movie object of a file, compacted.
func splitMovies(data []byte) ([][]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		trimmed = append(append([]byte("["), trimmed...), ']')
	}

	var raws []json.RawMessage
	if err := json.Unmarshal(trimmed, &raws); err != nil {
		return nil, fmt.Errorf("expected a JSON array of movies or one movie object: %w", err)
	}

	bodies := make([][]byte, len(raws))
	for i, raw := range raws {
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, fmt.Errorf("movie %d: %w", i, err)
		}
		bodies[i] = compact.Bytes()
	}
	return bodies, nil
}

// ExistingKeys lists the keys under prefix in a bucket.
func ExistingKeys(ctx context.Context, client *s3.Client, bucket, prefix string) (map[string]bool, error) {
	keys := map[string]bool{}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			keys[aws.ToString(obj.Key)] = true
		}
	}
	return keys, nil
}

// Upload writes updates to the bucket through the S3 API with parallel
// writers, calling progress (from any goroutine) after each object. It
// stops at the first error.
func Upload(ctx context.Context, client *s3.Client, bucket string, updates []Update, parallel int, progress func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var next atomic.Int64
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(updates)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				if err := put(ctx, client, bucket, updates[i]); err != nil {
					cancel(err)
					return
				}
				progress()
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

func put(ctx context.Context, client *s3.Client, bucket string, update Update) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	_, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(update.Key),
		Body:        bytes.NewReader(update.Body),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("writing s3://%s/%s: %w", bucket, update.Key, err)
	}
	return nil
}
