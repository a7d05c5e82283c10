package engine

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// inRule is the whole verdict when the source side has no policy and the destination's ingress is
// decided by rule idx of policy pol (tier default, no order).
func inRule(srcPod, dstPod, pol string, idx int, action v1alpha1.Action) string {
	verdict := "allow"
	if action == Deny {
		verdict = "deny"
	}
	srcReason := "NoPolicyApplies"
	if srcPod == "-" {
		srcReason = "NotAnEndpoint"
	}
	return lines(verdict,
		fmt.Sprintf("egress %s: allow %s", srcPod, srcReason),
		fmt.Sprintf("ingress %s: %s Rule default %s rule=%d %s", dstPod, verdict, pol, idx, action),
		fmt.Sprintf("  default %s order=none enforced: %s rule=%d", pol, action, idx))
}

// inEndOfTier is the whole verdict when the destination's only policy pol matched no rule.
func inEndOfTier(srcPod, dstPod, pol string) string {
	srcReason := "NoPolicyApplies"
	if srcPod == "-" {
		srcReason = "NotAnEndpoint"
	}
	return lines("deny",
		fmt.Sprintf("egress %s: allow %s", srcPod, srcReason),
		fmt.Sprintf("ingress %s: deny EndOfTierDeny default", dstPod),
		fmt.Sprintf("  default %s order=none enforced: NoRuleMatched", pol))
}

func noPolicies(srcPod, dstPod string) string {
	return lines("allow", "egress "+srcPod+": allow NoPolicyApplies", "ingress "+dstPod+": allow NoPolicyApplies")
}

const webP = "NetworkPolicy/prod/p"

func webPolicy(rs ...v1alpha1.Rule) *v1alpha1.NetworkPolicy {
	return np("prod", "p", onWeb, ingress(rs...))
}

func TestNetsAndFamilies(t *testing.T) {
	notClientNet := webPolicy(rl(Allow, src(eNotNets("10.0.1.0/24"))))
	v6CatchAll := webPolicy(rl(Allow, src(eNotNets("::/0"))))
	v4Nets := webPolicy(rl(Allow, src(eNets("10.0.0.0/8", "192.0.2.0/24"))))
	runScenarios(t, []scenario{
		{name: "notNets v4: other v4 source matches", objs: []any{notClientNet},
			flow: tcp(ipMon, ipWeb, 80), want: inRule("ops/mon", "prod/web", webP, 0, Allow)},
		{name: "notNets v4: excluded source", objs: []any{notClientNet},
			flow: tcp(ipClient, ipWeb, 80), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "notNets with only v4 CIDRs never matches IPv6", objs: []any{notClientNet},
			flow: tcp(ipClient6, ipWeb6, 80), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "notNets ::/0 drops the rule for IPv4 and matches no IPv6", objs: []any{v6CatchAll},
			flow: tcp(ipClient, ipWeb, 80), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "nets match external v4", objs: []any{v4Nets},
			flow: tcp(ipExt, ipWeb, 80), want: inRule("-", "prod/web", webP, 0, Allow)},
		{name: "nets with only v4 CIDRs never match IPv6", objs: []any{v4Nets},
			flow: tcp(ipExt6, ipWeb6, 80), want: inEndOfTier("-", "prod/web", webP)},
	})
}

