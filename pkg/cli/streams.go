package cli

import "io"

// IOStreams are the standard streams a command reads and writes. Tests pass buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}
