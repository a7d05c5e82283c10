package webhookintegration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/test/integration/webhook/benchload"
	"github.com/palisade-dev/palisade/webhooks/policy"
)

// The empty webhook is what any validating webhook costs, whatever it does: registered like
// Palisade's for NetworkPolicies, it reads the review and admits it without looking further. What
// it adds to a request is the API server's side of a webhook call on this machine (encoding the
// AdmissionReview, the TLS call, decoding the answer), a floor under what Palisade's webhook can
// add there.

// emptyWebhookPath is where this process serves the empty webhook.
const emptyWebhookPath = "/bench-empty-validate"

// emptyWebhookName names its ValidatingWebhookConfiguration.
const emptyWebhookName = "palisade-bench-empty-webhook"

// admitAll answers every AdmissionReview allowed, after decoding the one field an answer needs.
func admitAll(w http.ResponseWriter, r *http.Request) {
	var review struct {
		Request *struct {
			UID types.UID `json:"uid"`
		} `json:"request"`
	}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	uid, _ := json.Marshal(review.Request.UID)
	_, _ = fmt.Fprintf(w, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":%s,"allowed":true}}`, uid)
}

// genericValidatingPath is where this process serves Palisade's NetworkPolicy validation through
// controller-runtime's generic handler (admission.WithValidator) instead of Palisade's one-pass
// handler: the benchmark compares the two end to end.
const genericValidatingPath = "/bench-generic-validate"

// genericValidatingName names its ValidatingWebhookConfiguration.
const genericValidatingName = "palisade-bench-generic-webhook"

// diagnosticWebhookConfiguration is Palisade's validating webhook for NetworkPolicies, as envtest
// registered it (same rules, selectors, timeout and failure policy), named name and pointed at path
// of this process: the empty webhook, or the controller-runtime handler.
func (e *environment) diagnosticWebhookConfiguration(name, path string) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	for _, cfg := range e.env.WebhookInstallOptions.ValidatingWebhooks {
		for _, wh := range cfg.Webhooks {
			if wh.ClientConfig.URL == nil {
				continue
			}
			u, err := url.Parse(*wh.ClientConfig.URL)
			if err != nil {
				return nil, fmt.Errorf("webhook %s: %w", wh.Name, err)
			}
			// envtest joins host and path with a slash of its own: "https://host:port//validate-…".
			if strings.TrimLeft(u.Path, "/") != strings.TrimLeft(policy.ValidateNetworkPolicyPath, "/") {
				continue
			}
			u.Path = path
			out := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			out.Name = name
			empty := *wh.DeepCopy()
			empty.Name = name + ".bench.palisade.dev"
			empty.ClientConfig.URL = ptr.To(u.String())
			out.Webhooks = []admissionregistrationv1.ValidatingWebhook{empty}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no validating webhook for %s among envtest's webhook configurations", policy.ValidateNetworkPolicyPath)
}

// setEmptyWebhook registers or removes the empty webhook and waits until the API server acts on
// the change: a dry-run create reaches the webhook exactly when it is registered.
func (e *environment) setEmptyWebhook(on bool) error {
	if err := e.setDiagnosticWebhook(emptyWebhookName, emptyWebhookPath, on); err != nil {
		return err
	}
	e.admission.empty = on
	return nil
}

// setGenericValidating registers or removes Palisade's validation served by controller-runtime's
// handler, as setEmptyWebhook does the empty webhook.
func (e *environment) setGenericValidating(on bool) error {
	if err := e.setDiagnosticWebhook(genericValidatingName, genericValidatingPath, on); err != nil {
		return err
	}
	e.admission.generic = on
	return nil
}

func (e *environment) setDiagnosticWebhook(name, path string, on bool) error {
	ctx := context.Background()
	cfg, err := e.diagnosticWebhookConfiguration(name, path)
	if err != nil {
		return err
	}
	if err := toggle(ctx, e.client, cfg, on); err != nil {
		return fmt.Errorf("webhook %s: %w", name, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		before := e.server.callsTo(path)
		probe := benchload.Policy("default", "diagnostic-webhook-probe", 1, 0)
		if err := e.client.Create(ctx, probe, client.DryRunAll); err != nil {
			return fmt.Errorf("webhook %s on=%v: probing: %w", name, on, err)
		}
		if reached := e.server.callsTo(path) > before; reached == on {
			// Give the API server's other goroutines the same view before measuring.
			time.Sleep(time.Second)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webhook %s on=%v: the API server did not act on the change", name, on)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
