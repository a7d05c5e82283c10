package clustercheck

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// namedPortUse is one named port written in a rule, with where it was written.
type namedPortUse struct {
	name string
	path *field.Path
}

// namedPortsOf lists the named ports of an EntityRule's ports and notPorts. A named port in notPorts
// that no pod declares excludes nothing, which is as surprising as an Allow that allows nothing.
func namedPortsOf(e *v1alpha1.EntityRule, path *field.Path) []namedPortUse {
	var uses []namedPortUse
	for _, list := range []struct {
		name  string
		ports []v1alpha1.Port
	}{{"ports", e.Ports}, {"notPorts", e.NotPorts}} {
		for j, p := range list.ports {
			if pr, err := p.Parse(); err == nil && pr.IsNamed() {
				uses = append(uses, namedPortUse{pr.Name, path.Child(list.name).Index(j)})
			}
		}
	}
	return uses
}

// namedPorts warns about every named port of a Palisade policy's rules that no pod it could resolve
// against declares (semantics §5.3): for the side of the rule that is the policy's own endpoint
// (ingress destination, egress source) the pods the policy selects, narrowed by that side's
// selectors; for the peer side the pods the peer's selectors match.
func (w *world) namedPorts(ns string, spec *v1alpha1.PolicySpec, subject *podFilter, selected []*endpoint) ([]validation.Warning, error) {
	var warns []validation.Warning
	for _, dir := range []struct {
		name  string
		rules []v1alpha1.Rule
	}{{"ingress", spec.Ingress}, {"egress", spec.Egress}} {
		for i := range dir.rules {
			r := &dir.rules[i]
			proto := namedPortProtocol(r)
			rulePath := field.NewPath("spec", dir.name).Index(i)
			for _, side := range []struct {
				name   string
				entity *v1alpha1.EntityRule
			}{{"source", &r.Source}, {"destination", &r.Destination}} {
				uses := namedPortsOf(side.entity, rulePath.Child(side.name))
				if len(uses) == 0 {
					continue
				}
				peer, err := w.peerFilter(ns, side.entity)
				if err != nil {
					return nil, err
				}
				local := (dir.name == "ingress") == (side.name == "destination")
				var cands []*endpoint
				desc := peer.describe()
				switch {
				case local:
					desc = subject.describe()
					for _, e := range selected {
						if !peer.restricts() || peer.matches(e) {
							cands = append(cands, e)
						}
					}
				case peer.none:
					// Host endpoints and global network sets, which this view does not hold.
					continue
				default:
					cands = w.pods(peer)
				}
				for _, u := range uses {
					if !anyDeclares(cands, u.name, proto) {
						warns = append(warns, namedPortWarning(u.path, desc, u.name, proto))
					}
				}
			}
		}
	}
	return warns, nil
}

// knpNamedPorts warns about named ports of a Kubernetes NetworkPolicy that no candidate pod declares:
// for ingress the pods the policy selects, for egress the pods of the rule's peers (semantics §7.2).
func (w *world) knpNamedPorts(p *networkingv1.NetworkPolicy, subject *podFilter, selected []*endpoint) ([]validation.Warning, error) {
	var warns []validation.Warning
	for i, r := range p.Spec.Ingress {
		path := field.NewPath("spec", "ingress").Index(i)
		for j, port := range r.Ports {
			if name, proto, ok := knpNamedPort(port); ok && !anyDeclares(selected, name, proto) {
				warns = append(warns, namedPortWarning(path.Child("ports").Index(j).Child("port"), subject.describe(), name, proto))
			}
		}
	}
	for i, r := range p.Spec.Egress {
		path := field.NewPath("spec", "egress").Index(i)
		var cands []*endpoint
		loaded, desc := false, "pod"
		for j, port := range r.Ports {
			name, proto, ok := knpNamedPort(port)
			if !ok {
				continue
			}
			if !loaded {
				var err error
				if cands, desc, err = w.knpEgressPeers(p.Namespace, r.To, path); err != nil {
					return nil, err
				}
				loaded = true
			}
			if !anyDeclares(cands, name, proto) {
				warns = append(warns, namedPortWarning(path.Child("ports").Index(j).Child("port"), desc, name, proto))
			}
		}
	}
	return warns, nil
}

// knpEgressPeers returns the pods an egress rule's peers match and how to name them. A rule without
// peers, or with an ipBlock, may reach any pod.
func (w *world) knpEgressPeers(ns string, to []networkingv1.NetworkPolicyPeer, path *field.Path) ([]*endpoint, string, error) {
	if len(to) == 0 {
		return w.endpoints(""), "pod", nil
	}
	seen := map[*endpoint]bool{}
	var cands []*endpoint
	desc := "pod matched by " + path.Child("to").String()
	for k := range to {
		f, err := knpPeerFilter(ns, &to[k])
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path.Child("to").Index(k), err)
		}
		if len(to) == 1 {
			desc = f.describe()
		}
		for _, e := range w.pods(f) {
			if !seen[e] {
				seen[e] = true
				cands = append(cands, e)
			}
		}
	}
	return cands, desc, nil
}

// knpNamedPort returns the name and protocol of a named Kubernetes NetworkPolicy port.
func knpNamedPort(p networkingv1.NetworkPolicyPort) (name, proto string, ok bool) {
	if p.Port == nil || p.Port.Type != intstr.String {
		return "", "", false
	}
	proto = string(corev1.ProtocolTCP)
	if p.Protocol != nil {
		proto = string(*p.Protocol)
	}
	return p.Port.StrVal, proto, true
}

func anyDeclares(eps []*endpoint, name, proto string) bool {
	for _, e := range eps {
		if e.declares(name, proto) {
			return true
		}
	}
	return false
}

func namedPortWarning(path *field.Path, pods, name, proto string) validation.Warning {
	port := fmt.Sprintf("port %q", shorten(name))
	if proto != "" {
		port = proto + " " + port
	}
	return validation.Warning{Field: path.String(), Message: fmt.Sprintf("no %s declares %s", pods, port)}
}
