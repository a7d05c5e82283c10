package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

type knpTweak func(*networkingv1.NetworkPolicy)

// makeKNP builds a valid Kubernetes NetworkPolicy selecting app=web and applies the tweaks.
func makeKNP(name, ns string, tweaks ...knpTweak) *networkingv1.NetworkPolicy {
	p := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
	for _, t := range tweaks {
		t(p)
	}
	return p
}

func knp(tweaks ...knpTweak) *networkingv1.NetworkPolicy { return makeKNP("web", "prod", tweaks...) }

func knpTypes(ts ...networkingv1.PolicyType) knpTweak {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.PolicyTypes = ts }
}
func knpIngress(rs ...networkingv1.NetworkPolicyIngressRule) knpTweak {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.Ingress = rs }
}
func knpEgress(rs ...networkingv1.NetworkPolicyEgressRule) knpTweak {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.Egress = rs }
}
func knpPodSelector(s metav1.LabelSelector) knpTweak {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.PodSelector = s }
}
func from(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{From: peers}
}
func to(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: peers}
}
func inPorts(r networkingv1.NetworkPolicyIngressRule, ps ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyIngressRule {
	r.Ports = ps
	return r
}
func outPorts(r networkingv1.NetworkPolicyEgressRule, ps ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyEgressRule {
	r.Ports = ps
	return r
}
func labelSel(kv ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: kvMap(kv)}
}
func podPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: labelSel(kv...)}
}
func nsPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: labelSel(kv...)}
}
func ipPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}
func knpPort(protocol string, port any, endPort *int32) networkingv1.NetworkPolicyPort {
	var np networkingv1.NetworkPolicyPort
	if protocol != "" {
		np.Protocol = ptr.To(corev1.Protocol(protocol))
	}
	switch v := port.(type) {
	case int:
		np.Port = ptr.To(intstr.FromInt32(int32(v)))
	case string:
		np.Port = ptr.To(intstr.FromString(v))
	}
	np.EndPort = endPort
	return np
}

type knpCase struct {
	name      string
	obj       *networkingv1.NetworkPolicy
	wantErrs  []wantErr
	wantWarns []string
}

