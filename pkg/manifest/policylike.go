package manifest

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// networkingKinds are the kinds of networking.k8s.io that carry no policy: skipping them is safe.
var networkingKinds = map[string]bool{"Ingress": true, "IngressClass": true, "IPAddress": true, "ServiceCIDR": true}

// notUnderstood says why an object that could carry network policy cannot be read, or returns nil
// for a kind that is either decoded or certainly policy-free. Skipping a policy-like object would
// drop a policy from every verdict (issue 13 item 4), so these are fatal:
//
//   - any kind named like a network policy that is not decoded (v1 NetworkPolicy,
//     extensions/v1beta1 NetworkPolicy, a misspelt kind);
//   - any kind of networking.k8s.io other than the policy-free ones, and any kind of
//     policy.networking.k8s.io (AdminNetworkPolicy and its kin, which Palisade does not enforce);
//   - a version other than the decoded one of a decoded kind (discovery.k8s.io/v1beta1
//     EndpointSlice, networking.k8s.io/v1beta1 NetworkPolicy).
//
// Palisade's own group and Calico's are classified elsewhere.
func notUnderstood(gvk schema.GroupVersionKind) error {
	if _, ok := decoders[gvk]; ok {
		return nil
	}
	if gvk.Group == v1alpha1.GroupVersion.Group || gvk.Group == CalicoGroup || strings.HasSuffix(gvk.Group, "."+CalicoGroup) {
		return nil
	}
	gv := gvk.GroupVersion().String()
	for known := range decoders {
		if known.Group == gvk.Group && known.Kind == gvk.Kind {
			return fmt.Errorf("%s %s: unsupported version %q of %s; the version read is %s (skipping it could drop what it says about policy)", gv, gvk.Kind, gvk.Version, gvk.Kind, known.GroupVersion())
		}
	}
	switch {
	case gvk.Group == "extensions" && gvk.Kind == "NetworkPolicy":
		return fmt.Errorf("%s %s was removed in Kubernetes 1.16 and no cluster would store it; write it as %s", gv, gvk.Kind, networkingv1.SchemeGroupVersion)
	case strings.Contains(strings.ToLower(gvk.Kind), "networkpolic"):
		return fmt.Errorf("%s %s is not a policy kind Palisade reads (it reads %s NetworkPolicy and %s NetworkPolicy and GlobalNetworkPolicy); a policy left out would be missing from every verdict", gv, gvk.Kind, networkingv1.SchemeGroupVersion, v1alpha1.GroupVersion)
	case gvk.Group == networkingv1.GroupName && !networkingKinds[gvk.Kind]:
		return fmt.Errorf("%s %s: unknown kind of %s (its kinds are NetworkPolicy, Ingress, IngressClass, IPAddress and ServiceCIDR); a misspelt policy would be missing from every verdict", gv, gvk.Kind, networkingv1.GroupName)
	case gvk.Group == "policy.networking.k8s.io":
		return fmt.Errorf("%s %s is not supported: Palisade neither reads nor enforces %s, so a verdict would leave it out", gv, gvk.Kind, gvk.Group)
	}
	return nil
}
