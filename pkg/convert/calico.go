package convert

import (
	"encoding/json"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/knp"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

// CalicoAPIVersion is the only Calico API version that converts.
const CalicoAPIVersion = "projectcalico.org/v3"

// The Calico kinds that convert.
const (
	KindNetworkPolicy                 = "NetworkPolicy"
	KindGlobalNetworkPolicy           = "GlobalNetworkPolicy"
	KindStagedNetworkPolicy           = "StagedNetworkPolicy"
	KindStagedGlobalNetworkPolicy     = "StagedGlobalNetworkPolicy"
	KindStagedKubernetesNetworkPolicy = "StagedKubernetesNetworkPolicy"
)

// Calico's stagedAction values.
const (
	stagedSet    = "Set"
	stagedDelete = "Delete"
	stagedLearn  = "Learn"
	stagedIgnore = "Ignore"
)

// lastApplied is kubectl's annotation holding the previous applied object; it describes the Calico
// object, so carrying it over would make the next kubectl apply compute a wrong patch.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Object is a converted policy: a *v1alpha1.NetworkPolicy or a *v1alpha1.GlobalNetworkPolicy.
type Object interface {
	runtime.Object
	metav1.Object
}

// Problem is a reason a document did not convert, or a warning about one that did.
type Problem struct {
	// Field is the path of the offending field ("spec.stagedAction"), empty for the whole document.
	Field string
	// Line is the file line of Field, 0 when unknown.
	Line int
	// Message says what is wrong and what to do.
	Message string
	// Warning problems do not stop the conversion.
	Warning bool
}

// calicoObject is the envelope every Calico policy kind shares. Status is accepted (calicoctl and
// kubectl get print it) and dropped.
type calicoObject[S any] struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              S               `json:"spec,omitempty"`
	Status            json.RawMessage `json:"status,omitempty"`
}

type stagedPolicySpec struct {
	StagedAction        string `json:"stagedAction,omitempty"`
	v1alpha1.PolicySpec `json:",inline"`
}

type stagedGlobalPolicySpec struct {
	StagedAction                     string `json:"stagedAction,omitempty"`
	v1alpha1.GlobalNetworkPolicySpec `json:",inline"`
}

// stagedKNPSpec is Calico's StagedKubernetesNetworkPolicySpec: the networking/v1 spec plus the action.
type stagedKNPSpec struct {
	StagedAction                   string `json:"stagedAction,omitempty"`
	networkingv1.NetworkPolicySpec `json:",inline"`
}

// problems collects the problems of one document and looks up their lines.
type problems struct {
	doc  *manifest.Document
	list []Problem
}

func (p *problems) errorf(field, format string, args ...any) {
	p.list = append(p.list, Problem{Field: field, Line: p.doc.FieldLine(field), Message: fmt.Sprintf(format, args...)})
}

func (p *problems) warnf(field, format string, args ...any) {
	p.list = append(p.list, Problem{Field: field, Line: p.doc.FieldLine(field), Message: fmt.Sprintf(format, args...), Warning: true})
}

func (p *problems) failed() bool {
	for _, pr := range p.list {
		if !pr.Warning {
			return true
		}
	}
	return false
}

// Document converts one projectcalico.org document. On failure it returns a nil Object and at least
// one non-warning Problem.
func Document(d *manifest.Document) (Object, []Problem) {
	p := &problems{doc: d}
	obj := convertDocument(d, p)
	if p.failed() {
		return nil, p.list
	}
	return obj, p.list
}

func convertDocument(d *manifest.Document, p *problems) Object {
	if d.APIVersion != CalicoAPIVersion {
		p.errorf("apiVersion", "%s cannot be converted: only %s converts; read the objects through the %s API (calicoctl get, or kubectl get with the Calico API server) and convert that",
			d.APIVersion, CalicoAPIVersion, CalicoAPIVersion)
		return nil
	}
	switch d.Kind {
	case KindNetworkPolicy:
		var in calicoObject[v1alpha1.NetworkPolicySpec]
		if !decode(d, &in, p) {
			return nil
		}
		checkNotCalico(in.Spec.PolicySpec, p)
		checkEmptyRuleLists(in.Spec.PolicySpec, p)
		return &v1alpha1.NetworkPolicy{TypeMeta: typeMeta(KindNetworkPolicy), ObjectMeta: keptMeta(in.ObjectMeta), Spec: in.Spec}
	case KindGlobalNetworkPolicy:
		var in calicoObject[v1alpha1.GlobalNetworkPolicySpec]
		if !decode(d, &in, p) {
			return nil
		}
		checkNotCalico(in.Spec.PolicySpec, p)
		checkEmptyRuleLists(in.Spec.PolicySpec, p)
		return &v1alpha1.GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: keptMeta(in.ObjectMeta), Spec: in.Spec}
	case KindStagedNetworkPolicy:
		var in calicoObject[stagedPolicySpec]
		if !decode(d, &in, p) || !checkStagedAction(in.Spec.StagedAction, p) {
			return nil
		}
		checkNotCalico(in.Spec.PolicySpec, p)
		checkEmptyRuleLists(in.Spec.PolicySpec, p)
		spec := v1alpha1.NetworkPolicySpec{PolicySpec: in.Spec.PolicySpec}
		spec.Rollout = pinnedToAudit()
		return &v1alpha1.NetworkPolicy{TypeMeta: typeMeta(KindNetworkPolicy), ObjectMeta: keptMeta(in.ObjectMeta), Spec: spec}
	case KindStagedGlobalNetworkPolicy:
		var in calicoObject[stagedGlobalPolicySpec]
		if !decode(d, &in, p) || !checkStagedAction(in.Spec.StagedAction, p) {
			return nil
		}
		checkNotCalico(in.Spec.PolicySpec, p)
		checkEmptyRuleLists(in.Spec.PolicySpec, p)
		spec := in.Spec.GlobalNetworkPolicySpec
		spec.Rollout = pinnedToAudit()
		return &v1alpha1.GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: keptMeta(in.ObjectMeta), Spec: spec}
	case KindStagedKubernetesNetworkPolicy:
		var in calicoObject[stagedKNPSpec]
		if !decode(d, &in, p) || !checkStagedAction(in.Spec.StagedAction, p) {
			return nil
		}
		spec := kubernetesSpec(&in.Spec.NetworkPolicySpec, p)
		spec.Rollout = pinnedToAudit()
		return &v1alpha1.NetworkPolicy{TypeMeta: typeMeta(KindNetworkPolicy), ObjectMeta: keptMeta(in.ObjectMeta), Spec: spec}
	case "Tier":
		p.errorf("kind", "Palisade has no tiers yet: every policy is in tier %q; drop the Tier and keep its policies' order", v1alpha1.DefaultTier)
	default:
		p.errorf("kind", "Calico %s has no Palisade equivalent; only %s, %s and their Staged kinds convert",
			d.Kind, KindNetworkPolicy, KindGlobalNetworkPolicy)
	}
	return nil
}

