package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// benchCluster is a realistic large cluster: 100 namespaces x 100 pods (10 apps of 10 pods),
// 900 namespaced NetworkPolicies (9 per namespace, selecting one app each), 50
// GlobalNetworkPolicies (namespace- and label-scoped, one cluster-wide default deny) and 50
// Kubernetes NetworkPolicies: 1,000 policies and 10,000 pods.
type benchCluster struct {
	objs  []any
	flows []Flow
}

const (
	benchNamespaces   = 100
	benchAppsPerNS    = 10
	benchPodsPerApp   = 10
	benchPodsPerNS    = benchAppsPerNS * benchPodsPerApp
	benchGlobalPolicy = 50
	benchKNPs         = 50
)

func benchPodIP(ns, i int) netip.Addr {
	n := ns*benchPodsPerNS + i
	return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
}

func newBenchCluster() benchCluster {
	var c benchCluster
	envs := []string{"prod", "dev", "staging"}
	for ns := range benchNamespaces {
		name := fmt.Sprintf("ns%03d", ns)
		c.objs = append(c.objs, Namespace{Name: name, Labels: map[string]string{"env": envs[ns%3], "team": fmt.Sprintf("t%d", ns%10)}})
		for app := range benchAppsPerNS {
			c.objs = append(c.objs, ServiceAccount{Namespace: name, Name: fmt.Sprintf("app-%d", app), Labels: map[string]string{"role": fmt.Sprintf("app-%d", app)}})
		}
		for i := range benchPodsPerNS {
			app := i / benchPodsPerApp
			tier := "backend"
			if app < 3 {
				tier = "frontend"
			}
			c.objs = append(c.objs, Endpoint{
				Namespace: name, Name: fmt.Sprintf("app-%d-%d", app, i%benchPodsPerApp),
				Labels:         map[string]string{"app": fmt.Sprintf("app-%d", app), "tier": tier, "version": fmt.Sprintf("v%d", i%2)},
				ServiceAccount: fmt.Sprintf("app-%d", app),
				IPs:            []netip.Addr{benchPodIP(ns, i)},
				Ports:          []NamedPort{{Name: "http", Protocol: ProtoTCP, Port: 8080}, {Name: "metrics", Protocol: ProtoTCP, Port: 9090}},
			})
		}
		// 9 NetworkPolicies: app k accepts its caller app k+1 on http, frontends from prod,
		// and monitoring from the ops team; egress to its backend and DNS.
		for k := range 9 {
			c.objs = append(c.objs, np(name, fmt.Sprintf("app-%d", k), sel(fmt.Sprintf("app == 'app-%d'", k)), order(float64(100+k)),
				types(v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress),
				ingress(
					rl(Allow, proto("TCP"), src(eSel(fmt.Sprintf("app == 'app-%d'", k+1))), dst(ePorts("http", "8443"))),
					rl(Allow, proto("TCP"), src(eNS("env == 'prod'"), eSel("tier == 'frontend'")), dst(ePorts("http"))),
					rl(Allow, proto("TCP"), src(eNS("team == 't9'")), dst(ePorts("metrics"))),
				),
				egress(
					rl(Allow, proto("TCP"), dst(eSel(fmt.Sprintf("app == 'app-%d'", (k+9)%10)), ePorts("http"))),
					rl(Allow, proto("UDP"), dst(eNS("kubernetes.io/metadata.name == 'ns000'"), ePorts("53"))),
				)))
		}
	}
	for g := range benchGlobalPolicy - 1 {
		var p *v1alpha1.GlobalNetworkPolicy
		switch g % 5 {
		case 0:
			p = gnpNS(fmt.Sprintf("team-%d", g), fmt.Sprintf("team == 't%d'", g%10), order(float64(g)), types(v1alpha1.PolicyTypeIngress),
				ingress(rl(Deny, src(eNets("192.168.0.0/16"))), rl(Pass)))
		case 1:
			p = gnp(fmt.Sprintf("backend-%d", g), sel(fmt.Sprintf("tier == 'backend' && version == 'v%d'", g%2)), order(float64(50+g)), types(v1alpha1.PolicyTypeIngress),
				ingress(rl(Log, src(eNets("172.16.0.0/12"))), rl(Deny, proto("TCP"), dst(ePorts("22")))))
		case 2:
			p = gnpNS(fmt.Sprintf("env-%d", g), "env == 'staging'", sel(fmt.Sprintf("app == 'app-%d'", g%10)), order(float64(g)),
				types(v1alpha1.PolicyTypeEgress), egress(rl(Deny, dst(eNets("169.254.169.254/32")))))
		case 3:
			p = gnp(fmt.Sprintf("sa-%d", g), saSel(fmt.Sprintf("role == 'app-%d'", g%10)), order(float64(g)), types(v1alpha1.PolicyTypeIngress),
				ingress(rl(Deny, proto("TCP"), src(eSA("role == 'untrusted'")))))
		default:
			p = gnpNS(fmt.Sprintf("ns-%d", g), fmt.Sprintf("kubernetes.io/metadata.name == 'ns%03d'", g), order(float64(g)),
				ingress(rl(Deny, src(eNotSel("has(app)"), eNS("all()")))))
		}
		c.objs = append(c.objs, p)
	}
	c.objs = append(c.objs, gnp("default-deny", sel("all()"), order(2000), types(v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress),
		egress(rl(Allow, proto("UDP"), dst(eNS("kubernetes.io/metadata.name == 'ns000'"), ePorts("53"))))))
	for k := range benchKNPs {
		c.objs = append(c.objs, knp(fmt.Sprintf("ns%03d", k*2), "app-9", podSel("app", "app-9"),
			knpIngress(from(peerPods("app", "app-0"), kport("TCP", 8080))),
			knpTypes(networkingv1.PolicyTypeIngress)))
	}

	// Flows: pod-to-pod, mostly within a namespace (allowed and denied), some across.
	r := rand.New(rand.NewPCG(1, 2))
	for range 1024 {
		sns, dns := r.IntN(benchNamespaces), r.IntN(benchNamespaces)
		if r.IntN(4) != 0 {
			dns = sns
		}
		sa, da := r.IntN(benchAppsPerNS), r.IntN(benchAppsPerNS)
		if r.IntN(2) == 0 {
			sa = (da + 1) % benchAppsPerNS
		}
		f := Flow{
			Src: benchPodIP(sns, sa*benchPodsPerApp+r.IntN(benchPodsPerApp)), Dst: benchPodIP(dns, da*benchPodsPerApp+r.IntN(benchPodsPerApp)),
			Protocol: ProtoTCP, SrcPort: 40000, DstPort: uint16(pick[int](randChooser{r}, 8080, 8080, 9090, 22)),
		}
		c.flows = append(c.flows, f)
	}
	return c
}

