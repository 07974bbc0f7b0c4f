package moviegen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"

	"moviequery/internal/movie"
)

// PerFile is the number of movies in each file that WriteFiles writes.
const PerFile = 10_000

// FileName returns the name of the file that holds movie i, counting from 0.
func FileName(i int) string {
	return fmt.Sprintf("movies-%04d.json", i/PerFile+1)
}

// ObjectKey returns the object key of movie i under a provider:
// providers/<provider>/movies-NNNN/IIIII.json. It is the key the local
// stack's loader gives the same movie when it reads the files WriteFiles
// wrote, so a direct load and a load through S3 name objects alike.
func ObjectKey(provider string, i int) string {
	return fmt.Sprintf("providers/%s/movies-%04d/%05d.json", provider, i/PerFile+1, i%PerFile)
}

// Objects yields the object key and JSON body of the first n movies of a
// seed, in order.
func Objects(provider string, seed uint64, n int) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		g := New(seed)
		for i := range n {
			body, _ := json.Marshal(g.Next()) // a Record of strings and ints always marshals
			if !yield(ObjectKey(provider, i), body) {
				return
			}
		}
	}
}

// Records yields the first n movies of a seed, in order: the movies that
// Objects and WriteFiles write.
func Records(seed uint64, n int) iter.Seq[movie.Record] {
	return func(yield func(movie.Record) bool) {
		g := New(seed)
		for range n {
			if !yield(g.Next()) {
				return
			}
		}
	}
}

// WriteFiles writes the first n movies of a seed to dir, which must exist,
// as JSON arrays of PerFile movies: the format of the Wikipedia movie data
// set, one movie per line.
func WriteFiles(dir string, seed uint64, n int) error {
	g := New(seed)
	for first := 0; first < n; first += PerFile {
		path := filepath.Join(dir, FileName(first))
		if err := writeFile(path, g, min(PerFile, n-first)); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return nil
}

func writeFile(path string, g *Generator, count int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString("[\n")
	for i := range count {
		body, _ := json.Marshal(g.Next()) // a Record of strings and ints always marshals
		w.Write(body)
		if i < count-1 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString("]\n")

	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
