package syncer

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

// benchNode is the node whose rules the benchmarks program.
const benchNode = "n0"

// clusterShape is a cluster for the enforcer's benchmarks: pods spread evenly over 100 namespaces
// and over pods/local nodes so that node n0 holds local of them, and policies namespaced
// NetworkPolicies spread evenly over the namespaces.
type clusterShape struct {
	pods, local, policies int
}

func (c clusterShape) String() string {
	return fmt.Sprintf("pods=%d/local=%d/policies=%d", c.pods, c.local, c.policies)
}

const benchNamespaces = 100

// podIP is the address of the g-th pod of the cluster: 198.18.0.1 upwards, so at most 65,000
// pods stay inside 198.18.0.0/16 and clear of the lab's fabric and gateway subnets.
func podIP(g int) netip.Addr {
	n := g + 1
	return netip.AddrFrom4([4]byte{198, 18, byte(n >> 8), byte(n)})
}

// podApp is the app label of the i-th pod of a namespace: ten apps per namespace.
func podApp(i int) string { return fmt.Sprintf("a%d", i%10) }

// benchPolicy is the k-th policy of namespace ns: it applies to every pod of the namespace (so each
// local pod has policies/100 policies per direction, in order), allows ingress on TCP 80 and the
// named port http from the namespace's pods of app a(k+1), egress to TCP 80 of the pods of app
// a(k+2) and to two CIDRs, and denies ingress from a third CIDR. The selectors are per namespace,
// so a cluster of 100 namespaces has 1,000 (namespace, app) pod sets of pods/1,000 members,
// shared by every rule that names them, as Felix shares its selector sets.
func benchPolicy(ns string, k int, port int32) *v1alpha1.NetworkPolicy {
	tcp := v1alpha1.ProtocolFromString("TCP")
	p := &v1alpha1.NetworkPolicy{}
	p.Namespace, p.Name = ns, fmt.Sprintf("p%d", k)
	order := float64(k)
	p.Spec.Order = &order
	// A distinct selector per k, all selecting every pod of the namespace.
	p.Spec.Selector = fmt.Sprintf("has(app) && app != 'x%d'", k)
	p.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress}
	p.Spec.Ingress = []v1alpha1.Rule{{
		Action: v1alpha1.Allow, Protocol: &tcp,
		Source:      v1alpha1.EntityRule{Selector: fmt.Sprintf("app == '%s'", podApp(k+1))},
		Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.Port(intstr.FromInt32(port)), v1alpha1.PortFromString("http")}},
	}, {
		Action: v1alpha1.Deny,
		Source: v1alpha1.EntityRule{Nets: []string{fmt.Sprintf("192.168.%d.0/24", k%256)}},
	}}
	p.Spec.Egress = []v1alpha1.Rule{{
		Action: v1alpha1.Allow, Protocol: &tcp,
		Destination: v1alpha1.EntityRule{Selector: fmt.Sprintf("app == '%s'", podApp(k+2)), Ports: []v1alpha1.Port{v1alpha1.Port(intstr.FromInt32(80))}},
	}, {
		Action:      v1alpha1.Allow,
		Destination: v1alpha1.EntityRule{Nets: []string{"10.0.0.0/8", fmt.Sprintf("192.168.%d.0/24", k%256)}},
	}}
	return p
}

// benchPod is the i-th pod of namespace nsIdx.
func (c clusterShape) benchPod(nsIdx, i int, app string) engine.Endpoint {
	perNS := c.pods / benchNamespaces
	nodes := c.pods / c.local
	g := nsIdx*perNS + i
	return engine.Endpoint{
		Namespace: fmt.Sprintf("ns%d", nsIdx), Name: fmt.Sprintf("pod%d", i), Node: fmt.Sprintf("n%d", g%nodes),
		Labels: map[string]string{"app": app},
		IPs:    []netip.Addr{podIP(g)},
		Ports:  []engine.NamedPort{{Name: "http", Protocol: engine.ProtoTCP, Port: 8080}},
	}
}

// build loads the cluster into a new engine, and checks that node n0 got what the shape says.
func (c clusterShape) build(tb testing.TB) *engine.Engine {
	tb.Helper()
	if c.pods%benchNamespaces != 0 || c.policies%benchNamespaces != 0 || c.pods%c.local != 0 {
		tb.Fatalf("cluster %s: pods and policies must be multiples of %d, pods of local", c, benchNamespaces)
	}
	e := engine.New()
	for ns := range benchNamespaces {
		nsName := fmt.Sprintf("ns%d", ns)
		if err := e.UpsertNamespace(engine.Namespace{Name: nsName, Labels: map[string]string{"team": fmt.Sprintf("t%d", ns%10)}}); err != nil {
			tb.Fatal(err)
		}
		for i := range c.pods / benchNamespaces {
			if err := e.UpsertPod(c.benchPod(ns, i, podApp(i))); err != nil {
				tb.Fatal(err)
			}
		}
		for k := range c.policies / benchNamespaces {
			if err := e.UpsertNetworkPolicy(benchPolicy(nsName, k, 80), engine.SlotEnforced); err != nil {
				tb.Fatal(err)
			}
		}
	}
	m := e.NodeModel(benchNode)
	if len(m.Endpoints) != c.local || len(m.Policies) < c.policies {
		tb.Fatalf("node %s of %s: %d endpoints, %d policy generations", benchNode, c, len(m.Endpoints), len(m.Policies))
	}
	return e
}

