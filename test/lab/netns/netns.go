package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// Root is the name prefix every lab namespace carries; Delete and Sweep refuse other names, so a
// mistake can never remove a namespace that another tool created.
const Root = "pal-lab-"

// bindDir is where named network namespaces are mounted, as by `ip netns add`.
const bindDir = "/run/netns"

// NS is an open named network namespace. Its methods are safe for concurrent use; Close releases
// the handle (the namespace lives on until Delete).
type NS struct {
	Name   string
	handle vnetns.NsHandle
}

// Create makes a new named network namespace (visible in `ip netns list`) with its loopback up.
func Create(name string) (*NS, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var h vnetns.NsHandle
	err := onLockedThread(func(orig vnetns.NsHandle) (bool, error) {
		var err error
		h, err = vnetns.NewNamed(name)
		if err != nil {
			// NewNamed may have unshared already: the thread's namespace is unknown.
			return vnetns.Set(orig) == nil, fmt.Errorf("creating network namespace %s: %w", name, err)
		}
		return vnetns.Set(orig) == nil, nil
	})
	if err != nil {
		return nil, err
	}
	ns := &NS{Name: name, handle: h}
	nl, err := ns.Netlink()
	if err != nil {
		return nil, errors.Join(err, ns.Close(), Delete(name))
	}
	defer nl.Close()
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bringing up lo in %s: %w", name, err), ns.Close(), Delete(name))
	}
	return ns, nil
}

// Open opens an existing named network namespace.
func Open(name string) (*NS, error) {
	h, err := vnetns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("opening network namespace %s: %w", name, err)
	}
	return &NS{Name: name, handle: h}, nil
}

// Handle is the namespace's file descriptor handle, for netlink.NsFd and the like.
func (n *NS) Handle() vnetns.NsHandle { return n.handle }

// Close releases the handle.
func (n *NS) Close() error {
	if n == nil || !n.handle.IsOpen() {
		return nil
	}
	if err := n.handle.Close(); err != nil {
		return fmt.Errorf("closing network namespace %s: %w", n.Name, err)
	}
	return nil
}

// Netlink returns a netlink handle whose socket lives in the namespace: links, addresses, routes
// and neighbours it changes are the namespace's. The caller closes it.
func (n *NS) Netlink() (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(n.handle)
	if err != nil {
		return nil, fmt.Errorf("opening netlink in %s: %w", n.Name, err)
	}
	return h, nil
}

// Do runs fn on an OS thread switched into the namespace. fn must not start goroutines that
// expect to be in the namespace: only fn's own thread is.
func (n *NS) Do(fn func() error) error {
	return onLockedThread(func(orig vnetns.NsHandle) (bool, error) {
		if err := vnetns.Set(n.handle); err != nil {
			return vnetns.Set(orig) == nil, fmt.Errorf("entering network namespace %s: %w", n.Name, err)
		}
		ferr := fn()
		if err := vnetns.Set(orig); err != nil {
			return false, errors.Join(ferr, fmt.Errorf("leaving network namespace %s: %w", n.Name, err))
		}
		return true, ferr
	})
}

// onLockedThread runs fn on a new goroutine locked to its thread. fn reports whether the thread is
// back in orig; if not (or fn panics), the thread stays locked and the runtime ends it with the
// goroutine, so no goroutine ever runs in the wrong namespace.
func onLockedThread(fn func(orig vnetns.NsHandle) (restored bool, err error)) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("reading the thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		restored := false
		defer func() {
			if r := recover(); r != nil {
				errc <- fmt.Errorf("panic inside a network namespace: %v", r)
				return
			}
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		restored, err = fn(orig)
		errc <- err
	}()
	return <-errc
}

// Listen creates a listener ("tcp", "tcp4") inside the namespace.
func (n *NS) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = (&net.ListenConfig{}).Listen(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s %s in %s: %w", network, addr, n.Name, err)
	}
	return l, nil
}

// ListenPacket creates a packet socket ("udp", "udp4", or "ip4:icmp") inside the namespace.
func (n *NS) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() error {
		var err error
		c, err = (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s %s in %s: %w", network, addr, n.Name, err)
	}
	return c, nil
}

// DialContext connects from inside the namespace with d (nil: a zero Dialer). addr must be an IP literal and port: a name
// would be resolved from inside the namespace too.
func (n *NS) DialContext(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// WriteSysctl writes a net sysctl of the namespace, key as in sysctl(8) ("net.ipv4.ip_forward").
// /proc/sys/net shows the namespace of the thread that opens it, so this never touches another
// namespace's value.
func (n *NS) WriteSysctl(key, value string) error {
	if !strings.HasPrefix(key, "net.") {
		return fmt.Errorf("sysctl %s: only net.* sysctls are per network namespace", key)
	}
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	err := n.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) })
	if err != nil {
		return fmt.Errorf("writing sysctl %s=%s in %s: %w", key, value, n.Name, err)
	}
	return nil
}

// ReadSysctl reads a net sysctl of the namespace.
func (n *NS) ReadSysctl(key string) (string, error) {
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	var out []byte
	err := n.Do(func() error {
		var err error
		out, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reading sysctl %s in %s: %w", key, n.Name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func checkName(name string) error {
	if !strings.HasPrefix(name, Root) || len(name) <= len(Root) || strings.ContainsAny(name, "/ \t\n") {
		return fmt.Errorf("network namespace name %q: lab namespaces are named %s<run>-<part>", name, Root)
	}
	return nil
}
