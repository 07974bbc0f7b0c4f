package stack

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress prints a status line once a second until stopped: in place on a
// terminal, as separate lines otherwise.
type progress struct {
	out    io.Writer
	status func() string
	done   chan struct{}
	wg     sync.WaitGroup
}

func newProgress(out io.Writer, status func() string) *progress {
	p := &progress{out: out, status: status, done: make(chan struct{})}
	p.wg.Go(p.run)
	return p
}

func (p *progress) run() {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()

	for {
		select {
		case <-p.done:
			p.print("\n")
			return
		case <-ticker.C:
			p.print("")
		}
	}
}

func (p *progress) print(suffix string) {
	if isTerminal(p.out) {
		fmt.Fprintf(p.out, "\r\033[K%s%s", p.status(), suffix)
		return
	}
	fmt.Fprintln(p.out, p.status())
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