func (c benchCluster) build(tb testing.TB) *Engine {
	e := New()
	for _, o := range c.objs {
		if err := store(e, o); err != nil {
			tb.Fatalf("building bench cluster: %v", err)
		}
	}
	return e
}

var benchSink bool

// BenchmarkEvaluate evaluates 1,024 flows in rotation with the index (EvaluateInto reusing one
// Verdict) and with the linear BASELINE that scans every policy per flow.
func BenchmarkEvaluate(b *testing.B) {
	c := newBenchCluster()
	e := c.build(b)
	b.Run("indexed", func(b *testing.B) {
		var v Verdict
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := e.EvaluateInto(&v, c.flows[i%len(c.flows)], EnforcedOnly); err != nil {
				b.Fatal(err)
			}
			benchSink = v.Allowed
		}
	})
	b.Run("indexed-alloc", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := e.Evaluate(c.flows[i%len(c.flows)], EnforcedOnly)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = v.Allowed
		}
	})
	b.Run("allowed-no-trace", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ok, err := e.Allowed(c.flows[i%len(c.flows)], EnforcedOnly)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = ok
		}
	})
	b.Run("both-modes", func(b *testing.B) {
		var cmp Comparison
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := e.EvaluateBothInto(&cmp, c.flows[i%len(c.flows)]); err != nil {
				b.Fatal(err)
			}
			benchSink = cmp.Candidate.Allowed
		}
	})
	b.Run("canary-chooser", func(b *testing.B) {
		// A chooser that is not a Mode: the two pods' lists are built for each flow.
		canary := Canary{PolicyKey{Kind: KindGlobalNetworkPolicy, Name: "default-deny"}: {{Namespace: "ns000", Name: "app-0-0"}: true}}
		var v Verdict
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := e.EvaluateInto(&v, c.flows[i%len(c.flows)], canary); err != nil {
				b.Fatal(err)
			}
			benchSink = v.Allowed
		}
	})
	b.Run("linear-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := e.linearEvaluate(c.flows[i%len(c.flows)], EnforcedOnly)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = v.Allowed
		}
	})
}

// BenchmarkEvaluateMedian reports the median over the 1,024 flows of each flow's mean
// evaluation time (EvaluateInto), as the metric median-ns/flow.
func BenchmarkEvaluateMedian(b *testing.B) {
	c := newBenchCluster()
	e := c.build(b)
	var v Verdict
	const reps = 64
	for b.Loop() {
		per := make([]float64, len(c.flows))
		for i, f := range c.flows {
			start := time.Now()
			for range reps {
				_ = e.EvaluateInto(&v, f, EnforcedOnly)
			}
			per[i] = float64(time.Since(start).Nanoseconds()) / reps
		}
		slices.Sort(per)
		b.ReportMetric(per[len(per)/2], "median-ns/flow")
		b.ReportMetric(per[len(per)*99/100], "p99-ns/flow")
	}
}

