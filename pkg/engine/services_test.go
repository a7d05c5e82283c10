package engine

import (
	"net/netip"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func eSvc(ns, name string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.Services = &v1alpha1.ServiceMatch{Namespace: ns, Name: name} }
}

func slice(ns, name, svc string, addrs []string, ports ...ServicePort) EndpointSlice {
	s := EndpointSlice{Namespace: ns, Name: name, Service: svc, Ports: ports}
	for _, a := range addrs {
		s.Addresses = append(s.Addresses, netip.MustParseAddr(a))
	}
	return s
}

func TestServices(t *testing.T) {
	dbSlice := slice("prod", "db-1", "db", []string{ipDB}, ServicePort{ProtoTCP, 5432})
	webSlice := slice("prod", "web-1", "web", []string{ipWeb}, ServicePort{ProtoTCP, 8080})
	clientToDB := np("dev", "out", sel("app == 'client'"), types(v1alpha1.PolicyTypeEgress),
		egress(rl(Allow, dst(eSvc("prod", "db")))))
	const outP = "NetworkPolicy/dev/out"
	out := func(dstPod string, allowed bool) string {
		if allowed {
			return lines("allow",
				"egress dev/client: allow Rule default "+outP+" rule=0 Allow",
				"  default "+outP+" order=none enforced: Allow rule=0",
				"ingress "+dstPod+": allow NoPolicyApplies")
		}
		return lines("deny",
			"egress dev/client: deny EndOfTierDeny default",
			"  default "+outP+" order=none enforced: NoRuleMatched",
			"ingress "+dstPod+": allow NoPolicyApplies")
	}
	dbFromWebSvc := np("prod", "p", onDB, ingress(rl(Allow, src(eSvc("", "web")))))
	tests := []struct {
		name string
		objs []any
		flow Flow
		want string
	}{
		{"destination services match a backend address and port", []any{dbSlice, clientToDB}, tcp(ipClient, ipDB, 5432), out("prod/db", true)},
		{"destination services include the port", []any{dbSlice, clientToDB}, tcp(ipClient, ipDB, 80), out("prod/db", false)},
		{"destination services include the protocol", []any{dbSlice, clientToDB}, udp(ipClient, ipDB, 5432), out("prod/db", false)},
		{"destination services: other addresses", []any{dbSlice, clientToDB}, tcp(ipClient, ipWeb, 5432), out("prod/web", false)},
		{"destination services: no slices, no match", []any{clientToDB}, tcp(ipClient, ipDB, 5432), out("prod/db", false)},
		{"source services match addresses on any port", []any{webSlice, dbFromWebSvc}, tcp(ipWeb, ipDB, 5432),
			inRule("prod/web", "prod/db", webP, 0, Allow)},
		{"source services: other sources", []any{webSlice, dbFromWebSvc}, tcp(ipAPI, ipDB, 5432),
			inEndOfTier("prod/api", "prod/db", webP)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			apply(t, e, baseCluster()...)
			for _, o := range tc.objs {
				if s, ok := o.(EndpointSlice); ok {
					mustUpsert(t, e.UpsertEndpointSlice(s))
					continue
				}
				apply(t, e, o)
			}
			v, err := e.Evaluate(tc.flow, EnforcedOnly)
			if err != nil {
				t.Fatal(err)
			}
			if got := renderVerdict(v); got != tc.want {
				t.Errorf("verdict\n--- got\n%s--- want\n%s", got, tc.want)
			}
		})
	}
}

func TestEndpointSliceLifecycle(t *testing.T) {
	e := New()
	apply(t, e, baseCluster()...)
	apply(t, e, np("dev", "out", sel("app == 'client'"), types(v1alpha1.PolicyTypeEgress), egress(rl(Allow, dst(eSvc("prod", "db"))))))
	flow := tcp(ipClient, ipAPI, 5432)
	allowed := func() bool {
		ok, err := e.Allowed(flow, EnforcedOnly)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	mustUpsert(t, e.UpsertEndpointSlice(slice("prod", "db-1", "db", []string{ipDB}, ServicePort{ProtoTCP, 5432})))
	if allowed() {
		t.Fatal("api is not a backend yet")
	}
	mustUpsert(t, e.UpsertEndpointSlice(slice("prod", "db-2", "db", []string{ipAPI}, ServicePort{ProtoTCP, 5432})))
	if !allowed() {
		t.Fatal("second slice adds api as a backend")
	}
	// Moving the slice to another service removes it from db.
	mustUpsert(t, e.UpsertEndpointSlice(slice("prod", "db-2", "other", []string{ipAPI}, ServicePort{ProtoTCP, 5432})))
	if allowed() {
		t.Fatal("slice moved to another service")
	}
	mustUpsert(t, e.UpsertEndpointSlice(slice("prod", "db-2", "db", []string{ipAPI}, ServicePort{ProtoTCP, 5432})))
	e.DeleteEndpointSlice("prod", "db-2")
	if allowed() {
		t.Fatal("deleted slice still matches")
	}
	e.DeleteEndpointSlice("prod", "db-1")
	// db-2 moved back to db (leaving "other" empty) and both db slices are gone.
	if len(e.services) != 0 || len(e.slices) != 0 {
		t.Errorf("left: services %v, slices %v", e.services, e.slices)
	}
	if err := e.UpsertEndpointSlice(EndpointSlice{Namespace: "prod", Name: "x"}); err == nil {
		t.Error("slice without service accepted")
	}
	if err := e.UpsertGlobalNetworkPolicy(gnp("g", egress(rl(Allow, dst(eSvc("", "db"))))), SlotEnforced); err == nil ||
		err.Error() != "policy GlobalNetworkPolicy/g is invalid and fails closed: spec.egress[0].destination.services.namespace: services in a global policy must specify a namespace" {
		t.Errorf("GNP service without namespace: %v", err)
	}
}

func TestFromEndpointSlice(t *testing.T) {
	p80, p53, pNone := int32(80), int32(53), (*int32)(nil)
	udp := corev1.ProtocolUDP
	in := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "web-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}},
			{Addresses: []string{"::ffff:10.0.0.2", "not-an-ip"}},
		},
		Ports: []discoveryv1.EndpointPort{{Port: &p80}, {Port: &p53, Protocol: &udp}, {Port: pNone}},
	}
	got, err := FromEndpointSlice(in)
	if err != nil {
		t.Fatal(err)
	}
	want := EndpointSlice{Namespace: "prod", Name: "web-abc", Service: "web",
		Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")},
		Ports:     []ServicePort{{ProtoTCP, 80}, {ProtoUDP, 53}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromEndpointSlice =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := FromEndpointSlice(nil); err == nil {
		t.Error("nil slice accepted")
	}
}

// TestNotSelectorFoldedIntoPositive: with a positive selector, Felix folds notSelector into it,
// so an address shared by two pods matches if one of them satisfies (pos) && !(neg).
func TestNotSelectorFoldedIntoPositive(t *testing.T) {
	e := New()
	apply(t, e, baseCluster()...)
	apply(t, e,
		pod("prod", "twin-a", "10.0.0.9", map[string]string{"app": "client"}),
		pod("prod", "twin-b", "10.0.0.9", map[string]string{"app": "other"}),
		webPolicy(rl(Allow, src(eSel("has(app)"), eNotSel("app == 'client'")))),
	)
	v, err := e.Evaluate(tcp("10.0.0.9", ipWeb, 80), EnforcedOnly)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := renderVerdict(v), inRule("prod/twin-a", "prod/web", webP, 0, Allow); got != want {
		t.Errorf("verdict\n--- got\n%s--- want\n%s", got, want)
	}
}
