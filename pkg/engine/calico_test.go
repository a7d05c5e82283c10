package engine

import (
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// scenario is one flow evaluated against the base cluster plus extra objects; want is the whole
// rendered verdict (renderVerdict).
type scenario struct {
	name string
	objs []any
	flow Flow
	mode Mode
	want string
}

func runScenarios(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e := New()
			apply(t, e, baseCluster()...)
			apply(t, e, sc.objs...)
			v, err := e.Evaluate(sc.flow, sc.mode)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if got := renderVerdict(v); got != sc.want {
				t.Errorf("verdict mismatch\n--- got\n%s--- want\n%s", got, sc.want)
			}
			// The trace-free path must agree with the traced one.
			ok, err := e.Allowed(sc.flow, sc.mode)
			if err != nil || ok != v.Allowed {
				t.Errorf("Allowed = %v, %v; Evaluate said %v", ok, err, v.Allowed)
			}
		})
	}
}

const (
	Allow = v1alpha1.Allow
	Deny  = v1alpha1.Deny
	Log   = v1alpha1.Log
	Pass  = v1alpha1.Pass
)

var (
	onWeb = sel("app == 'web'")
	onDB  = sel("app == 'db'")
)

func TestOrderingAndTieBreak(t *testing.T) {
	logOnly := ingress(rl(Log))
	runScenarios(t, []scenario{
		{
			name: "no policy allows both sides",
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow NoPolicyApplies"),
		},
		{
			name: "a-b and a.b sort before a at equal order",
			objs: []any{
				np("prod", "a", onWeb, order(10), logOnly),
				np("prod", "a.b", onWeb, order(10), logOnly),
				np("prod", "a-b", onWeb, order(10), logOnly),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny EndOfTierDeny default",
				"  default NetworkPolicy/prod/a-b order=10 enforced: NoRuleMatched logs=[0]",
				"  default NetworkPolicy/prod/a.b order=10 enforced: NoRuleMatched logs=[0]",
				"  default NetworkPolicy/prod/a order=10 enforced: NoRuleMatched logs=[0]"),
		},
		{
			name: "GNP sorts before NP of the same name, order beats name, no order is last",
			objs: []any{
				np("prod", "x", onWeb, order(10), logOnly),
				gnp("x", onWeb, order(10), logOnly),
				np("prod", "last", onWeb, logOnly),
				np("prod", "zzz", onWeb, order(-5), logOnly),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny EndOfTierDeny default",
				"  default NetworkPolicy/prod/zzz order=-5 enforced: NoRuleMatched logs=[0]",
				"  default GlobalNetworkPolicy/x order=10 enforced: NoRuleMatched logs=[0]",
				"  default NetworkPolicy/prod/x order=10 enforced: NoRuleMatched logs=[0]",
				"  default NetworkPolicy/prod/last order=none enforced: NoRuleMatched logs=[0]"),
		},
		{
			name: "KNP sorts before NP of the same name and order; NP without order after KNPs",
			objs: []any{
				np("prod", "y", onWeb, order(1000), ingress(rl(Deny))),
				np("prod", "unordered", onWeb, ingress(rl(Allow))),
				knp("prod", "y", podSel("app", "web"), knpIngress(from(peerPods("app", "nothing")))),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny Rule default NetworkPolicy/prod/y rule=0 Deny",
				"  default KubernetesNetworkPolicy/prod/y order=1000 enforced: NoRuleMatched",
				"  default NetworkPolicy/prod/y order=1000 enforced: Deny rule=0"),
		},
	})
}

