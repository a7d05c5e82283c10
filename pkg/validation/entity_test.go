package validation

import (
	"strings"
	"testing"
)

const (
	globalAloneDetail = `global() cannot be combined with other selectors: use exactly "global()" or a selector without it`
	combinedDetail    = "cannot be combined with services: a services match already selects the Service's endpoints"
	svcPortsDetail    = "ports and notPorts cannot be specified with destination services: the Service's own ports are matched"
	domainsDetail     = "domains is not supported yet: the enforcer cannot match DNS names; use nets with the destination's CIDRs"
	labelStartDetail  = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
)

func TestEntityRules(t *testing.T) {
	runPolicyCases(t, []policyCase{
		// R9: selectors in rules.
		{name: "source selector and namespaceSelector", obj: np(withIngress(allow(src(sel(`color == 'blue'`), nsSel(`shape == 'circle'`)))))},
		{name: "namespaceSelector global()", obj: np(withIngress(allow(src(nsSel("global()")))))},
		{name: "namespaceSelector global() with spaces", obj: np(withIngress(allow(src(nsSel("  global( ) ")))))},
		{name: "namespaceSelector all()", obj: gnp(withIngress(allow(src(nsSel("all()")))))},
		{name: "namespaceSelector global() && all()", obj: np(withIngress(allow(src(nsSel("global() && all()"))))),
			wantErrs: []wantErr{inv("spec.ingress[0].source.namespaceSelector", globalAloneDetail)}},
		{name: "namespaceSelector !global()", obj: np(withIngress(allow(src(nsSel("!global()"))))),
			wantErrs: []wantErr{inv("spec.ingress[0].source.namespaceSelector", globalAloneDetail)}},
		{name: "namespaceSelector quoted global()", obj: np(withEgress(allow(dst(nsSel(`a == "global()"`))))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.namespaceSelector", globalAloneDetail)}},
		{name: "namespaceSelector syntax error", obj: np(withIngress(allow(src(nsSel(`name in {x}`))))),
			wantErrs: []wantErr{inv("spec.ingress[0].source.namespaceSelector", `invalid selector: at position 9: expected a quoted string or "}", found label "x"`)}},
		{name: "rule selector global()", obj: np(withIngress(allow(src(sel("global()"))))),
			wantErrs: []wantErr{inv("spec.ingress[0].source.selector", globalPolicyMsg)}},
		{name: "rule selector syntax error", obj: np(withEgress(allow(dst(sel(`b == b`))))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.selector", `invalid selector: at position 5: expected a quoted string, found label "b"`)}},
		{name: "notSelector may mention global()", obj: np(withIngress(allow(src(notSel("global()")))))},
		{name: "notSelector syntax error", obj: np(withIngress(allow(src(notSel("has (a)"))))),
			wantErrs: []wantErr{inv("spec.ingress[0].source.notSelector", `invalid selector: at position 4: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found "("`)}},
		{name: "rule selector too long", obj: np(withIngress(allow(src(sel("a == '" + strings.Repeat("x", 1100) + "'"))))),
			wantErrs: []wantErr{tooLong("spec.ingress[0].source.selector", 1024)}},
		// Service accounts.
		{name: "serviceAccounts names", obj: np(withIngress(allow(proto("TCP"), src(saNames("api-server", "batch-processor")), dst(ports(5432)))))},
		{name: "serviceAccounts selector", obj: np(withIngress(allow(src(saSel(`role == "db"`)))))},
		{name: "serviceAccounts duplicate name", obj: np(withIngress(allow(src(saNames("a", "b", "a"))))),
			wantErrs: []wantErr{dup("spec.ingress[0].source.serviceAccounts.names[2]")}},
		{name: "serviceAccounts empty name", obj: np(withIngress(allow(src(saNames(""))))),
			wantErrs: []wantErr{inv("spec.ingress[0].source.serviceAccounts.names[0]", `must be a service account name, e.g. "api-server"`)}},
		{name: "serviceAccounts selector invalid", obj: np(withIngress(allow(src(saSel(`role = "db"`))))),
			wantErrs: []wantErr{inv("spec.ingress[0].source.serviceAccounts.selector", `invalid selector: at position 5: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found "="`)}},
		// R10 and S8-S10: services.
		{name: "egress destination service", obj: np(withEgress(allow(dst(svc("api", "backend")))))},
		{name: "egress destination service without namespace in np", obj: np(withEgress(allow(dst(svc("api", "")))))},
		{name: "ingress source service with ports", obj: np(withIngress(allow(proto("TCP"), src(svc("api", "backend"), ports(8080)))))},
		{name: "gnp service with namespace", obj: gnp(withEgress(allow(dst(svc("kube-dns", "kube-system")))))},
		{name: "gnp service without namespace", obj: gnp(withEgress(allow(dst(svc("kube-dns", ""))))),
			wantErrs: []wantErr{req("spec.egress[0].destination.services.namespace", "must specify a namespace: a GlobalNetworkPolicy has no namespace to default to")}},
		{name: "service without name", obj: np(withEgress(allow(dst(svc("", "backend"))))),
			wantErrs: []wantErr{req("spec.egress[0].destination.services.name", "services must specify a service name")}},
		{name: "service name invalid", obj: np(withEgress(allow(dst(svc("-api", "backend"))))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.services.name", labelStartDetail)}},
		{name: "service namespace too long", obj: np(withEgress(allow(dst(svc("api", strings.Repeat("n", 254)))))),
			wantErrs: []wantErr{tooLong("spec.egress[0].destination.services.namespace", 253)}},
		{name: "egress source service", obj: np(withEgress(allow(src(svc("api", "backend"))))),
			wantErrs: []wantErr{forb("spec.egress[0].source.services", "services are not allowed in an egress rule's source: use destination.services")}},
		{name: "ingress destination service", obj: np(withIngress(allow(dst(svc("api", "backend"))))),
			wantErrs: []wantErr{forb("spec.ingress[0].destination.services", "services are not allowed in an ingress rule's destination: use source.services")}},
		{name: "service combined with everything", obj: np(withEgress(allow(proto("TCP"), dst(svc("api", "backend"),
			nets("10.0.0.0/8"), sel("a == 'b'"), nsSel("all()"), notNets("10.1.0.0/16"), notSel("c == 'd'"), saNames("x"),
			ports(80), notPorts(81))))),
			wantErrs: []wantErr{
				forb("spec.egress[0].destination.namespaceSelector", combinedDetail),
				forb("spec.egress[0].destination.serviceAccounts", combinedDetail),
				forb("spec.egress[0].destination.selector", combinedDetail),
				forb("spec.egress[0].destination.notSelector", combinedDetail),
				forb("spec.egress[0].destination.nets", combinedDetail),
				forb("spec.egress[0].destination.notNets", combinedDetail),
				forb("spec.egress[0].destination.ports", svcPortsDetail),
				forb("spec.egress[0].destination.notPorts", svcPortsDetail),
			}},
		// Palisade: domains.
		{name: "domains on egress destination", obj: np(withEgress(allow(proto("TCP"), dst(ports(443), domains("api.stripe.com"))))),
			wantErrs: []wantErr{forb("spec.egress[0].destination.domains", domainsDetail)}},
		{name: "domains on ingress source", obj: gnp(withIngress(allow(src(domains("example.com"))))),
			wantErrs: []wantErr{forb("spec.ingress[0].source.domains", domainsDetail)}},
	})
}