func TestNamedPorts(t *testing.T) {
	httpIn := webPolicy(rl(Allow, proto("TCP"), dst(ePorts("http"))))
	dnsUDP := webPolicy(rl(Allow, proto("UDP"), dst(ePorts("dns"))))
	dnsTCP := webPolicy(rl(Allow, proto("TCP"), dst(ePorts("dns"))))
	dnsAny := webPolicy(rl(Allow, dst(ePorts("dns"))))
	notHTTP := webPolicy(rl(Allow, proto("TCP"), dst(eNotPorts("http"))))
	clientOut := np("dev", "out", sel("app == 'client'"), types(v1alpha1.PolicyTypeEgress),
		egress(rl(Allow, proto("TCP"), dst(eNS("env == 'prod'"), ePorts("http")))))
	const outP = "NetworkPolicy/dev/out"
	egressRule := func(dstPod string, allowed bool) string {
		if allowed {
			return lines("allow",
				"egress dev/client: allow Rule default "+outP+" rule=0 Allow",
				"  default "+outP+" order=none enforced: Allow rule=0",
				"ingress "+dstPod+": allow NoPolicyApplies")
		}
		return lines("deny",
			"egress dev/client: deny EndOfTierDeny default",
			"  default "+outP+" order=none enforced: NoRuleMatched",
			"ingress "+dstPod+": allow NoPolicyApplies")
	}
	runScenarios(t, []scenario{
		{name: "ingress named port resolves to the destination pod's port", objs: []any{httpIn},
			flow: tcp(ipClient, ipWeb, 8080), want: inRule("dev/client", "prod/web", webP, 0, Allow)},
		{name: "ingress named port: another pod's http port number does not match", objs: []any{httpIn},
			flow: tcp(ipClient, ipWeb, 9090), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "named port on its own protocol (UDP)", objs: []any{dnsUDP},
			flow: udp(ipClient, ipWeb, 53), want: inRule("dev/client", "prod/web", webP, 0, Allow)},
		{name: "rule protocol TCP filters out a UDP named port", objs: []any{dnsTCP},
			flow: tcp(ipClient, ipWeb, 53), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "no rule protocol: the member keeps its own protocol (UDP matches)", objs: []any{dnsAny},
			flow: udp(ipClient, ipWeb, 53), want: inRule("dev/client", "prod/web", webP, 0, Allow)},
		{name: "no rule protocol: the member keeps its own protocol (TCP does not)", objs: []any{dnsAny},
			flow: tcp(ipClient, ipWeb, 53), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "notPorts named excludes the named port", objs: []any{notHTTP},
			flow: tcp(ipClient, ipWeb, 8080), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "notPorts named lets other ports through", objs: []any{notHTTP},
			flow: tcp(ipClient, ipWeb, 80), want: inRule("dev/client", "prod/web", webP, 0, Allow)},
		{name: "egress named port resolves against the selected peer (web http=8080)", objs: []any{clientOut},
			flow: tcp(ipClient, ipWeb, 8080), want: egressRule("prod/web", true)},
		{name: "egress named port resolves against the selected peer (api http=9090)", objs: []any{clientOut},
			flow: tcp(ipClient, ipAPI, 9090), want: egressRule("prod/api", true)},
		{name: "egress named port: web has no http on 9090", objs: []any{clientOut},
			flow: tcp(ipClient, ipWeb, 9090), want: egressRule("prod/web", false)},
		{name: "egress named port: db has no http port", objs: []any{clientOut},
			flow: tcp(ipClient, ipDB, 8080), want: egressRule("prod/db", false)},
	})
}

