package syncer

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/ipsets"
	"github.com/palisade-dev/palisade/enforcer/iptables"
)

// foreign is what other components (kube-proxy, a CNI) have programmed before Palisade starts.
const foreign = `*filter
:KUBE-SERVICES - [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -j CNI-FORWARD
-A FORWARD -j KUBE-SERVICES
-A KUBE-SERVICES -d 198.18.100.1/32 -p tcp -m comment --comment "default/kubernetes:https" -j REJECT
-A CNI-FORWARD -s 198.18.0.0/16 -m comment --comment "cni: pods" -j ACCEPT
-A CNI-FORWARD -m set --match-set KUBE-X src -j ACCEPT
COMMIT
`

func ruleset(fwRule string) desired.Ruleset {
	return desired.Ruleset{
		Sets: []desired.Set{
			{Name: "PAL-s-a", Type: "hash:ip", Family: "inet", Members: []string{"198.18.0.1", "198.18.0.2"}},
			{Name: "PAL-s-p", Type: "hash:ip,port", Family: "inet", Members: []string{"198.18.0.1,80", "198.18.0.2,udp:53"}},
		},
		Tables: []desired.Table{{Name: "filter", Family: desired.IPv4, Chains: []desired.Chain{
			{Name: "PAL-FORWARD", Rules: []string{
				"-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
				"-m conntrack --ctstate INVALID -j DROP",
				"-m set --match-set PAL-s-a dst -j PAL-fw-a",
			}},
			{Name: "PAL-fw-a", Rules: []string{
				`-m set --match-set PAL-s-p dst,dst -m comment --comment "policy ns/web rule 0" -j ACCEPT`,
				fwRule,
			}},
			{Name: "PAL-fw-b", Rules: []string{"-j DROP"}},
		}}},
	}
}

type kernel struct {
	t   *testing.T
	ns  string
	rec *command.Recorder
	b   iptables.Backend
}

func (k *kernel) syncer(rs *desired.Ruleset) *Syncer {
	tools := iptables.ToolsFor(k.b, desired.IPv4)
	hooks, err := iptables.NewHooks(tools, desired.IPv4, k.ns)
	if err != nil {
		k.t.Fatal(err)
	}
	return &Syncer{
		DesiredState: func(context.Context) (desired.Ruleset, error) { return *rs, nil },
		Families:     []Family{{Tables: iptables.New(iptables.Config{Family: desired.IPv4, Tools: tools, Exec: k.rec, WaitSeconds: 5}), Hooks: hooks}},
		Sets:         ipsets.New(k.rec),
	}
}

func (k *kernel) save() string {
	return enforcertest.Save(k.t, k.ns, string(iptables.ToolsFor(k.b, desired.IPv4).Save))
}

func (k *kernel) sets() string { return enforcertest.Save(k.t, k.ns, "ipset", "save") }

// restores returns the stdin of every restore command recorded since the last call.
func (k *kernel) restores() []string {
	var out []string
	for _, c := range k.rec.Calls() {
		if strings.HasSuffix(c.Args[0], "-restore") || (c.Args[0] == "ipset" && c.Args[len(c.Args)-1] == "restore") {
			out = append(out, c.Stdin)
		}
	}
	return out
}

// foreignLines keeps the lines of iptables-save that are not Palisade's: the other chains'
// declarations and rules, in order.
func foreignLines(save string) string {
	var keep []string
	for _, l := range strings.SplitAfter(save, "\n") {
		if strings.Contains(l, "PAL-") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "")
}

func TestKernel(t *testing.T) {
	for _, b := range []iptables.Backend{iptables.NFT, iptables.Legacy} {
		t.Run(string(b), func(t *testing.T) { testKernel(t, b) })
	}
}

