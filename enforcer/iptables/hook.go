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
func (h *Hooks) EnsureJump() (changed bool, err error) {
	err = netns.Do(h.netns, func() error {
		rules, err := h.ipt.List("filter", "FORWARD")
		if err != nil {
			return err
		}
		ours := 0
		for _, r := range rules {
			if strings.HasPrefix(r, "-A ") && isHook(r) {
				ours++
			}
		}
		if ours == 1 && firstRuleIsHook(rules) {
			return nil
		}
		changed = true
		for ; ours > 0; ours-- {
			if err := h.ipt.Delete("filter", "FORWARD", hookSpec...); err != nil {
				return err
			}
		}
		return h.ipt.Insert("filter", "FORWARD", 1, hookSpec...)
	})
	if err != nil {
		return changed, fmt.Errorf("ensuring the jump from FORWARD to %s: %w", desired.EntryChain, err)
	}
	return changed, nil
}

func isHook(rule string) bool {
	return strings.Contains(rule, HookComment) && strings.HasSuffix(rule, "-j "+desired.EntryChain)
}

func firstRuleIsHook(rules []string) bool {
	for _, r := range rules {
		if strings.HasPrefix(r, "-A ") {
			return isHook(r)
		}
	}
	return false
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
