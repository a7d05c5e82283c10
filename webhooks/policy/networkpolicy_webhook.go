package policy

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/clustercheck"
	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// The webhook configurations below are generated into config/webhook/manifests.yaml by controller-gen.
// failurePolicy=fail: an invalid policy must never be stored (Felix would silently drop it,
// docs/semantics.md §0). The namespaceSelector keeps the webhooks off the namespaces needed to repair
// a cluster whose Palisade webhook is down, ExcludedNamespaces.
//
// The mutating webhooks are registered only on clusters without the MutatingAdmissionPolicy of
// config/admissionpolicy (before Kubernetes 1.36, or without the beta feature gate): where it is,
// the CRD schema and that policy fill every default inside the API server, and
// config/components/apiserver-defaulting leaves the mutating configuration out, so creating a
// policy costs one webhook round trip (validation), not two. Either way the stored object is the
// same, and test/integration/webhook checks that it is. Where they are registered they run only when
// something pkg/defaulting fills is still unset when they are reached (matchConditions, evaluated in
// the API server).
//
// The condition names only what the schema cannot fill: types, which depends on the rules, and an
// explicit empty tier or strategy, since a schema default replaces only a field that is absent. It
// is kept that short because the API server evaluates it on every request, and each field it
// reaches costs CPU there (docs/benchmarks-webhook.md). Optional selection (?tier) keeps a missing
// field from being an evaluation error, which failurePolicy Fail would turn into a refusal.
//
// +kubebuilder:webhook:path=/mutate-policy-palisade-dev-v1alpha1-networkpolicy,mutating=true,failurePolicy=fail,sideEffects=None,groups=policy.palisade.dev,resources=networkpolicies,verbs=create;update,versions=v1alpha1,name=mnetworkpolicy.policy.palisade.dev,admissionReviewVersions=v1,timeoutSeconds=5,reinvocationPolicy=IfNeeded,patch=`{"matchConditions":[{"name":"not-yet-defaulted","expression":"!has(object.spec) || !has(object.spec.types) || size(object.spec.types) == 0 || object.spec.?tier.orValue('') == '' || object.spec.?rollout.?strategy.orValue('') == ''"}],"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kube-node-lease","kube-public","palisade-system"]}]}}`
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

var networkPolicyKind = palisadeKind[*v1alpha1.NetworkPolicy]{
	name:     "NetworkPolicy",
	defaults: defaulting.NetworkPolicy,
	validate: validation.ValidateNetworkPolicy,
	check:    (*clustercheck.Checker).NetworkPolicy,
	spec:     func(p *v1alpha1.NetworkPolicy) any { return p.Spec },
}

// Default fills types, tier and rollout so that what is stored is explicit. It is idempotent.
func (w *NetworkPolicyWebhook) Default(_ context.Context, p *v1alpha1.NetworkPolicy) error {
	return networkPolicyKind.defaultObject(p)
}

// ValidateCreate rejects an invalid policy with every field error, and warns about soft problems.
func (w *NetworkPolicyWebhook) ValidateCreate(ctx context.Context, p *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	return networkPolicyKind.validateCreate(ctx, w.View, p)
}

// ValidateUpdate validates like ValidateCreate, except that an update leaving the spec as it is
// passes silently (see palisadeKind.validateUpdate).
func (w *NetworkPolicyWebhook) ValidateUpdate(ctx context.Context, old, p *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	return networkPolicyKind.validateUpdate(ctx, w.View, old, p)
}

// ValidateDelete allows every deletion; the webhook is not registered for deletes.
func (w *NetworkPolicyWebhook) ValidateDelete(context.Context, *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	return nil, nil
}
