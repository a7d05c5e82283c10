package policy

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Setup registers the three webhooks with the manager's webhook server. view may be nil to run
// without cluster findings. The manager's scheme must hold the Palisade and networking/v1 types.
func Setup(mgr ctrl.Manager, view *ClusterView) error {
	np := &NetworkPolicyWebhook{View: view}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.NetworkPolicy{}).WithDefaulter(np).WithValidator(np).Complete(); err != nil {
		return fmt.Errorf("registering the NetworkPolicy webhooks: %w", err)
	}
	gnp := &GlobalNetworkPolicyWebhook{View: view}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.GlobalNetworkPolicy{}).WithDefaulter(gnp).WithValidator(gnp).Complete(); err != nil {
		return fmt.Errorf("registering the GlobalNetworkPolicy webhooks: %w", err)
	}
	knp := admission.WithValidator[*networkingv1.NetworkPolicy](mgr.GetScheme(), &KubernetesNetworkPolicyWebhook{View: view})
	knp.Handler = neverDeny{knp.Handler}
	mgr.GetWebhookServer().Register(KubernetesNetworkPolicyPath, knp)
	return nil
}

// KubernetesNetworkPolicyPath is where the Kubernetes NetworkPolicy webhook is served; it must match
// the kubebuilder:webhook marker in knp_webhook.go.
const KubernetesNetworkPolicyPath = "/validate-networking-k8s-io-v1-networkpolicy"

// neverDeny turns any denial into an admission with a warning. The Kubernetes NetworkPolicy
// webhook must never deny, yet the generic handler denies what it cannot decode; the API server
// never sends such a request, but if it ever did, the user should get a warning, not a refused
// NetworkPolicy.
type neverDeny struct{ admission.Handler }

func (h neverDeny) Handle(ctx context.Context, req admission.Request) admission.Response {
	resp := h.Handler.Handle(ctx, req)
	if resp.Allowed {
		return resp
	}
	msg := "unknown reason"
	if resp.Result != nil && resp.Result.Message != "" {
		msg = resp.Result.Message
	}
	return admission.Allowed("").WithWarnings(append(resp.Warnings, truncate("Palisade could not check this NetworkPolicy: "+msg))...)
}
