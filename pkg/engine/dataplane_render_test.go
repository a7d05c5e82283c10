package engine_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

// The dataplane property test: for the engine's random worlds, with the pods spread over two
// nodes, the rules rendered from each node's model give, under the packet tracer, the verdict
// Evaluate gives in EnforcedOnly mode for every flow: traced on the source pod's node for the
// egress side and on the destination pod's node for the ingress side (one trace covers both
// when they share a node). The Log rules the packet passes are the engine's too, in order.

var nodes = []string{"n1", "n2"}

type renderedWorld struct {
	e      *engine.Engine
	nodeOf map[engine.EndpointRef]string
	progs  map[string][2]*render.Program
	interp map[string]*engine.ModelInterpreter
}

func buildRenderedWorld(t *testing.T, objs []any, place func(i int) string, reverse bool, opts render.Options) *renderedWorld {
	t.Helper()
	w := &renderedWorld{e: engine.New(), nodeOf: map[engine.EndpointRef]string{}, progs: map[string][2]*render.Program{}, interp: map[string]*engine.ModelInterpreter{}}
	placed := make([]any, len(objs))
	for i, o := range objs {
		if ep, ok := o.(engine.Endpoint); ok {
			ep.Node = place(i)
			w.nodeOf[ep.Ref()] = ep.Node
			o = ep
		}
		placed[i] = o
	}
	if reverse {
		slices.Reverse(placed)
	}
	for _, o := range placed {
		var nse *engine.NotStoredError
		if err := engine.StoreForTest(w.e, o); errors.As(err, &nse) {
			t.Fatalf("store %T: %v", o, err)
		}
	}
	for _, n := range nodes {
		m := w.e.NodeModel(n)
		w.interp[n] = engine.NewModelInterpreter(m)
		v4, v6, err := render.Build(m, opts)
		if err != nil {
			t.Fatalf("Build(%s): %v", n, err)
		}
		for _, p := range []*render.Program{v4, v6} {
			if err := p.Validate(); err != nil {
				t.Fatalf("node %s %s: invariants broken:\n%v", n, p.Family, err)
			}
		}
		w.progs[n] = [2]*render.Program{v4, v6}
	}
	return w
}

func packetOf(f engine.Flow) render.Packet {
	p := render.Packet{Src: f.Src, Dst: f.Dst, Proto: f.Protocol, SrcPort: f.SrcPort, DstPort: f.DstPort}
	if f.ICMP != nil {
		p.ICMPType, p.ICMPCode = f.ICMP.Type, f.ICMP.Code
	}
	return p
}

// expectedLogs is the NFLOG prefixes of the Log rules the engine's trace of one direction
// passed, in order.
func expectedLogs(tr engine.DirectionTrace, dir engine.Direction) []string {
	var out []string
	for _, p := range tr.Policies {
		for _, origin := range p.LogRules {
			out = append(out, render.LogPrefix(engine.PolicyID{Key: p.Policy, Slot: p.Generation}, dir, origin))
		}
	}
	return out
}

func (w *renderedWorld) trace(t *testing.T, node string, f engine.Flow) render.TraceResult {
	t.Helper()
	fam := render.IPv4
	if f.Src.Is6() {
		fam = render.IPv6
	}
	res, err := w.progs[node][fam].Trace(render.ChainForward, packetOf(f))
	if err != nil {
		t.Fatalf("trace %+v on %s: %v", f, node, err)
	}
	return res
}

// checkFlow compares the traced rules with the engine for one flow; it returns a description of
// the mismatch, or "".
func (w *renderedWorld) checkFlow(t *testing.T, f engine.Flow) string {
	v, err := w.e.Evaluate(f, engine.EnforcedOnly)
	if err != nil {
		return "" // a flow the engine cannot place (e.g. an ICMP type on the wrong family)
	}
	node := func(ip netip.Addr) string {
		if eps := w.e.EndpointsForIP(ip); len(eps) > 0 {
			return w.nodeOf[eps[0]]
		}
		return ""
	}
	srcNode, dstNode := node(f.Src), node(f.Dst)
	if d := w.checkInterpreter(f, engine.Egress, srcNode, v.Egress); d != "" {
		return d
	}
	if d := w.checkInterpreter(f, engine.Ingress, dstNode, v.Ingress); d != "" {
		return d
	}
	allowed := func(r render.TraceResult) bool { return r.Verdict != render.VerdictDrop }
	describe := func(side string, r render.TraceResult, want bool, wantLogs []string) string {
		return fmt.Sprintf("%s: traced %s (logs %q) want allowed=%v (logs %q)\npath %s\nverdict %+v",
			side, r.Verdict, r.Logs, want, wantLogs, strings.Join(r.Path, " "), v)
	}
	if srcNode != "" && srcNode == dstNode {
		r := w.trace(t, srcNode, f)
		logs := expectedLogs(v.Egress, engine.Egress)
		if v.Egress.Allowed {
			// The kernel walks the ingress side only after the egress side let the packet on.
			logs = append(logs, expectedLogs(v.Ingress, engine.Ingress)...)
		}
		if r.Verdict == render.VerdictReturn || allowed(r) != v.Allowed || !slices.Equal(r.Logs, logs) {
			return describe("one node "+srcNode, r, v.Allowed, logs)
		}
		return ""
	}
	if srcNode != "" {
		r := w.trace(t, srcNode, f)
		logs := expectedLogs(v.Egress, engine.Egress)
		if r.Verdict == render.VerdictReturn || allowed(r) != v.Egress.Allowed || !slices.Equal(r.Logs, logs) {
			return describe("egress on "+srcNode, r, v.Egress.Allowed, logs)
		}
	}
	if dstNode != "" {
		r := w.trace(t, dstNode, f)
		logs := expectedLogs(v.Ingress, engine.Ingress)
		if r.Verdict == render.VerdictReturn || allowed(r) != v.Ingress.Allowed || !slices.Equal(r.Logs, logs) {
			return describe("ingress on "+dstNode, r, v.Ingress.Allowed, logs)
		}
	}
	if srcNode == "" && dstNode == "" {
		// Neither address is a pod: Palisade leaves the packet to FORWARD on every node.
		for _, n := range nodes {
			if r := w.trace(t, n, f); r.Verdict != render.VerdictReturn {
				return describe("no pod, node "+n, r, true, nil)
			}
		}
	}
	return ""
}

