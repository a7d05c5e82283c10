package render_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const examplesDir = "../../examples"

// checkGolden compares got with the file at path, whole; -update rewrites it.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./pkg/render -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test ./pkg/render -run '%s' -update rewrites it)\n--- want\n%s\n--- got\n%s", path, t.Name(), want, got)
	}
}

// loadExample loads a manifest directory into an engine the way kubectl palisade does
// (pkg/cli/model.go): objects without a namespace go to "default", namespaces that are used but
// not defined are created, every policy is the enforced generation. Pods without
// spec.nodeName are placed on node-a and node-b in turn, in namespace/name order.
func loadExample(t *testing.T, dir string) (*engine.Engine, []engine.Endpoint) {
	t.Helper()
	set, err := manifest.Load([]string{dir}, nil)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	e := engine.New()
	nsSeen := map[string]bool{}
	must := func(err error) {
		t.Helper()
		var invalid *engine.InvalidPolicyError
		if err != nil && !errors.As(err, &invalid) {
			t.Fatal(err)
		}
	}
	implicit := func(ns string) {
		if ns == "" {
			ns = "default"
		}
		if !nsSeen[ns] {
			nsSeen[ns] = true
			must(e.UpsertNamespace(engine.Namespace{Name: ns}))
		}
	}
	for _, x := range set.Namespaces {
		ns, err := engine.FromNamespace(x.Object)
		must(err)
		must(e.UpsertNamespace(ns))
		nsSeen[ns.Name] = true
	}
	for _, x := range set.ServiceAccounts {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		sa, err := engine.FromServiceAccount(o)
		must(err)
		must(e.UpsertServiceAccount(sa))
	}
	var pods []engine.Endpoint
	for _, x := range set.Pods {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		ep, err := engine.FromPod(o)
		if errors.Is(err, engine.ErrNotWorkload) {
			continue
		}
		must(err)
		pods = append(pods, ep)
	}
	slices.SortFunc(pods, func(a, b engine.Endpoint) int { return strings.Compare(a.Ref().String(), b.Ref().String()) })
	unplaced := 0
	var placed []engine.Endpoint
	for _, ep := range pods {
		if ep.Node == "" {
			ep.Node = []string{"node-a", "node-b"}[unplaced%2]
			unplaced++
		}
		implicit(ep.Namespace)
		must(e.UpsertPod(ep))
		placed = append(placed, ep)
	}
	for _, x := range set.KubernetesNetworkPolicies {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		implicit(o.Namespace)
		must(e.UpsertKubernetesNetworkPolicy(o, engine.SlotEnforced))
	}
	for _, x := range set.NetworkPolicies {
		o := x.Object.DeepCopy()
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		implicit(o.Namespace)
		must(e.UpsertNetworkPolicy(o, engine.SlotEnforced))
	}
	for _, x := range set.GlobalNetworkPolicies {
		must(e.UpsertGlobalNetworkPolicy(x.Object, engine.SlotEnforced))
	}
	return e, placed
}

// renderNodes renders every node of the engine as one text: per node the iptables-restore and
// ip6tables-restore inputs and the ipset restore input of both families.
func renderNodes(t *testing.T, e *engine.Engine) string {
	t.Helper()
	var b strings.Builder
	if len(e.NodeNames()) == 0 {
		b.WriteString("# no pod in the scenario: no node to render\n")
	}
	for _, n := range e.NodeNames() {
		v4, v6, err := render.Build(e.NodeModel(n), render.DefaultOptions())
		if err != nil {
			t.Fatalf("rendering node %s: %v", n, err)
		}
		for _, p := range []*render.Program{v4, v6} {
			if err := p.Validate(); err != nil {
				t.Fatalf("node %s %s: %v", n, p.Family, err)
			}
		}
		r4, r6 := v4.Ruleset(), v6.Ruleset()
		fmt.Fprintf(&b, "### node %s: iptables-restore\n%s", n, r4.IptablesRestoreText("filter"))
		fmt.Fprintf(&b, "### node %s: ip6tables-restore\n%s", n, r6.IptablesRestoreText("filter"))
		fmt.Fprintf(&b, "### node %s: ipset restore\n%s%s", n, r4.IpsetRestoreText(), r6.IpsetRestoreText())
	}
	return b.String()
}

// TestExamplesGolden renders every scenario under examples/ (examples/invalid holds documents
// that are meant not to load) and compares the whole text with testdata/examples/<name>.golden.
func TestExamplesGolden(t *testing.T) {
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range entries {
		if !ent.IsDir() || ent.Name() == "invalid" {
			continue
		}
		n++
		t.Run(ent.Name(), func(t *testing.T) {
			e, pods := loadExample(t, filepath.Join(examplesDir, ent.Name()))
			checkGolden(t, filepath.Join("testdata", "examples", ent.Name()+".golden"), renderNodes(t, e))
			checkExampleFlows(t, e, pods)
		})
	}
	if n == 0 {
		t.Fatal("no example scenario found under " + examplesDir)
	}
}