func TestKubernetesNetworkPolicy(t *testing.T) {
	const (
		cidrInvalid = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
		strictSub   = "must be a strict subset of `cidr` (10.0.0.0/8)"
	)
	cases := []knpCase{
		// Valid policies from the guides' scenarios.
		{name: "default deny ingress", obj: knp(knpPodSelector(metav1.LabelSelector{}), knpTypes("Ingress"))},
		{name: "default deny both", obj: knp(knpPodSelector(metav1.LabelSelector{}), knpTypes("Ingress", "Egress"))},
		{name: "frontend to api", obj: knp(knpTypes("Ingress"), knpIngress(inPorts(from(networkingv1.NetworkPolicyPeer{
			NamespaceSelector: labelSel("name", "frontend"), PodSelector: labelSel("app", "web")}), knpPort("TCP", 8080, nil))))},
		{name: "allow dns", obj: knp(knpTypes("Egress"), knpEgress(outPorts(to(networkingv1.NetworkPolicyPeer{
			NamespaceSelector: labelSel("name", "kube-system"), PodSelector: labelSel("k8s-app", "kube-dns")}),
			knpPort("UDP", 53, nil), knpPort("TCP", 53, nil))))},
		{name: "three-tier database with egress: []", obj: knp(knpTypes("Ingress", "Egress"), knpIngress(inPorts(from(networkingv1.NetworkPolicyPeer{
			NamespaceSelector: labelSel("name", "backend"), PodSelector: labelSel("tier", "api")}), knpPort("", 5432, nil))),
			knpEgress())},
		{name: "ingress from all pods of the namespace", obj: knp(knpIngress(from(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}})))},
		{name: "rule without peers or ports", obj: knp(knpIngress(from()))},
		{name: "ipBlock with except", obj: knp(knpEgress(to(ipPeer("10.0.0.0/8", "10.1.0.0/16", "10.2.3.0/24"))))},
		{name: "ipv6 ipBlock", obj: knp(knpEgress(to(ipPeer("2001:db8::/32", "2001:db8:1::/48"))))},
		{name: "named port", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", "https", nil))))},
		{name: "port range", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", 32000, ptr.To[int32](32768)))))},
		{name: "endPort equal to port", obj: knp(knpIngress(inPorts(from(), knpPort("SCTP", 80, ptr.To[int32](80)))))},
		{name: "protocol only", obj: knp(knpIngress(inPorts(from(), knpPort("UDP", nil, nil))))},
		{name: "matchExpressions", obj: knp(knpPodSelector(metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"api", "web"}},
			{Key: "legacy", Operator: metav1.LabelSelectorOpDoesNotExist}}}))},
		// Metadata.
		{name: "name with dots", obj: makeKNP("allow.web.v2", "prod")},
		{name: "bad name", obj: makeKNP("Web", "prod"),
			wantErrs: []wantErr{inv("metadata.name", subdomainDetail)}},
		{name: "missing namespace", obj: makeKNP("web", ""),
			wantErrs: []wantErr{req("metadata.namespace", "")}},
		// Selectors.
		{name: "podSelector bad label value", obj: knp(knpPodSelector(metav1.LabelSelector{MatchLabels: map[string]string{"app": "a b"}})),
			wantErrs: []wantErr{inv("spec.podSelector.matchLabels", `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`)}},
		{name: "podSelector In without values", obj: knp(knpPodSelector(metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn}}})),
			wantErrs: []wantErr{req("spec.podSelector.matchExpressions[0].values", "must be specified when `operator` is 'In' or 'NotIn'")}},
		{name: "peer namespaceSelector bad operator", obj: knp(knpIngress(from(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Equals", Values: []string{"a"}}}}}))),
			wantErrs: []wantErr{inv("spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator", "not a valid selector operator")}},
		{name: "peer podSelector Exists with values", obj: knp(knpEgress(to(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpExists, Values: []string{"a"}}}}}))),
			wantErrs: []wantErr{forb("spec.egress[0].to[0].podSelector.matchExpressions[0].values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")}},
		// Peers.
		{name: "empty peer", obj: knp(knpIngress(from(networkingv1.NetworkPolicyPeer{}))),
			wantErrs: []wantErr{req("spec.ingress[0].from[0]", "must specify a peer: set podSelector, namespaceSelector or ipBlock")}},
		{name: "ipBlock with podSelector", obj: knp(knpEgress(to(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: labelSel("a", "b")}))),
			wantErrs: []wantErr{forb("spec.egress[0].to[0]", "may not specify both ipBlock and another peer: use separate peers")}},
		{name: "second peer empty", obj: knp(knpEgress(to(podPeer("a", "b"), networkingv1.NetworkPolicyPeer{}))),
			wantErrs: []wantErr{req("spec.egress[0].to[1]", "must specify a peer: set podSelector, namespaceSelector or ipBlock")}},
		{name: "namespace peer valid", obj: knp(knpIngress(from(nsPeer("team", "a"))))},
		// ipBlock.
		{name: "ipBlock empty cidr", obj: knp(knpIngress(from(ipPeer("")))),
			wantErrs: []wantErr{req("spec.ingress[0].from[0].ipBlock.cidr", "must be a CIDR such as 10.0.0.0/8")}},
		{name: "ipBlock bad cidr", obj: knp(knpIngress(from(ipPeer("10.0.0.0")))),
			wantErrs: []wantErr{inv("spec.ingress[0].from[0].ipBlock.cidr", cidrInvalid)}},
		{name: "ipBlock bits beyond prefix", obj: knp(knpIngress(from(ipPeer("10.0.0.1/8")))),
			wantErrs: []wantErr{inv("spec.ingress[0].from[0].ipBlock.cidr", "must not have bits set beyond the prefix length")}},
		{name: "ipBlock leading zeros", obj: knp(knpIngress(from(ipPeer("010.0.0.0/8")))),
			wantErrs: []wantErr{inv("spec.ingress[0].from[0].ipBlock.cidr", "must not have leading 0s in IP or prefix length")}},
		{name: "except equal to cidr", obj: knp(knpEgress(to(ipPeer("10.0.0.0/8", "10.0.0.0/8")))),
			wantErrs: []wantErr{inv("spec.egress[0].to[0].ipBlock.except[0]", strictSub)}},
		{name: "except outside cidr", obj: knp(knpEgress(to(ipPeer("10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16")))),
			wantErrs: []wantErr{inv("spec.egress[0].to[0].ipBlock.except[1]", strictSub)}},
		{name: "except wider than cidr", obj: knp(knpEgress(to(ipPeer("10.0.0.0/8", "0.0.0.0/0")))),
			wantErrs: []wantErr{inv("spec.egress[0].to[0].ipBlock.except[0]", strictSub)}},
		{name: "except other family", obj: knp(knpEgress(to(ipPeer("10.0.0.0/8", "::/64")))),
			wantErrs: []wantErr{inv("spec.egress[0].to[0].ipBlock.except[0]", strictSub)}},
		{name: "except invalid", obj: knp(knpEgress(to(ipPeer("10.0.0.0/8", "nope")))),
			wantErrs: []wantErr{inv("spec.egress[0].to[0].ipBlock.except[0]", cidrInvalid)}},
		// Ports.
		{name: "protocol ICMP", obj: knp(knpIngress(inPorts(from(), knpPort("ICMP", 80, nil)))),
			wantErrs: []wantErr{notSup("spec.ingress[0].ports[0].protocol", "TCP", "UDP", "SCTP")}},
		{name: "protocol lowercase", obj: knp(knpEgress(outPorts(to(), knpPort("tcp", 80, nil)))),
			wantErrs: []wantErr{notSup("spec.egress[0].ports[0].protocol", "TCP", "UDP", "SCTP")}},
		{name: "port 0", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", 0, nil)))),
			wantErrs: []wantErr{inv("spec.ingress[0].ports[0].port", "port number must be between 1 and 65535, inclusive")}},
		{name: "port 65536", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", 65536, nil)))),
			wantErrs: []wantErr{inv("spec.ingress[0].ports[0].port", "port number must be between 1 and 65535, inclusive")}},
		{name: "port name invalid", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", "web--ui", nil)))),
			wantErrs: []wantErr{inv("spec.ingress[0].ports[0].port", "port name must not contain consecutive hyphens")}},
		{name: "port numeric string is a name", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", "80", nil)))),
			wantErrs: []wantErr{inv("spec.ingress[0].ports[0].port", "port name must contain at least one letter (a-z)")}},
		{name: "endPort below port", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", 100, ptr.To[int32](99))))),
			wantErrs: []wantErr{inv("spec.ingress[0].ports[0].endPort", "must be greater than or equal to `port`")}},
		{name: "endPort too big", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", 100, ptr.To[int32](70000))))),
			wantErrs: []wantErr{inv("spec.ingress[0].ports[0].endPort", "port number must be between 1 and 65535, inclusive")}},
		{name: "endPort with named port", obj: knp(knpIngress(inPorts(from(), knpPort("TCP", "http", ptr.To[int32](90))))),
			wantErrs: []wantErr{inv("spec.ingress[0].ports[0].endPort", "may not be specified when `port` is non-numeric: use a port number with endPort")}},
		{name: "endPort without port", obj: knp(knpEgress(outPorts(to(), knpPort("TCP", nil, ptr.To[int32](90))))),
			wantErrs: []wantErr{inv("spec.egress[0].ports[0].endPort", "may not be specified when `port` is not specified: set port to the start of the range")}},
		// policyTypes.
		{name: "policyTypes three", obj: knp(knpTypes("Ingress", "Egress", "Ingress")),
			wantErrs: []wantErr{inv("spec.policyTypes", "may not specify more than two policyTypes: use Ingress, Egress or both")}},
		{name: "policyTypes unknown", obj: knp(knpTypes("Ingress", "egress")),
			wantErrs: []wantErr{notSup("spec.policyTypes[1]", "Ingress", "Egress")}},
		{name: "policyTypes duplicate is upstream-valid", obj: knp(knpTypes("Ingress", "Ingress"))},
		// Warnings: rules of an ungoverned direction (section 7.3 #1).
		{name: "egress rules without Egress type", obj: knp(knpTypes("Ingress"), knpEgress(to(podPeer("a", "b")))),
			wantWarns: []string{"spec.policyTypes: does not include Egress: the egress rules are ignored"}},
		{name: "ingress rules without Ingress type", obj: knp(knpTypes("Egress"), knpIngress(from(podPeer("a", "b")))),
			wantWarns: []string{"spec.policyTypes: does not include Ingress: the ingress rules are ignored"}},
		{name: "egress rules with defaulted types", obj: knp(knpEgress(to(podPeer("a", "b"))))},
		{name: "egress: [] without Egress type", obj: knp(knpTypes("Ingress"), knpEgress())},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs, warns := ValidateKubernetesNetworkPolicy(tc.obj)
			checkResult(t, errs, warns, tc.wantErrs, tc.wantWarns)
		})
	}
}