// renderNode renders the node from scratch, without caches (the model, the renderer and
// FromRender): what every sync cost before the enforcer kept its renders (incrementalRenderer).
func renderNode(e *engine.Engine) (desired.Ruleset, error) {
	v4, v6, err := render.Render(e.NodeModel(benchNode), render.DefaultOptions())
	if err != nil {
		return desired.Ruleset{}, fmt.Errorf("rendering node %s: %w", benchNode, err)
	}
	return desired.FromRender(v4, v6), nil
}

// incrementalRenderer renders the node as the enforcer does (cmd/palisade-enforcer): through
// an engine.ModelCache and a render.Renderer that keep what the last sync rendered.
type incrementalRenderer struct {
	cache *engine.ModelCache
	r     *render.Renderer
}

func newIncrementalRenderer(tb testing.TB) *incrementalRenderer {
	r, err := render.NewRenderer(render.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	return &incrementalRenderer{cache: engine.NewModelCache(), r: r}
}

func (ir *incrementalRenderer) render(e *engine.Engine) (desired.Ruleset, error) {
	m, err := e.NodeModelCached(benchNode, engine.EnforcedOnly, ir.cache)
	if err != nil {
		return desired.Ruleset{}, fmt.Errorf("node model of %s: %w", benchNode, err)
	}
	v4, v6, err := ir.r.Render(m)
	if err != nil {
		return desired.Ruleset{}, fmt.Errorf("rendering node %s: %w", benchNode, err)
	}
	return desired.FromRender(v4, v6), nil
}

func ipv4Rules(rs *desired.Ruleset) (chains, rules int) {
	for _, t := range rs.Tables {
		if t.Family != desired.IPv4 {
			continue
		}
		chains += len(t.Chains)
		for _, c := range t.Chains {
			rules += len(c.Rules)
		}
	}
	return chains, rules
}

func setMembers(rs *desired.Ruleset) int {
	n := 0
	for _, s := range rs.Sets {
		n += len(s.Members)
	}
	return n
}

// cost is one timed run: wall time, and the CPU time of this process and of the children it
// waited for (iptables-restore, ipset), which other jobs on a shared machine disturb far less;
// tools is the children's share of cpu.
type cost struct {
	wall, cpu, tools time.Duration
}

// cpuNow returns the CPU time of this process and of its waited-for children so far, and the
// children's alone.
func cpuNow(tb testing.TB) (all, children time.Duration) {
	var self, kids syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	children = time.Duration(kids.Utime.Nano() + kids.Stime.Nano())
	return time.Duration(self.Utime.Nano()+self.Stime.Nano()) + children, children
}

// measure times fn, after setup and before teardown (both untimed).
func measure(tb testing.TB, fn func()) cost {
	tb.Helper()
	c0, k0 := cpuNow(tb)
	w0 := time.Now()
	fn()
	wall := time.Since(w0)
	c1, k1 := cpuNow(tb)
	return cost{wall: wall, cpu: c1 - c0, tools: k1 - k0}
}

// benchCase is one case of an interleaved benchmark: run times it once.
type benchCase struct {
	name string
	run  func(tb testing.TB) cost
}

// interleave runs every case once per round, in turn (interleaved, so that a change in the
// machine's load hits every case alike), and returns each case's costs.
func interleave(b *testing.B, n int, cases []benchCase) map[string][]cost {
	b.Helper()
	out := map[string][]cost{}
	for r := range n {
		// Each round starts one case further on, so that no case always runs first (after the
		// previous round's last) or last.
		for i := range cases {
			c := cases[(r+i)%len(cases)]
			out[c.name] = append(out[c.name], c.run(b))
		}
	}
	return out
}

func median(cs []cost, f func(cost) time.Duration) time.Duration {
	ds := make([]time.Duration, 0, len(cs))
	for _, c := range cs {
		ds = append(ds, f(c))
	}
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}

func wallOf(c cost) time.Duration  { return c.wall }
func cpuOf(c cost) time.Duration   { return c.cpu }
func toolsOf(c cost) time.Duration { return c.tools }

// report logs each case's median wall and CPU time and reports them as metrics
// (<case>-ms, <case>-cpu-ms), with the ratio of each case to base (<case>/<base>).
func report(b *testing.B, res map[string][]cost, order []string, base string) {
	b.Helper()
	var lines []string
	for _, name := range order {
		w, c := median(res[name], wallOf), median(res[name], cpuOf)
		b.ReportMetric(float64(w.Microseconds())/1e3, name+"-ms")
		b.ReportMetric(float64(c.Microseconds())/1e3, name+"-cpu-ms")
		line := fmt.Sprintf("%-24s wall %9.2f ms  cpu %9.2f ms", name, float64(w.Microseconds())/1e3, float64(c.Microseconds())/1e3)
		if base != "" && name != base {
			bw, bc := median(res[base], wallOf), median(res[base], cpuOf)
			line += fmt.Sprintf("  vs %s: wall %.2fx cpu %.2fx", base, float64(w)/float64(bw), float64(c)/float64(bc))
		}
		lines = append(lines, line)
	}
	b.Logf("medians of %d interleaved rounds, load %s:\n%s", len(res[order[0]]), loadAvg(), strings.Join(lines, "\n"))
}

// loadAvg is the machine's load average, for the record.
func loadAvg() string {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return "?"
	}
	l := func(x uint64) float64 { return float64(x) / 65536 }
	return fmt.Sprintf("%.1f %.1f %.1f", l(si.Loads[0]), l(si.Loads[1]), l(si.Loads[2]))
}