// checkExampleFlows traces every ordered pair of the scenario's pods, over TCP to each declared
// port and 80, UDP 53 and ICMP echo, through the rendered rules of the nodes on the path (the
// source pod's, then the destination pod's when it differs) and demands the engine's verdict.
func checkExampleFlows(t *testing.T, e *engine.Engine, pods []engine.Endpoint) {
	t.Helper()
	progs, quiet := map[string][2]*render.Program{}, map[string][2]*render.Program{}
	for _, n := range e.NodeNames() {
		v4, v6, err := render.Build(e.NodeModel(n), render.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		progs[n] = [2]*render.Program{v4, v6}
		q4, q6, err := render.Build(e.NodeModel(n), noObservation())
		if err != nil {
			t.Fatal(err)
		}
		quiet[n] = [2]*render.Program{q4, q6}
	}
	type probe struct {
		proto uint8
		port  uint16
	}
	probes := []probe{{engine.ProtoTCP, 80}, {engine.ProtoUDP, 53}, {engine.ProtoICMP, 0}}
	for _, p := range pods {
		for _, np := range p.Ports {
			probes = append(probes, probe{np.Protocol, np.Port})
		}
	}
	checked := 0
	for _, src := range pods {
		for _, dst := range pods {
			if src.Ref() == dst.Ref() || len(src.IPs) == 0 || len(dst.IPs) == 0 || src.IPs[0].Is4() != dst.IPs[0].Is4() {
				continue
			}
			for _, pr := range probes {
				f := engine.Flow{Src: src.IPs[0], Dst: dst.IPs[0], Protocol: pr.proto, SrcPort: 40000, DstPort: pr.port}
				pkt := render.Packet{Src: f.Src, Dst: f.Dst, Proto: f.Protocol, SrcPort: f.SrcPort, DstPort: f.DstPort, ICMPType: 8}
				if pr.proto == engine.ProtoICMP {
					f.SrcPort, f.DstPort, pkt.SrcPort, pkt.DstPort = 0, 0, 0, 0
					if f.Src.Is6() {
						f.Protocol, pkt.Proto, pkt.ICMPType = engine.ProtoICMPv6, engine.ProtoICMPv6, 128
					}
					f.ICMP = &engine.ICMPMatch{Type: pkt.ICMPType}
				}
				want, err := e.Allowed(f, engine.EnforcedOnly)
				if err != nil {
					t.Fatal(err)
				}
				fam := render.IPv4
				if f.Src.Is6() {
					fam = render.IPv6
				}
				got := true
				for i, n := range []string{src.Node, dst.Node} {
					if i == 1 && n == src.Node {
						break
					}
					res, err := progs[n][fam].Trace(render.ChainForward, pkt)
					if err != nil {
						t.Fatal(err)
					}
					if res.Verdict == render.VerdictDrop {
						got = false
					}
					checkObservedDrop(t, res)
					// Observation samples never decide: without them, the same verdict, marks and Log hits.
					q, err := quiet[n][fam].Trace(render.ChainForward, pkt)
					if err != nil {
						t.Fatal(err)
					}
					if q.Verdict != res.Verdict || q.Mark != res.Mark || !slices.Equal(q.Logs, res.Logs) || len(q.Observed) != 0 {
						t.Errorf("%s -> %s proto %d port %d on %s: with observation %+v, without %+v", src.Ref(), dst.Ref(), pr.proto, pr.port, n, res, q)
					}
					if !got {
						break
					}
				}
				if got != want {
					t.Errorf("%s -> %s proto %d port %d: rendered rules allow=%v, engine allow=%v", src.Ref(), dst.Ref(), pr.proto, pr.port, got, want)
				}
				checked++
			}
		}
	}
	t.Logf("%d flows agree", checked)
}

// checkObservedDrop: a new packet a policy drops is sampled once as a drop, just before the DROP;
// any other packet is never sampled as a drop.
func checkObservedDrop(t *testing.T, res render.TraceResult) {
	t.Helper()
	var drops []string
	for _, p := range res.Observed {
		if strings.HasPrefix(p, "D") {
			drops = append(drops, p)
		}
	}
	switch {
	case res.Verdict == render.VerdictDrop && (len(drops) != 1 || res.Observed[len(res.Observed)-1] != drops[0]):
		t.Errorf("dropped with drop samples %v (observed %v); want exactly one, last; path %s", drops, res.Observed, strings.Join(res.Path, " "))
	case res.Verdict != render.VerdictDrop && len(drops) != 0:
		t.Errorf("verdict %s with drop samples %v", res.Verdict, drops)
	}
}
