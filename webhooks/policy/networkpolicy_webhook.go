package policy

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// The webhook configurations below are generated into config/webhook/manifests.yaml by controller-gen.
// failurePolicy=fail: an invalid policy must never be stored (Felix would silently drop it, semantics
// §0). The namespaceSelector keeps the webhooks off the namespaces needed to repair a cluster whose
// Palisade webhook is down: kube-system, kube-node-lease, kube-public and palisade-system.
//
// +kubebuilder:webhook:path=/mutate-policy-palisade-dev-v1alpha1-networkpolicy,mutating=true,failurePolicy=fail,sideEffects=None,groups=policy.palisade.dev,resources=networkpolicies,verbs=create;update,versions=v1alpha1,name=mnetworkpolicy.policy.palisade.dev,admissionReviewVersions=v1,timeoutSeconds=5,reinvocationPolicy=IfNeeded,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kube-node-lease","kube-public","palisade-system"]}]}}`
// +kubebuilder:webhook:path=/validate-policy-palisade-dev-v1alpha1-networkpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=policy.palisade.dev,resources=networkpolicies,verbs=create;update,versions=v1alpha1,name=vnetworkpolicy.policy.palisade.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kube-node-lease","kube-public","palisade-system"]}]}}`

// NetworkPolicyWebhook defaults and validates namespaced Palisade policies.
type NetworkPolicyWebhook struct {
	// View supplies the cluster findings; nil turns them off.
	View *ClusterView
}

var (
	_ admission.Defaulter[*v1alpha1.NetworkPolicy] = &NetworkPolicyWebhook{}
	_ admission.Validator[*v1alpha1.NetworkPolicy] = &NetworkPolicyWebhook{}
)

// Default fills types, tier and rollout so that what is stored is explicit. It is idempotent.
func (w *NetworkPolicyWebhook) Default(_ context.Context, p *v1alpha1.NetworkPolicy) error {
	defaulting.NetworkPolicy(p)
	return nil
}

// ValidateCreate rejects an invalid policy with every field error, and warns about soft problems.
func (w *NetworkPolicyWebhook) ValidateCreate(ctx context.Context, p *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	return w.validate(ctx, p)
}

// ValidateUpdate validates like ValidateCreate, except that an update leaving the spec as it is
// passes silently: an object stored before a validation rule tightened, or while the webhook was
// bypassed, must stay updatable for its metadata (labels, finalizers), and re-warning about an
// unchanged spec is noise.
func (w *NetworkPolicyWebhook) ValidateUpdate(ctx context.Context, old, p *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	if apiequality.Semantic.DeepEqual(old.Spec, p.Spec) {
		return nil, nil
	}
	return w.validate(ctx, p)
}

// ValidateDelete allows every deletion; the webhook is not registered for deletes.
func (w *NetworkPolicyWebhook) ValidateDelete(context.Context, *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	return nil, nil
}

func (w *NetworkPolicyWebhook) validate(ctx context.Context, p *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	errs, warns := validation.ValidateNetworkPolicy(p)
	if len(errs) > 0 {
		gk := v1alpha1.GroupVersion.WithKind("NetworkPolicy").GroupKind()
		return toWarnings(warns), apierrors.NewInvalid(gk, p.Name, errs)
	}
	if w.View != nil {
		found, err := w.View.checker(ctx).NetworkPolicy(p)
		if err != nil {
			log.FromContext(ctx).Error(err, "cluster checks skipped")
		}
		warns = append(warns, found...)
	}
	return toWarnings(warns), nil
}
