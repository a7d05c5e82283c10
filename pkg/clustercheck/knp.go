package clustercheck

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	// Aliased: the tests build Kubernetes policies with a helper named knp.
	k8snp "github.com/palisade-dev/palisade/pkg/knp"
)

// kubernetesPolicy is a Kubernetes NetworkPolicy in the Calico model: its pkg/knp translation in the
// form of a Palisade NetworkPolicy (order 1000, default tier, selectors as written without Calico's
// orchestrator clause), which every check reads as it reads a Palisade policy, so that there is one
// reading of what a Kubernetes NetworkPolicy selects and allows. What the checks report is mapped
// back to the object as written: its field paths and its label selectors.
type kubernetesPolicy struct {
	written *networkingv1.NetworkPolicy
	k8snp.Policy
}

// translate translates a Kubernetes NetworkPolicy. One the API server has accepted always
// translates; an error means the object is not valid Kubernetes.
func translate(p *networkingv1.NetworkPolicy) (*kubernetesPolicy, error) {
	tr, errs := k8snp.Translate(&p.Spec, k8snp.FormPalisade)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("translating Kubernetes NetworkPolicy %s/%s: %w", p.Namespace, p.Name, err)
	}
	return &kubernetesPolicy{written: p, Policy: tr}, nil
}

func (k *kubernetesPolicy) id() policyID {
	return policyID{kindKNP, k.written.Namespace, k.written.Name}
}

// origin returns the index of the Kubernetes rule a translated rule was made from.
func (k *kubernetesPolicy) origin(dir, rule int) int {
	if dir == dirIngress {
		return k.IngressOrigins[rule]
	}
	return k.EgressOrigins[rule]
}

// rule returns the ports and the peers of a Kubernetes rule.
func (k *kubernetesPolicy) rule(dir, i int) ([]networkingv1.NetworkPolicyPort, []networkingv1.NetworkPolicyPeer) {
	if dir == dirIngress {
		r := &k.written.Spec.Ingress[i]
		return r.Ports, r.From
	}
	r := &k.written.Spec.Egress[i]
	return r.Ports, r.To
}

// portSites returns the entries of the Kubernetes rule a translated rule was made from that wrote the
// named port name for protocol proto: translation groups a rule's ports by protocol and may merge
// entries, so that one translated port stands for every entry that wrote it.
func (k *kubernetesPolicy) portSites(s portSite, name, proto string) []portSite {
	origin := k.origin(s.dir, s.rule)
	ports, _ := k.rule(s.dir, origin)
	var out []portSite
	for j, port := range ports {
		written := corev1.ProtocolTCP // the API server's default
		if port.Protocol != nil {
			written = *port.Protocol
		}
		if port.Port != nil && port.Port.Type == intstr.String && port.Port.StrVal == name && string(written) == proto {
			out = append(out, portSite{s.dir, origin, s.side, s.list, j})
		}
	}
	return out
}

// portPath is the field a site of portSites names: spec.egress[0].ports[1].port.
func (k *kubernetesPolicy) portPath(s portSite) *field.Path {
	return field.NewPath("spec", dirNames[s.dir]).Index(s.rule).Child("ports").Index(s.index).Child("port")
}

// peerPods names the peer pods of a translated rule by the Kubernetes rule it was made from: its one
// peer's selectors as written, or, for several peers (translated into one rule each, whose candidates
// the check unites), the field that lists them.
func (k *kubernetesPolicy) peerPods(dir, rule int, translated *podFilter) string {
	origin := k.origin(dir, rule)
	_, peers := k.rule(dir, origin)
	switch len(peers) {
	case 0:
		return translated.describe()
	case 1:
		written := &podFilter{selText: labelSelectorText(peers[0].PodSelector), nsText: labelSelectorText(peers[0].NamespaceSelector)}
		if peers[0].NamespaceSelector == nil && peers[0].IPBlock == nil {
			written.namespace = k.written.Namespace
		}
		return written.describe()
	}
	peersField := "to"
	if dir == dirIngress {
		peersField = "from"
	}
	return "pod matched by " + field.NewPath("spec", dirNames[dir]).Index(origin).Child(peersField).String()
}

// labelSelectorText renders a Kubernetes label selector as kubectl does (app=web); "" for one that
// selects everything, which a message leaves out.
func labelSelectorText(s *metav1.LabelSelector) string {
	if s == nil {
		return ""
	}
	if text := metav1.FormatLabelSelector(s); text != "<none>" {
		return text
	}
	return ""
}
