package convert

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// admissionProblems defaults and validates a converted policy exactly as Palisade's admission
// would (pkg/defaulting, pkg/validation) and returns every error as a Problem. A converted
// object that admission refuses (a tier other than default, http rules, doNotTrack...) must not
// be written with exit 0: applying the rest without it could open traffic, which is what
// convert's all-or-nothing rule is for. The output itself stays as converted, undefaulted.
//
// Field paths are the same in the Calico document for the kinds that keep their spec, so the line
// is looked up there; a StagedKubernetesNetworkPolicy's spec is a translation and its paths have no
// line in the input.
func admissionProblems(d *manifest.Document, obj Object) []Problem {
	var errs field.ErrorList
	switch o := obj.(type) {
	case *v1alpha1.NetworkPolicy:
		p := o.DeepCopy()
		defaulting.NetworkPolicy(p)
		errs, _ = validation.ValidateNetworkPolicy(p)
	case *v1alpha1.GlobalNetworkPolicy:
		p := o.DeepCopy()
		defaulting.GlobalNetworkPolicy(p)
		errs, _ = validation.ValidateGlobalNetworkPolicy(p)
	}
	var out []Problem
	for _, e := range errs {
		line := 0
		if d.Kind != KindStagedKubernetesNetworkPolicy {
			line = d.FieldLine(e.Field)
		}
		out = append(out, Problem{
			Field:   e.Field,
			Line:    line,
			Message: fmt.Sprintf("Palisade's admission would refuse the converted %s: %s", obj.GetObjectKind().GroupVersionKind().Kind, e.ErrorBody()),
		})
	}
	return out
}
