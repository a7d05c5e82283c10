package validation

import (
	"errors"
	"math"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// maxRules is the CRD's maxItems for ingress and egress (S6).
const maxRules = 1024

var (
	supportedPolicyTypes = []string{string(v1alpha1.PolicyTypeIngress), string(v1alpha1.PolicyTypeEgress)}
	supportedHints       = []string{string(v1alpha1.PerfHintAssumeNeededOnEveryNode)}
)

// ValidateNetworkPolicy validates a namespaced policy: metadata (names N1-N2, labels and annotations)
// and its spec.
func ValidateNetworkPolicy(p *v1alpha1.NetworkPolicy) (field.ErrorList, []Warning) {
	if p == nil {
		return field.ErrorList{field.InternalError(nil, errors.New("no NetworkPolicy given"))}, nil
	}
	errs := validateMeta(&p.ObjectMeta, true, policyNameFunc(npNameRE, npNameMsg))
	specErrs, warns := ValidatePolicySpec(&p.Spec.PolicySpec, true, field.NewPath("spec"))
	return append(errs, specErrs...), warns
}

// ValidateGlobalNetworkPolicy validates a cluster-wide policy: metadata (names N1, N3), the shared
// spec, then the fields only a GlobalNetworkPolicy has (namespaceSelector, S7).
func ValidateGlobalNetworkPolicy(p *v1alpha1.GlobalNetworkPolicy) (field.ErrorList, []Warning) {
	if p == nil {
		return field.ErrorList{field.InternalError(nil, errors.New("no GlobalNetworkPolicy given"))}, nil
	}
	errs := validateMeta(&p.ObjectMeta, false, policyNameFunc(gnpNameRE, gnpNameMsg))
	specPath := field.NewPath("spec")
	specErrs, warns := ValidatePolicySpec(&p.Spec.PolicySpec, false, specPath)
	errs = append(errs, specErrs...)
	return append(errs, validateGlobalOnly(&p.Spec, specPath)...), warns
}

// ValidatePolicySpec validates the fields NetworkPolicy and GlobalNetworkPolicy share, under the
// caller's root path (the spec is inlined, so fldPath is normally "spec"). namespaced selects the
// NetworkPolicy flavour of the rules that differ (S10).
func ValidatePolicySpec(spec *v1alpha1.PolicySpec, namespaced bool, fldPath *field.Path) (field.ErrorList, []Warning) {
	if spec == nil {
		return nil, nil
	}
	c := &checker{namespaced: namespaced}
	c.tier(spec.Tier, fldPath.Child("tier"))
	if spec.Order != nil && (math.IsNaN(*spec.Order) || math.IsInf(*spec.Order, 0)) {
		c.add(field.Invalid(fldPath.Child("order"), *spec.Order, "must be a finite number; lower orders apply first"))
	}
	c.selectorField(spec.Selector, fldPath.Child("selector"), globalForbidden)
	c.types(spec.Types, fldPath.Child("types"))
	c.selectorField(spec.ServiceAccountSelector, fldPath.Child("serviceAccountSelector"), globalForbidden)
	c.hints(spec.PerformanceHints, fldPath.Child("performanceHints"))
	c.rules(spec.Ingress, ingress, fldPath.Child("ingress"))
	c.rules(spec.Egress, egress, fldPath.Child("egress"))
	c.add(ValidateRollout(spec.Rollout, fldPath.Child("rollout"))...)
	c.policyWarnings(spec, fldPath)
	return c.errs, c.warns
}

// tier allows only the default tier until tiers land (section 0): accepting another name would
// silently evaluate the policy in the wrong place.
func (c *checker) tier(t string, p *field.Path) {
	if t != "" && t != v1alpha1.DefaultTier {
		c.add(field.Invalid(p, t, `tiers are not supported yet: leave tier empty or set it to "default"`))
	}
}

// types checks S1. An empty list is fine: defaulting fills it from the rule lists.
func (c *checker) types(ts []v1alpha1.PolicyType, p *field.Path) {
	if len(ts) > len(supportedPolicyTypes) {
		c.add(field.TooMany(p, len(ts), len(supportedPolicyTypes)))
	}
	seen := map[v1alpha1.PolicyType]bool{}
	for i, t := range ts {
		ip := p.Index(i)
		switch {
		case t != v1alpha1.PolicyTypeIngress && t != v1alpha1.PolicyTypeEgress:
			c.add(field.NotSupported(ip, t, supportedPolicyTypes))
		case seen[t]:
			c.add(field.Duplicate(ip, t))
		}
		seen[t] = true
	}
}

// hints checks S3.
func (c *checker) hints(hs []v1alpha1.PolicyPerformanceHint, p *field.Path) {
	seen := map[v1alpha1.PolicyPerformanceHint]bool{}
	for i, h := range hs {
		ip := p.Index(i)
		switch {
		case h != v1alpha1.PerfHintAssumeNeededOnEveryNode:
			c.add(field.NotSupported(ip, h, supportedHints))
		case seen[h]:
			c.add(field.Duplicate(ip, h))
		}
		seen[h] = true
	}
}

// rules checks S6 and every rule of one direction.
func (c *checker) rules(rs []v1alpha1.Rule, dir direction, p *field.Path) {
	if len(rs) > maxRules {
		c.add(field.TooMany(p, len(rs), maxRules))
	}
	for i := range rs {
		c.rule(&rs[i], dir, p.Index(i))
	}
}

// validateGlobalOnly checks namespaceSelector and the host-endpoint flags (S7, Calico's CEL on the
// GlobalNetworkPolicy spec).
func validateGlobalOnly(spec *v1alpha1.GlobalNetworkPolicySpec, p *field.Path) field.ErrorList {
	c := &checker{}
	c.selectorField(spec.NamespaceSelector, p.Child("namespaceSelector"), globalForbidden)
	if spec.PreDNAT && spec.DoNotTrack {
		c.add(field.Invalid(p.Child("preDNAT"), true, "preDNAT and doNotTrack cannot both be true: set at most one of them"))
	}
	if spec.PreDNAT && len(spec.Egress) > 0 {
		c.add(field.Forbidden(p.Child("egress"), "preDNAT policy cannot have any egress rules: preDNAT applies to ingress only"))
	}
	if spec.PreDNAT {
		for i, t := range spec.Types {
			if t == v1alpha1.PolicyTypeEgress {
				c.add(field.Invalid(p.Child("types").Index(i), t, "preDNAT policy cannot have 'Egress' type: use [Ingress]"))
			}
		}
	}
	if (spec.PreDNAT || spec.DoNotTrack) && !spec.ApplyOnForward {
		c.add(field.Invalid(p.Child("applyOnForward"), false, "applyOnForward must be true if either preDNAT or doNotTrack is true"))
	}
	return c.errs
}