func TestPeerSelectors(t *testing.T) {
	dbFromSAName := np("prod", "p", onDB, ingress(rl(Allow, src(eSA("", "api-sa")))))
	dbFromSASel := np("prod", "p", onDB, ingress(rl(Allow, src(eSA("role == 'api'")))))
	impostor := pod("dev", "imp", "10.0.1.9", map[string]string{"app": "imp"}, withSA("api-sa"))
	fromGlobal := webPolicy(rl(Allow, src(eNS("global()"))))
	notClientAnyNS := webPolicy(rl(Allow, src(eNS("all()"), eNotSel("app == 'client'"))))
	notClientOwnNS := webPolicy(rl(Allow, src(eNotSel("app == 'client'"))))
	gnpNotClient := gnp("g", onWeb, ingress(rl(Allow, src(eNotSel("app == 'client'")))))
	fromDev := webPolicy(rl(Allow, src(eNS("env == 'dev'"))))
	fromSameNS := webPolicy(rl(Allow, src(eSel("has(app)"))))
	fromInherited := webPolicy(rl(Allow, src(eSel("pcns.env == 'dev'"))))
	const gP = "GlobalNetworkPolicy/g"
	runScenarios(t, []scenario{
		{name: "serviceAccounts.names matches the pod's service account", objs: []any{dbFromSAName},
			flow: tcp(ipAPI, ipDB, 5432), want: inRule("prod/api", "prod/db", webP, 0, Allow)},
		{name: "serviceAccounts.names: other service account", objs: []any{dbFromSAName},
			flow: tcp(ipWeb, ipDB, 5432), want: inEndOfTier("prod/web", "prod/db", webP)},
		{name: "serviceAccounts.names in an NP is scoped to the policy's namespace", objs: []any{dbFromSAName, impostor},
			flow: tcp("10.0.1.9", ipDB, 5432), want: inEndOfTier("dev/imp", "prod/db", webP)},
		{name: "serviceAccounts.selector matches service-account labels", objs: []any{dbFromSASel},
			flow: tcp(ipAPI, ipDB, 5432), want: inRule("prod/api", "prod/db", webP, 0, Allow)},
		{name: "serviceAccounts.selector: unlabelled service account", objs: []any{dbFromSASel},
			flow: tcp(ipWeb, ipDB, 5432), want: inEndOfTier("prod/web", "prod/db", webP)},
		{name: "namespaceSelector global() matches no pod", objs: []any{fromGlobal},
			flow: tcp(ipClient, ipWeb, 80), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "namespaceSelector global() matches no outside address either", objs: []any{fromGlobal},
			flow: tcp(ipExt, ipWeb, 80), want: inEndOfTier("-", "prod/web", webP)},
		{name: "notSelector is unscoped: excluded in any namespace", objs: []any{notClientAnyNS},
			flow: tcp(ipClient, ipWeb, 80), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "notSelector with namespaceSelector all(): other namespaces allowed", objs: []any{notClientAnyNS},
			flow: tcp(ipMon, ipWeb, 80), want: inRule("ops/mon", "prod/web", webP, 0, Allow)},
		{name: "notSelector with namespaceSelector: outside addresses do not match", objs: []any{notClientAnyNS},
			flow: tcp(ipExt, ipWeb, 80), want: inEndOfTier("-", "prod/web", webP)},
		{name: "NP notSelector alone implies the own namespace (other ns)", objs: []any{notClientOwnNS},
			flow: tcp(ipMon, ipWeb, 80), want: inEndOfTier("ops/mon", "prod/web", webP)},
		{name: "NP notSelector alone implies the own namespace (same ns)", objs: []any{notClientOwnNS},
			flow: tcp(ipAPI, ipWeb, 80), want: inRule("prod/api", "prod/web", webP, 0, Allow)},
		{name: "GNP notSelector alone matches outside addresses", objs: []any{gnpNotClient},
			flow: tcp(ipExt, ipWeb, 80), want: inRule("-", "prod/web", gP, 0, Allow)},
		{name: "GNP notSelector alone excludes the selected pods", objs: []any{gnpNotClient},
			flow: tcp(ipClient, ipWeb, 80), want: inEndOfTier("dev/client", "prod/web", gP)},
		{name: "rule namespaceSelector matches namespace labels", objs: []any{fromDev},
			flow: tcp(ipClient, ipWeb, 80), want: inRule("dev/client", "prod/web", webP, 0, Allow)},
		{name: "rule namespaceSelector: own namespace not implied", objs: []any{fromDev},
			flow: tcp(ipAPI, ipWeb, 80), want: inEndOfTier("prod/api", "prod/web", webP)},
		{name: "NP rule selector is scoped to the policy namespace", objs: []any{fromSameNS},
			flow: tcp(ipClient, ipWeb, 80), want: inEndOfTier("dev/client", "prod/web", webP)},
		{name: "inherited pcns labels are visible to plain selectors", objs: []any{
			np("prod", "p", onWeb, ingress(rl(Allow, src(eNS("all()"), eSel("pcns.env == 'dev'")))))},
			flow: tcp(ipClient, ipWeb, 80), want: inRule("dev/client", "prod/web", webP, 0, Allow)},
		{name: "inherited labels in an NP rule selector are still scoped", objs: []any{fromInherited},
			flow: tcp(ipClient, ipWeb, 80), want: inEndOfTier("dev/client", "prod/web", webP)},
	})
}

