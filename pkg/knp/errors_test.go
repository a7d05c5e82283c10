package knp

import (
	"errors"
	"net/netip"
	"testing"
)

// TestTranslateErrors pins what is an error where Calico would silently drop, widen or pass
// through (package doc), with every error's path and message, and the reading of the spec that
// is left: a rule in error is left out whole, a podSelector in error selects every pod, an
// unknown policy type governs both directions.
func TestTranslateErrors(t *testing.T) {
	runTranslate(t, []translateCase{
		{
			name: "policyTypes: an unknown type is an error and the policy governs both directions",
			form: FormCalico,
			in: `
podSelector: {}
policyTypes: [Ingress, Sideways]
`,
			want: `
errors:
- 'spec.policyTypes[1]: unsupported value "Sideways": must be Ingress or Egress'
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
  - Egress
`,
		},
		{
			name: "a peer with nothing is an error (Calico would read it as the policy's namespace); the rule is left out whole and the next keeps its origin",
			form: FormCalico,
			in: `
podSelector: {}
ingress:
- from:
  - podSelector: {matchLabels: {role: web}}
  - {}
  ports:
  - port: 80
- from:
  - namespaceSelector: {}
egress:
- to:
  - namespaceSelector: {}
    ipBlock: {cidr: 10.0.0.0/8}
- to:
  - ipBlock: {cidr: 10.0.0.0/8}
    podSelector: {}
- {}
`,
			want: `
egressOrigins:
- 2
errors:
- 'spec.ingress[0].from[1]: must set podSelector, namespaceSelector or ipBlock'
- 'spec.egress[0].to[0]: ipBlock cannot be combined with podSelector or namespaceSelector:
  use separate peers'
- 'spec.egress[1].to[0]: ipBlock cannot be combined with podSelector or namespaceSelector:
  use separate peers'
ingressOrigins:
- 1
spec:
  egress:
  - action: Allow
  ingress:
  - action: Allow
    source:
      namespaceSelector: all()
      selector: projectcalico.org/orchestrator == 'k8s'
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
  - Egress
`,
		},
		{
			name: "protocol: only TCP, UDP and SCTP, case-sensitive (Calico would pass ICMP and tcp through)",
			form: FormCalico,
			in: `
podSelector: {}
ingress:
- ports:
  - {protocol: ICMP}
- ports:
  - {protocol: tcp, port: 80}
- ports:
  - {protocol: "", port: 80}
`,
			want: `
errors:
- 'spec.ingress[0].ports[0].protocol: unsupported value "ICMP": must be TCP, UDP or
  SCTP'
- 'spec.ingress[1].ports[0].protocol: unsupported value "tcp": must be TCP, UDP or
  SCTP'
- 'spec.ingress[2].ports[0].protocol: unsupported value "": must be TCP, UDP or SCTP'
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "port: a string must be a port name (Calico would read \"80\" as a number and \"80:90\" as a range), numbers within 1-65535",
			form: FormCalico,
			in: `
podSelector: {}
ingress:
- ports:
  - port: "80"
  - port: "80:90"
  - port: HTTP
  - port: ""
  - port: a-very-long-port-name
- ports:
  - port: 0
- ports:
  - port: 65536
`,
			want: `
errors:
- 'spec.ingress[0].ports[0].port: invalid port name "80": must contain at least one
  letter (a-z)'
- 'spec.ingress[0].ports[1].port: invalid port name "80:90": must contain only alpha-numeric
  characters (a-z, 0-9), and hyphens (-); must contain at least one letter (a-z)'
- 'spec.ingress[0].ports[2].port: invalid port name "HTTP": must contain only alpha-numeric
  characters (a-z, 0-9), and hyphens (-); must contain at least one letter (a-z)'
- 'spec.ingress[0].ports[3].port: invalid port name "": must contain only alpha-numeric
  characters (a-z, 0-9), and hyphens (-); must contain at least one letter (a-z)'
- 'spec.ingress[0].ports[4].port: invalid port name "a-very-long-port-name": must
  be no more than 15 characters'
- 'spec.ingress[1].ports[0].port: invalid value 0: must be between 1 and 65535'
- 'spec.ingress[2].ports[0].port: invalid value 65536: must be between 1 and 65535'
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "endPort: needs a numeric port and must lie between port and 65535",
			form: FormCalico,
			in: `
podSelector: {}
ingress:
- ports:
  - endPort: 90
- ports:
  - {port: http, endPort: 90}
- ports:
  - {port: 100, endPort: 99}
- ports:
  - {port: 100, endPort: 65536}
- ports:
  - {port: 65535, endPort: 65535}
`,
			want: `
errors:
- 'spec.ingress[0].ports[0].endPort: requires port to be set'
- 'spec.ingress[1].ports[0].endPort: requires a numeric port, not the named port "http"'
- 'spec.ingress[2].ports[0].endPort: invalid value 99: must be between port (100)
  and 65535'
- 'spec.ingress[3].ports[0].endPort: invalid value 65536: must be between port (100)
  and 65535'
ingressOrigins:
- 4
spec:
  ingress:
  - action: Allow
    destination:
      ports:
      - 65535
    protocol: TCP
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "ipBlock: a CIDR that does not parse is an error (Calico would drop the restriction), as is an IPv4-mapped one",
			form: FormCalico,
			in: `
podSelector: {}
ingress:
- from:
  - ipBlock: {cidr: 10.0.0.1}
- from:
  - ipBlock: {cidr: 10.0.0.0/99}
- from:
  - ipBlock: {cidr: "::ffff:10.0.0.0/104"}
- from:
  - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, x]}
`,
			want: `
errors:
- 'spec.ingress[0].from[0].ipBlock.cidr: parsing CIDR "10.0.0.1": netip.ParsePrefix("10.0.0.1"):
  no ''/'''
- 'spec.ingress[1].from[0].ipBlock.cidr: parsing CIDR "10.0.0.0/99": netip.ParsePrefix("10.0.0.0/99"):
  prefix length out of range'
- 'spec.ingress[2].from[0].ipBlock.cidr: IPv4-mapped IPv6 CIDR "::ffff:10.0.0.0/104"
  is ambiguous: write the IPv4 CIDR'
- 'spec.ingress[3].from[0].ipBlock.except[1]: parsing CIDR "x": netip.ParsePrefix("x"):
  no ''/'''
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "ipBlock: every except must be a strict subset of the cidr",
			form: FormCalico,
			in: `
podSelector: {}
ingress:
- from:
  - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16, 10.0.0.0/8, 10.0.0.0/7, "2001:db8::/32"]}
- from:
  - ipBlock: {cidr: 0.0.0.0/0, except: [0.0.0.0/0]}
`,
			want: `
errors:
- 'spec.ingress[0].from[0].ipBlock.except[0]: "192.168.0.0/16" must be a strict subset
  of cidr "10.0.0.0/8"'
- 'spec.ingress[0].from[0].ipBlock.except[1]: "10.0.0.0/8" must be a strict subset
  of cidr "10.0.0.0/8"'
- 'spec.ingress[0].from[0].ipBlock.except[2]: "10.0.0.0/7" must be a strict subset
  of cidr "10.0.0.0/8"'
- 'spec.ingress[0].from[0].ipBlock.except[3]: "2001:db8::/32" must be a strict subset
  of cidr "10.0.0.0/8"'
- 'spec.ingress[1].from[0].ipBlock.except[0]: "0.0.0.0/0" must be a strict subset
  of cidr "0.0.0.0/0"'
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "label selectors: Kubernetes syntax for keys and values (a quote would rewrite the selector), known operators, values as the operator needs; a podSelector in error selects every pod",
			form: FormCalico,
			in: `
podSelector:
  matchLabels: {"a b": x, app: "x' || has(b) || c == 'y", ok: "yes"}
  matchExpressions:
  - {key: a, operator: Like, values: [x]}
  - {key: b, operator: In, values: []}
  - {key: c, operator: Exists, values: [x]}
  - {key: d, operator: NotIn, values: [fine, "not fine"]}
  - {key: "-e", operator: DoesNotExist}
ingress:
- from:
  - namespaceSelector: {matchExpressions: [{key: team, operator: In}]}
- from:
  - podSelector: {matchLabels: {"": x}}
`,
			want: `
errors:
- 'spec.podSelector.matchLabels: invalid label key "a b": name part must consist of
  alphanumeric characters, ''-'', ''_'' or ''.'', and must start and end with an alphanumeric
  character (e.g. ''MyName'',  or ''my.name'',  or ''123-abc'', regex used for validation
  is ''([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'')'
- 'spec.podSelector.matchLabels[app]: invalid label value "x'' || has(b) || c == ''y":
  a valid label must be an empty string or consist of alphanumeric characters, ''-'',
  ''_'' or ''.'', and must start and end with an alphanumeric character (e.g. ''MyValue'',  or
  ''my_value'',  or ''12345'', regex used for validation is ''(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'')'
- 'spec.podSelector.matchExpressions[0].operator: unsupported value "Like": must be
  In, NotIn, Exists or DoesNotExist'
- 'spec.podSelector.matchExpressions[1].values: must be non-empty for operator In'
- 'spec.podSelector.matchExpressions[2].values: must be empty for operator Exists'
- 'spec.podSelector.matchExpressions[3].values[1]: invalid label value "not fine":
  a valid label must be an empty string or consist of alphanumeric characters, ''-'',
  ''_'' or ''.'', and must start and end with an alphanumeric character (e.g. ''MyValue'',  or
  ''my_value'',  or ''12345'', regex used for validation is ''(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'')'
- 'spec.podSelector.matchExpressions[4].key: invalid label key "-e": name part must
  consist of alphanumeric characters, ''-'', ''_'' or ''.'', and must start and end
  with an alphanumeric character (e.g. ''MyName'',  or ''my.name'',  or ''123-abc'',
  regex used for validation is ''([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'')'
- 'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: must be non-empty
  for operator In'
- 'spec.ingress[1].from[0].podSelector.matchLabels: invalid label key "": name part
  must be non-empty; name part must consist of alphanumeric characters, ''-'', ''_''
  or ''.'', and must start and end with an alphanumeric character (e.g. ''MyName'',  or
  ''my.name'',  or ''123-abc'', regex used for validation is ''([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'')'
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
	})
}

// TestNilSpec: a nil spec translates as an empty one (every pod, ingress denied) with an error.
func TestNilSpec(t *testing.T) {
	p, errs := Translate(nil, FormPalisade)
	got := render(t, p, errs)
	const want = `errors:
- 'spec: no NetworkPolicy spec given'
spec:
  order: 1000
  selector: all()
  types:
  - Ingress
`
	if got != want {
		t.Errorf("Translate(nil) differs\n--- got\n%s--- want\n%s", got, want)
	}
}

// TestErrorList: Err joins the errors one a line, is nil for none, and keeps the causes
// reachable with errors.Is / errors.As.
func TestErrorList(t *testing.T) {
	if err := ErrorList(nil).Err(); err != nil {
		t.Errorf("empty list: Err() = %v, want nil", err)
	}
	_, errs := Translate(parseSpec(t, `
podSelector: {}
ingress:
- from:
  - ipBlock: {cidr: 10.0.0.0/99}
policyTypes: [Sideways]
`), FormCalico)
	err := errs.Err()
	const want = `spec.ingress[0].from[0].ipBlock.cidr: parsing CIDR "10.0.0.0/99": netip.ParsePrefix("10.0.0.0/99"): prefix length out of range
spec.policyTypes[0]: unsupported value "Sideways": must be Ingress or Egress`
	if err == nil || err.Error() != want {
		t.Fatalf("Err() = %v, want\n%s", err, want)
	}
	var knpErr *Error
	if !errors.As(err, &knpErr) || knpErr.Field != "spec.ingress[0].from[0].ipBlock.cidr" {
		t.Errorf("errors.As(*Error) = %+v", knpErr)
	}
	_, parseErr := netip.ParsePrefix("10.0.0.0/99")
	if cause := errors.Unwrap(errors.Unwrap(knpErr)); cause == nil || cause.Error() != parseErr.Error() {
		t.Errorf("the CIDR parser's error is not reachable through %v: got %v", knpErr, cause)
	}
}