// decode decodes strictly and records every unknown or mistyped field.
func decode(d *manifest.Document, into any, p *problems) bool {
	if err := d.DecodeInto(into); err != nil {
		for _, f := range err.Fields {
			p.list = append(p.list, Problem{Field: f.Path, Line: f.Line, Message: f.Message})
		}
		return false
	}
	return true
}

// kubernetesSpec translates a Kubernetes NetworkPolicy spec into a Palisade spec as Calico does
// (pkg/knp, FormPalisade: without Calico's orchestrator clause). Where Calico silently drops a rule
// it cannot convert, pkg/knp reports an error, and so does the conversion: dropping an Allow rule
// of a staged policy would make its would-deny counts lie.
func kubernetesSpec(in *networkingv1.NetworkPolicySpec, p *problems) v1alpha1.NetworkPolicySpec {
	translated, errs := knp.Translate(in, knp.FormPalisade)
	for _, e := range errs {
		p.errorf(e.Field, "%s", e.Err)
	}
	return v1alpha1.NetworkPolicySpec{PolicySpec: translated.Spec}
}

// checkNotCalico rejects spec.rollout in a Calico document: it decodes (the Palisade spec type
// carries it) but Calico has no such field, so it is a mistake in the input.
func checkNotCalico(spec v1alpha1.PolicySpec, p *problems) {
	if spec.Rollout != nil {
		p.errorf("spec.rollout", `unknown field "rollout": Calico policies have none; convert, then edit the Palisade policy's rollout`)
	}
}

// checkEmptyRuleLists warns about the one place where Calico's two defaulting paths disagree
// (section 2): with no types, an explicit empty rule list counts as a direction for Calico's
// admission policy but not for calicoctl, nor for Palisade.
func checkEmptyRuleLists(spec v1alpha1.PolicySpec, p *problems) {
	if len(spec.Types) > 0 {
		return
	}
	if spec.Ingress != nil && len(spec.Ingress) == 0 {
		p.warnf("spec.ingress", "empty list without spec.types: Palisade, like calicoctl, ignores it when defaulting types (Calico's admission policy counts it as Ingress); set spec.types to say which directions the policy governs")
	}
	if spec.Egress != nil && len(spec.Egress) == 0 {
		p.warnf("spec.egress", "empty list without spec.types: Palisade, like calicoctl, ignores it when defaulting types (Calico's admission policy counts it as Egress); set spec.types to say which directions the policy governs")
	}
}

// checkStagedAction accepts the staged actions that describe a policy to evaluate.
func checkStagedAction(action string, p *problems) bool {
	switch action {
	case "", stagedSet:
		return true
	case stagedDelete:
		p.errorf("spec.stagedAction", "Delete stages the removal of the enforced policy of the same name and holds no policy, so there is nothing to convert; to remove that policy, delete its Palisade counterpart")
	case stagedLearn, stagedIgnore:
		p.errorf("spec.stagedAction", "%s is defined by Calico Enterprise and has no Palisade meaning; only Set (or no stagedAction) converts", action)
	default:
		p.errorf("spec.stagedAction", "unsupported value %q: Calico's values are Set, Delete, Learn and Ignore, and only Set converts", action)
	}
	return false
}

// pinnedToAudit is the rollout that holds a policy in Audit, Palisade's form of a staged policy.
func pinnedToAudit() *v1alpha1.RolloutSpec {
	return &v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutProgressive, Paused: true}
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: kind}
}

// keptMeta keeps what a user writes in metadata and drops what the API server fills in.
func keptMeta(in metav1.ObjectMeta) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name:            in.Name,
		GenerateName:    in.GenerateName,
		Namespace:       in.Namespace,
		Labels:          in.Labels,
		OwnerReferences: in.OwnerReferences,
		Finalizers:      in.Finalizers,
	}
	for k, v := range in.Annotations {
		if k == lastApplied {
			continue
		}
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[k] = v
	}
	return out
}

// Converts reports whether convert handles the document's apiVersion and kind at all (it may still
// refuse its content): lint points only these at convert.
func Converts(d *manifest.Document) bool {
	if d.APIVersion != CalicoAPIVersion {
		return false
	}
	switch d.Kind {
	case KindNetworkPolicy, KindGlobalNetworkPolicy, KindStagedNetworkPolicy, KindStagedGlobalNetworkPolicy, KindStagedKubernetesNetworkPolicy:
		return true
	}
	return false
}