func TestPolicySubjects(t *testing.T) {
	const gP = "GlobalNetworkPolicy/g"
	prodDeny := gnpNS("g", "env == 'prod'", ingress(rl(Deny)))
	unlabelledNS := gnpNS("g", "!has(env)", ingress(rl(Deny)))
	apiOnly := np("prod", "p", saSel("role == 'api'"), ingress(rl(Deny)))
	gnpSA := gnp("g", saSel("role == 'api'"), ingress(rl(Deny)))
	runScenarios(t, []scenario{
		{name: "GNP namespaceSelector selects pods of matching namespaces", objs: []any{prodDeny},
			flow: tcp(ipClient, ipWeb, 80), want: inRule("dev/client", "prod/web", gP, 0, Deny)},
		{name: "GNP namespaceSelector skips other namespaces", objs: []any{prodDeny},
			flow: tcp(ipWeb, ipClient, 80), want: noPolicies("prod/web", "dev/client")},
		{name: "GNP namespaceSelector !has(env) selects the unlabelled namespace", objs: []any{unlabelledNS},
			flow: tcp(ipClient, ipMon, 80), want: inRule("dev/client", "ops/mon", gP, 0, Deny)},
		{name: "GNP namespaceSelector !has(env) skips labelled namespaces", objs: []any{unlabelledNS},
			flow: tcp(ipMon, ipWeb, 80), want: noPolicies("ops/mon", "prod/web")},
		{name: "NP serviceAccountSelector selects pods by service-account labels", objs: []any{apiOnly},
			flow: tcp(ipClient, ipAPI, 9090), want: inRule("dev/client", "prod/api", webP, 0, Deny)},
		{name: "NP serviceAccountSelector skips other pods", objs: []any{apiOnly},
			flow: tcp(ipClient, ipWeb, 8080), want: noPolicies("dev/client", "prod/web")},
		{name: "GNP serviceAccountSelector selects across namespaces", objs: []any{gnpSA},
			flow: tcp(ipClient, ipAPI, 9090), want: inRule("dev/client", "prod/api", gP, 0, Deny)},
		{name: "GNP with empty selector and no namespaceSelector selects every pod", objs: []any{gnp("g", ingress(rl(Deny)))},
			flow: tcp(ipWeb, ipMon, 80), want: inRule("prod/web", "ops/mon", gP, 0, Deny)},
		{name: "doNotTrack GNPs never apply to pods", objs: []any{func() any {
			g := gnp("g", ingress(rl(Deny)))
			g.Spec.DoNotTrack, g.Spec.ApplyOnForward = true, true
			return g
		}()},
			flow: tcp(ipWeb, ipMon, 80), want: noPolicies("prod/web", "ops/mon")},
		{name: "policy selector sees Calico labels", objs: []any{np("prod", "p", sel("projectcalico.org/serviceaccount == 'api-sa'"), ingress(rl(Deny)))},
			flow: tcp(ipClient, ipAPI, 9090), want: inRule("dev/client", "prod/api", webP, 0, Deny)},
	})
}

