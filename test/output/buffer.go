package output

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for one writer (a running command's stdout and stderr, copied by
// os/exec's goroutines) and concurrent readers (the test's Eventually polls).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
