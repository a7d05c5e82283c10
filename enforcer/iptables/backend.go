package iptables

import (
	"bytes"
	"context"
	"fmt"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
)

// Backend is the kernel interface the iptables tools program: the legacy x_tables or nf_tables.
// Both can hold rules at the same time, and rules written through the wrong one are silently
// ignored by the packets that matter, so the enforcer must use the one the node's other components
// (kubelet, kube-proxy, the CNI) use.
type Backend string

// The backends, and Auto to detect them.
const (
	Auto   Backend = "auto"
	NFT    Backend = "nft"
	Legacy Backend = "legacy"
)

// ParseBackend reads a --iptables-backend flag.
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(s); b {
	case Auto, NFT, Legacy:
		return b, nil
	}
	return "", fmt.Errorf("iptables backend %q: must be auto, nft or legacy", s)
}

// Tools names the commands of one backend and family.
type Tools struct {
	Save, Restore, Iptables string
}

// ToolsFor returns the commands for a backend (NFT or Legacy) and a family.
func ToolsFor(b Backend, f desired.Family) Tools {
	base := "iptables"
	if f == desired.IPv6 {
		base = "ip6tables"
	}
	suffix := "-" + string(b)
	return Tools{Save: base + suffix + "-save", Restore: base + suffix + "-restore", Iptables: base + suffix}
}

// hintChains are the chains kubelet and kube-proxy create in the mangle table of the backend they
// use precisely so that other components can find it (KEP-3178).
var hintChains = [][]byte{[]byte(":KUBE-IPTABLES-HINT"), []byte(":KUBE-KUBELET-CANARY")}

// DetectBackend decides which backend the node uses, as kube-proxy's iptables-wrapper does: a
// backend holding kubelet's hint chains wins; otherwise the one with more rules, nft on a tie (a
// fresh node: nft is what current distributions' iptables use).
func DetectBackend(ctx context.Context, exec command.Executor, f desired.Family) (Backend, error) {
	counts := map[Backend]int{}
	hints := map[Backend]bool{}
	for _, b := range []Backend{Legacy, NFT} {
		out, err := exec.Run(ctx, nil, ToolsFor(b, f).Save)
		if err != nil {
			// A missing tool or module means that backend holds nothing.
			continue
		}
		for _, line := range bytes.Split(out, []byte("\n")) {
			if len(line) > 0 && line[0] == '-' {
				counts[b]++
			}
			for _, h := range hintChains {
				if bytes.HasPrefix(line, h) {
					hints[b] = true
				}
			}
		}
	}
	switch {
	case hints[NFT]:
		return NFT, nil
	case hints[Legacy]:
		return Legacy, nil
	case counts[Legacy] > counts[NFT]:
		return Legacy, nil
	}
	return NFT, nil
}
