package webhookintegration

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/integration/webhook/benchload"
)

// admission says which of Palisade's admission objects are registered with the API server.
type admission struct {
	// mutating, validating: the webhook configurations of config/webhook; admissionPolicy:
	// config/admissionpolicy's MutatingAdmissionPolicy and its binding.
	mutating, validating, admissionPolicy bool
	// empty is the benchmark's empty webhook (empty_webhook_test.go), not Palisade's.
	empty bool
	// generic is Palisade's NetworkPolicy validation served by controller-runtime's generic
	// handler (empty_webhook_test.go), for the benchmark to compare with Palisade's own handler.
	generic bool
}

func (a admission) webhooks() bool { return a.mutating || a.validating || a.empty || a.generic }

var (
	// asInstalled is what config/default registers (Kubernetes 1.36 and later): the validating
	// webhook, and the admission policy that fills the defaults in the API server; no mutating
	// webhook (config/components/apiserver-defaulting). Every spec runs with it unless it says.
	asInstalled = admission{validating: true, admissionPolicy: true}
	// webhookDefaulting is config/default without that component, for older clusters: both
	// webhooks, the mutating one filling the defaults.
	webhookDefaulting = admission{mutating: true, validating: true}
)

// use registers exactly the admission objects a names and waits until the API server acts on them.
func (e *environment) use(a admission) error {
	webhooksChange := a.mutating != e.admission.mutating || a.validating != e.admission.validating
	// The webhook probes tell the mutating webhook by an empty tier being filled, which the
	// admission policy does too: take it out of the way first.
	if webhooksChange && e.admission.admissionPolicy {
		if err := e.setAdmissionPolicies(false); err != nil {
			return err
		}
	}
	if webhooksChange {
		if err := e.setWebhooks(a.mutating, a.validating); err != nil {
			return err
		}
	}
	if a.admissionPolicy != e.admission.admissionPolicy {
		if err := e.setAdmissionPolicies(a.admissionPolicy); err != nil {
			return err
		}
	}
	if a.empty != e.admission.empty {
		if err := e.setEmptyWebhook(a.empty); err != nil {
			return err
		}
	}
	if a.generic != e.admission.generic {
		return e.setGenericValidating(a.generic)
	}
	return nil
}

// setWebhooks installs or removes the mutating and the validating webhook configurations and waits
// until the API server acts on the change. Two dry-run probes tell: an invalid policy is refused
// exactly when the validating webhook is registered, and an explicit empty tier (which no schema
// default replaces) comes back filled exactly when the mutating webhook is. The admission policy,
// which fills an empty tier too, must be out.
func (e *environment) setWebhooks(mutating, validating bool) error {
	if e.admission.admissionPolicy {
		return errors.New("setting the webhooks: with the admission policy in force the probes cannot tell the mutating webhook")
	}
	ctx := context.Background()
	opts := e.env.WebhookInstallOptions
	for _, m := range opts.MutatingWebhooks {
		obj := m.DeepCopy()
		obj.ResourceVersion = ""
		if err := toggle(ctx, e.client, obj, mutating); err != nil {
			return err
		}
	}
	e.admission.mutating = mutating
	for _, v := range opts.ValidatingWebhooks {
		obj := v.DeepCopy()
		obj.ResourceVersion = ""
		if err := toggle(ctx, e.client, obj, validating); err != nil {
			return err
		}
	}
	e.admission.validating = validating
	// In "default": the webhooks leave the namespaces needed for repairs alone.
	invalid := benchload.Policy("default", "probe", 1, 0)
	invalid.Spec.Ingress[0].Protocol = ptr.To(v1alpha1.ProtocolFromString("tcp"))
	emptyTier := benchload.Policy("default", "probe", 1, 0)
	emptyTier.Spec.Tier = ""
	deadline := time.Now().Add(time.Minute)
	for {
		errInvalid := e.client.Create(ctx, invalid.DeepCopy(), client.DryRunAll)
		tier, errTier := dryRunTier(ctx, e.client, emptyTier)
		if apierrors.IsInvalid(errInvalid) == validating && errTier == nil && (tier != "") == mutating {
			// The API server's webhook configuration informer has caught up; give the other
			// API server goroutines the same view before measuring.
			time.Sleep(time.Second)
			return nil
		}
		if time.Now().After(deadline) {
			err := errors.Join(errTier)
			if errInvalid != nil && !apierrors.IsInvalid(errInvalid) {
				err = errors.Join(errInvalid, errTier)
			}
			return fmt.Errorf("webhooks mutating=%v validating=%v: the API server did not act on the change (last: invalid policy refused %v, empty tier stored as %q; errors: %v)",
				mutating, validating, apierrors.IsInvalid(errInvalid), tier, err) //nolint:errorlint // a timeout report, not a cause to unwrap
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dryRunTier creates p as written (an empty tier kept, not omitted) in a dry run and returns the
// tier the API server would store.
func dryRunTier(ctx context.Context, c client.Client, p *v1alpha1.NetworkPolicy) (string, error) {
	m, err := kruntime.DefaultUnstructuredConverter.ToUnstructured(p.DeepCopy())
	if err != nil {
		return "", err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("NetworkPolicy"))
	if err := unstructured.SetNestedField(u.Object, p.Spec.Tier, "spec", "tier"); err != nil {
		return "", err
	}
	if err := c.Create(ctx, u, client.DryRunAll); err != nil {
		return "", err
	}
	tier, _, err := unstructured.NestedString(u.Object, "spec", "tier")
	return tier, err
}

// setAdmissionPolicies installs or removes config/admissionpolicy and waits until the API server
// acts on the change. The probe is a dry-run create in kube-system, where no Palisade webhook runs:
// spec.types comes back filled exactly when the admission policy is in force.
func (e *environment) setAdmissionPolicies(on bool) error {
	ctx := context.Background()
	for _, o := range e.admissionPolicies {
		obj := o.DeepCopyObject().(client.Object)
		if err := toggle(ctx, e.client, obj, on); err != nil {
			return fmt.Errorf("admission policy %s: %w", obj.GetName(), err)
		}
	}
	e.admission.admissionPolicy = on
	deadline := time.Now().Add(time.Minute)
	for {
		probe := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "admission-policy-probe"}}
		probe.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		err := e.client.Create(ctx, probe, client.DryRunAll)
		if err == nil && (len(probe.Spec.Types) > 0) == on {
			// The API server's policy informer has caught up; give its other goroutines the same
			// view before going on.
			time.Sleep(time.Second)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("admission policies on=%v: the API server did not act on the change (last: types %v, %w)", on, probe.Spec.Types, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// toggle creates obj (on) or deletes it, tolerating that it already is as asked.
func toggle(ctx context.Context, c client.Client, obj client.Object, on bool) error {
	if on {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	}
	if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
