package command

import (
	"context"
	"strings"
	"sync"
)

// Call is one command an Executor was asked to run.
type Call struct {
	Args  []string // name first
	Stdin string
}

// Line is the command line, space-separated.
func (c Call) Line() string { return strings.Join(c.Args, " ") }

// Recorder is an Executor that records every call and then hands it to Next (which may be a real
// Exec, or a function standing in for the tools in unit tests). It is safe for concurrent use.
type Recorder struct {
	Next Executor

	mu    sync.Mutex
	calls []Call
}

// Run implements Executor.
func (r *Recorder) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	r.calls = append(r.calls, Call{Args: append([]string{name}, args...), Stdin: string(stdin)})
	r.mu.Unlock()
	return r.Next.Run(ctx, stdin, name, args...)
}

// Calls returns the calls recorded so far and forgets them.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// Func adapts a function to an Executor.
type Func func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)

// Run implements Executor.
func (f Func) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	return f(ctx, stdin, name, args...)
}
