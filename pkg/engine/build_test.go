package engine

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFromPod(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "api-sa",
			NodeName:           "node-1",
			InitContainers: []corev1.Container{{Name: "init", Ports: []corev1.ContainerPort{
				{Name: "init-http", ContainerPort: 81},
			}}},
			Containers: []corev1.Container{{Name: "main", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080},
				{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
				{Name: "sctp", ContainerPort: 9, Protocol: corev1.ProtocolSCTP},
				{ContainerPort: 9000},               // unnamed, no hostPort: not a named port
				{ContainerPort: 9001, HostPort: 91}, // hostPort: kept, with an empty name
				{Name: "zero", ContainerPort: 0},    // no container port
				{Name: "weird", ContainerPort: 7, Protocol: "XTP"},
			}}},
		},
		Status: corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}},
	}
	got, err := FromPod(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoint{
		Namespace: "prod", Name: "web", Labels: map[string]string{"app": "web"}, ServiceAccount: "api-sa", Node: "node-1",
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")},
		Ports: []NamedPort{
			{Name: "init-http", Protocol: ProtoTCP, Port: 81},
			{Name: "http", Protocol: ProtoTCP, Port: 8080},
			{Name: "dns", Protocol: ProtoUDP, Port: 53},
			{Name: "sctp", Protocol: ProtoSCTP, Port: 9},
			{Name: "", Protocol: ProtoTCP, Port: 9001},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromPod =\n%+v\nwant\n%+v", got, want)
	}

	hostNet := p.DeepCopy()
	hostNet.Spec.HostNetwork = true
	if _, err := FromPod(hostNet); !errors.Is(err, ErrNotWorkload) {
		t.Errorf("host network: err = %v", err)
	}
	done := p.DeepCopy()
	done.Status.Phase = corev1.PodSucceeded
	if _, err := FromPod(done); !errors.Is(err, ErrNotWorkload) {
		t.Errorf("succeeded: err = %v", err)
	}
	badIP := p.DeepCopy()
	badIP.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.300"}}
	if _, err := FromPod(badIP); err == nil || err.Error() != `converting pod prod/web: status.podIPs[0]: ParseAddr("10.0.0.300"): IPv4 field has value >255` {
		t.Errorf("bad IP: err = %v", err)
	}
	onlyPodIP := p.DeepCopy()
	onlyPodIP.Status.PodIPs = nil
	if ep, err := FromPod(onlyPodIP); err != nil || len(ep.IPs) != 1 || ep.IPs[0] != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("podIP fallback: %v %v", ep.IPs, err)
	}
}

func TestNamespaceAndServiceAccountLabels(t *testing.T) {
	ns, err := FromNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	e := New()
	mustUpsert(t, e.UpsertNamespace(ns))
	sa, err := FromServiceAccount(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "api", Labels: map[string]string{"role": "api"}}})
	if err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, e.UpsertServiceAccount(sa))
	mustUpsert(t, e.UpsertPod(pod("prod", "p", "10.0.0.1", map[string]string{"app": "x", "pcns.env": "shadow"}, withSA("api"))))
	v := e.view(e.pods[EndpointRef{"prod", "p"}])
	for _, tc := range []struct {
		key, val string
		ok       bool
	}{
		{"app", "x", true},
		{LabelNamespace, "prod", true},
		{LabelOrchestrator, "k8s", true},
		{LabelServiceAccount, "api", true},
		{"pcns.env", "shadow", true}, // the pod's own label wins over the inherited one
		{"pcns." + LabelMetadataName, "prod", true},
		{"pcns.projectcalico.org/name", "prod", true},
		{"pcsa.role", "api", true},
		{"pcsa.projectcalico.org/name", "api", true},
		{"pcsa.missing", "", false},
		{"env", "", false},
	} {
		val, ok := v.Get(tc.key)
		if val != tc.val || ok != tc.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tc.key, val, ok, tc.val, tc.ok)
		}
	}
	// A service-account name of 63+ characters gets no projectcalico.org/serviceaccount label.
	long := "s123456789012345678901234567890123456789012345678901234567890ab"
	mustUpsert(t, e.UpsertPod(pod("prod", "q", "10.0.0.2", nil, withSA(long))))
	if _, ok := e.view(e.pods[EndpointRef{"prod", "q"}]).Get(LabelServiceAccount); ok {
		t.Errorf("service account of %d chars has the serviceaccount label", len(long))
	}
}