// checkInterpreter holds the model interpreter of the side's node to the engine's trace of that
// side: same endpoint, verdict, decision and Log hits; every other node must not claim the
// address.
func (w *renderedWorld) checkInterpreter(f engine.Flow, dir engine.Direction, node string, tr engine.DirectionTrace) string {
	for _, n := range nodes {
		res, err := w.interp[n].Side(dir, f)
		if err != nil {
			return fmt.Sprintf("interpreter on %s: %v", n, err)
		}
		if n != node {
			if res.Local {
				return fmt.Sprintf("%s: node %s claims the address of %s", dir, n, res.Endpoint)
			}
			continue
		}
		var logs []engine.LogHit
		for _, p := range tr.Policies {
			for _, r := range p.LogRules {
				logs = append(logs, engine.LogHit{Policy: engine.PolicyID{Key: p.Policy, Slot: p.Generation}, Rule: r})
			}
		}
		want := engine.SideResult{Local: true, Endpoint: *tr.Endpoint, Allowed: tr.Allowed, Decision: tr.Decision, Logs: logs}
		if d := cmp.Diff(want, res); d != "" {
			return fmt.Sprintf("%s: model interpreter on %s differs from Evaluate (-engine +interpreter):\n%s", dir, n, d)
		}
	}
	return ""
}

// morePorts adds flows at extra ports and ICMP types the generator's rules name, so that
// multiport chunks and ICMP matches are exercised on both sides of their bounds.
func morePorts(flows []engine.Flow) []engine.Flow {
	out := slices.Clone(flows)
	for _, f := range flows {
		switch f.Protocol {
		case engine.ProtoTCP, engine.ProtoUDP:
			for _, p := range []uint16{1, 100, 101, 443, 8080, 8081} {
				g := f
				g.DstPort = p
				out = append(out, g)
			}
		}
	}
	return out
}

func TestRenderedRulesAgreeWithEngine(t *testing.T) {
	const worlds = 400
	flows := 0
	for seed := range uint64(worlds) {
		objs, fl := engine.GenWorldForTest(seed)
		w := buildRenderedWorld(t, objs, func(i int) string { return nodes[(i+int(seed))%2] }, false, render.DefaultOptions())
		for _, f := range morePorts(fl) {
			flows++
			if d := w.checkFlow(t, f); d != "" {
				t.Fatalf("seed %d flow %s -> %s proto %d dport %d icmp %v:\n%s", seed, f.Src, f.Dst, f.Protocol, f.DstPort, f.ICMP, d)
			}
		}
	}
	t.Logf("%d worlds, %d flows agree", worlds, flows)
}

// TestRenderingIsDeterministic: rendering the same state twice, or the state built in the
// reverse order, gives the same text.
func TestRenderingIsDeterministic(t *testing.T) {
	for seed := range uint64(60) {
		objs, _ := engine.GenWorldForTest(seed)
		place := func(i int) string { return nodes[i%2] }
		a := buildRenderedWorld(t, objs, place, false, render.DefaultOptions())
		b := buildRenderedWorld(t, objs, place, true, render.DefaultOptions())
		for _, n := range nodes {
			for f := range 2 {
				ta, tb := a.progs[n][f].Ruleset(), b.progs[n][f].Ruleset()
				again, _, err := render.Build(a.e.NodeModel(n), render.DefaultOptions())
				if err != nil {
					t.Fatal(err)
				}
				if f == 0 {
					if d := cmp.Diff(ta, again.Ruleset()); d != "" {
						t.Fatalf("seed %d node %s: two renderings differ:\n%s", seed, n, d)
					}
				}
				if d := cmp.Diff(ta, tb); d != "" {
					t.Fatalf("seed %d node %s family %d: insertion order changed the rules:\n%s", seed, n, f, d)
				}
			}
		}
	}
}

// FuzzRenderedRules is the property test driven by fuzz input: any world the generator can build
// from the bytes renders into valid programs whose traces agree with Evaluate.
func FuzzRenderedRules(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte("palisade dataplane rendering fuzz seed"), uint8(1))
	f.Add([]byte{255, 3, 7, 1, 0, 200, 9, 9, 4, 100, 17, 33, 2, 5, 6}, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, placement uint8) {
		objs, flows := engine.GenWorldFromBytesForTest(data)
		w := buildRenderedWorld(t, objs, func(i int) string { return nodes[(i>>(placement%4))%2] }, false, render.DefaultOptions())
		for _, f := range flows {
			if d := w.checkFlow(t, f); d != "" {
				t.Fatalf("flow %s -> %s proto %d dport %d icmp %v:\n%s", f.Src, f.Dst, f.Protocol, f.DstPort, f.ICMP, d)
			}
		}
	})
}
