package iptables

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
)

// fakeKernel answers iptables-save with save and records every restore transaction.
type fakeKernel struct {
	save     string
	restores []string
	fail     error
}

func (k *fakeKernel) Run(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	switch {
	case strings.HasSuffix(name, "-save"):
		return []byte(k.save), nil
	case strings.HasSuffix(name, "-restore"):
		if got := strings.Join(args, " "); got != "--noflush -w 5" {
			return nil, errors.New("unexpected restore arguments " + got)
		}
		k.restores = append(k.restores, string(stdin))
		return nil, k.fail
	}
	return nil, errors.New("unexpected command " + name)
}

func newTestApplier(k *fakeKernel) *Applier {
	return New(Config{Family: desired.IPv4, Tools: ToolsFor(NFT, desired.IPv4), Exec: k, WaitSeconds: 5})
}

func filter(chains ...desired.Chain) []desired.Table {
	return []desired.Table{{Name: "filter", Family: desired.IPv4, Chains: chains}}
}

var (
	entry = desired.Chain{Name: "PAL-FORWARD", Rules: []string{"-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-j PAL-fw-a"}}
	fwA   = desired.Chain{Name: "PAL-fw-a", Rules: []string{"-m set --match-set PAL-s-a src -j ACCEPT"}}
	fwB   = desired.Chain{Name: "PAL-fw-b", Rules: []string{"-j DROP"}}
)

// commented renders a chain's rules as Apply writes them.
func commented(c desired.Chain) string {
	var b strings.Builder
	for i, h := range ruleHashes(c.Name, c.Rules) {
		b.WriteString("-A " + c.Name + " " + withHash(c.Rules[i], h) + "\n")
	}
	return b.String()
}

