package policy

import (
	"context"

	"github.com/go-logr/logr"
	networkingv1 "k8s.io/api/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Paths the webhooks are served at; they must match the kubebuilder:webhook markers.
const (
	MutateNetworkPolicyPath         = "/mutate-policy-palisade-dev-v1alpha1-networkpolicy"
	ValidateNetworkPolicyPath       = "/validate-policy-palisade-dev-v1alpha1-networkpolicy"
	MutateGlobalNetworkPolicyPath   = "/mutate-policy-palisade-dev-v1alpha1-globalnetworkpolicy"
	ValidateGlobalNetworkPolicyPath = "/validate-policy-palisade-dev-v1alpha1-globalnetworkpolicy"
	KubernetesNetworkPolicyPath     = "/validate-networking-k8s-io-v1-networkpolicy"
)

// ExcludedNamespaces are the namespaces the webhooks leave alone, so that a cluster whose Palisade
// webhook is down can still be repaired there: the Kubernetes system namespaces and Palisade's own.
// This is the one list. The kubebuilder:webhook markers repeat it, since controller-gen cannot read a
// Go value, and TestExcludedNamespacesHaveOneSource checks config/webhook/manifests.yaml (what the
// markers generate) and docs/admission.md against it.
var ExcludedNamespaces = []string{"kube-system", "kube-node-lease", "kube-public", "palisade-system"}

// Setup registers the five webhooks with the manager's webhook server. view may be nil to run
// without cluster findings. The manager's scheme must hold the Palisade and networking/v1 types.
//
// The mutating handlers are controller-runtime's typed Defaulter handlers, wrapped so that they never
// refuse (leaveToValidation). The validating handlers serve the typed Validators with a decoder of
// their own that reads each review in one pass (validatingReview), and the Kubernetes NetworkPolicy
// one never denies (neverDeny).
func Setup(mgr ctrl.Manager, view *ClusterView) error {
	s, server := mgr.GetScheme(), mgr.GetWebhookServer()
	log := func(path string) logr.Logger {
		return mgr.GetLogger().WithName("admission").WithValues("webhook", path)
	}

	np := &NetworkPolicyWebhook{View: view}
	server.Register(MutateNetworkPolicyPath, leaveToValidation(admission.WithDefaulter[*v1alpha1.NetworkPolicy](s, np)))
	vnp, err := newValidatingReview[v1alpha1.NetworkPolicy](s, np, log(ValidateNetworkPolicyPath))
	if err != nil {
		return err
	}
	server.Register(ValidateNetworkPolicyPath, vnp)

	gnp := &GlobalNetworkPolicyWebhook{View: view}
	server.Register(MutateGlobalNetworkPolicyPath, leaveToValidation(admission.WithDefaulter[*v1alpha1.GlobalNetworkPolicy](s, gnp)))
	vgnp, err := newValidatingReview[v1alpha1.GlobalNetworkPolicy](s, gnp, log(ValidateGlobalNetworkPolicyPath))
	if err != nil {
		return err
	}
	server.Register(ValidateGlobalNetworkPolicyPath, vgnp)

	knp, err := newValidatingReview[networkingv1.NetworkPolicy](s, &KubernetesNetworkPolicyWebhook{View: view}, log(KubernetesNetworkPolicyPath))
	if err != nil {
		return err
	}
	knp.finish = neverDeny
	server.Register(KubernetesNetworkPolicyPath, knp)
	return nil
}

// leaveToValidation makes a mutating webhook admit, unchanged, an object it cannot decode. Mutating
// webhooks run before the API server checks the object against the CRD schema, so a value of the
// wrong type (ipVersion: "4") reaches the defaulter first; refusing it there would answer with a Go
// decoding error instead of the schema's error with its field path. Left alone, the object is
// refused by the schema, or, should the schema accept what Go cannot decode, by the validating
// webhook, which fails closed.
func leaveToValidation(wh *admission.Webhook) *admission.Webhook {
	wh.Handler = admitUnchangedOnDenial{wh.Handler}
	return wh
}

type admitUnchangedOnDenial struct{ admission.Handler }

func (h admitUnchangedOnDenial) Handle(ctx context.Context, req admission.Request) admission.Response {
	resp := h.Handler.Handle(ctx, req)
	if resp.Allowed {
		return resp
	}
	return admission.Allowed("")
}

// neverDeny turns any denial into an admission with a warning. The Kubernetes NetworkPolicy
// webhook must never deny, yet a request it cannot decode is answered with an error; the API server
// never sends such a request, but if it ever did, the user should get a warning, not a refused
// NetworkPolicy.
func neverDeny(resp admission.Response) admission.Response {
	if resp.Allowed {
		return resp
	}
	msg := "unknown reason"
	if resp.Result != nil && resp.Result.Message != "" {
		msg = resp.Result.Message
	}
	return admission.Allowed("").WithWarnings(append(resp.Warnings, truncate("Palisade could not check this NetworkPolicy: "+msg))...)
}
