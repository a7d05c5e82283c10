package iptables

import (
	"fmt"
	"os/exec"
	"strings"

	goiptables "github.com/coreos/go-iptables/iptables"

	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/netns"
)

// hookSpec is the rule Palisade keeps first in FORWARD: every forwarded packet enters its chains.
var hookSpec = []string{"-m", "comment", "--comment", HookComment, "-j", desired.EntryChain}

// Hooks keeps Palisade's rules in the built-in chains, and reads counters, through go-iptables:
// a handful of idempotent single-rule operations where a restore transaction would have to declare
// (and so flush) a chain Palisade does not own. Calls run inside Netns when it is set.
type Hooks struct {
	ipt   *goiptables.IPTables
	netns string
}

// NewHooks returns Hooks for a backend's tools and family, running in the named network namespace
// ("" for the process's own).
func NewHooks(tools Tools, f desired.Family, ns string) (*Hooks, error) {
	path, err := exec.LookPath(tools.Iptables)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", tools.Iptables, err)
	}
	proto := goiptables.ProtocolIPv4
	if f == desired.IPv6 {
		proto = goiptables.ProtocolIPv6
	}
	var ipt *goiptables.IPTables
	err = netns.Do(ns, func() error {
		var err error
		ipt, err = goiptables.New(goiptables.IPFamily(proto), goiptables.Path(path), goiptables.Timeout(5))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", tools.Iptables, err)
	}
	return &Hooks{ipt: ipt, netns: ns}, nil
}

// EnsureJump makes the jump FORWARD -> PAL-FORWARD the first rule of FORWARD, and the only copy of
// it. It reports whether it had to change anything. The entry chain must exist.
//
// A misplaced jump is moved by inserting the new copy first and only then deleting the old ones:
// deleting first would leave FORWARD without the jump between two iptables calls, and a packet
// forwarded in that gap would skip every Palisade rule. Two copies for a moment are harmless:
// PAL-FORWARD decides the same way twice.
func (h *Hooks) EnsureJump() (changed bool, err error) {
	err = netns.Do(h.netns, func() error {
		rules, err := h.ipt.List("filter", "FORWARD")
		if err != nil {
			return err
		}
		ours := hookPositions(rules)
		if len(ours) == 1 && ours[0] == 1 {
			return nil
		}
		changed = true
		if len(ours) == 0 || ours[0] != 1 {
			if err := h.ipt.Insert("filter", "FORWARD", 1, hookSpec...); err != nil {
				return err
			}
			if rules, err = h.ipt.List("filter", "FORWARD"); err != nil {
				return err
			}
			ours = hookPositions(rules)
		}
		// Delete every copy but the first, last first so that the positions stay valid; each is
		// read back before it goes, so that a rule another program inserted meanwhile is never
		// the one deleted.
		for i := len(ours) - 1; i >= 1; i-- {
			r, err := h.ipt.ListById("filter", "FORWARD", ours[i])
			if err != nil {
				return err
			}
			if !isHook(strings.TrimSpace(r)) {
				return fmt.Errorf("FORWARD changed while a duplicate jump was removed: rule %d is now %q", ours[i], r)
			}
			if err := h.ipt.DeleteById("filter", "FORWARD", ours[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return changed, fmt.Errorf("ensuring the jump from FORWARD to %s: %w", desired.EntryChain, err)
	}
	return changed, nil
}

// hookPositions returns the 1-based rule numbers of the jumps in a listing of FORWARD.
func hookPositions(rules []string) []int {
	var out []int
	n := 0
	for _, r := range rules {
		if strings.HasPrefix(r, "-A ") {
			n++
			if isHook(r) {
				out = append(out, n)
			}
		}
	}
	return out
}

func isHook(rule string) bool {
	return strings.Contains(rule, HookComment) && strings.HasSuffix(rule, "-j "+desired.EntryChain)
}

// Counters returns the packet and byte counters of every rule of a chain.
func (h *Hooks) Counters(table, chain string) ([]goiptables.Stat, error) {
	var stats []goiptables.Stat
	err := netns.Do(h.netns, func() error {
		var err error
		stats, err = h.ipt.StructuredStats(table, chain)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading counters of %s/%s: %w", table, chain, err)
	}
	return stats, nil
}
