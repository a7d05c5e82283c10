package engine

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// loadPods are n pods spread over 100 namespaces (10 apps each), the shape of benchCluster.
func loadPods(n int) []any {
	const namespaces = 100
	var objs []any
	for ns := range namespaces {
		objs = append(objs, Namespace{Name: fmt.Sprintf("ns%03d", ns), Labels: map[string]string{"team": fmt.Sprintf("t%d", ns%10)}})
	}
	for i := range n {
		ns := i % namespaces
		objs = append(objs, Endpoint{
			Namespace: fmt.Sprintf("ns%03d", ns), Name: fmt.Sprintf("pod-%d", i),
			Labels:         map[string]string{"app": fmt.Sprintf("app-%d", (i/namespaces)%10)},
			ServiceAccount: "default",
			IPs:            []netip.Addr{netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})},
		})
	}
	return objs
}

// allGNPs are n GlobalNetworkPolicies with selector all(), each with one rule, in distinct orders
// (half with an order, half without, so the tie-break by name is exercised too).
func allGNPs(n int) []any {
	out := make([]any, 0, n)
	for i := range n {
		tweaks := []func(*v1alpha1.PolicySpec){sel("all()"), types(v1alpha1.PolicyTypeIngress),
			ingress(rl(Allow, proto("TCP"), dst(ePorts(fmt.Sprint(1000+i%60000)))))}
		if i%2 == 0 {
			tweaks = append(tweaks, order(float64(n-i)))
		}
		out = append(out, gnp(fmt.Sprintf("gnp-%05d", (i*7919)%n), tweaks...))
	}
	return out
}

// nsGNPs are n GlobalNetworkPolicies each selecting the pods of one team (10 namespaces).
func nsGNPs(n int) []any {
	out := make([]any, 0, n)
	for i := range n {
		out = append(out, gnpNS(fmt.Sprintf("team-%05d", i), fmt.Sprintf("team == 't%d'", i%10), order(float64(i%100)),
			types(v1alpha1.PolicyTypeIngress), ingress(rl(Deny, src(eNets("192.168.0.0/16"))))))
	}
	return out
}

// emptyKNPs are n Kubernetes NetworkPolicies podSelector {} spread over the 100 namespaces.
func emptyKNPs(n int) []any {
	out := make([]any, 0, n)
	for i := range n {
		out = append(out, knp(fmt.Sprintf("ns%03d", i%100), fmt.Sprintf("knp-%05d", i), podSel(),
			knpIngress(from(peerPods("app", "app-0"), kport("TCP", 8080))),
			knpTypes(networkingv1.PolicyTypeIngress)))
	}
	return out
}

// cpuTime is the process's user+system CPU time. The benchmarks report it beside the wall time:
// on a machine shared with other jobs the wall time mostly measures the neighbours.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func storeAll(tb testing.TB, e *Engine, objs []any) {
	tb.Helper()
	for _, o := range objs {
		if err := store(e, o); err != nil {
			tb.Fatalf("storing %T: %v", o, err)
		}
	}
}

// BenchmarkLoadPolicies measures loading n policies into an engine that already holds the pods
// (pods loaded with the timer stopped), for n = 250..2,000: doubling the policies should at most
// about double the time (issue 13 item 9). Run it with -benchtime 1x; the metric ns/policy is
// the time per policy load. The timed part ends with a first read, which builds the policy lists
// the stores deferred (applied.go), so that the cost of a load is all in.
func BenchmarkLoadPolicies(b *testing.B) {
	shapes := []struct {
		name string
		gen  func(int) []any
		pods []int
	}{
		{"all-gnp", allGNPs, []int{1000, 10000}},
		{"team-gnp", nsGNPs, []int{10000}},
		{"empty-knp", emptyKNPs, []int{1000}},
	}
	for _, sh := range shapes {
		for _, pods := range sh.pods {
			podObjs := loadPods(pods)
			for _, n := range []int{250, 500, 1000, 2000} {
				pols := sh.gen(n)
				b.Run(fmt.Sprintf("%s/pods=%d/policies=%d", sh.name, pods, n), func(b *testing.B) {
					var cpu time.Duration
					for b.Loop() {
						b.StopTimer()
						e := New()
						storeAll(b, e, podObjs)
						b.StartTimer()
						start := cpuTime(b)
						storeAll(b, e, pols)
						// A first read: the lists the stores deferred are built here.
						_ = e.NodeNames()
						cpu += cpuTime(b) - start
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/policy")
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
				})
			}
		}
	}
}

// BenchmarkLoadCluster loads whole clusters from scratch, each against loading its pods alone
// (namespaces, service accounts and pods, no policy) in the same run: benchCluster (10,000 pods,
// 1,000 mixed policies) and 10,000 pods with 1,000 all() GlobalNetworkPolicies, policies stored
// before the pods (the order a restarted process sees) and after them.
func BenchmarkLoadCluster(b *testing.B) {
	c := newBenchCluster()
	var podsOnly []any
	for _, o := range c.objs {
		switch o.(type) {
		case Endpoint, Namespace, ServiceAccount:
			podsOnly = append(podsOnly, o)
		}
	}
	pods, gnps := loadPods(10000), allGNPs(1000)
	for _, tc := range []struct {
		name string
		objs []any
	}{
		{"bench-cluster/pods-only", podsOnly},
		{"bench-cluster/all", c.objs},
		{"all-gnp/pods-only", pods},
		{"all-gnp/policies-first", append(append([]any(nil), gnps...), pods...)},
		{"all-gnp/pods-first", append(append([]any(nil), pods...), gnps...)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			start := cpuTime(b)
			for b.Loop() {
				e := New()
				storeAll(b, e, tc.objs)
				_ = e.NodeNames() // a first read builds the deferred lists
			}
			b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}
