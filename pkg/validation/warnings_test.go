package validation

import (
	"strings"
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

const immediateWarning = "spec.rollout.strategy: Immediate skips Audit: this policy can drop traffic as soon as it is applied"

func TestWarnings(t *testing.T) {
	runPolicyCases(t, []policyCase{
		// types that omit a direction with rules.
		{name: "types omit Ingress", obj: np(types(eg), withIngress(allow(proto("TCP"))), withEgress(allow(proto("UDP")))),
			wantWarns: []string{"spec.types: does not include Ingress: the 1 ingress rule is ignored"}},
		{name: "types omit Egress", obj: gnp(types(ing), withEgress(allow(proto("TCP")), deny())),
			wantWarns: []string{"spec.types: does not include Egress: the 2 egress rules are ignored"}},
		{name: "types absent", obj: np(withIngress(allow(proto("TCP"))), withEgress(allow(proto("UDP"))))},
		{name: "types cover both", obj: np(types(ing, eg), withIngress(allow(proto("TCP"))), withEgress(allow(proto("UDP"))))},
		{name: "types Egress without egress rules", obj: np(types(eg))},
		// order.
		{name: "no order np", obj: np(noOrder()), wantWarns: []string{noOrderWarning}},
		{name: "no order gnp", obj: gnp(noOrder()), wantWarns: []string{noOrderWarning}},
		{name: "order 0", obj: np(order(0))},
		// rules after a rule that decides everything.
		{name: "catch-all allow then rules", obj: np(withIngress(allow(), deny(proto("TCP")), deny())),
			wantWarns: []string{"spec.ingress[0]: matches all traffic: the 2 rules after it are never reached"}},
		{name: "catch-all deny then a rule", obj: np(withEgress(allow(proto("UDP")), deny(), allow(proto("TCP")))),
			wantWarns: []string{"spec.egress[1]: matches all traffic: the 1 rule after it is never reached"}},
		{name: "catch-all pass then a rule", obj: gnp(withIngress(pass(), allow())),
			wantWarns: []string{"spec.ingress[0]: matches all traffic: the 1 rule after it is never reached"}},
		{name: "empty nets count as no criteria", obj: np(withIngress(allow(src(nets()), dst(ports())), deny())),
			wantWarns: []string{"spec.ingress[0]: matches all traffic: the 1 rule after it is never reached"}},
		{name: "allow with ipVersion is not catch-all", obj: np(withIngress(allow(ipv(4)), deny()))},
		{name: "allow with notProtocol is not catch-all", obj: np(withIngress(allow(notProto("TCP")), deny()))},
		{name: "catch-all allow last", obj: np(withIngress(deny(proto("TCP")), allow()))},
		{name: "catch-all log then rules", obj: np(withIngress(logR(), deny()))},
		// a trailing Log.
		{name: "log last", obj: np(withEgress(allow(proto("UDP")), logR())),
			wantWarns: []string{"spec.egress[1]: Log is the last rule: matching traffic is logged, then falls through to the next policy"}},
		{name: "log last with criteria", obj: np(withIngress(logR(proto("TCP")))),
			wantWarns: []string{"spec.ingress[0]: Log is the last rule: matching traffic is logged, then falls through to the next policy"}},
		{name: "log after catch-all is only unreachable", obj: np(withIngress(deny(), logR())),
			wantWarns: []string{"spec.ingress[0]: matches all traffic: the 1 rule after it is never reached"}},
		// negated CIDRs restrict a rule to one family.
		{name: "notNets IPv4 only", obj: np(withIngress(logR(src(notNets("10.0.0.0/8"))), deny(src(notNets("10.0.0.0/8"))))),
			wantWarns: []string{
				"spec.ingress[0].source.notNets: lists only IPv4 CIDRs, so the rule never matches IPv6 traffic: set ipVersion to say so",
				"spec.ingress[1].source.notNets: lists only IPv4 CIDRs, so the rule never matches IPv6 traffic: set ipVersion to say so",
			}},
		{name: "notNets IPv6 only in destination", obj: np(withEgress(deny(dst(notNets("fd00::/8"))))),
			wantWarns: []string{"spec.egress[0].destination.notNets: lists only IPv6 CIDRs, so the rule never matches IPv4 traffic: set ipVersion to say so"}},
		{name: "notNets with ipVersion", obj: np(withEgress(deny(ipv(4), dst(notNets("10.0.0.0/8")))))},
		{name: "notNets with nets", obj: np(withEgress(deny(dst(nets("10.0.0.0/8"), notNets("10.1.0.0/16")))))},
		// service-account names Calico never labels.
		{name: "service account name 63 chars", obj: np(withIngress(allow(src(saNames("ok", strings.Repeat("s", 63)))))),
			wantWarns: []string{"spec.ingress[0].source.serviceAccounts.names[1]: service-account names of 63+ characters never match (Calico does not label such pods)"}},
		{name: "service account name 62 chars", obj: np(withIngress(allow(src(saNames(strings.Repeat("s", 62))))))},
		// Immediate rollout of a policy that can drop traffic.
		{name: "immediate with deny", obj: np(immediate(), withIngress(deny(proto("TCP")), allow())),
			wantWarns: []string{immediateWarning}},
		{name: "immediate with allow-only rules isolates", obj: np(immediate(), withIngress(allow(proto("TCP")))),
			wantWarns: []string{immediateWarning}},
		{name: "immediate default deny", obj: np(immediate(), types(ing, eg)),
			wantWarns: []string{immediateWarning}},
		{name: "immediate no rules defaults to ingress", obj: gnp(immediate()),
			wantWarns: []string{immediateWarning}},
		{name: "immediate allow all", obj: np(immediate(), withIngress(logR(), allow()))},
		{name: "immediate pass all", obj: np(immediate(), withEgress(pass()))},
		{name: "immediate deny after catch-all is unreachable", obj: np(immediate(), withIngress(allow(), deny())),
			wantWarns: []string{"spec.ingress[0]: matches all traffic: the 1 rule after it is never reached"}},
		{name: "immediate egress only allow all", obj: np(immediate(), types(eg), withEgress(allow()))},
		{name: "immediate ignores ungoverned deny", obj: np(immediate(), types(eg), withEgress(allow()), withIngress(deny())),
			wantWarns: []string{"spec.types: does not include Ingress: the 1 ingress rule is ignored"}},
		{name: "progressive with deny", obj: np(rollout(&v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutProgressive}), withIngress(deny()))},
		// Several warnings come in field order.
		{name: "several warnings", obj: np(noOrder(), immediate(), types(ing), withIngress(allow(), logR()), withEgress(deny())),
			wantWarns: []string{
				"spec.types: does not include Egress: the 1 egress rule is ignored",
				"spec.order: not set: the policy is evaluated after every policy with an order (Kubernetes NetworkPolicies have 1000)",
				"spec.ingress[0]: matches all traffic: the 1 rule after it is never reached",
			}},
	})
}

func TestWarningString(t *testing.T) {
	w := Warning{Field: "spec.order", Message: "not set"}
	if got := w.String(); got != "spec.order: not set" {
		t.Errorf("String() = %q", got)
	}
	if got := Strings(nil); got != nil {
		t.Errorf("Strings(nil) = %q", got)
	}
	if got := Strings([]Warning{w, {Field: "spec.types", Message: "x"}}); !equalLists(got, []string{"spec.order: not set", "spec.types: x"}) {
		t.Errorf("Strings = %q", got)
	}
}
