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

// A GlobalNetworkPolicy is cluster-scoped, so no namespaceSelector applies to it; it is not excluded
// by an objectSelector either, because a label that switches validation off would let any writer
// store a policy Felix-style enforcement would silently drop.
//
// +kubebuilder:webhook:path=/mutate-policy-palisade-dev-v1alpha1-globalnetworkpolicy,mutating=true,failurePolicy=fail,sideEffects=None,groups=policy.palisade.dev,resources=globalnetworkpolicies,verbs=create;update,versions=v1alpha1,name=mglobalnetworkpolicy.policy.palisade.dev,admissionReviewVersions=v1,timeoutSeconds=5,reinvocationPolicy=IfNeeded
// +kubebuilder:webhook:path=/validate-policy-palisade-dev-v1alpha1-globalnetworkpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=policy.palisade.dev,resources=globalnetworkpolicies,verbs=create;update,versions=v1alpha1,name=vglobalnetworkpolicy.policy.palisade.dev,admissionReviewVersions=v1,timeoutSeconds=5

// GlobalNetworkPolicyWebhook defaults and validates cluster-wide Palisade policies.
type GlobalNetworkPolicyWebhook struct {
	// View supplies the cluster findings; nil turns them off.
	View *ClusterView
}

var (
	_ admission.Defaulter[*v1alpha1.GlobalNetworkPolicy] = &GlobalNetworkPolicyWebhook{}
	_ admission.Validator[*v1alpha1.GlobalNetworkPolicy] = &GlobalNetworkPolicyWebhook{}
)

// Default fills types, tier and rollout so that what is stored is explicit. It is idempotent.
func (w *GlobalNetworkPolicyWebhook) Default(_ context.Context, p *v1alpha1.GlobalNetworkPolicy) error {
	defaulting.GlobalNetworkPolicy(p)
	return nil
}

// ValidateCreate rejects an invalid policy with every field error, and warns about soft problems.
func (w *GlobalNetworkPolicyWebhook) ValidateCreate(ctx context.Context, p *v1alpha1.GlobalNetworkPolicy) (admission.Warnings, error) {
	return w.validate(ctx, p)
}

// ValidateUpdate validates like ValidateCreate, except that an update leaving the spec as it is
// passes silently (see NetworkPolicyWebhook.ValidateUpdate).
func (w *GlobalNetworkPolicyWebhook) ValidateUpdate(ctx context.Context, old, p *v1alpha1.GlobalNetworkPolicy) (admission.Warnings, error) {
	if apiequality.Semantic.DeepEqual(old.Spec, p.Spec) {
		return nil, nil
	}
	return w.validate(ctx, p)
}

// ValidateDelete allows every deletion; the webhook is not registered for deletes.
func (w *GlobalNetworkPolicyWebhook) ValidateDelete(context.Context, *v1alpha1.GlobalNetworkPolicy) (admission.Warnings, error) {
	return nil, nil
}

func (w *GlobalNetworkPolicyWebhook) validate(ctx context.Context, p *v1alpha1.GlobalNetworkPolicy) (admission.Warnings, error) {
	errs, warns := validation.ValidateGlobalNetworkPolicy(p)
	if len(errs) > 0 {
		gk := v1alpha1.GroupVersion.WithKind("GlobalNetworkPolicy").GroupKind()
		return toWarnings(warns), apierrors.NewInvalid(gk, p.Name, errs)
	}
	if w.View != nil {
		found, err := w.View.checker(ctx).GlobalNetworkPolicy(p)
		if err != nil {
			log.FromContext(ctx).Error(err, "cluster checks skipped")
		}
		warns = append(warns, found...)
	}
	return toWarnings(warns), nil
}
