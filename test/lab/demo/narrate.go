package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/palisade-dev/palisade/test/lab/probe"
)

// narrator prints the story: numbered steps, the commands run with their output, and the claims
// checked, each true or false.
type narrator struct {
	out   io.Writer
	step  int
	false []string
}

func (n *narrator) section(title string) {
	n.step++
	fmt.Fprintf(n.out, "\n=== %d. %s\n", n.step, title)
}

// say prints narration, one line per argument.
func (n *narrator) say(lines ...string) {
	for _, l := range lines {
		fmt.Fprintf(n.out, "# %s\n", l)
	}
}

// claim prints a checked statement; a false one is recorded with what was found instead.
func (n *narrator) claim(ok bool, text, otherwise string) bool {
	if ok {
		fmt.Fprintf(n.out, "  ✔ %s\n", text)
		return true
	}
	fmt.Fprintf(n.out, "  ✘ NOT TRUE: %s: %s\n", text, otherwise)
	n.false = append(n.false, text+": "+otherwise)
	return false
}

// indent prints text indented under a command.
func (n *narrator) indent(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(n.out, "    %s\n", l)
	}
}

// command is a program the demo runs and shows, like kubectl.
type command struct {
	// shown is how the command is printed ("kubectl", "kubectl palisade").
	shown string
	path  string
	env   []string
	// dir is the working directory (default the demo's): relative paths in args are shown as
	// a user in the repository would type them.
	dir string
}

// run prints "$ shown args", runs the command, prints its output and returns it with its exit
// code; err is set only when it could not run at all.
func (n *narrator) run(ctx context.Context, c command, args ...string) (string, int, error) {
	fmt.Fprintf(n.out, "$ %s %s\n", c.shown, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Dir = c.dir
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	n.indent(b.String())
	var ee *exec.ExitError
	switch {
	case err == nil:
		return b.String(), 0, nil
	case errors.As(err, &ee) && ctx.Err() == nil:
		return b.String(), ee.ExitCode(), nil
	}
	return b.String(), -1, fmt.Errorf("running %s %s: %w", c.shown, strings.Join(args, " "), err)
}

// expect runs a command that must exit with code want; another code is a false claim.
func (n *narrator) expect(ctx context.Context, want int, what string, c command, args ...string) (string, error) {
	out, code, err := n.run(ctx, c, args...)
	if err != nil {
		return out, err
	}
	n.claim(code == want, what, fmt.Sprintf("exit status %d, want %d", code, want))
	return out, nil
}

// matrix prints the measured verdicts as a grid: a row per source pod, a column per destination
// pod on its own port (cols), "ok" or "DROP", starred where the verdict changed since prev.
func (n *narrator) matrix(cols []column, verdicts, prev []probe.Verdict) {
	at := index(verdicts)
	before := index(prev)
	tw := tabwriter.NewWriter(n.out, 0, 0, 2, ' ', 0)
	header := []string{"    from \\ to"}
	for _, c := range cols {
		header = append(header, c.label())
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	changed := false
	for _, from := range cols {
		row := []string{"    " + from.pod}
		for _, to := range cols {
			f := flow{From: from.pod, To: to.pod, Port: to.port}
			v, ok := at[f]
			cell := "·"
			if ok {
				cell = "ok"
				if !v {
					cell = "DROP"
				}
				if was, had := before[f]; had && was != v {
					cell += "*"
					changed = true
				}
			}
			row = append(row, cell)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	_ = tw.Flush()
	if changed {
		fmt.Fprintln(n.out, "    (* changed since the previous matrix)")
	}
}

// column is a destination of the matrix: a pod on the port it serves.
type column struct {
	pod  string
	port probe.Port
}

func (c column) label() string {
	name := c.pod[strings.Index(c.pod, "/")+1:]
	if c.port.Protocol == probe.TCP {
		return fmt.Sprintf("%s:%d", name, c.port.Port)
	}
	return fmt.Sprintf("%s:%s", name, c.port)
}

func index(vs []probe.Verdict) map[flow]bool {
	m := make(map[flow]bool, len(vs))
	for _, v := range vs {
		m[flow{From: v.From, To: v.To, Port: probe.Port{Port: v.Port, Protocol: v.Protocol}}] = v.Allowed
	}
	return m
}

// verdict looks a flow up in a measured matrix.
func verdict(vs []probe.Verdict, f flow) (allowed, measured bool) {
	allowed, measured = index(vs)[f]
	return allowed, measured
}
