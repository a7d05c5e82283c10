package cli

import (
	"path/filepath"
	"testing"
)

// cliCase is one in-process run of kubectl-palisade whose whole transcript
// (command, exit code, stdout, stderr) is compared with a golden file.
type cliCase struct {
	name  string
	stdin string
	args  []string
	code  int
}

func runCases(t *testing.T, dir string, cases []cliCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(c.stdin, c.args...)
			if r.code != c.code {
				t.Errorf("exit code %d, want %d\n%s", r.code, c.code, r.transcript())
			}
			if c.code == ExitUsage && r.stdout != "" {
				t.Errorf("a usage error must not write to stdout:\n%s", r.transcript())
			}
			checkGolden(t, filepath.Join(dir, c.name+".golden"), r.transcript())
		})
	}
}

const traceCluster = "testdata/trace/cluster.yaml"

func TestTrace(t *testing.T) {
	runCases(t, "testdata/trace", []cliCase{
		{name: "allowed-from-namespace", code: 0,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "80"}},
		{name: "denied-wrong-port", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "81/tcp"}},
		{name: "denied-by-egress-rule", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "x/b", "--to", "x/a", "--port", "80/TCP"}},
		{name: "denied-egress-although-ingress-allows", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "x/b", "--to", "z/a", "--port", "80/TCP"}},
		{name: "denied-both-sides", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "x/b", "--to", "z/a", "--port", "81/TCP"}},
		{name: "denied-both-sides-json", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "x/b", "--to", "z/a", "--port", "81/TCP", "-o", "json"}},
		{name: "udp-egress-allows-ingress-denies", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "x/b", "--to", "z/a", "--port", "53/UDP"}},
		{name: "external-source-ip", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "203.0.113.9", "--to", "z/a", "--port", "80/TCP"}},
		{name: "pod-ip-as-destination", code: 0,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "198.18.50.2", "--port", "80/TCP"}},
		{name: "external-both-ends-json", code: 0,
			args: []string{"trace", "-f", traceCluster, "--from", "203.0.113.9", "--to", "192.0.2.1", "--port", "443/TCP", "-o", "json"}},
		{name: "icmp", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--icmp", "8/0"}},
		{name: "icmpv6-from-ipv6-address", code: 1,
			args: []string{"trace", "-f", traceCluster, "--from", "2001:db8::99", "--to", "z/a", "--icmp", "128"}},
		{name: "stdin", code: 0, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nstatus: {podIP: 198.18.9.9}\n",
			args: []string{"trace", "-f", "-", "--from", "ns1/p", "--to", "ns1/p", "--port", "80"}},
		{name: "deny-second-in-json-stream", code: 1, stdin: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns1"},"status":{"podIP":"198.18.9.9"}}
{"apiVersion":"policy.palisade.dev/v1alpha1","kind":"NetworkPolicy","metadata":{"name":"deny-all","namespace":"ns1"},"spec":{"selector":"all()","types":["Ingress"],"ingress":[{"action":"Deny"}]}}
`,
			args: []string{"trace", "-f", "-", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "deny-second-in-utf16-with-document-ends", code: 1,
			args: []string{"trace", "-f", "testdata/trace/powershell-utf16.yaml", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "services-denied-by-service-selector", code: 1,
			args: []string{"trace", "-f", "testdata/trace/services.yaml", "--from", "shop/client", "--to", "shop/api", "--port", "8080"}},
		{name: "services-denied-by-endpointslice", code: 1,
			args: []string{"trace", "-f", "testdata/trace/services.yaml", "--from", "shop/client", "--to", "shop/db", "--port", "5432"}},
		{name: "services-other-port-allowed", code: 0,
			args: []string{"trace", "-f", "testdata/trace/services.yaml", "--from", "shop/client", "--to", "shop/api", "--port", "9090"}},
		{name: "default-service-account-denied", code: 1,
			args: []string{"trace", "-f", "testdata/trace/default-service-account.yaml", "--from", "default/client", "--to", "default/web", "--port", "80"}},
		{name: "namespace-flag-places-objects", code: 1,
			args: []string{"trace", "-n", "team", "-f", "testdata/trace/default-service-account.yaml", "--from", "team/client", "--to", "team/web", "--port", "80"}},
		{name: "error-namespace-flag-mismatch", code: 2,
			args: []string{"trace", "-n", "other", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "80"}},
		{name: "error-calico-policy-not-evaluated", code: 2,
			args: []string{"trace", "-f", "testdata/trace/not-understood.yaml", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "error-misspelt-kubernetes-policy-kind", code: 2, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nstatus: {podIP: 198.18.9.9}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolcy\nmetadata: {name: deny, namespace: ns1}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n",
			args: []string{"trace", "-f", "-", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "other-kinds-skipped-with-a-note", code: 0, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nstatus: {podIP: 198.18.9.9}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns1}\n",
			args: []string{"trace", "-f", "-", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "error-duplicate-policy", code: 2,
			args: []string{"trace", "-f", "testdata/trace/dup/a.yaml", "-f", "testdata/trace/dup/b.yaml", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "refused-at-admission-evaluated-as-absent", code: 0,
			args: []string{"trace", "-f", "testdata/trace/refused-at-admission.yaml", "--from", "10.1.2.3", "--to", "ns1/p", "--port", "80"}},
		{name: "error-policy-without-name-not-stored", code: 2, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nstatus: {podIP: 198.18.9.9}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {generateName: deny-, namespace: ns1}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n",
			args: []string{"trace", "-f", "-", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "names-with-control-characters-are-quoted", code: 1, stdin: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns1"}}
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p\nFinal verdict: ALLOWED\u001b[1A","namespace":"ns1"},"status":{"podIP":"198.18.9.9"}}
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"deny","namespace":"ns1"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow\nFinal verdict: ALLOWED\u001b[2K","namespace":"ns1"},"spec":{"podSelector":{},"ingress":[{}]}}
`,
			args: []string{"trace", "-f", "-", "--from", "198.18.1.1", "--to", "198.18.9.9", "--port", "80"}},
		{name: "self-traffic-is-never-governed", code: 0,
			args: []string{"trace", "-f", "testdata/trace/dup/a.yaml", "--from", "ns1/p", "--to", "ns1/p", "--port", "80"}},
		{name: "error-bad-pod-ip-named-with-its-line", code: 2, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nstatus:\n  podIP: 10.0.0.300\n",
			args: []string{"trace", "-f", "-", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "error-empty-input", code: 2, stdin: "# nothing here\n",
			args: []string{"trace", "-f", "-", "--from", "198.18.1.1", "--to", "ns1/p", "--port", "80"}},
		{name: "error-yaml-boolean-namespace", code: 2, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: y}\nstatus: {podIP: 198.18.9.9}\n",
			args: []string{"trace", "-f", "-", "--from", "y/p", "--to", "y/p", "--port", "80"}},
		{name: "hostnetwork-pod-skipped", code: 2,
			args: []string{"trace", "-f", "testdata/trace/hostnetwork.yaml", "--from", "monitoring/node-exporter", "--to", "10.0.0.6", "--port", "9100"}},

		{name: "pod-without-ip-skipped-with-a-note", code: 0,
			args: []string{"trace", "-f", traceCluster, "-f", "testdata/trace/pod-without-ip.yaml", "--from", "x/a", "--to", "z/a", "--port", "80"}},
		{name: "error-unknown-pod", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "x/nope", "--to", "z/a", "--port", "80"}},
		{name: "error-from-not-a-pod-or-ip", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "a", "--to", "z/a", "--port", "80"}},
		{name: "error-bad-port-protocol", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "80/HTTP"}},
		{name: "error-bad-port-number", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "70000/TCP"}},
		{name: "error-named-port", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "http"}},
		{name: "error-port-and-icmp", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "80", "--icmp", "8"}},
		{name: "error-bad-icmp", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--icmp", "8/300"}},
		{name: "error-missing-flags", code: 2,
			args: []string{"trace", "-o", "yaml"}},
		{name: "error-family-mismatch", code: 2,
			args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "2001:db8::1", "--port", "80"}},
		{name: "error-missing-file", code: 2,
			args: []string{"trace", "-f", "testdata/trace/does-not-exist.yaml", "--from", "x/a", "--to", "z/a", "--port", "80"}},
		{name: "error-positional-argument", code: 2,
			args: []string{"trace", "x/a", "z/a"}},
	})
}
