package policy

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/pkg/clustercheck"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// The Kubernetes NetworkPolicy webhook only ever warns, so failurePolicy=ignore and a short timeout:
// Palisade being down must never make Kubernetes NetworkPolicies unwritable.
//
// +kubebuilder:webhook:path=/validate-networking-k8s-io-v1-networkpolicy,mutating=false,failurePolicy=ignore,sideEffects=None,groups=networking.k8s.io,resources=networkpolicies,verbs=create;update,versions=v1,name=vkubernetesnetworkpolicy.policy.palisade.dev,admissionReviewVersions=v1,timeoutSeconds=2,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kube-node-lease","kube-public","palisade-system"]}]}}`

// KubernetesNetworkPolicyWebhook warns about networking.k8s.io/v1 NetworkPolicies that the API
// server accepts but that do not do what they seem to: named ports no pod declares, an egress
// default-deny without DNS, and the policyTypes traps pkg/validation reports. It never denies.
type KubernetesNetworkPolicyWebhook struct {
	// View supplies the cluster findings; nil turns them off.
	View *ClusterView
}

var _ admission.Validator[*networkingv1.NetworkPolicy] = &KubernetesNetworkPolicyWebhook{}

// ValidateCreate returns warnings only.
func (w *KubernetesNetworkPolicyWebhook) ValidateCreate(ctx context.Context, p *networkingv1.NetworkPolicy) (admission.Warnings, error) {
	return w.warn(ctx, p), nil
}

// ValidateUpdate returns warnings only, and none when the spec is unchanged.
func (w *KubernetesNetworkPolicyWebhook) ValidateUpdate(ctx context.Context, old, p *networkingv1.NetworkPolicy) (admission.Warnings, error) {
	if apiequality.Semantic.DeepEqual(old.Spec, p.Spec) {
		return nil, nil
	}
	return w.warn(ctx, p), nil
}

// ValidateDelete allows every deletion; the webhook is not registered for deletes.
func (w *KubernetesNetworkPolicyWebhook) ValidateDelete(context.Context, *networkingv1.NetworkPolicy) (admission.Warnings, error) {
	return nil, nil
}

func (w *KubernetesNetworkPolicyWebhook) warn(ctx context.Context, p *networkingv1.NetworkPolicy) admission.Warnings {
	errs, warns := validation.ValidateKubernetesNetworkPolicy(p)
	if len(errs) > 0 {
		// The API server has validated the object before this webhook sees it, so this only
		// happens where Palisade's reading is stricter; say so, but never deny.
		return toWarnings(append(errorsAsWarnings(errs), warns...))
	}
	return toWarnings(append(warns, findings(ctx, w.View, (*clustercheck.Checker).KubernetesNetworkPolicy, p)...))
}
