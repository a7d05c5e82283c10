package report

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/nflog"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// The observation benchmarks measure the enforcer's CPU per 1,000 observed new connections: one
// op is 1,000 connections. The cluster: 1,000 pods in 10 namespaces, 20 apps; per namespace 20
// policies, each selecting one app's ingress and allowing two other apps on port 80, each with a
// candidate (Audit) that allows one of them only. The flows are random pod pairs to port 80.
//
//   - BenchmarkObserveParseOnly: parse the packet and the prefix (the floor: what reading the
//     log costs before any evaluation);
//   - BenchmarkObserveEvaluateOnce: parse, then one engine Evaluate (EnforcedOnly) per flow;
//   - BenchmarkObservePipeline: parse, then the whole pipeline (prefix, dedupe, the enforced and
//     the candidate view of the observed side, counting and flow sampling).
//
// docs/benchmarks.md records the pipeline against both baselines, measured in the same run.

const benchConns = 1000

type benchSetup struct {
	eng     *engine.Engine
	raw     [][]byte
	prefix  []string
	records []nflog.Record
}

func newBenchSetup(b *testing.B) *benchSetup {
	b.Helper()
	e := engine.New()
	const namespaces, pods, apps = 10, 1000, 20
	var ips []netip.Addr
	var refs []engine.EndpointRef
	for n := range namespaces {
		ns := fmt.Sprintf("ns%d", n)
		if err := e.UpsertNamespace(engine.Namespace{Name: ns}); err != nil {
			b.Fatal(err)
		}
		for k := range apps {
			rules := func(allowed ...int) []v1alpha1.Rule {
				var out []v1alpha1.Rule
				for _, a := range allowed {
					out = append(out, v1alpha1.Rule{Action: v1alpha1.Allow, Protocol: ptrTo(v1alpha1.ProtocolFromString("TCP")),
						Source:      v1alpha1.EntityRule{Selector: fmt.Sprintf("app == 'app%d'", a)},
						Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromInt(80)}}})
				}
				return out
			}
			pol := func(r []v1alpha1.Rule) *v1alpha1.NetworkPolicy {
				return &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("p%d", k)},
					Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: fmt.Sprintf("app == 'app%d'", k),
						Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}, Ingress: r}}}
			}
			if err := e.UpsertNetworkPolicy(pol(rules((k+1)%apps, (k+2)%apps)), engine.SlotEnforced); err != nil {
				b.Fatal(err)
			}
			if err := e.UpsertNetworkPolicy(pol(rules((k+1)%apps)), engine.SlotCandidate); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range pods {
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i / 250), byte(1 + i%250)})
		ref := engine.EndpointRef{Namespace: fmt.Sprintf("ns%d", i%namespaces), Name: fmt.Sprintf("pod%d", i)}
		if err := e.UpsertPod(engine.Endpoint{Namespace: ref.Namespace, Name: ref.Name, IPs: []netip.Addr{ip}, Node: "n1",
			Labels: map[string]string{"app": fmt.Sprintf("app%d", (i/namespaces)%apps)}}); err != nil {
			b.Fatal(err)
		}
		ips, refs = append(ips, ip), append(refs, ref)
	}
	s := &benchSetup{eng: e}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range benchConns {
		src, dst := r.IntN(pods), r.IntN(pods)
		pkt := synIPv4(ips[src], ips[dst], uint16(10000+i), 80)
		p, err := nflog.ParsePacket(pkt)
		if err != nil {
			b.Fatal(err)
		}
		prefix := "SI|" + refs[dst].String()
		s.raw, s.prefix = append(s.raw, pkt), append(s.prefix, prefix)
		s.records = append(s.records, nflog.Record{Prefix: prefix, Packet: p})
	}
	return s
}

func ptrTo[T any](v T) *T { return &v }

// synIPv4 is a 40-byte IPv4 TCP SYN, as NFLOG copies it.
func synIPv4(src, dst netip.Addr, sport, dport uint16) []byte {
	b := make([]byte, 40)
	b[0], b[8], b[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(b[2:4], 40)
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[20:22], sport)
	binary.BigEndian.PutUint16(b[22:24], dport)
	b[32], b[33] = 0x50, 0x02
	return b
}

// cpuTime is the process's user and system CPU time: on a shared machine wall time per op
// includes waiting for a core, CPU time does not. Each benchmark reports cpu-ns/op beside ns/op.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op b.N times and reports its CPU time per op.
func measure(b *testing.B, op func()) {
	b.ReportAllocs()
	start := cpuTime(b)
	n := 0
	for b.Loop() {
		op()
		n++
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(n), "cpu-ns/op")
}

func BenchmarkObserveParseOnly(b *testing.B) {
	s := newBenchSetup(b)
	measure(b, func() {
		for i := range s.raw {
			if _, err := nflog.ParsePacket(s.raw[i]); err != nil {
				b.Fatal(err)
			}
			if _, err := ParsePrefix(s.prefix[i]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkObserveEvaluateOnce(b *testing.B) {
	s := newBenchSetup(b)
	var v engine.Verdict
	measure(b, func() {
		for i := range s.raw {
			p, err := nflog.ParsePacket(s.raw[i])
			if err != nil {
				b.Fatal(err)
			}
			if err := s.eng.EvaluateInto(&v, p.Flow(), engine.EnforcedOnly); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkObservePipeline(b *testing.B) {
	for _, c := range []struct {
		name    string
		chooser engine.Chooser
	}{{"EnforcedOnly", engine.EnforcedOnly}, {"Canary", engine.Canary{}}} {
		b.Run(c.name, func(b *testing.B) {
			s := newBenchSetup(b)
			clk := clocktesting.NewFakePassiveClock(t0)
			obs := observe.New(s.eng, nil, observe.Limits{}, observe.NewMetrics(nil))
			p := NewPipeline(PipelineConfig{Observer: obs, Clock: clk, Chooser: func() engine.Chooser { return c.chooser }})
			var rec nflog.Record
			measure(b, func() {
				// Every op is 1,000 new connections: past the dedupe window, the same 5-tuples are
				// new again (and cost what new ones cost: a lookup and an update).
				clk.SetTime(clk.Now().Add(DefaultDedupeWindow + time.Second))
				for i := range s.raw {
					pkt, err := nflog.ParsePacket(s.raw[i])
					if err != nil {
						b.Fatal(err)
					}
					rec = nflog.Record{Prefix: s.prefix[i], Packet: pkt}
					if err := p.Handle(&rec); err != nil {
						b.Fatal(err)
					}
				}
			})
			if w := obs.Summary(); len(w.Policies) == 0 {
				b.Fatal("nothing counted")
			}
		})
	}
}