func testKernel(t *testing.T, b iptables.Backend) {
	ctx := context.Background()
	ns := enforcertest.Netns(t)
	k := &kernel{t: t, ns: ns, rec: &command.Recorder{Next: command.Exec{Netns: ns}}, b: b}
	tools := iptables.ToolsFor(b, desired.IPv4)
	enforcertest.Run(t, ns, "create KUBE-X hash:ip family inet\nadd KUBE-X 198.18.7.7\n", "ipset", "restore")
	enforcertest.Run(t, ns, foreign, tools.Restore, "--noflush")
	before, setsBefore := k.save(), k.sets()

	// First sync: everything is written, the hook is first in FORWARD, foreign state is untouched.
	rs := ruleset("-j DROP")
	s := k.syncer(&rs)
	st, err := s.Sync(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Synced() || st.Chains != 3 || st.Rules != 6 || st.Sets != 2 {
		t.Fatalf("stats %+v synced %v", st, s.Synced())
	}
	k.restores()
	after := k.save()
	if diff := cmp.Diff(foreignLines(before), foreignLines(after)); diff != "" {
		t.Fatalf("foreign rules changed by a sync (-before +after):\n%s", diff)
	}
	if !strings.Contains(after, "\n-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD\n-A FORWARD -j CNI-FORWARD\n") {
		t.Fatalf("the hook is not first in FORWARD:\n%s", after)
	}
	for _, want := range []string{":PAL-FORWARD - [0:0]", ":PAL-fw-a - [0:0]", "--match-set PAL-s-p dst,dst"} {
		if !strings.Contains(after, want) {
			t.Fatalf("iptables-save lacks %q:\n%s", want, after)
		}
	}
	// The hash marker shares the rule's own comment, after the criteria: one comment per rule.
	if !ownCommentRE.MatchString(after) {
		t.Fatalf("iptables-save lacks a rule matching %s:\n%s", ownCommentRE, after)
	}
	wantSets := setsBefore + "create PAL-s-a hash:ip family inet"
	if got := k.sets(); !strings.HasPrefix(got, setsBefore) || !strings.Contains(got, "add PAL-s-p 198.18.0.2,udp:53\n") || !strings.Contains(got, "add PAL-s-a 198.18.0.2\n") {
		t.Fatalf("ipset save = %s, want the foreign set unchanged and %s...", got, wantSets)
	}

	// Second sync with one changed chain rewrites that chain only.
	rs = ruleset("-p tcp -j REJECT")
	if _, err := s.Sync(ctx, false); err != nil {
		t.Fatal(err)
	}
	restores := k.restores()
	if len(restores) != 1 || !strings.HasPrefix(restores[0], "*filter\n:PAL-fw-a - [0:0]\n-A PAL-fw-a ") || strings.Count(restores[0], "\n:") != 1 {
		t.Fatalf("restores after changing one chain = %q", restores)
	}
	if got := k.save(); !strings.Contains(got, "-A PAL-fw-a -p tcp -m comment") || !strings.Contains(got, "-j REJECT --reject-with icmp-port-unreachable") {
		t.Fatalf("changed chain not in the kernel:\n%s", got)
	}
	steady, steadySets := k.save(), k.sets()

	// A restarted enforcer adopts what it finds and rewrites nothing.
	s2 := k.syncer(&rs)
	if _, err := s2.Sync(ctx, true); err != nil {
		t.Fatal(err)
	}
	if restores := k.restores(); len(restores) != 0 {
		t.Fatalf("adoption rewrote %q", restores)
	}
	if got := k.save(); got != steady {
		t.Fatalf("adoption changed the rules:\n%s", cmp.Diff(steady, got))
	}

	// Drift: a Palisade rule and a set member deleted by hand come back at the next resync.
	enforcertest.Run(t, ns, "", tools.Iptables, "-D", "PAL-FORWARD", "2")
	enforcertest.Run(t, ns, "", "ipset", "del", "PAL-s-a", "198.18.0.1")
	if _, err := s2.Sync(ctx, false); err != nil {
		t.Fatal(err)
	}
	if k.save() == steady {
		t.Fatal("a sync without resync is not supposed to read the kernel")
	}
	if _, err := s2.Sync(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := k.save(); got != steady {
		t.Fatalf("resync did not repair the rules:\n%s", cmp.Diff(steady, got))
	}
	if got := k.sets(); got != steadySets {
		t.Fatalf("resync did not repair the sets:\n%s", cmp.Diff(steadySets, got))
	}

	// Dropping a chain and a set: both go, the set after the rule that used it.
	rs.Tables[0].Chains = rs.Tables[0].Chains[:2]
	rs.Sets = rs.Sets[:1]
	rs.Tables[0].Chains[1].Rules = rs.Tables[0].Chains[1].Rules[1:]
	if _, err := s2.Sync(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got := k.save(); strings.Contains(got, "PAL-fw-b") || strings.Contains(got, "PAL-s-p") {
		t.Fatalf("stale chain or set reference left:\n%s", got)
	}
	if got := k.sets(); strings.Contains(got, "PAL-s-p") {
		t.Fatalf("stale set left:\n%s", got)
	}

	// Cleanup leaves exactly what was there before Palisade.
	fam := []Family{{Tables: iptables.New(iptables.Config{Family: desired.IPv4, Tools: tools, Exec: k.rec, WaitSeconds: 5})}}
	if _, err := Cleanup(ctx, fam, ipsets.New(k.rec)); err != nil {
		t.Fatal(err)
	}
	if got := k.save(); got != before {
		t.Fatalf("cleanup did not restore the foreign state (-before +after):\n%s", cmp.Diff(before, got))
	}
	if got := k.sets(); got != setsBefore {
		t.Fatalf("cleanup left sets (-before +after):\n%s", cmp.Diff(setsBefore, got))
	}
}

// TestKernelDualStack programs both families in one sync: each family's applier takes its own
// tables, the hook goes into both FORWARD chains, and cleanup removes both.
func TestKernelDualStack(t *testing.T) {
	ctx := context.Background()
	ns := enforcertest.Netns(t)
	exec := command.Exec{Netns: ns}
	var fams []Family
	for _, f := range []desired.Family{desired.IPv4, desired.IPv6} {
		tools := iptables.ToolsFor(iptables.NFT, f)
		hooks, err := iptables.NewHooks(tools, f, ns)
		if err != nil {
			t.Fatal(err)
		}
		fams = append(fams, Family{Tables: iptables.New(iptables.Config{Family: f, Tools: tools, Exec: exec, WaitSeconds: 5}), Hooks: hooks})
	}
	rs := desired.Ruleset{
		Sets: []desired.Set{
			{Name: "PAL-s-4", Type: "hash:net", Family: "inet", Members: []string{"198.18.0.0/24"}},
			{Name: "PAL-s-6", Type: "hash:ip", Family: "inet6", Members: []string{"2001:db8::1"}},
		},
		Tables: []desired.Table{
			{Name: "filter", Family: desired.IPv4, Chains: []desired.Chain{{Name: "PAL-FORWARD", Rules: []string{"-m set --match-set PAL-s-4 dst -j DROP"}}}},
			{Name: "filter", Family: desired.IPv6, Chains: []desired.Chain{{Name: "PAL-FORWARD", Rules: []string{"-m set --match-set PAL-s-6 dst -j DROP"}}}},
		},
	}
	s := &Syncer{DesiredState: func(context.Context) (desired.Ruleset, error) { return rs, nil }, Families: fams, Sets: ipsets.New(exec)}
	if _, err := s.Sync(ctx, true); err != nil {
		t.Fatal(err)
	}
	v4, v6 := enforcertest.Save(t, ns, "iptables-nft-save"), enforcertest.Save(t, ns, "ip6tables-nft-save")
	for _, c := range []struct{ save, want, not string }{
		{v4, "--match-set PAL-s-4 dst", "PAL-s-6"},
		{v6, "--match-set PAL-s-6 dst", "PAL-s-4"},
	} {
		if !strings.Contains(c.save, c.want) || strings.Contains(c.save, c.not) || !strings.Contains(c.save, "-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD") {
			t.Fatalf("want %q and the hook, not %q:\n%s", c.want, c.not, c.save)
		}
	}
	if _, err := Cleanup(ctx, fams, ipsets.New(exec)); err != nil {
		t.Fatal(err)
	}
	for _, save := range []string{enforcertest.Save(t, ns, "iptables-nft-save"), enforcertest.Save(t, ns, "ip6tables-nft-save"), enforcertest.Save(t, ns, "ipset", "save")} {
		if strings.Contains(save, "PAL-") {
			t.Fatalf("cleanup left:\n%s", save)
		}
	}
}

var ownCommentRE = regexp.MustCompile(`(?m)^-A PAL-fw-a -m set --match-set PAL-s-p dst,dst -m comment --comment "PAL:[0-9a-f]{16} policy ns/web rule 0" -j ACCEPT$`)
