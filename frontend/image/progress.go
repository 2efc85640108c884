package image

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress reports a pull to a person: one line per step when w is not a
// terminal, and on a terminal one line per blob that counts up while the
// blob comes. A nil progress prints nothing.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) printf(format string, args ...any) {
	if p != nil {
		fmt.Fprintf(p.w, format+"\n", args...)
	}
}

// blob returns a reader that counts what passes through it, on a
// terminal redrawing "Copying blob sha256:… 1.2 MB / 3.4 MB" at most ten
// times a second; done prints the final line.
func (p *progress) blob(what string, r io.Reader, total int64) (io.Reader, func(status string)) {
	if p == nil {
		return r, func(string) {}
	}
	if !p.tty {
		return r, func(status string) { fmt.Fprintf(p.w, "Copying %s %s\n", what, status) }
	}
	c := &countingReader{r: r}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(p.w, "\rCopying %s %s / %s\x1b[K", what, HumanBytes(c.count()), HumanBytes(total))
			}
		}
	}()
	return c, func(status string) {
		close(stop)
		wg.Wait()
		fmt.Fprintf(p.w, "\rCopying %s %s\x1b[K\n", what, status)
	}
}

type countingReader struct {
	r  io.Reader
	mu sync.Mutex
	n  int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// HumanBytes writes a size in SI units, as Podman does ("2.14 MB").
func HumanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.3g %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
