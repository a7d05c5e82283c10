package chart

import (
	"bytes"
	"strings"
	"sync"
)

// lockedBuffer collects a process's output written from its own goroutine while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// linesWith returns the lines that contain any of words, at most max of the last ones: the API
// server logs a line per retry of a failing controller, so the tail is what matters.
func (b *lockedBuffer) linesWith(max int, words ...string) []string {
	b.mu.Lock()
	text := b.buf.String()
	b.mu.Unlock()
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
