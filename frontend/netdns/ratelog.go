package netdns

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// rateLog writes one line per failure to w, at most one every period: a
// client that sends garbage, or an upstream that is down, must not fill
// the holder's log. The lines it holds back are counted in the next one.
type rateLog struct {
	mu      sync.Mutex
	w       io.Writer
	every   time.Duration
	now     func() time.Time
	last    time.Time
	dropped int
}

func (r *rateLog) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.dropped++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if r.dropped > 0 {
		msg += fmt.Sprintf(" (and %d more since the last line)", r.dropped)
	}
	fmt.Fprintln(r.w, "netdns: "+msg)
	r.last, r.dropped = now, 0
}