func TestApplyWritesOnlyChangedChains(t *testing.T) {
	ctx := context.Background()
	k := &fakeKernel{save: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n"}
	a := newTestApplier(k)
	res, err := a.Apply(ctx, filter(entry, fwA, fwB), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "*filter\n:PAL-FORWARD - [0:0]\n:PAL-fw-a - [0:0]\n:PAL-fw-b - [0:0]\n" + commented(entry) + commented(fwA) + commented(fwB) + "COMMIT\n"
	if diff := cmp.Diff([]string{want}, k.restores); diff != "" {
		t.Fatalf("first sync restore (-want +got):\n%s", diff)
	}
	if res != (Result{ChainsWritten: 3, Chains: 3, Rules: 4}) {
		t.Fatalf("result = %+v", res)
	}

	// Nothing changed: nothing is sent.
	k.restores = nil
	if _, err := a.Apply(ctx, filter(entry, fwA, fwB), Options{}); err != nil {
		t.Fatal(err)
	}
	if len(k.restores) != 0 {
		t.Fatalf("unchanged sync sent %q", k.restores)
	}

	// One chain changes: only it is declared and rewritten.
	fwB2 := desired.Chain{Name: "PAL-fw-b", Rules: []string{"-p tcp -j DROP", "-j DROP"}}
	if _, err := a.Apply(ctx, filter(entry, fwA, fwB2), Options{}); err != nil {
		t.Fatal(err)
	}
	want = "*filter\n:PAL-fw-b - [0:0]\n" + commented(fwB2) + "COMMIT\n"
	if diff := cmp.Diff([]string{want}, k.restores); diff != "" {
		t.Fatalf("changed sync restore (-want +got):\n%s", diff)
	}
}

func TestApplyAdoptsAndPrunes(t *testing.T) {
	ctx := context.Background()
	// The kernel already holds what a previous process wrote, plus a chain no longer desired.
	k := &fakeKernel{save: "*filter\n:FORWARD ACCEPT [0:0]\n:PAL-FORWARD - [0:0]\n:PAL-fw-a - [0:0]\n:PAL-old - [0:0]\n" +
		"-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD\n" +
		commented(entry) + commented(fwA) + "-A PAL-old -j DROP\nCOMMIT\n"}
	a := newTestApplier(k)
	res, err := a.Apply(ctx, filter(entry, fwA), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.restores) != 0 || res.Stale != 1 {
		t.Fatalf("adoption without prune: restores %q, result %+v", k.restores, res)
	}
	res, err = a.Apply(ctx, filter(entry, fwA), Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "*filter\n:PAL-old - [0:0]\n-X PAL-old\nCOMMIT\n"
	if diff := cmp.Diff([]string{want}, k.restores); diff != "" {
		t.Fatalf("prune restore (-want +got):\n%s", diff)
	}
	if res.ChainsDeleted != 1 || res.Stale != 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestApplyResyncRepairsDrift(t *testing.T) {
	ctx := context.Background()
	k := &fakeKernel{save: "*filter\n:PAL-FORWARD - [0:0]\n:PAL-fw-a - [0:0]\n" + commented(entry) + commented(fwA) + "COMMIT\n"}
	a := newTestApplier(k)
	if _, err := a.Apply(ctx, filter(entry, fwA), Options{}); err != nil || len(k.restores) != 0 {
		t.Fatalf("adopt: %v %q", err, k.restores)
	}
	// Someone deletes the second rule of PAL-FORWARD; without a resync the applier trusts its memory.
	k.save = "*filter\n:PAL-FORWARD - [0:0]\n:PAL-fw-a - [0:0]\n" + strings.SplitAfter(commented(entry), "\n")[0] + commented(fwA) + "COMMIT\n"
	if _, err := a.Apply(ctx, filter(entry, fwA), Options{}); err != nil || len(k.restores) != 0 {
		t.Fatalf("sync: %v %q", err, k.restores)
	}
	if _, err := a.Apply(ctx, filter(entry, fwA), Options{Resync: true}); err != nil {
		t.Fatal(err)
	}
	want := "*filter\n:PAL-FORWARD - [0:0]\n" + commented(entry) + "COMMIT\n"
	if diff := cmp.Diff([]string{want}, k.restores); diff != "" {
		t.Fatalf("resync restore (-want +got):\n%s", diff)
	}
}

func TestApplyErrorNamesRuleAndForgetsState(t *testing.T) {
	ctx := context.Background()
	k := &fakeKernel{fail: &command.Error{Command: "iptables-nft-restore", Stderr: "iptables-nft-restore: line 5 failed"}}
	a := newTestApplier(k)
	_, err := a.Apply(ctx, filter(entry, fwA), Options{})
	// Lines: *filter, 2 declarations, then PAL-FORWARD's rules 0 and 1: line 5 is rule 1.
	if err == nil || !strings.Contains(err.Error(), `chain PAL-FORWARD rule 1 "-A PAL-FORWARD -m comment`) {
		t.Fatalf("error = %v", err)
	}
	if a.known != nil {
		t.Fatal("a failed restore must make the next sync read the kernel again")
	}
}

func TestApplyAddsEmptyEntryChain(t *testing.T) {
	k := &fakeKernel{}
	if _, err := newTestApplier(k).Apply(context.Background(), nil, Options{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"*filter\n:PAL-FORWARD - [0:0]\nCOMMIT\n"}, k.restores); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestCleanup(t *testing.T) {
	k := &fakeKernel{save: "*filter\n:FORWARD ACCEPT [0:0]\n:PAL-FORWARD - [0:0]\n:PAL-fw-a - [0:0]\n:CNI-FW - [0:0]\n" +
		"-A FORWARD -j CNI-FW\n-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD\n" + commented(entry) + commented(fwA) +
		"COMMIT\n*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"}
	res, err := newTestApplier(k).Cleanup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "*filter\n-D FORWARD -m comment --comment palisade-hook -j PAL-FORWARD\n:PAL-FORWARD - [0:0]\n:PAL-fw-a - [0:0]\n-X PAL-FORWARD\n-X PAL-fw-a\nCOMMIT\n"
	if diff := cmp.Diff([]string{want}, k.restores); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if res.ChainsDeleted != 2 {
		t.Fatalf("result = %+v", res)
	}

	k = &fakeKernel{save: "*filter\n:PAL-FORWARD - [0:0]\n-A FORWARD -j PAL-FORWARD\nCOMMIT\n"}
	if _, err := newTestApplier(k).Cleanup(context.Background()); err == nil || !strings.Contains(err.Error(), "-A FORWARD -j PAL-FORWARD") || len(k.restores) != 0 {
		t.Fatalf("a foreign jump must stop cleanup untouched: %v %q", err, k.restores)
	}
}

func TestDetectBackend(t *testing.T) {
	tests := []struct {
		name         string
		legacy, nft  string
		legacyFailed bool
		want         Backend
	}{
		{"empty node", "", "", false, NFT},
		{"legacy rules", "*filter\n-A FORWARD -j X\n-A FORWARD -j Y\n", "*filter\n-A FORWARD -j X\n", false, Legacy},
		{"nft rules", "", "*filter\n-A FORWARD -j X\n", false, NFT},
		{"legacy missing", "", "", true, NFT},
		{"hint beats count", "*filter\n-A FORWARD -j X\n-A FORWARD -j Y\n", "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\n", false, NFT},
		{"legacy hint", "*mangle\n:KUBE-KUBELET-CANARY - [0:0]\n", "*filter\n-A FORWARD -j X\n", false, Legacy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := command.Func(func(_ context.Context, _ []byte, name string, _ ...string) ([]byte, error) {
				switch name {
				case "iptables-legacy-save":
					if tt.legacyFailed {
						return nil, errors.New("not found")
					}
					return []byte(tt.legacy), nil
				case "iptables-nft-save":
					return []byte(tt.nft), nil
				}
				return nil, errors.New("unexpected " + name)
			})
			got, err := DetectBackend(context.Background(), exec, desired.IPv4)
			if err != nil || got != tt.want {
				t.Fatalf("DetectBackend() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestToolsFor(t *testing.T) {
	if got := ToolsFor(Legacy, desired.IPv6); got != (Tools{Save: "ip6tables-legacy-save", Restore: "ip6tables-legacy-restore", Iptables: "ip6tables-legacy"}) {
		t.Fatalf("ToolsFor = %+v", got)
	}
}

func FuzzParseSave(f *testing.F) {
	f.Add([]byte("*filter\n:PAL-X - [0:0]\n-A PAL-X -m comment --comment \"PAL:0123456789abcdef\" -j DROP\n-A FORWARD -j PAL-X\nCOMMIT\n"))
	f.Add([]byte("-A X\n"))
	f.Add([]byte(":X\n*\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tables, err := parseSave(in)
		if err != nil {
			return
		}
		for _, ts := range tables {
			for name, hashes := range ts.chains {
				if !desired.Owned(name) {
					t.Fatalf("foreign chain %q adopted", name)
				}
				for _, h := range hashes {
					if h != "" && len(h) != hashLen {
						t.Fatalf("hash %q", h)
					}
				}
			}
		}
	})
}