func TestActionsAndTiers(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "Log then Deny: Log is recorded and never terminal",
			objs: []any{np("prod", "p", onWeb, order(1), ingress(rl(Log), rl(Log, proto("UDP")), rl(Deny), rl(Allow)))},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny Rule default NetworkPolicy/prod/p rule=2 Deny",
				"  default NetworkPolicy/prod/p order=1 enforced: Deny rule=2 logs=[0]"),
		},
		{
			name: "Pass at the end of the last tier reaches the profile (allow)",
			objs: []any{
				np("prod", "p1", onWeb, order(1), ingress(rl(Pass))),
				np("prod", "p2", onWeb, order(2), ingress(rl(Deny))),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow PassedToProfile",
				"  default NetworkPolicy/prod/p1 order=1 enforced: Pass rule=0"),
		},
		{
			name: "Pass skips the rest of its tier and continues with the next tier",
			objs: []any{
				np("prod", "p1", onWeb, order(1), ingress(rl(Pass))),
				np("prod", "p2", onWeb, order(2), ingress(rl(Allow))),
				np("prod", "late", onWeb, tier("zzz"), order(1), ingress(rl(Deny, proto("TCP")))),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny Rule zzz NetworkPolicy/prod/late rule=0 Deny",
				"  default NetworkPolicy/prod/p1 order=1 enforced: Pass rule=0",
				"  zzz NetworkPolicy/prod/late order=1 enforced: Deny rule=0"),
		},
		{
			name: "policies of one unknown tier form one tier (sorted after default)",
			objs: []any{
				np("prod", "z1", onWeb, tier("zzz"), order(1), ingress(rl(Deny, proto("UDP")))),
				np("prod", "z2", onWeb, tier("zzz"), order(2), ingress(rl(Allow, proto("TCP")))),
				np("prod", "d", onWeb, order(5), ingress(rl(Pass))),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow Rule zzz NetworkPolicy/prod/z2 rule=0 Allow",
				"  default NetworkPolicy/prod/d order=5 enforced: Pass rule=0",
				"  zzz NetworkPolicy/prod/z1 order=1 enforced: NoRuleMatched",
				"  zzz NetworkPolicy/prod/z2 order=2 enforced: Allow rule=0"),
		},
		{
			name: "a tier with default action Pass (kube-admin) falls through to the next tier",
			objs: []any{
				np("prod", "adm", onWeb, tier("kube-admin"), order(1), ingress(rl(Deny, proto("UDP")))),
				np("prod", "d", onWeb, order(1), ingress(rl(Allow, proto("TCP")))),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow Rule default NetworkPolicy/prod/d rule=0 Allow",
				"  kube-admin NetworkPolicy/prod/adm order=1 enforced: NoRuleMatched",
				"  default NetworkPolicy/prod/d order=1 enforced: Allow rule=0"),
		},
		{
			name: "no rule matched in an applied tier: end-of-tier deny",
			objs: []any{np("prod", "p", onWeb, ingress(rl(Allow, proto("UDP"))))},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny EndOfTierDeny default",
				"  default NetworkPolicy/prod/p order=none enforced: NoRuleMatched"),
		},
		{
			name: "a policy selecting other pods does not apply: no end-of-tier deny",
			objs: []any{np("prod", "p", onDB, ingress(rl(Deny)))},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow NoPolicyApplies"),
		},
		{
			name: "types omitting a direction: egress rules of an Ingress-only policy are ignored",
			objs: []any{np("dev", "p", sel("app == 'client'"), types(v1alpha1.PolicyTypeIngress), egress(rl(Deny)))},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow NoPolicyApplies"),
		},
		{
			name: "defaulted types: only egress rules means Egress only",
			objs: []any{np("prod", "p", onWeb, egress(rl(Allow)))},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow NoPolicyApplies"),
		},
		{
			name: "defaulted types: no rules at all means Ingress (default deny)",
			objs: []any{np("prod", "p", onWeb)},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny EndOfTierDeny default",
				"  default NetworkPolicy/prod/p order=none enforced: NoRuleMatched"),
		},
		{
			name: "egress denies at the source, ingress still evaluated",
			objs: []any{
				np("dev", "egress-deny", sel("app == 'client'"), types(v1alpha1.PolicyTypeEgress)),
				np("prod", "web-in", onWeb, ingress(rl(Allow))),
			},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"deny",
				"egress dev/client: deny EndOfTierDeny default",
				"  default NetworkPolicy/dev/egress-deny order=none enforced: NoRuleMatched",
				"ingress prod/web: allow Rule default NetworkPolicy/prod/web-in rule=0 Allow",
				"  default NetworkPolicy/prod/web-in order=none enforced: Allow rule=0"),
		},
		{
			name: "an NP selector is scoped to its namespace",
			objs: []any{np("dev", "p", sel("has(app)"), ingress(rl(Deny)))},
			flow: tcp(ipClient, ipWeb, 8080),
			want: lines(
				"allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow NoPolicyApplies"),
		},
		{
			name: "address outside every pod: no policy on that side",
			objs: []any{np("prod", "p", onWeb, types(v1alpha1.PolicyTypeEgress))},
			flow: tcp(ipWeb, ipExt, 443),
			want: lines(
				"deny",
				"egress prod/web: deny EndOfTierDeny default",
				"  default NetworkPolicy/prod/p order=none enforced: NoRuleMatched",
				"ingress -: allow NotAnEndpoint"),
		},
	})
}

func tier(name string) func(*v1alpha1.PolicySpec) {
	return func(p *v1alpha1.PolicySpec) { p.Tier = name }
}
