package policy

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/clustercheck"
	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// A GlobalNetworkPolicy is cluster-scoped, so no namespaceSelector applies to it; it is not excluded
// by an objectSelector either, because a label that switches validation off would let any writer
// store a policy Felix-style enforcement would silently drop. Its mutating webhook is registered
// only where the API server does not fill the defaults itself, and is then matched out once they
// are filled, as the NetworkPolicy's is (see there).
//
// +kubebuilder:webhook:path=/mutate-policy-palisade-dev-v1alpha1-globalnetworkpolicy,mutating=true,failurePolicy=fail,sideEffects=None,groups=policy.palisade.dev,resources=globalnetworkpolicies,verbs=create;update,versions=v1alpha1,name=mglobalnetworkpolicy.policy.palisade.dev,admissionReviewVersions=v1,timeoutSeconds=5,reinvocationPolicy=IfNeeded,patch=`{"matchConditions":[{"name":"not-yet-defaulted","expression":"!has(object.spec) || !has(object.spec.types) || size(object.spec.types) == 0 || object.spec.?tier.orValue('') == '' || object.spec.?rollout.?strategy.orValue('') == ''"}]}`
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

var globalNetworkPolicyKind = palisadeKind[*v1alpha1.GlobalNetworkPolicy]{
	name:     "GlobalNetworkPolicy",
	defaults: defaulting.GlobalNetworkPolicy,
	validate: validation.ValidateGlobalNetworkPolicy,
	check:    (*clustercheck.Checker).GlobalNetworkPolicy,
	spec:     func(p *v1alpha1.GlobalNetworkPolicy) any { return p.Spec },
}

// Default fills types, tier and rollout so that what is stored is explicit. It is idempotent.
func (w *GlobalNetworkPolicyWebhook) Default(_ context.Context, p *v1alpha1.GlobalNetworkPolicy) error {
	return globalNetworkPolicyKind.defaultObject(p)
}

// ValidateCreate rejects an invalid policy with every field error, and warns about soft problems.
func (w *GlobalNetworkPolicyWebhook) ValidateCreate(ctx context.Context, p *v1alpha1.GlobalNetworkPolicy) (admission.Warnings, error) {
	return globalNetworkPolicyKind.validateCreate(ctx, w.View, p)
}

// ValidateUpdate validates like ValidateCreate, except that an update leaving the spec as it is
// passes silently (see palisadeKind.validateUpdate).
func (w *GlobalNetworkPolicyWebhook) ValidateUpdate(ctx context.Context, old, p *v1alpha1.GlobalNetworkPolicy) (admission.Warnings, error) {
	return globalNetworkPolicyKind.validateUpdate(ctx, w.View, old, p)
}

// ValidateDelete allows every deletion; the webhook is not registered for deletes.
func (w *GlobalNetworkPolicyWebhook) ValidateDelete(context.Context, *v1alpha1.GlobalNetworkPolicy) (admission.Warnings, error) {
	return nil, nil
}
