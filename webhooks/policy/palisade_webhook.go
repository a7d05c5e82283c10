package policy

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// palisadeKind is what the defaulting and validating webhooks of one Palisade policy kind need to
// know of it; the webhooks themselves are the same for every kind.
type palisadeKind[T client.Object] struct {
	// name is the kind, as the Invalid error names it: `The NetworkPolicy "x" is invalid`.
	name     string
	defaults func(T)
	validate func(T) (field.ErrorList, []validation.Warning)
	check    checkFunc[T]
	// spec returns the object's spec, which decides whether an update changes anything.
	spec func(T) any
}

// defaultObject fills what defaulting makes explicit. It is idempotent.
func (k *palisadeKind[T]) defaultObject(p T) error {
	k.defaults(p)
	return nil
}

// validateCreate rejects an invalid policy with every field error, as one Invalid error so that
// kubectl prints each field path, and warns about soft problems and the cluster findings.
func (k *palisadeKind[T]) validateCreate(ctx context.Context, view *ClusterView, p T) (admission.Warnings, error) {
	errs, warns := k.validate(p)
	if len(errs) > 0 {
		gk := v1alpha1.GroupVersion.WithKind(k.name).GroupKind()
		return toWarnings(warns), apierrors.NewInvalid(gk, p.GetName(), errs)
	}
	return toWarnings(append(warns, findings(ctx, view, k.check, p)...)), nil
}

// validateUpdate validates like validateCreate, except that an update leaving the spec as it is
// passes silently: an object stored before a validation rule tightened, or while the webhook was
// bypassed, must stay updatable for its metadata (labels, finalizers), and re-warning about an
// unchanged spec is noise.
func (k *palisadeKind[T]) validateUpdate(ctx context.Context, view *ClusterView, old, p T) (admission.Warnings, error) {
	if apiequality.Semantic.DeepEqual(k.spec(old), k.spec(p)) {
		return nil, nil
	}
	return k.validateCreate(ctx, view, p)
}
