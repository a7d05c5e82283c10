package command

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Executor runs one command with the given standard input and returns its standard output. An error
// names the command and carries what it wrote on standard error.
type Executor interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// Exec runs commands on this machine, inside the network namespace Netns (through `ip netns exec`)
// when it is set. The zero value runs them in the process's own namespace. It is safe for concurrent
// use.
type Exec struct {
	// Netns is the name of a namespace under /run/netns; empty for the current one.
	Netns string
}

// Run implements Executor.
func (e Exec) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	argv := append([]string{name}, args...)
	if e.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", e.Netns}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // the enforcer's own tools, arguments built by the appliers
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &Error{Command: strings.Join(argv, " "), Stderr: strings.TrimSpace(stderr.String()), Err: err}
	}
	return stdout.Bytes(), nil
}

// Error is a command that failed: its command line, what it said on standard error, and the
// underlying error (usually an *exec.ExitError).
type Error struct {
	Command string
	Stderr  string
	Err     error
}

func (e *Error) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("running %s: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("running %s: %v: %s", e.Command, e.Err, e.Stderr)
}

func (e *Error) Unwrap() error { return e.Err }
