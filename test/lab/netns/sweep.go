package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Delete removes a named lab namespace's mount. The kernel destroys the namespace, and the
// interfaces in it, once no process, socket or handle refers to it any more.
func Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	path := filepath.Join(bindDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting network namespace %s: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing network namespace %s: %w", name, err)
	}
	return nil
}

// List returns the names of the namespaces in /run/netns that start with prefix, sorted. prefix
// must start with Root.
func List(prefix string) ([]string, error) {
	if !strings.HasPrefix(prefix, Root) {
		return nil, fmt.Errorf("prefix %q: lab namespaces start with %s", prefix, Root)
	}
	entries, err := os.ReadDir(bindDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", bindDir, err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// Processes returns the IDs of the processes whose network namespace is the named one (their
// /proc/PID/ns/net is the same nsfs inode as /run/netns/NAME), the process itself excluded.
func Processes(name string) ([]int, error) {
	var want syscall.Stat_t
	if err := syscall.Stat(filepath.Join(bindDir, name), &want); err != nil {
		return nil, fmt.Errorf("reading network namespace %s: %w", name, err)
	}
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
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) != nil {
			continue // gone, or a kernel thread
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			out = append(out, pid)
		}
	}
	return out, nil
}
