package clustercheck

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

var (
	web   = map[string]string{"app": "web"}
	shop  = Namespace{Name: "shop", Labels: map[string]string{"team": "a"}}
	db    = Namespace{Name: "db", Labels: map[string]string{"team": "data"}}
	kube  = Namespace{Name: "kube-system", Labels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}}
	webOK = []Pod{pod("shop", "web-1", web, tcp("http", 8080)), pod("shop", "web-2", web, tcp("http", 8080))}
)

func warn(field, msg string) validation.Warning {
	return validation.Warning{Field: field, Message: msg}
}

func allowDNS() v1alpha1.Rule {
	return rule(v1alpha1.Allow, proto("UDP"), dst(ports("53")))
}

func TestNetworkPolicy(t *testing.T) {
	tests := []struct {
		name    string
		cluster cluster
		policy  *v1alpha1.NetworkPolicy
		want    []validation.Warning
	}{{
		name:    "selects pods and uses nothing cluster-specific",
		cluster: cluster{pods: webOK, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", sel("app == 'web'"), ingress(rule(v1alpha1.Allow))),
	}, {
		name:    "selects no pod today",
		cluster: cluster{pods: []Pod{pod("other", "web-1", web)}, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", sel("app == 'web'")),
		want: []validation.Warning{warn("spec.selector",
			`no pod in namespace "shop" matching app == 'web' exists today, so the policy applies to nothing yet`)},
	}, {
		name:    "empty selector in an empty namespace",
		cluster: cluster{namespaces: []Namespace{shop}},
		policy:  np("shop", "p"),
		want: []validation.Warning{warn("spec.selector",
			`no pod in namespace "shop" exists today, so the policy applies to nothing yet`)},
	}, {
		name: "service-account selector reads the service account's labels",
		cluster: cluster{
			pods:       []Pod{withSA("api", pod("shop", "a", web)), pod("shop", "b", web)},
			namespaces: []Namespace{shop},
			sas:        []ServiceAccount{{Namespace: "shop", Name: "api", Labels: map[string]string{"role": "api"}}},
		},
		policy: np("shop", "p", sel("app == 'web'"), func(s *v1alpha1.PolicySpec) { s.ServiceAccountSelector = "role == 'db'" }),
		want: []validation.Warning{warn("spec.selector",
			`no pod in namespace "shop" matching app == 'web' exists today, so the policy applies to nothing yet`)},
	}, {
		name: "service-account selector matching",
		cluster: cluster{
			pods:       []Pod{withSA("api", pod("shop", "a", web))},
			namespaces: []Namespace{shop},
			sas:        []ServiceAccount{{Namespace: "shop", Name: "api", Labels: map[string]string{"role": "api"}}},
		},
		policy: np("shop", "p", func(s *v1alpha1.PolicySpec) { s.ServiceAccountSelector = "role == 'api'" }),
	}, {
		name:    "Calico labels: projectcalico.org/namespace and pcns. inheritance",
		cluster: cluster{pods: webOK, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", sel("projectcalico.org/namespace == 'shop' && pcns.team == 'a' && projectcalico.org/orchestrator == 'k8s'")),
	}, {
		name:    "ingress named port the selected pods do not declare",
		cluster: cluster{pods: webOK, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", sel("app == 'web'"), ingress(rule(v1alpha1.Allow, proto("TCP"), dst(ports("http", "metrics"))))),
		want: []validation.Warning{warn("spec.ingress[0].destination.ports[1]",
			`no pod in namespace "shop" matching app == 'web' declares TCP port "metrics"`)},
	}, {
		name:    "named port declared for another protocol",
		cluster: cluster{pods: webOK, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", sel("app == 'web'"), ingress(rule(v1alpha1.Allow, proto("UDP"), dst(ports("http"))))),
		want: []validation.Warning{warn("spec.ingress[0].destination.ports[0]",
			`no pod in namespace "shop" matching app == 'web' declares UDP port "http"`)},
	}, {
		name:    "named port without protocol matches any protocol",
		cluster: cluster{pods: []Pod{pod("shop", "dns", web, udp("dns", 53))}, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", sel("app == 'web'"), ingress(rule(v1alpha1.Allow, dst(ports("dns"))))),
	}, {
		name:    "a number is not a named port",
		cluster: cluster{pods: webOK, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", ingress(rule(v1alpha1.Allow, proto("TCP"), dst(ports("8080", "80:90"))))),
	}, {
		name:    "ingress destination selector narrows the selected pods",
		cluster: cluster{pods: append([]Pod{pod("shop", "api", map[string]string{"app": "api"})}, webOK...), namespaces: []Namespace{shop}},
		policy:  np("shop", "p", ingress(rule(v1alpha1.Allow, proto("TCP"), dst(entity(eSel("app == 'api'"), ports("http")))))),
		want: []validation.Warning{warn("spec.ingress[0].destination.ports[0]",
			`no pod in namespace "shop" declares TCP port "http"`)},
	}, {
		name: "egress named port resolves against the peer pods in a selected namespace",
		cluster: cluster{
			pods:       append([]Pod{pod("db", "pg", map[string]string{"app": "pg"}, tcp("pg", 5432))}, webOK...),
			namespaces: []Namespace{shop, db},
		},
		policy: np("shop", "p", sel("app == 'web'"), types(v1alpha1.PolicyTypeEgress), egress(
			allowDNS(),
			rule(v1alpha1.Allow, proto("TCP"), dst(entity(eNsSel("team == 'data'"), eSel("app == 'pg'"), ports("pg")))),
			rule(v1alpha1.Allow, proto("TCP"), dst(entity(eNsSel("team == 'data'"), eSel("app == 'pg'"), ports("postgres")))),
		)),
		want: []validation.Warning{warn("spec.egress[2].destination.ports[0]",
			`no pod in namespaces matching team == 'data' matching app == 'pg' declares TCP port "postgres"`)},
	}, {
		name: "egress peer selector without namespaceSelector stays in the policy's namespace",
		cluster: cluster{
			pods:       append([]Pod{pod("db", "pg", map[string]string{"app": "pg"}, tcp("pg", 5432))}, webOK...),
			namespaces: []Namespace{shop, db},
		},
		policy: np("shop", "p", sel("app == 'web'"), egress(allowDNS(), rule(v1alpha1.Allow, proto("TCP"), dst(entity(eSel("app == 'pg'"), ports("pg")))))),
		want: []validation.Warning{warn("spec.egress[1].destination.ports[0]",
			`no pod in namespace "shop" matching app == 'pg' declares TCP port "pg"`)},
	}, {
		name: "egress peer without selectors spans every pod",
		cluster: cluster{
			pods:       append([]Pod{pod("db", "pg", map[string]string{"app": "pg"}, tcp("pg", 5432))}, webOK...),
			namespaces: []Namespace{shop, db},
		},
		policy: np("shop", "p", sel("app == 'web'"), egress(allowDNS(), rule(v1alpha1.Allow, proto("TCP"), dst(ports("pg", "nope"))))),
		want:   []validation.Warning{warn("spec.egress[1].destination.ports[1]", `no pod declares TCP port "nope"`)},
	}, {
		name:    "egress peer global() holds no pods and is not checked",
		cluster: cluster{pods: webOK, namespaces: []Namespace{shop}},
		policy:  np("shop", "p", sel("app == 'web'"), egress(allowDNS(), rule(v1alpha1.Allow, proto("TCP"), dst(entity(eNsSel("global()"), ports("ssh")))))),
	}, {
		name: "peer by service-account name",
		cluster: cluster{
			pods:       append([]Pod{withSA("pg", pod("shop", "pg", nil, tcp("pg", 5432)))}, webOK...),
			namespaces: []Namespace{shop},
		},
		policy: np("shop", "p", sel("app == 'web'"), egress(allowDNS(),
			rule(v1alpha1.Allow, proto("TCP"), dst(entity(eSANames("pg"), ports("pg")))),
			rule(v1alpha1.Allow, proto("TCP"), dst(entity(eSANames("web"), ports("pg")))),
		)),
		want: []validation.Warning{warn("spec.egress[2].destination.ports[0]", `no pod in namespace "shop" declares TCP port "pg"`)},
	}, {
		name:    "named notPorts and source ports are checked too",
		cluster: cluster{pods: webOK, namespaces: []Namespace{shop}},
		policy: np("shop", "p", sel("app == 'web'"), ingress(rule(v1alpha1.Allow, proto("TCP"),
			dst(notPorts("admin")), src(entity(eSel("app == 'web'"), ports("http", "client")))))),
		want: []validation.Warning{
			warn("spec.ingress[0].source.ports[1]", `no pod in namespace "shop" matching app == 'web' declares TCP port "client"`),
			warn("spec.ingress[0].destination.notPorts[0]", `no pod in namespace "shop" matching app == 'web' declares TCP port "admin"`),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checker{Lister: &tt.cluster, Selectors: &SelectorCache{}}
			got, err := c.NetworkPolicy(ctx, tt.policy)
			if err != nil {
				t.Fatalf("NetworkPolicy: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTies(t *testing.T) {
	other := func(name string, tweaks ...npTweak) *v1alpha1.NetworkPolicy { return np("shop", name, tweaks...) }
	tests := []struct {
		name   string
		nps    []*v1alpha1.NetworkPolicy
		gnps   []*v1alpha1.GlobalNetworkPolicy
		knps   []*networkingv1.NetworkPolicy
		policy *v1alpha1.NetworkPolicy
		want   []validation.Warning
	}{{
		name:   "same order on the same pods",
		nps:    []*v1alpha1.NetworkPolicy{other("allow-web", order(100))},
		policy: np("shop", "p", order(100)),
		want: []validation.Warning{warn("spec.order",
			"same order as NetworkPolicy shop/allow-web on 2 shared pods; the tie is broken by name: NetworkPolicy shop/allow-web applies first")},
	}, {
		name:   "the admitted policy can be the one applied first",
		nps:    []*v1alpha1.NetworkPolicy{other("z", order(100), sel("app == 'web'"))},
		policy: np("shop", "a", order(100), sel("name == 'web-1' || app == 'web'")),
		want: []validation.Warning{warn("spec.order",
			"same order as NetworkPolicy shop/z on 2 shared pods; the tie is broken by name: NetworkPolicy shop/a applies first")},
	}, {
		name:   "different order",
		nps:    []*v1alpha1.NetworkPolicy{other("q", order(100))},
		policy: np("shop", "p", order(100.5)),
	}, {
		name:   "no order on either: +inf ties are by design",
		nps:    []*v1alpha1.NetworkPolicy{other("q")},
		policy: np("shop", "p"),
	}, {
		name:   "same order, disjoint pods",
		nps:    []*v1alpha1.NetworkPolicy{other("q", order(1), sel("app == 'db'"))},
		policy: np("shop", "p", order(1), sel("app == 'web'")),
	}, {
		name:   "same order, different directions",
		nps:    []*v1alpha1.NetworkPolicy{other("q", order(1), types(v1alpha1.PolicyTypeEgress), egress(allowDNS()))},
		policy: np("shop", "p", order(1), types(v1alpha1.PolicyTypeIngress)),
	}, {
		name:   "an update does not tie with its stored self",
		nps:    []*v1alpha1.NetworkPolicy{other("p", order(1))},
		policy: np("shop", "p", order(1)),
	}, {
		name: "a GlobalNetworkPolicy of the same order and a Kubernetes NetworkPolicy at 1000",
		gnps: []*v1alpha1.GlobalNetworkPolicy{
			gnp("base", spec(order(1000)), func(s *v1alpha1.GlobalNetworkPolicySpec) { s.NamespaceSelector = "team == 'a'" }),
			gnp("elsewhere", spec(order(1000)), func(s *v1alpha1.GlobalNetworkPolicySpec) { s.NamespaceSelector = "team == 'b'" }),
		},
		knps:   []*networkingv1.NetworkPolicy{knp("shop", "k8s-web", podSel(web))},
		policy: np("shop", "p", order(1000)),
		want: []validation.Warning{
			warn("spec.order", "same order as GlobalNetworkPolicy base on 2 shared pods; the tie is broken by name: GlobalNetworkPolicy base applies first"),
			warn("spec.order", "same order as Kubernetes NetworkPolicy shop/k8s-web on 2 shared pods; the tie is broken by name: Kubernetes NetworkPolicy shop/k8s-web applies first"),
		},
	}, {
		name:   "different tier",
		nps:    []*v1alpha1.NetworkPolicy{other("q", order(1), func(s *v1alpha1.PolicySpec) { s.Tier = "security" })},
		policy: np("shop", "p", order(1), func(s *v1alpha1.PolicySpec) { s.Tier = "default" }),
	}, {
		name: "many ties are summarised",
		nps: []*v1alpha1.NetworkPolicy{
			other("a", order(5)), other("b", order(5)), other("c", order(5)), other("d", order(5)), other("e", order(5)),
		},
		policy: np("shop", "p", order(5)),
		want: []validation.Warning{
			warn("spec.order", "same order as NetworkPolicy shop/a on 2 shared pods; the tie is broken by name: NetworkPolicy shop/a applies first"),
			warn("spec.order", "same order as NetworkPolicy shop/b on 2 shared pods; the tie is broken by name: NetworkPolicy shop/b applies first"),
			warn("spec.order", "same order as NetworkPolicy shop/c on 2 shared pods; the tie is broken by name: NetworkPolicy shop/c applies first"),
			warn("spec.order", "same order as 2 policies more on shared pods"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &cluster{pods: webOK, namespaces: []Namespace{shop}, nps: tt.nps, gnps: tt.gnps, knps: tt.knps}
			got, err := (&Checker{Lister: cl}).NetworkPolicy(ctx, tt.policy)
			if err != nil {
				t.Fatalf("NetworkPolicy: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDNS(t *testing.T) {
	denyEgress := np("shop", "deny-egress", types(v1alpha1.PolicyTypeEgress))
	trap := []validation.Warning{warn("spec.types", `egress is denied by default for 2 pods in namespace "shop" and no policy allows them DNS (port 53)`)}
	tests := []struct {
		name   string
		nps    []*v1alpha1.NetworkPolicy
		gnps   []*v1alpha1.GlobalNetworkPolicy
		knps   []*networkingv1.NetworkPolicy
		policy *v1alpha1.NetworkPolicy
		want   []validation.Warning
	}{{
		name:   "egress default-deny alone",
		policy: denyEgress,
		want:   trap,
	}, {
		name:   "ingress-only policy is no trap",
		policy: np("shop", "p", types(v1alpha1.PolicyTypeIngress)),
	}, {
		name:   "its own rule allows UDP 53",
		policy: np("shop", "p", types(v1alpha1.PolicyTypeEgress), egress(allowDNS())),
	}, {
		name:   "its own rule allows everything to kube-system",
		policy: np("shop", "p", egress(rule(v1alpha1.Allow, dst(eNsSel("kubernetes.io/metadata.name == 'kube-system'"))))),
	}, {
		name:   "a named port might be 53",
		policy: np("shop", "p", egress(rule(v1alpha1.Allow, proto("UDP"), dst(ports("dns"))))),
		want:   []validation.Warning{warn("spec.egress[0].destination.ports[0]", `no pod declares UDP port "dns"`)},
	}, {
		name:   "its rules allow only HTTPS, ICMP, SCTP or a Deny",
		policy: np("shop", "p", egress(rule(v1alpha1.Allow, proto("TCP"), dst(ports("443"))), rule(v1alpha1.Allow, proto("ICMP")), rule(v1alpha1.Allow, proto("SCTP")), rule(v1alpha1.Deny))),
		want:   []validation.Warning{warn("spec.types", `egress is denied by default for 2 pods in namespace "shop" and no policy allows them DNS (port 53)`)},
	}, {
		name:   "notPorts excluding 53",
		policy: np("shop", "p", egress(rule(v1alpha1.Allow, proto("UDP"), dst(notPorts("50:60"))))),
		want:   trap[:1],
	}, {
		name:   "another NetworkPolicy allows DNS",
		nps:    []*v1alpha1.NetworkPolicy{np("shop", "allow-dns", egress(allowDNS()))},
		policy: denyEgress,
	}, {
		name:   "the stored version of the same policy does not count",
		nps:    []*v1alpha1.NetworkPolicy{np("shop", "deny-egress", egress(allowDNS()))},
		policy: denyEgress,
		want:   trap,
	}, {
		name:   "another policy allows DNS to some of the pods only",
		nps:    []*v1alpha1.NetworkPolicy{np("shop", "allow-dns", sel("name == 'x'"), egress(allowDNS()))},
		policy: np("shop", "deny-egress", types(v1alpha1.PolicyTypeEgress)),
		want:   trap,
	}, {
		name:   "an ingress policy with egress rules it does not govern does not count",
		nps:    []*v1alpha1.NetworkPolicy{np("shop", "allow-dns", types(v1alpha1.PolicyTypeIngress), egress(allowDNS()))},
		policy: denyEgress,
		want:   trap,
	}, {
		name:   "a GlobalNetworkPolicy allows DNS for the namespace",
		gnps:   []*v1alpha1.GlobalNetworkPolicy{gnp("dns", spec(egress(allowDNS())), func(s *v1alpha1.GlobalNetworkPolicySpec) { s.NamespaceSelector = "team == 'a'" })},
		policy: denyEgress,
	}, {
		name: "a doNotTrack GlobalNetworkPolicy does not apply to pods",
		gnps: []*v1alpha1.GlobalNetworkPolicy{gnp("dns", spec(egress(allowDNS())), func(s *v1alpha1.GlobalNetworkPolicySpec) {
			s.DoNotTrack, s.ApplyOnForward = true, true
		})},
		policy: denyEgress,
		want:   trap,
	}, {
		name: "a Kubernetes NetworkPolicy allows DNS",
		knps: []*networkingv1.NetworkPolicy{knp("shop", "dns", policyTypes(networkingv1.PolicyTypeEgress),
			knpEgress(networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{knpPort(corev1.ProtocolUDP, intstr.FromInt32(53))}}))},
		policy: denyEgress,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &cluster{pods: webOK, namespaces: []Namespace{shop, kube}, nps: tt.nps, gnps: tt.gnps, knps: tt.knps}
			got, err := (&Checker{Lister: cl}).NetworkPolicy(ctx, tt.policy)
			if err != nil {
				t.Fatalf("NetworkPolicy: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGlobalNetworkPolicy(t *testing.T) {
	pods := append([]Pod{pod("db", "pg", map[string]string{"app": "pg"}, tcp("pg", 5432))}, webOK...)
	tests := []struct {
		name   string
		policy *v1alpha1.GlobalNetworkPolicy
		want   []validation.Warning
	}{{
		name:   "namespaceSelector reads namespace labels",
		policy: gnp("g", spec(sel("app == 'pg'")), func(s *v1alpha1.GlobalNetworkPolicySpec) { s.NamespaceSelector = "team == 'data'" }),
	}, {
		name:   "namespaceSelector matching no pod",
		policy: gnp("g", spec(sel("app == 'pg'")), func(s *v1alpha1.GlobalNetworkPolicySpec) { s.NamespaceSelector = "team == 'a'" }),
		want: []validation.Warning{warn("spec.selector",
			`no pod in namespaces matching team == 'a' matching app == 'pg' exists today, so the policy applies to nothing yet`)},
	}, {
		name:   "egress default-deny across namespaces",
		policy: gnp("g", spec(types(v1alpha1.PolicyTypeEgress))),
		want: []validation.Warning{warn("spec.types",
			`egress is denied by default for 3 pods in namespaces "db", "shop" and no policy allows them DNS (port 53)`)},
	}, {
		name: "host-endpoint policies are not checked against pods",
		policy: gnp("g", spec(sel("has(nothing)")), spec(types(v1alpha1.PolicyTypeEgress)), func(s *v1alpha1.GlobalNetworkPolicySpec) {
			s.PreDNAT, s.ApplyOnForward = true, true
		}),
	}, {
		name:   "GlobalNetworkPolicy peers span every namespace",
		policy: gnp("g", spec(sel("app == 'web'")), spec(egress(allowDNS(), rule(v1alpha1.Allow, proto("TCP"), dst(entity(eSel("app == 'pg'"), ports("pg"))))))),
	}, {
		name:   "long selectors are shortened in messages",
		policy: gnp("g", spec(sel("app == 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"))),
		want: []validation.Warning{warn("spec.selector",
			`no pod matching app == 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa… exists today, so the policy applies to nothing yet`)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &cluster{pods: pods, namespaces: []Namespace{shop, db}}
			got, err := (&Checker{Lister: cl}).GlobalNetworkPolicy(ctx, tt.policy)
			if err != nil {
				t.Fatalf("GlobalNetworkPolicy: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKubernetesNetworkPolicy(t *testing.T) {
	pods := append([]Pod{pod("db", "pg", map[string]string{"app": "pg"}, tcp("pg", 5432))}, webOK...)
	named := func(p corev1.Protocol, n string) networkingv1.NetworkPolicyPort {
		return knpPort(p, intstr.FromString(n))
	}
	dnsRule := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{knpPort(corev1.ProtocolUDP, intstr.FromInt32(53))}}
	tests := []struct {
		name   string
		knps   []*networkingv1.NetworkPolicy
		policy *networkingv1.NetworkPolicy
		want   []validation.Warning
	}{{
		name: "ingress named ports resolve against the selected pods",
		policy: knp("shop", "k", podSel(web), knpIngress(networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{named(corev1.ProtocolTCP, "http"), named(corev1.ProtocolTCP, "grpc"), {Port: &intstr.IntOrString{Type: intstr.String, StrVal: "http"}}},
		})),
		want: []validation.Warning{warn("spec.ingress[0].ports[1].port", `no pod in namespace "shop" matching app=web declares TCP port "grpc"`)},
	}, {
		name: "egress named ports resolve against the peer pods",
		policy: knp("shop", "k", podSel(web), policyTypes(networkingv1.PolicyTypeEgress), knpEgress(dnsRule), knpEgress(networkingv1.NetworkPolicyEgressRule{
			To: []networkingv1.NetworkPolicyPeer{{
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pg"}},
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "data"}},
			}},
			Ports: []networkingv1.NetworkPolicyPort{named(corev1.ProtocolTCP, "pg"), named(corev1.ProtocolUDP, "pg")},
		})),
		want: []validation.Warning{warn("spec.egress[1].ports[1].port", `no pod in namespaces matching team=data matching app=pg declares UDP port "pg"`)},
	}, {
		name: "egress peer podSelector alone is the policy's namespace",
		policy: knp("shop", "k", podSel(web), policyTypes(networkingv1.PolicyTypeEgress), knpEgress(dnsRule), knpEgress(networkingv1.NetworkPolicyEgressRule{
			To:    []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pg"}}}},
			Ports: []networkingv1.NetworkPolicyPort{named(corev1.ProtocolTCP, "pg")},
		})),
		want: []validation.Warning{warn("spec.egress[1].ports[0].port", `no pod in namespace "shop" matching app=pg declares TCP port "pg"`)},
	}, {
		name:   "egress DNS trap",
		policy: knp("shop", "k", policyTypes(networkingv1.PolicyTypeEgress)),
		want:   []validation.Warning{warn("spec.policyTypes", `egress is denied by default for 2 pods in namespace "shop" and no policy allows them DNS (port 53)`)},
	}, {
		name:   "egress allowing port 53",
		policy: knp("shop", "k", policyTypes(networkingv1.PolicyTypeEgress), knpEgress(dnsRule)),
	}, {
		name: "egress allowing a port range over 53",
		policy: knp("shop", "k", policyTypes(networkingv1.PolicyTypeEgress), knpEgress(networkingv1.NetworkPolicyEgressRule{
			Ports: []networkingv1.NetworkPolicyPort{{Port: &intstr.IntOrString{IntVal: 1}, EndPort: func() *int32 { v := int32(1024); return &v }()}},
		})),
	}, {
		name:   "another Kubernetes NetworkPolicy allows DNS",
		knps:   []*networkingv1.NetworkPolicy{knp("shop", "dns", policyTypes(networkingv1.PolicyTypeEgress), knpEgress(dnsRule))},
		policy: knp("shop", "k", policyTypes(networkingv1.PolicyTypeEgress)),
	}, {
		name:   "ingress-only",
		policy: knp("shop", "k", policyTypes(networkingv1.PolicyTypeIngress)),
	}, {
		// Translated, the rule is one rule per protocol and peer, TCP before UDP: each entry is
		// still reported once, at its own path, in the order written.
		name: "named ports are reported at the entries written, once each",
		policy: knp("shop", "k", podSel(web), knpIngress(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}},
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "b"}}},
			},
			Ports: []networkingv1.NetworkPolicyPort{named(corev1.ProtocolUDP, "metrics"), named(corev1.ProtocolTCP, "grpc"), {Port: &intstr.IntOrString{Type: intstr.String, StrVal: "grpc"}}},
		})),
		want: []validation.Warning{
			warn("spec.ingress[0].ports[0].port", `no pod in namespace "shop" matching app=web declares UDP port "metrics"`),
			warn("spec.ingress[0].ports[1].port", `no pod in namespace "shop" matching app=web declares TCP port "grpc"`),
			warn("spec.ingress[0].ports[2].port", `no pod in namespace "shop" matching app=web declares TCP port "grpc"`),
		},
	}, {
		name: "an egress port resolves against the pods of every peer of its rule",
		policy: knp("shop", "k", podSel(web), policyTypes(networkingv1.PolicyTypeEgress), knpEgress(dnsRule), knpEgress(networkingv1.NetworkPolicyEgressRule{
			To: []networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "data"}}},
			},
			Ports: []networkingv1.NetworkPolicyPort{named(corev1.ProtocolTCP, "pg"), named(corev1.ProtocolTCP, "http"), named(corev1.ProtocolTCP, "nope")},
		}), knpEgress(networkingv1.NetworkPolicyEgressRule{
			To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}},
			Ports: []networkingv1.NetworkPolicyPort{named(corev1.ProtocolTCP, "pg"), named(corev1.ProtocolSCTP, "pg")},
		})),
		want: []validation.Warning{
			warn("spec.egress[1].ports[2].port", `no pod matched by spec.egress[1].to declares TCP port "nope"`),
			warn("spec.egress[2].ports[1].port", `no pod declares SCTP port "pg"`),
		},
	}, {
		// pkg/knp, like Calico, drops a named port its protocol's every-port entry covers: the rule
		// allows every TCP port whatever the name resolves to, so there is nothing to warn about.
		name: "a named port beside every port of its protocol",
		policy: knp("shop", "k", podSel(web), knpIngress(networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{named(corev1.ProtocolTCP, "grpc"), {Protocol: ptr.To(corev1.ProtocolTCP)}},
		})),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &cluster{pods: pods, namespaces: []Namespace{shop, db}, knps: tt.knps}
			got, err := (&Checker{Lister: cl}).KubernetesNetworkPolicy(ctx, tt.policy)
			if err != nil {
				t.Fatalf("KubernetesNetworkPolicy: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListerErrorIsReported(t *testing.T) {
	c := &Checker{Lister: &cluster{pods: webOK, err: errList}}
	if got, err := c.NetworkPolicy(ctx, np("shop", "p")); !errors.Is(err, errList) || got != nil {
		t.Errorf("NetworkPolicy = %v, %v; want nil, %v", got, err, errList)
	}
	if got, err := c.GlobalNetworkPolicy(ctx, gnp("g")); !errors.Is(err, errList) || got != nil {
		t.Errorf("GlobalNetworkPolicy = %v, %v; want nil, %v", got, err, errList)
	}
	if got, err := c.KubernetesNetworkPolicy(ctx, knp("shop", "k")); !errors.Is(err, errList) || got != nil {
		t.Errorf("KubernetesNetworkPolicy = %v, %v; want nil, %v", got, err, errList)
	}
}

func TestInvalidSelectorIsAnError(t *testing.T) {
	c := &Checker{Lister: &cluster{pods: webOK}}
	if _, err := c.NetworkPolicy(ctx, np("shop", "p", sel("app ==="))); err == nil {
		t.Error("NetworkPolicy with an unparsable selector: want an error")
	}
}