// BenchmarkBuild is the time to build the index for the whole cluster from scratch.
func BenchmarkBuild(b *testing.B) {
	c := newBenchCluster()
	b.ReportAllocs()
	for b.Loop() {
		_ = c.build(b)
	}
}

// BenchmarkUpdate is the time to apply one change to the built cluster, up to the first read
// after it (firstRead), which builds the policy lists a policy store defers (applied.go).
func BenchmarkUpdate(b *testing.B) {
	c := newBenchCluster()
	e := c.build(b)
	firstRead(e) // the build's deferred lists are not the updates' cost
	var target Endpoint
	for _, o := range c.objs {
		if ep, ok := o.(Endpoint); ok && ep.Namespace == "ns042" && ep.Name == "app-3-4" {
			target = ep
		}
	}
	b.Run("pod-labels", func(b *testing.B) {
		a, z := target, target
		a.Labels = map[string]string{"app": "app-3", "tier": "backend", "version": "v0"}
		z.Labels = map[string]string{"app": "app-1", "tier": "frontend", "version": "v1"}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := a
			if i%2 == 1 {
				p = z
			}
			if err := e.UpsertPod(p); err != nil {
				b.Fatal(err)
			}
			firstRead(e)
		}
	})
	b.Run("namespaced-policy", func(b *testing.B) {
		p1 := np("ns042", "app-3", sel("app == 'app-3'"), order(103), ingress(rl(Allow, proto("TCP"), src(eSel("app == 'app-4'")))))
		p2 := np("ns042", "app-3", sel("app == 'app-3'"), order(103), ingress(rl(Allow, proto("TCP"), src(eSel("app == 'app-5'")))))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := p1
			if i%2 == 1 {
				p = p2
			}
			if err := e.UpsertNetworkPolicy(p, SlotCandidate); err != nil {
				b.Fatal(err)
			}
			firstRead(e)
		}
	})
	b.Run("global-policy", func(b *testing.B) {
		g1 := gnp("team-0", sel("tier == 'backend'"), order(0), types(v1alpha1.PolicyTypeIngress), ingress(rl(Deny, src(eNets("192.168.0.0/16")))))
		g2 := gnp("team-0", sel("tier == 'frontend'"), order(0), types(v1alpha1.PolicyTypeIngress), ingress(rl(Deny, src(eNets("192.168.0.0/16")))))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := g1
			if i%2 == 1 {
				p = g2
			}
			if err := e.UpsertGlobalNetworkPolicy(p, SlotCandidate); err != nil {
				b.Fatal(err)
			}
			firstRead(e)
		}
	})
	b.Run("namespace-labels", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := e.UpsertNamespace(Namespace{Name: "ns042", Labels: map[string]string{"env": []string{"prod", "dev"}[i%2], "team": "t2"}}); err != nil {
				b.Fatal(err)
			}
			firstRead(e)
		}
	})
}

// TestBenchClusterAgreesWithBaseline guards the benchmark: on the large cluster the index and
// the linear baseline give identical verdicts, and the flows are a mix of outcomes.
func TestBenchClusterAgreesWithBaseline(t *testing.T) {
	c := newBenchCluster()
	e := c.build(t)
	reasons := map[Reason]int{}
	allowed := 0
	for _, f := range c.flows[:256] {
		v, err := e.Evaluate(f, EnforcedOnly)
		if err != nil {
			t.Fatal(err)
		}
		l, err := e.linearEvaluate(f, EnforcedOnly)
		if err != nil {
			t.Fatal(err)
		}
		if renderVerdict(v) != renderVerdict(l) {
			t.Fatalf("flow %+v: index\n%s\nbaseline\n%s", f, renderVerdict(v), renderVerdict(l))
		}
		reasons[v.Ingress.Decision.Reason]++
		if v.Allowed {
			allowed++
		}
	}
	if allowed == 0 || allowed == 256 || reasons[ReasonRule] == 0 || reasons[ReasonEndOfTierDeny] == 0 {
		t.Errorf("flows are not a mix: %d allowed, reasons %v", allowed, reasons)
	}
	t.Logf("%d/256 allowed, ingress reasons %v", allowed, reasons)
}

// firstRead is the cheapest read: it builds what the last writes deferred (Engine.rlock).
func firstRead(e *Engine) { _ = e.PolicyState(PolicyKey{}, SlotEnforced) }
