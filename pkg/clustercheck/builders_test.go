package clustercheck

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// The checks read pods, namespaces and service accounts in the engine's model.
type (
	Pod            = engine.Endpoint
	NamedPort      = engine.NamedPort
	Namespace      = engine.Namespace
	ServiceAccount = engine.ServiceAccount
)

// cluster is a Lister over slices. A non-nil err fails every call.
type cluster struct {
	pods       []Pod
	namespaces []Namespace
	sas        []ServiceAccount
	nps        []*v1alpha1.NetworkPolicy
	gnps       []*v1alpha1.GlobalNetworkPolicy
	knps       []*networkingv1.NetworkPolicy
	err        error
}

var errList = errors.New("cache not synced")

// ctx is the context of every check in the tests: it never ends.
var ctx = context.Background()

func inNS[T any](items []T, ns string, nsOf func(T) string) []T {
	var out []T
	for _, it := range items {
		if ns == "" || nsOf(it) == ns {
			out = append(out, it)
		}
	}
	return out
}

func (c *cluster) Pods(ns string) ([]*Pod, error) {
	var out []*Pod
	for i := range c.pods {
		if ns == "" || c.pods[i].Namespace == ns {
			out = append(out, &c.pods[i])
		}
	}
	return out, c.err
}
func (c *cluster) Namespaces() ([]Namespace, error) { return c.namespaces, c.err }
func (c *cluster) ServiceAccounts(ns string) ([]ServiceAccount, error) {
	return inNS(c.sas, ns, func(s ServiceAccount) string { return s.Namespace }), c.err
}
func (c *cluster) NetworkPolicies(ns string) ([]*v1alpha1.NetworkPolicy, error) {
	return inNS(c.nps, ns, func(p *v1alpha1.NetworkPolicy) string { return p.Namespace }), c.err
}
func (c *cluster) GlobalNetworkPolicies() ([]*v1alpha1.GlobalNetworkPolicy, error) {
	return c.gnps, c.err
}
func (c *cluster) KubernetesNetworkPolicies(ns string) ([]*networkingv1.NetworkPolicy, error) {
	return inNS(c.knps, ns, func(p *networkingv1.NetworkPolicy) string { return p.Namespace }), c.err
}

func pod(ns, name string, labels map[string]string, ports ...NamedPort) Pod {
	return Pod{Namespace: ns, Name: name, ServiceAccount: "default", Labels: labels, Ports: ports}
}

func tcp(name string, port uint16) NamedPort {
	return NamedPort{Name: name, Protocol: engine.ProtoTCP, Port: port}
}
func udp(name string, port uint16) NamedPort {
	return NamedPort{Name: name, Protocol: engine.ProtoUDP, Port: port}
}

func withSA(sa string, p Pod) Pod { p.ServiceAccount = sa; return p }

type npTweak func(*v1alpha1.PolicySpec)

func np(ns, name string, tweaks ...npTweak) *v1alpha1.NetworkPolicy {
	p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, t := range tweaks {
		t(&p.Spec.PolicySpec)
	}
	return p
}

func gnp(name string, tweaks ...func(*v1alpha1.GlobalNetworkPolicySpec)) *v1alpha1.GlobalNetworkPolicy {
	p := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, t := range tweaks {
		t(&p.Spec)
	}
	return p
}

// spec lifts a PolicySpec tweak to a GlobalNetworkPolicySpec tweak.
func spec(t npTweak) func(*v1alpha1.GlobalNetworkPolicySpec) {
	return func(s *v1alpha1.GlobalNetworkPolicySpec) { t(&s.PolicySpec) }
}

func sel(s string) npTweak    { return func(p *v1alpha1.PolicySpec) { p.Selector = s } }
func order(o float64) npTweak { return func(p *v1alpha1.PolicySpec) { p.Order = &o } }
func types(ts ...v1alpha1.PolicyType) npTweak {
	return func(p *v1alpha1.PolicySpec) { p.Types = ts }
}
func ingress(rs ...v1alpha1.Rule) npTweak {
	return func(p *v1alpha1.PolicySpec) { p.Ingress = append(p.Ingress, rs...) }
}
func egress(rs ...v1alpha1.Rule) npTweak {
	return func(p *v1alpha1.PolicySpec) { p.Egress = append(p.Egress, rs...) }
}

type ruleTweak func(*v1alpha1.Rule)

func rule(action v1alpha1.Action, tweaks ...ruleTweak) v1alpha1.Rule {
	r := v1alpha1.Rule{Action: action}
	for _, t := range tweaks {
		t(&r)
	}
	return r
}

func proto(p string) ruleTweak {
	return func(r *v1alpha1.Rule) { r.Protocol = ptr.To(v1alpha1.ProtocolFromString(p)) }
}
func dst(t func(*v1alpha1.EntityRule)) ruleTweak {
	return func(r *v1alpha1.Rule) { t(&r.Destination) }
}
func src(t func(*v1alpha1.EntityRule)) ruleTweak { return func(r *v1alpha1.Rule) { t(&r.Source) } }

func ports(ps ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) {
		for _, p := range ps {
			e.Ports = append(e.Ports, v1alpha1.PortFromString(p))
		}
	}
}

func notPorts(ps ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) {
		for _, p := range ps {
			e.NotPorts = append(e.NotPorts, v1alpha1.PortFromString(p))
		}
	}
}

func entity(tweaks ...func(*v1alpha1.EntityRule)) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) {
		for _, t := range tweaks {
			t(e)
		}
	}
}

func eSel(s string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.Selector = s }
}
func eNsSel(s string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.NamespaceSelector = s }
}
func eSANames(ns ...string) func(*v1alpha1.EntityRule) {
	return func(e *v1alpha1.EntityRule) { e.ServiceAccounts = &v1alpha1.ServiceAccountMatch{Names: ns} }
}

type knpTweak func(*networkingv1.NetworkPolicySpec)

func knp(ns, name string, tweaks ...knpTweak) *networkingv1.NetworkPolicy {
	p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, t := range tweaks {
		t(&p.Spec)
	}
	return p
}

func podSel(labels map[string]string) knpTweak {
	return func(s *networkingv1.NetworkPolicySpec) { s.PodSelector = metav1.LabelSelector{MatchLabels: labels} }
}

func policyTypes(ts ...networkingv1.PolicyType) knpTweak {
	return func(s *networkingv1.NetworkPolicySpec) { s.PolicyTypes = ts }
}

func knpIngress(r networkingv1.NetworkPolicyIngressRule) knpTweak {
	return func(s *networkingv1.NetworkPolicySpec) { s.Ingress = append(s.Ingress, r) }
}

func knpEgress(r networkingv1.NetworkPolicyEgressRule) knpTweak {
	return func(s *networkingv1.NetworkPolicySpec) { s.Egress = append(s.Egress, r) }
}

func knpPort(protocol corev1.Protocol, port intstr.IntOrString) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: &protocol, Port: &port}
}
