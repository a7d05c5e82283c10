package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/palisade-dev/palisade/test/lab/netns"
)

// Leftovers are what Cleanup found of runs with a prefix.
type Leftovers struct {
	Namespaces []string
	// Processes are running in those namespaces or have a lab directory on their command line
	// (etcd and kube-apiserver).
	Processes []int
	Dirs      []string
}

// Find lists the leftovers of runs whose prefix starts with prefix (at least netns.Root).
func Find(prefix string) (*Leftovers, error) {
	nss, err := netns.List(prefix)
	if err != nil {
		return nil, err
	}
	out := &Leftovers{Namespaces: nss}
	pids := map[int]bool{}
	for _, ns := range nss {
		ps, err := netns.Processes(ns)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			pids[p] = true
		}
	}
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), prefix) + "*")
	if err != nil {
		return nil, fmt.Errorf("listing lab directories: %w", err)
	}
	out.Dirs = dirs
	if len(dirs) > 0 {
		ps, err := processesMentioning(dirs)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			pids[p] = true
		}
	}
	for p := range pids {
		out.Processes = append(out.Processes, p)
	}
	return out, nil
}

// Cleanup removes the leftovers of runs whose prefix starts with prefix: it kills their processes,
// deletes their namespaces and removes their directories. Use it after a run that could not tear
// itself down (SIGKILL, a crash). It refuses prefixes that do not start with netns.Root.
func Cleanup(prefix string) (*Leftovers, error) {
	left, err := Find(prefix)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, p := range left.Processes {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("killing process %d: %w", p, err))
		}
	}
	for _, ns := range left.Namespaces {
		if err := netns.Delete(ns); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range left.Dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", d, err))
		}
	}
	return left, errors.Join(errs...)
}

// processesMentioning returns the processes (other than this one) whose command line holds one of
// dirs followed by a path separator or its end.
func processesMentioning(dirs []string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if mentions(string(arg), dirs) {
				out = append(out, pid)
				break
			}
		}
	}
	return out, nil
}

func mentions(arg string, dirs []string) bool {
	for _, d := range dirs {
		for i := strings.Index(arg, d); i >= 0; {
			end := i + len(d)
			if end == len(arg) || arg[end] == '/' {
				return true
			}
			j := strings.Index(arg[end:], d)
			if j < 0 {
				break
			}
			i = end + j
		}
	}
	return false
}
