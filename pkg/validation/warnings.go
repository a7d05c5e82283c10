package validation

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

// Warning is a soft finding: the object is accepted but something is risky.
type Warning struct {
	Field   string // field path, e.g. "spec.ingress[0].destination.nets[0]"
	Message string
}

// String renders the warning as admission responses carry it: "FIELD: message".
func (w Warning) String() string { return w.Field + ": " + w.Message }

// Strings renders warnings for admission.Warnings.
func Strings(ws []Warning) []string {
	if len(ws) == 0 {
		return nil
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// policyWarnings reports the policy-level soft findings: rules of a direction the policy does not
// govern, a missing order, rules that can never be reached, a trailing Log, and an Immediate rollout
// of a policy that can drop traffic.
func (c *checker) policyWarnings(spec *v1alpha1.PolicySpec, p *field.Path) {
	if len(spec.Types) > 0 && typesValid(spec.Types) {
		governed := map[v1alpha1.PolicyType]bool{}
		for _, t := range spec.Types {
			governed[t] = true
		}
		if n := len(spec.Ingress); n > 0 && !governed[v1alpha1.PolicyTypeIngress] {
			c.warn(p.Child("types"), fmt.Sprintf("does not include Ingress: the %s ignored", countRules(n, "ingress")))
		}
		if n := len(spec.Egress); n > 0 && !governed[v1alpha1.PolicyTypeEgress] {
			c.warn(p.Child("types"), fmt.Sprintf("does not include Egress: the %s ignored", countRules(n, "egress")))
		}
	}
	if spec.Order == nil {
		c.warn(p.Child("order"), "not set: the policy is evaluated after every policy with an order (Kubernetes NetworkPolicies have 1000)")
	}
	c.ruleOrderWarnings(spec.Ingress, p.Child("ingress"))
	c.ruleOrderWarnings(spec.Egress, p.Child("egress"))
	if spec.Rollout != nil && spec.Rollout.Strategy == v1alpha1.RolloutImmediate && mayDeny(spec) {
		c.warn(p.Child("rollout", "strategy"), "Immediate skips Audit: this policy can drop traffic as soon as it is applied")
	}
}

// typesValid: warnings about ignored rules only make sense once types itself is right.
func typesValid(ts []v1alpha1.PolicyType) bool {
	for _, t := range ts {
		if t != v1alpha1.PolicyTypeIngress && t != v1alpha1.PolicyTypeEgress {
			return false
		}
	}
	return true
}

func countRules(n int, dir string) string {
	if n == 1 {
		return "1 " + dir + " rule is"
	}
	return fmt.Sprintf("%d %s rules are", n, dir)
}

// ruleOrderWarnings warns about rules after a rule that decides every flow, and about a Log rule that
// ends the list (Log never decides, so it reads like "log and deny" but only logs).
func (c *checker) ruleOrderWarnings(rules []v1alpha1.Rule, p *field.Path) {
	for i := range rules {
		if decidesAll(&rules[i]) {
			if after := len(rules) - i - 1; after > 0 {
				c.warn(p.Index(i), "matches all traffic: the "+countLater(after)+" never reached")
			}
			return
		}
	}
	if n := len(rules); n > 0 && rules[n-1].Action == v1alpha1.Log {
		c.warn(p.Index(n-1), "Log is the last rule: matching traffic is logged, then falls through to the next policy")
	}
}

func countLater(n int) string {
	if n == 1 {
		return "1 rule after it is"
	}
	return fmt.Sprintf("%d rules after it are", n)
}

// decidesAll reports whether a rule ends evaluation of its policy for every flow: a terminal action
// with no match criteria at all.
func decidesAll(r *v1alpha1.Rule) bool {
	switch r.Action {
	case v1alpha1.Allow, v1alpha1.Deny, v1alpha1.Pass:
	default:
		return false
	}
	return r.IPVersion == nil && r.Protocol == nil && r.ICMP == nil && r.NotProtocol == nil &&
		r.NotICMP == nil && r.HTTP == nil && entityEmpty(&r.Source) && entityEmpty(&r.Destination)
}

func entityEmpty(e *v1alpha1.EntityRule) bool {
	return len(e.Nets) == 0 && e.Selector == "" && e.NamespaceSelector == "" && e.Services == nil &&
		len(e.Ports) == 0 && len(e.NotNets) == 0 && e.NotSelector == "" && len(e.NotPorts) == 0 &&
		e.ServiceAccounts == nil && len(e.Domains) == 0
}

// mayDeny reports whether applying the policy can drop a flow that was allowed before: it has a
// reachable Deny rule, or a governed direction has no rule that allows (or passes) everything, so
// unmatched flows of the endpoints it selects meet the end-of-tier deny.
func mayDeny(spec *v1alpha1.PolicySpec) bool {
	for _, t := range defaulting.PolicyTypes(spec) {
		rules := spec.Ingress
		if t == v1alpha1.PolicyTypeEgress {
			rules = spec.Egress
		}
		if directionMayDeny(rules) {
			return true
		}
	}
	return false
}

func directionMayDeny(rules []v1alpha1.Rule) bool {
	for i := range rules {
		if rules[i].Action == v1alpha1.Deny {
			return true
		}
		if decidesAll(&rules[i]) {
			return false // Allow or Pass everything: nothing after it runs
		}
	}
	return true
}