// TestGlobalServiceAccountSelectorAllRewrite: Felix rewrites all() to
// has(projectcalico.org/serviceaccount) in a GNP with a serviceAccountSelector, so pods without
// that label (service account names of 63+ characters) are not selected by all().
func TestGlobalServiceAccountSelectorAllRewrite(t *testing.T) {
	long := "s123456789012345678901234567890123456789012345678901234567890ab"
	e := New()
	apply(t, e, Namespace{Name: "prod"}, ServiceAccount{Namespace: "prod", Name: long, Labels: map[string]string{"role": "x"}},
		ServiceAccount{Namespace: "prod", Name: "short", Labels: map[string]string{"role": "x"}},
		pod("prod", "long", "10.0.0.1", nil, withSA(long)),
		pod("prod", "short", "10.0.0.2", nil, withSA("short")),
		gnp("all", saSel("all()"), ingress(rl(Deny))),
		gnp("role", saSel("role == 'x'"), ingress(rl(Deny))),
		np("prod", "np-all", saSel("all()"), ingress(rl(Deny))),
	)
	for _, tc := range []struct {
		key  PolicyKey
		want []EndpointRef
	}{
		{PolicyKey{Kind: KindGlobalNetworkPolicy, Name: "all"}, []EndpointRef{{"prod", "short"}}},
		{PolicyKey{Kind: KindGlobalNetworkPolicy, Name: "role"}, []EndpointRef{{"prod", "long"}, {"prod", "short"}}},
		// NP keeps all() as all().
		{PolicyKey{Kind: KindNetworkPolicy, Namespace: "prod", Name: "np-all"}, []EndpointRef{{"prod", "long"}, {"prod", "short"}}},
	} {
		if got := e.SelectedEndpoints(tc.key, SlotEnforced); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s selects %v, want %v", tc.key, got, tc.want)
		}
	}
}

// TestVerdictJSON pins the JSON shape the CLI prints with -o json.
func TestVerdictJSON(t *testing.T) {
	e := New()
	apply(t, e, baseCluster()...)
	apply(t, e, np("prod", "p", onWeb, order(10), ingress(rl(Log), rl(Deny, proto("TCP")))))
	v, err := e.Evaluate(tcp(ipClient, ipWeb, 80), EnforcedOnly)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	const want = `{
  "allowed": false,
  "egress": {
    "endpoint": {
      "namespace": "dev",
      "name": "client"
    },
    "allowed": true,
    "decision": {
      "reason": "NoPolicyApplies"
    },
    "policies": []
  },
  "ingress": {
    "endpoint": {
      "namespace": "prod",
      "name": "web"
    },
    "allowed": false,
    "decision": {
      "reason": "Rule",
      "tier": "default",
      "policy": {
        "kind": "NetworkPolicy",
        "namespace": "prod",
        "name": "p"
      },
      "ruleIndex": 1,
      "action": "Deny"
    },
    "policies": [
      {
        "policy": {
          "kind": "NetworkPolicy",
          "namespace": "prod",
          "name": "p"
        },
        "tier": "default",
        "order": 10,
        "generation": "enforced",
        "outcome": "Deny",
        "ruleIndex": 1,
        "logRules": [
          0
        ]
      }
    ]
  }
}`
	if string(got) != want {
		t.Errorf("JSON differs\n--- got\n%s\n--- want\n%s", got, want)
	}
	var back Verdict
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if again, _ := json.MarshalIndent(back, "", "  "); string(again) != want {
		t.Errorf("round trip changed the JSON:\n%s", again)
	}
}

func TestFlowErrors(t *testing.T) {
	e := New()
	a4, a6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")
	for _, tc := range []struct {
		flow Flow
		want string
	}{
		{Flow{Dst: a4}, "evaluating flow: source and destination addresses are required"},
		{Flow{Src: a4, Dst: a6, Protocol: ProtoTCP}, "evaluating flow 10.0.0.1 -> fd00::1: addresses of different families"},
		{Flow{Src: a4, Dst: a4, Protocol: ProtoICMP}, "evaluating flow 10.0.0.1 -> 10.0.0.1: protocol 1 needs an ICMP type and code"},
		{Flow{Src: a6, Dst: a6, Protocol: ProtoICMPv6}, "evaluating flow fd00::1 -> fd00::1: protocol 58 needs an ICMP type and code"},
		{Flow{Src: a4, Dst: a4, Protocol: ProtoTCP, ICMP: &ICMPMatch{}}, "evaluating flow 10.0.0.1 -> 10.0.0.1: ICMP type/code given for protocol 6"},
	} {
		if _, err := e.Evaluate(tc.flow, EnforcedOnly); err == nil || err.Error() != tc.want {
			t.Errorf("Evaluate(%+v) error = %v, want %s", tc.flow, err, tc.want)
		}
	}
	if _, err := e.Evaluate(Flow{Src: a4, Dst: a4, Protocol: ProtoTCP}, Mode(9)); err == nil {
		t.Error("unknown mode accepted")
	}
}