func TestProtocolsICMPAndIPVersion(t *testing.T) {
	ping := webPolicy(rl(Allow, proto("ICMP"), icmpT(8)))
	unreach := webPolicy(rl(Allow, proto("ICMP"), icmpT(3, 4)))
	notPing := webPolicy(rl(Allow, proto("ICMP"), notICMPT(8)))
	notPingAnyProto := webPolicy(rl(Allow, notICMPT(8)))
	ping6 := webPolicy(rl(Allow, proto("ICMPv6"), icmpT(128)))
	v6only := webPolicy(rl(Allow, ipv(6)))
	icmpName := webPolicy(rl(Allow, proto("ICMP")))
	icmpNumber := webPolicy(rl(Allow, proto("1")))
	udpNumber := webPolicy(rl(Allow, proto("17")))
	notTCP := webPolicy(rl(Allow, notProto("TCP")))
	lowerTCP := webPolicy(rl(Allow, proto("tcp")))
	icmpOverV6 := Flow{Src: netip.MustParseAddr(ipClient6), Dst: netip.MustParseAddr(ipWeb6), Protocol: ProtoICMP}
	allowed := inRule("dev/client", "prod/web", webP, 0, Allow)
	denied := inEndOfTier("dev/client", "prod/web", webP)
	runScenarios(t, []scenario{
		{name: "icmp type matches", objs: []any{ping}, flow: icmpFlow(ipClient, ipWeb, 8, 0), want: allowed},
		{name: "icmp type differs", objs: []any{ping}, flow: icmpFlow(ipClient, ipWeb, 13, 0), want: denied},
		{name: "icmp type and code match", objs: []any{unreach}, flow: icmpFlow(ipClient, ipWeb, 3, 4), want: allowed},
		{name: "icmp code differs", objs: []any{unreach}, flow: icmpFlow(ipClient, ipWeb, 3, 1), want: denied},
		{name: "notICMP excludes the type", objs: []any{notPing}, flow: icmpFlow(ipClient, ipWeb, 8, 0), want: denied},
		{name: "notICMP lets other types through", objs: []any{notPing}, flow: icmpFlow(ipClient, ipWeb, 0, 0), want: allowed},
		{name: "notICMP without protocol lets TCP through", objs: []any{notPingAnyProto}, flow: tcp(ipClient, ipWeb, 80), want: allowed},
		{name: "ICMPv6 type on IPv6", objs: []any{ping6}, flow: icmpFlow(ipClient6, ipWeb6, 128, 0), want: allowed},
		{name: "ICMPv6 rule never matches IPv4", objs: []any{ping6}, flow: icmpFlow(ipClient, ipWeb, 8, 0), want: denied},
		{name: "ipVersion 6 rule skips IPv4", objs: []any{v6only}, flow: tcp(ipClient, ipWeb, 80), want: denied},
		{name: "ipVersion 6 rule matches IPv6", objs: []any{v6only}, flow: tcp(ipClient6, ipWeb6, 80), want: allowed},
		{name: "protocol name ICMP implies IPv4", objs: []any{icmpName}, flow: icmpOverV6, want: denied},
		{name: "protocol number 1 implies no version", objs: []any{icmpNumber}, flow: icmpOverV6, want: allowed},
		{name: "protocol number 17 is UDP", objs: []any{udpNumber}, flow: udp(ipClient, ipWeb, 53), want: allowed},
		{name: "protocol number 17 is not TCP", objs: []any{udpNumber}, flow: tcp(ipClient, ipWeb, 53), want: denied},
		{name: "notProtocol TCP excludes TCP", objs: []any{notTCP}, flow: tcp(ipClient, ipWeb, 80), want: denied},
		{name: "notProtocol TCP lets UDP through", objs: []any{notTCP}, flow: udp(ipClient, ipWeb, 80), want: allowed},
		{name: "lowercase protocol names work as in Felix", objs: []any{lowerTCP}, flow: tcp(ipClient, ipWeb, 80), want: allowed},
		{name: "numeric port range", objs: []any{webPolicy(rl(Allow, proto("TCP"), dst(ePorts("8000:8100"))))},
			flow: tcp(ipClient, ipWeb, 8080), want: allowed},
		{name: "source ports test the source port", objs: []any{webPolicy(rl(Allow, proto("TCP"), src(ePorts("40000"))))},
			flow: tcp(ipClient, ipWeb, 8080), want: allowed},
		{name: "notPorts numeric", objs: []any{webPolicy(rl(Allow, proto("TCP"), dst(eNotPorts("8080"))))},
			flow: tcp(ipClient, ipWeb, 8080), want: denied},
	})
}
