package cli

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// loadPolicies gives the engine the policies of the set as the cluster would hold them: each is
// first defaulted and validated as admission does (pkg/defaulting, pkg/validation); a policy that
// admission would refuse is reported and left out, since the cluster would not store it; the
// others are stored as defaulted. A policy the engine cannot store at all is an error: a verdict
// without it could allow what it denies (issue 12 item 5). One the engine stores but cannot
// interpret fails closed, and says so.
func (m *model) loadPolicies(set *manifest.Set, implicit func(ns string, src manifest.Source) error) error {
	for _, e := range set.KubernetesNetworkPolicies {
		np := e.Object.DeepCopy()
		defaultNamespaceOf(&np.ObjectMeta)
		if err := unnamed(e.Source, "Kubernetes NetworkPolicy", &np.ObjectMeta); err != nil {
			return err
		}
		if errs, _ := validation.ValidateKubernetesNetworkPolicy(np); len(errs) > 0 {
			m.refused(e.Source, "Kubernetes NetworkPolicy", np.Namespace+"/"+np.Name, errs)
			continue
		}
		if err := implicit(np.Namespace, e.Source); err != nil {
			return err
		}
		if err := m.stored(e.Source, "Kubernetes NetworkPolicy", np.Namespace+"/"+np.Name,
			m.eng.UpsertKubernetesNetworkPolicy(np, engine.SlotEnforced)); err != nil {
			return err
		}
	}
	for _, e := range set.NetworkPolicies {
		np := e.Object.DeepCopy()
		defaultNamespaceOf(&np.ObjectMeta)
		if err := unnamed(e.Source, "NetworkPolicy", &np.ObjectMeta); err != nil {
			return err
		}
		defaulting.NetworkPolicy(np)
		if errs, _ := validation.ValidateNetworkPolicy(np); len(errs) > 0 {
			m.refused(e.Source, "NetworkPolicy", np.Namespace+"/"+np.Name, errs)
			continue
		}
		if err := implicit(np.Namespace, e.Source); err != nil {
			return err
		}
		m.warnMissingServices(e.Source, "NetworkPolicy", np.Namespace+"/"+np.Name, np.Namespace, np.Spec.Ingress, np.Spec.Egress)
		if err := m.stored(e.Source, "NetworkPolicy", np.Namespace+"/"+np.Name,
			m.eng.UpsertNetworkPolicy(np, engine.SlotEnforced)); err != nil {
			return err
		}
	}
	for _, e := range set.GlobalNetworkPolicies {
		gnp := e.Object.DeepCopy()
		if err := unnamed(e.Source, "GlobalNetworkPolicy", &gnp.ObjectMeta); err != nil {
			return err
		}
		defaulting.GlobalNetworkPolicy(gnp)
		if errs, _ := validation.ValidateGlobalNetworkPolicy(gnp); len(errs) > 0 {
			m.refused(e.Source, "GlobalNetworkPolicy", gnp.Name, errs)
			continue
		}
		m.warnMissingServices(e.Source, "GlobalNetworkPolicy", gnp.Name, "", gnp.Spec.Ingress, gnp.Spec.Egress)
		if err := m.stored(e.Source, "GlobalNetworkPolicy", gnp.Name,
			m.eng.UpsertGlobalNetworkPolicy(gnp, engine.SlotEnforced)); err != nil {
			return err
		}
	}
	return nil
}

// unnamed refuses a policy without metadata.name: the engine cannot store it, and kubectl apply
// does not create it (generateName is for kubectl create, which apply does not emulate), so no
// honest verdict can be given over the manifests as written.
func unnamed(src manifest.Source, kind string, meta *metav1.ObjectMeta) error {
	if meta.Name != "" {
		return nil
	}
	hint := "give it metadata.name"
	if meta.GenerateName != "" {
		hint = fmt.Sprintf("metadata.generateName (%s) names an object only when the API server creates it (kubectl create), so offline it has no name: give it metadata.name", quote(meta.GenerateName))
	}
	return &manifest.Error{File: src.File, Index: src.Index, Line: src.Line,
		Err: fmt.Errorf("%s without metadata.name cannot be loaded, so no verdict is given (one without it could allow what it denies): %s", kind, hint)}
}

// refused reports a policy that admission would refuse, with every reason, and says that it is
// evaluated as absent.
func (m *model) refused(src manifest.Source, kind, name string, errs field.ErrorList) {
	d := m.docs[src]
	for _, e := range errs {
		line := 0
		if d != nil {
			line = d.FieldLine(e.Field)
		}
		m.warnf("%s: %s %s: %s: %s", src, kind, quote(name), e.Field, withLine(clip(e.ErrorBody()), line))
	}
	m.warnf("%s: %s %s would be refused at admission (the errors above), so it is evaluated as absent: the cluster would not store it", src, kind, quote(name))
}

// stored turns the engine's answer to an Upsert into what the user must know: nothing, a policy
// that fails closed (a warning), or a policy that could not be stored (an error naming file and
// line: the command must not print a verdict without it).
func (m *model) stored(src manifest.Source, kind, name string, err error) error {
	if err == nil {
		return nil
	}
	var invalid *engine.InvalidPolicyError
	if errors.As(err, &invalid) {
		m.warnf("%s: %s %s is stored but fails closed (denies every flow that reaches it in the directions it governs): %v", src, kind, quote(name), invalid.Err)
		return nil
	}
	var notStored *engine.NotStoredError
	if errors.As(err, &notStored) {
		err = notStored.Err
	}
	return &manifest.Error{File: src.File, Index: src.Index, Line: src.Line,
		Err: fmt.Errorf("%s %s could not be loaded, so no verdict is given (one without it could allow what it denies): %w", kind, quote(name), err)}
}
