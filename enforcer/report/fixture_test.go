package report

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/nflog"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// The fixture: pods prod/client and prod/server on node n1, prod/other on n2; NetworkPolicy
// prod/guard selects the server's ingress, its enforced generation 1 allows everything, its
// candidate generation 2 denies the client (ingress rule 0) and allows the rest (rule 1).
var (
	ipClient = netip.MustParseAddr("198.18.0.10")
	ipServer = netip.MustParseAddr("198.18.0.20")
	ipOther  = netip.MustParseAddr("198.18.0.30")
	server   = engine.EndpointRef{Namespace: "prod", Name: "server"}
	guard    = engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "prod", Name: "guard"}
)

// fixtureGens: the guard's enforced slot is generation 1, its candidate 2.
var fixtureGens = genMap{{guard, engine.SlotEnforced}: 1, {guard, engine.SlotCandidate}: 2}

type genMap map[struct {
	k engine.PolicyKey
	s engine.Slot
}]int64

func (g genMap) Generation(k engine.PolicyKey, s engine.Slot) (int64, bool) {
	v, ok := g[struct {
		k engine.PolicyKey
		s engine.Slot
	}{k, s}]
	return v, ok
}

func guardPolicy(rules ...v1alpha1.Rule) *v1alpha1.NetworkPolicy {
	return &v1alpha1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "guard"},
		Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{
			Selector: "app == 'server'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}, Ingress: rules,
		}},
	}
}

func fixtureEngine(tb fataler) *engine.Engine {
	tb.Helper()
	e := engine.New()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(e.UpsertNamespace(engine.Namespace{Name: "prod"}))
	must(e.UpsertPod(engine.Endpoint{Namespace: "prod", Name: "client", Labels: map[string]string{"app": "client"}, IPs: []netip.Addr{ipClient}, Node: "n1"}))
	must(e.UpsertPod(engine.Endpoint{Namespace: "prod", Name: "server", Labels: map[string]string{"app": "server"}, IPs: []netip.Addr{ipServer}, Node: "n1"}))
	must(e.UpsertPod(engine.Endpoint{Namespace: "prod", Name: "other", Labels: map[string]string{"app": "other"}, IPs: []netip.Addr{ipOther}, Node: "n2"}))
	must(e.UpsertNetworkPolicy(guardPolicy(v1alpha1.Rule{Action: v1alpha1.Allow}), engine.SlotEnforced))
	must(e.UpsertNetworkPolicy(guardPolicy(
		v1alpha1.Rule{Action: v1alpha1.Deny, Source: v1alpha1.EntityRule{Selector: "app == 'client'"}},
		v1alpha1.Rule{Action: v1alpha1.Allow}), engine.SlotCandidate))
	return e
}

func tcpRecord(prefix string, src, dst netip.Addr, sport, dport uint16) nflog.Record {
	return nflog.Record{Prefix: prefix, Packet: nflog.Packet{Src: src, Dst: dst, Protocol: 6, SrcPort: sport, DstPort: dport, TCPFlags: 0x02}}
}

// observerAdapter feeds a real observer (over the fixture engine) through a pipeline with the
// test's clock.
type observerAdapter struct {
	tb       fataler
	observer *observe.Observer
	pipeline *Pipeline
	port     uint16
}

// fataler is what the fixture needs of *testing.T and GinkgoT().
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func newObserverAdapter(tb fataler, clk clock.PassiveClock) *observerAdapter {
	obs := observe.New(fixtureEngine(tb), fixtureGens, observe.Limits{}, nil)
	return &observerAdapter{tb: tb, observer: obs, pipeline: NewPipeline(PipelineConfig{Observer: obs, Clock: clk}), port: 30000}
}

func (a *observerAdapter) handle(rec nflog.Record) {
	a.tb.Helper()
	if err := a.pipeline.Handle(&rec); err != nil {
		a.tb.Fatalf("handling %+v: %v", rec, err)
	}
}

// connect logs n new connections from the client to the server's port 80.
func (a *observerAdapter) connect(n int, prefix string) {
	for range n {
		a.port++
		a.handle(tcpRecord(prefix, ipClient, ipServer, a.port, 80))
	}
}

// connectFromOther logs n new connections from the other pod to the server (the candidate allows).
func (a *observerAdapter) connectFromOther(n int) {
	for range n {
		a.port++
		a.handle(tcpRecord("SI|prod/server", ipOther, ipServer, a.port, 80))
	}
}

// distinctFlows logs one would-deny connection to each of n server ports.
func (a *observerAdapter) distinctFlows(n int) {
	for i := range n {
		a.port++
		a.handle(tcpRecord("SI|prod/server", ipClient, ipServer, a.port, uint16(1000+i)))
	}
}

func policyKey(name string) engine.PolicyKey {
	return engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "prod", Name: name}
}

func randSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
