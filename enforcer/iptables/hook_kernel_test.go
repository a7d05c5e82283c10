package iptables

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/netns"
)

// TestHooksInKernel checks, in a private namespace, that the FORWARD hook is inserted first, kept
// first when another component inserts a rule before it, never duplicated, and that counters are
// read per rule.
func TestHooksInKernel(t *testing.T) {
	ns := enforcertest.Netns(t)
	tools := ToolsFor(NFT, desired.IPv4)
	enforcertest.Run(t, ns, "*filter\n:PAL-FORWARD - [0:0]\n:CNI-FORWARD - [0:0]\n-A FORWARD -j CNI-FORWARD\n-A PAL-FORWARD -j RETURN\n-A PAL-FORWARD -j RETURN\nCOMMIT\n", tools.Restore, "--noflush")
	h, err := NewHooks(tools, desired.IPv4, ns)
	if err != nil {
		t.Fatal(err)
	}
	forward := func() string {
		var rules []string
		for _, l := range strings.Split(enforcertest.Save(t, ns, tools.Save), "\n") {
			if strings.HasPrefix(l, "-A FORWARD ") {
				rules = append(rules, l)
			}
		}
		return strings.Join(rules, "\n")
	}
	const hook = "-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD"
	steps := []struct {
		name        string
		before      func()
		wantChanged bool
		want        string
	}{
		{"inserted first", func() {}, true, hook + "\n-A FORWARD -j CNI-FORWARD"},
		{"idempotent", func() {}, false, hook + "\n-A FORWARD -j CNI-FORWARD"},
		{"moved back to first", func() { enforcertest.Run(t, ns, "", tools.Iptables, "-I", "FORWARD", "1", "-j", "CNI-FORWARD") },
			true, hook + "\n-A FORWARD -j CNI-FORWARD\n-A FORWARD -j CNI-FORWARD"},
		{"duplicates removed", func() {
			enforcertest.Run(t, ns, "", tools.Iptables, "-A", "FORWARD", "-m", "comment", "--comment", HookComment, "-j", "PAL-FORWARD")
		},
			true, hook + "\n-A FORWARD -j CNI-FORWARD\n-A FORWARD -j CNI-FORWARD"},
	}
	for _, s := range steps {
		s.before()
		changed, err := h.EnsureJump()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := forward(); changed != s.wantChanged || got != s.want {
			t.Fatalf("%s: changed=%v FORWARD:\n%s\nwant changed=%v:\n%s", s.name, changed, got, s.wantChanged, s.want)
		}
	}
	stats, err := h.Counters("filter", "PAL-FORWARD")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].Target != "RETURN" {
		t.Fatalf("counters = %+v", stats)
	}
}

// TestHookNeverMissingWhileMoved: moving the jump back to first place must never leave FORWARD
// without it, not even between two iptables calls: a packet forwarded in that gap would skip every
// Palisade rule and be accepted by FORWARD's policy. A CNI inserts a rule before the jump again and
// again while a reader lists FORWARD as fast as it can.
func TestHookNeverMissingWhileMoved(t *testing.T) {
	ns := enforcertest.Netns(t)
	tools := ToolsFor(NFT, desired.IPv4)
	enforcertest.Run(t, ns, "*filter\n:PAL-FORWARD - [0:0]\n:CNI-FORWARD - [0:0]\n-A FORWARD -j CNI-FORWARD\nCOMMIT\n", tools.Restore, "--noflush")
	h, err := NewHooks(tools, desired.IPv4, ns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.EnsureJump(); err != nil {
		t.Fatal(err)
	}
	reader, err := NewHooks(tools, desired.IPv4, ns)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	missing := make(chan []string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			var rules []string
			if err := netns.Do(ns, func() error {
				var err error
				rules, err = reader.ipt.List("filter", "FORWARD")
				return err
			}); err != nil {
				continue
			}
			if !slices.ContainsFunc(rules, isHook) {
				select {
				case missing <- rules:
				default:
				}
				return
			}
		}
	})
	for range 30 {
		enforcertest.Run(t, ns, "", tools.Iptables, "-w", "-I", "FORWARD", "1", "-j", "CNI-FORWARD")
		if changed, err := h.EnsureJump(); err != nil || !changed {
			close(stop)
			wg.Wait()
			t.Fatalf("EnsureJump = %v, %v; want the jump moved", changed, err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case rules := <-missing:
		t.Fatalf("FORWARD was seen without the jump while it was moved:\n%s", strings.Join(rules, "\n"))
	default:
	}
}
