package webhookintegration

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/integration/webhook/benchload"
)

// setup is one admission configuration the benchmark measures: which of Palisade's admission
// objects are registered with the API server.
type setup struct {
	name string
	// mutating, validating: the webhook configurations; admissionPolicy: config/admissionpolicy's
	// MutatingAdmissionPolicy and its binding.
	mutating, validating, admissionPolicy bool
}

func (s setup) webhooks() bool { return s.mutating || s.validating }

var (
	// installed is Palisade as config/default installs it: the CRD schema and the admission policy
	// fill the defaults in the API server, so the mutating webhooks are matched out and only the
	// validating webhook is called.
	installed = setup{"Palisade admission (as installed)", true, true, true}
	// fallback is a cluster without the admission policy (before Kubernetes 1.36): the mutating
	// webhook fills spec.types, so both webhooks are called.
	fallback = setup{"webhooks only (no admission policy)", true, true, false}
	// baseline registers nothing of Palisade's admission; the CRD schema defaults stay, as they
	// are part of the CRD.
	baseline = setup{"baseline (no Palisade admission)", false, false, false}
	// validationOnly is not a way to install Palisade (types would be stored unset); it splits
	// what validation costs from what defaulting costs.
	validationOnly = setup{"validating webhook alone (diagnostic)", false, true, false}
	setups         = []setup{installed, fallback, validationOnly, baseline}
)

// apply puts setup su in place in the API server.
func apply(e *environment, su setup) error {
	if err := setWebhooks(e, su.mutating, su.validating); err != nil {
		return err
	}
	return e.setAdmissionPolicies(su.admissionPolicy)
}

// setWebhooks installs or removes the mutating and the validating webhook configurations and waits
// until the API server acts on the change. Two dry-run probes tell: an invalid policy is refused
// exactly when the validating webhook is registered, and an explicit empty tier (which no schema
// default replaces) comes back filled exactly when the mutating webhook is.
func setWebhooks(e *environment, mutating, validating bool) error {
	ctx := context.Background()
	opts := e.env.WebhookInstallOptions
	for _, m := range opts.MutatingWebhooks {
		obj := m.DeepCopy()
		obj.ResourceVersion = ""
		if err := toggle(ctx, e.client, obj, mutating); err != nil {
			return err
		}
	}
	for _, v := range opts.ValidatingWebhooks {
		obj := v.DeepCopy()
		obj.ResourceVersion = ""
		if err := toggle(ctx, e.client, obj, validating); err != nil {
			return err
		}
	}
	invalid := benchload.Policy("bench-0", "probe", 1, 0)
	invalid.Spec.Ingress[0].Protocol = ptr.To(v1alpha1.ProtocolFromString("tcp"))
	emptyTier := benchload.Policy("bench-0", "probe", 1, 0)
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
