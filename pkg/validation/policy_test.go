package validation

import (
	"math"
	"strings"
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

const (
	tierDetail        = `tiers are not supported yet: leave tier empty or set it to "default"`
	globalPolicyMsg   = `global() can only be used in a rule's namespaceSelector, alone`
	noOrderWarning    = "spec.order: not set: the policy is evaluated after every policy with an order (Kubernetes NetworkPolicies have 1000)"
	selectorEqDetail  = `invalid selector: at position 2: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found "="`
	applyOnFwdDetail  = "applyOnForward must be true if either preDNAT or doNotTrack is true"
	preDNATEgressRule = "preDNAT policy cannot have any egress rules: preDNAT applies to ingress only"
)

func TestPolicySpec(t *testing.T) {
	runPolicyCases(t, []policyCase{
		{name: "minimal np", obj: np()},
		{name: "minimal gnp", obj: gnp()},
		// S5 / Palisade: tiers.
		{name: "tier default", obj: np(tier("default"))},
		{name: "tier empty", obj: np(tier(""))},
		{name: "tier other", obj: np(tier("security")),
			wantErrs: []wantErr{inv("spec.tier", tierDetail)}},
		{name: "tier Default is case-sensitive", obj: gnp(tier("Default")),
			wantErrs: []wantErr{inv("spec.tier", tierDetail)}},
		// S4: order.
		{name: "order negative", obj: np(order(-5))},
		{name: "order fractional", obj: np(order(100.5))},
		{name: "order NaN", obj: np(order(math.NaN())),
			wantErrs: []wantErr{inv("spec.order", "must be a finite number; lower orders apply first")}},
		{name: "order +Inf", obj: np(order(math.Inf(1))),
			wantErrs: []wantErr{inv("spec.order", "must be a finite number; lower orders apply first")}},
		// S2: selectors.
		{name: "selector empty selects all", obj: np(policySelector(""))},
		{name: "selector all()", obj: np(policySelector("all()"))},
		{name: "selector syntax error with position", obj: np(policySelector(`a = "b"`)),
			wantErrs: []wantErr{inv("spec.selector", selectorEqDetail)}},
		{name: "selector trailing newline", obj: np(policySelector("a == 'b'\n")),
			wantErrs: []wantErr{inv("spec.selector", `invalid selector: at position 8: expected "&&", "||" or end of input, found "\n"`)}},
		{name: "selector global()", obj: np(policySelector("global()")),
			wantErrs: []wantErr{inv("spec.selector", globalPolicyMsg)}},
		{name: "selector global( inside a string", obj: gnp(policySelector(`a == "global("`)),
			wantErrs: []wantErr{inv("spec.selector", globalPolicyMsg)}},
		{name: "selector 1024 bytes", obj: np(policySelector("a == '" + strings.Repeat("x", 1017) + "'"))},
		{name: "selector 1025 bytes", obj: np(policySelector("a == '" + strings.Repeat("x", 1018) + "'")),
			wantErrs: []wantErr{tooLong("spec.selector", 1024)}},
		{name: "serviceAccountSelector valid", obj: np(saSelector(`role == "db"`))},
		{name: "serviceAccountSelector invalid", obj: np(saSelector(`role`)),
			wantErrs: []wantErr{inv("spec.serviceAccountSelector", `invalid selector: at position 4: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found end of input`)}},
		{name: "serviceAccountSelector global", obj: np(saSelector(`global()`)),
			wantErrs: []wantErr{inv("spec.serviceAccountSelector", globalPolicyMsg)}},
		{name: "gnp namespaceSelector valid", obj: gnp(nsSelector(`isolation == 'enabled'`))},
		{name: "gnp namespaceSelector invalid", obj: gnp(nsSelector(`a = 'b'`)),
			wantErrs: []wantErr{inv("spec.namespaceSelector", selectorEqDetail)}},
		{name: "gnp namespaceSelector global", obj: gnp(nsSelector(`global()`)),
			wantErrs: []wantErr{inv("spec.namespaceSelector", globalPolicyMsg)}},
		// S1: types.
		{name: "types ingress", obj: np(types(ing))},
		{name: "types both", obj: np(types(eg, ing))},
		{name: "types unknown", obj: np(types("ingress")),
			wantErrs: []wantErr{notSup("spec.types[0]", "Ingress", "Egress")}},
		{name: "types duplicate", obj: np(types(ing, ing)),
			wantErrs: []wantErr{dup("spec.types[1]")}},
		{name: "types three", obj: np(types(ing, eg, ing)),
			wantErrs: []wantErr{tooMany("spec.types", 2), dup("spec.types[2]")}},
		// S3: performance hints.
		{name: "hint valid", obj: np(hints(v1alpha1.PerfHintAssumeNeededOnEveryNode))},
		{name: "hint unknown", obj: np(hints("Fast")),
			wantErrs: []wantErr{notSup("spec.performanceHints[0]", "AssumeNeededOnEveryNode")}},
		{name: "hint duplicate", obj: np(hints(v1alpha1.PerfHintAssumeNeededOnEveryNode, v1alpha1.PerfHintAssumeNeededOnEveryNode)),
			wantErrs: []wantErr{dup("spec.performanceHints[1]")}},
		// S6: rule counts.
		{name: "1024 ingress rules", obj: np(withIngress(repeatRule(1024, allow(proto("TCP")))...))},
		{name: "1025 egress rules", obj: np(withEgress(repeatRule(1025, allow(proto("TCP")))...)),
			wantErrs: []wantErr{tooMany("spec.egress", 1024)}},
		// S7: GlobalNetworkPolicy host flags.
		{name: "preDNAT with applyOnForward", obj: gnp(preDNAT(), applyOnForward(), withIngress(deny(proto("TCP"), dst(ports(22)))))},
		{name: "doNotTrack with applyOnForward", obj: gnp(doNotTrack(), applyOnForward())},
		{name: "applyOnForward alone", obj: gnp(applyOnForward())},
		{name: "preDNAT and doNotTrack", obj: gnp(preDNAT(), doNotTrack(), applyOnForward()),
			wantErrs: []wantErr{inv("spec.preDNAT", "preDNAT and doNotTrack cannot both be true: set at most one of them")}},
		{name: "preDNAT with egress rules", obj: gnp(preDNAT(), applyOnForward(), withEgress(allow())),
			wantErrs: []wantErr{forb("spec.egress", preDNATEgressRule)}},
		{name: "preDNAT with Egress type", obj: gnp(preDNAT(), applyOnForward(), types(ing, eg)),
			wantErrs: []wantErr{inv("spec.types[1]", "preDNAT policy cannot have 'Egress' type: use [Ingress]")}},
		{name: "preDNAT without applyOnForward", obj: gnp(preDNAT()),
			wantErrs: []wantErr{inv("spec.applyOnForward", applyOnFwdDetail)}},
		{name: "doNotTrack without applyOnForward", obj: gnp(doNotTrack()),
			wantErrs: []wantErr{inv("spec.applyOnForward", applyOnFwdDetail)}},
		// Errors from several places come in field order.
		{name: "errors in walk order", obj: makeNP("A", "prod", tier("x"), policySelector("b"), types("x"),
			withIngress(rule("allow")), withEgress(rule(""))),
			wantErrs: []wantErr{
				inv("metadata.name", subdomainDetail),
				inv("spec.tier", tierDetail),
				inv("spec.selector", `invalid selector: at position 1: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found end of input`),
				notSup("spec.types[0]", "Ingress", "Egress"),
				notSup("spec.ingress[0].action", "Allow", "Deny", "Log", "Pass"),
				req("spec.egress[0].action", "must be one of Allow, Deny, Log, Pass"),
			}},
	})
}

// TestNilInputs: nil objects are reported, never dereferenced.
func TestNilInputs(t *testing.T) {
	if errs, _ := ValidateNetworkPolicy(nil); len(errs) != 1 || errs[0].Type != "InternalError" {
		t.Errorf("ValidateNetworkPolicy(nil) = %v", errs)
	}
	if errs, _ := ValidateGlobalNetworkPolicy(nil); len(errs) != 1 || errs[0].Type != "InternalError" {
		t.Errorf("ValidateGlobalNetworkPolicy(nil) = %v", errs)
	}
	if errs, _ := ValidateKubernetesNetworkPolicy(nil); len(errs) != 1 || errs[0].Type != "InternalError" {
		t.Errorf("ValidateKubernetesNetworkPolicy(nil) = %v", errs)
	}
	if errs, warns := ValidatePolicySpec(nil, true, nil); errs != nil || warns != nil {
		t.Errorf("ValidatePolicySpec(nil) = %v, %v", errs, warns)
	}
	if errs := ValidateRollout(nil, nil); errs != nil {
		t.Errorf("ValidateRollout(nil) = %v", errs)
	}
}
