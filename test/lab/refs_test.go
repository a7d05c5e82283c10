package lab_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// nsInode is the nsfs inode of a named network namespace.
func nsInode(name string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/run/netns", name), &st); err != nil {
		return 0, fmt.Errorf("reading network namespace %s: %w", name, err)
	}
	return st.Ino, nil
}

// heldNamespaces returns the network namespaces (by nsfs inode) that this process still holds
// through an open file: a namespace handle, or a socket created inside it. A namespace held so
// stays alive in the kernel, with its interfaces, after its name is gone.
func heldNamespaces() (map[uint64]string, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("listing open files: %w", err)
	}
	out := map[uint64]string{}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		switch {
		case strings.HasPrefix(target, "net:["):
			ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "net:["), "]"), 10, 64)
			if err == nil {
				out[ino] = "handle fd " + e.Name()
			}
		case strings.HasPrefix(target, "socket:["):
			nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
			if err != nil {
				continue // not an inet socket, or closed meanwhile
			}
			var st unix.Stat_t
			err = unix.Fstat(nsfd, &st)
			_ = unix.Close(nsfd)
			if err == nil {
				out[st.Ino] = "socket fd " + e.Name()
			}
		}
	}
	return out, nil
}
