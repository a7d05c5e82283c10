package lab_test

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/test/lab/probe"
)

// semanticsPods are the pods of the semantics and ICMP specs, over 2 nodes. Two service accounts
// (alpha/frontend role=front, alpha/backend role=back); a port named http that is 80/TCP on
// alpha/web and 81/TCP on beta/web. Every pod answers 80 and 81 over TCP and UDP (the lab's extra
// ports) and ICMP echo (its kernel).
const semanticsPods = `apiVersion: v1
kind: Namespace
metadata: {name: alpha, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: beta, labels: {team: b}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: frontend, namespace: alpha, labels: {role: front}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: backend, namespace: alpha, labels: {role: back}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: alpha, labels: {app: client}}
spec:
  nodeName: node-1
  serviceAccountName: frontend
  containers: [{name: main, image: registry.invalid/echo}]
status: {podIP: 198.18.10.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: alpha, labels: {app: web}}
spec:
  nodeName: node-2
  serviceAccountName: backend
  containers: [{name: main, image: registry.invalid/echo, ports: [{name: http, containerPort: 80}]}]
status: {podIP: 198.18.10.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: alpha, labels: {app: db}}
spec:
  nodeName: node-1
  serviceAccountName: backend
  containers: [{name: main, image: registry.invalid/echo}]
status: {podIP: 198.18.10.3}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: beta, labels: {app: client}}
spec:
  nodeName: node-2
  containers: [{name: main, image: registry.invalid/echo}]
status: {podIP: 198.18.11.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: beta, labels: {app: web}}
spec:
  nodeName: node-1
  containers: [{name: main, image: registry.invalid/echo, ports: [{name: http, containerPort: 81}]}]
status: {podIP: 198.18.11.2}
`

// outsideHost is a lab pod whose Pod object the suite deletes once the lab runs: its network
// namespace, address and echo server stay, routed through node-2 like a pod, but the cluster no
// longer knows the address, so it stands for a host outside the cluster.
const (
	outsideHost = `apiVersion: v1
kind: Pod
metadata: {name: host, namespace: outside}
spec:
  nodeName: node-2
  containers: [{name: main, image: registry.invalid/echo}]
status: {podIP: 198.18.12.1}
`
	outsideIP = "198.18.12.1"
)

// Calico's semantics with real packets (docs/semantics.md §5 and §7): for each case a few policies
// are applied to the running lab, and the matrix measured between every pair of the 5 pods and
// the outside host, on 80/TCP, 81/TCP, 80/UDP and ICMP echo, must equal the engine's (kubectl
// palisade matrix and trace on the same objects). Each case also states a few verdicts by hand,
// from docs/semantics.md, so that the engine and the dataplane agreeing on a wrong answer
// fails too.
var _ = Describe("Calico semantics and ICMP with packets", Ordered, func() {
	var (
		e     *enforcedLab
		eps   []probe.Endpoint
		ports = must(probe.ParsePorts("80/TCP,81/TCP,80/UDP,ICMP"))
	)
	BeforeAll(func() {
		ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		e = startEnforcedLab(ctx, semanticsPods+"---\n"+outsideHost, 2, []uint16{80, 81})
		host := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "outside", Name: "host"}}
		Expect(e.l.Client.Delete(ctx, host, gracelessly)).To(Succeed())
		eps = e.endpoints("alpha/client", "alpha/web", "alpha/db", "beta/client", "beta/web")
		eps = append(eps, asHost(e.endpoints("outside/host")[0]))
		Expect(eps[5].Ref).To(Equal(outsideIP))
	})
	AfterEach(func() { e.dumpLogs() })

	// enforce replaces the lab's policies by policies (a manifest), waits until the enforcers
	// have settled, and returns the measured matrix once it equals the engine's.
	enforce := func(policies string) []probe.Verdict {
		name := strings.ReplaceAll(CurrentSpecReport().LeafNodeText, " ", "-")
		before := e.fingerprint()
		e.deletePolicies()
		if policies != "" {
			e.create(policies)
		}
		settled := e.waitSettled(before)
		path := e.writeManifest("case.yaml", semanticsPods+"---\n"+policies)
		a := e.measureUntilAgreed(path, eps, ports, 15*time.Second)
		Expect(a.diff).To(BeEmpty(), "%s: packets and the engine disagree on %d cells:\n%s\n\npolicies:\n%s",
			name, len(a.diff), describeDiff(a.diff), policies)
		allowed := 0
		for _, v := range a.measured {
			if v.Allowed {
				allowed++
			}
		}
		GinkgoWriter.Printf("%s: rules settled in %v; %d cells (%d allowed) agree with the engine after %d probe rounds\n",
			name, settled.Round(time.Millisecond), len(a.measured), allowed, a.attempts)
		return a.measured
	}

	It("has every flow allowed without a policy, ICMP included", func() {
		m := enforce("")
		Expect(m).To(HaveEach(HaveField("Allowed", BeTrue())))
	})

	Context("ICMP", func() {
		It("allows protocol ICMP alone, and denies it before an allow-all", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: icmp-only, namespace: alpha}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: ICMP
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: no-ping, namespace: beta}
spec:
  selector: app == 'client'
  types: [Egress]
  egress:
  - action: Deny
    protocol: ICMP
  - action: Allow
`)
			Expect(cell(m, "alpha/client", "alpha/web", "ICMP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, "alpha/client", "alpha/web", "80/UDP")).To(BeFalse())
			Expect(cell(m, "beta/client", "alpha/db", "ICMP")).To(BeFalse())
			Expect(cell(m, "beta/client", "alpha/db", "80/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "alpha/db", "ICMP")).To(BeTrue())
		})

		It("matches ICMP type and code: echo request 8/0 is not 8/1 nor 0", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: echo, namespace: alpha}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: ICMP
    icmp: {type: 8, code: 0}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: echo-code-1, namespace: alpha}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: ICMP
    icmp: {type: 8, code: 1}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: echo-reply, namespace: beta}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: ICMP
    icmp: {type: 0}
`)
			Expect(cell(m, "alpha/client", "alpha/web", "ICMP")).To(BeTrue())
			Expect(cell(m, "beta/client", "alpha/web", "ICMP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "alpha/db", "ICMP")).To(BeFalse())
			// Replies travel on the request's conntrack entry: a rule for type 0 admits no request.
			Expect(cell(m, "beta/client", "beta/web", "ICMP")).To(BeFalse())
			Expect(cell(m, "beta/client", "beta/web", "81/TCP")).To(BeFalse())
		})

		It("honours notICMP and notProtocol ICMP", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: not-echo, namespace: beta}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: ICMP
    notICMP: {type: 8}
  - action: Allow
    protocol: TCP
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: not-icmp, namespace: alpha}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    notProtocol: ICMP
`)
			Expect(cell(m, "beta/client", "beta/web", "ICMP")).To(BeFalse())
			Expect(cell(m, "beta/client", "beta/web", "80/TCP")).To(BeTrue())
			Expect(cell(m, "beta/client", "beta/web", "80/UDP")).To(BeFalse())
			Expect(cell(m, "alpha/client", "alpha/db", "ICMP")).To(BeFalse())
			Expect(cell(m, "alpha/client", "alpha/db", "80/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "alpha/db", "80/UDP")).To(BeTrue())
		})
	})

	Context("Calico semantics", func() {
		// §5.5: equal orders are broken by the bytes of "name/namespace/kind"; '-' (0x2D) sorts
		// before '/' (0x2F), so "a-b" runs before "a", and a GlobalNetworkPolicy ("a//Global...")
		// before a NetworkPolicy of the same name ("a/alpha/...").
		It("breaks order ties by name/namespace/kind: a-b before a", func() {
			m := enforce(npAllowDenyPair("a", "a-b", "100"))
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeFalse(), "a-b (Deny) runs first")
			Expect(cell(m, "alpha/db", "alpha/web", "80/TCP")).To(BeFalse(), "end of tier")
			Expect(cell(m, "alpha/client", "alpha/db", "80/TCP")).To(BeTrue())
		})
		It("breaks order ties by name/namespace/kind: a before b", func() {
			m := enforce(npAllowDenyPair("a", "b", "100"))
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeTrue(), "a (Allow) runs first")
			Expect(cell(m, "alpha/db", "alpha/web", "80/TCP")).To(BeFalse(), "end of tier")
		})
		It("breaks order ties by name/namespace/kind: a GlobalNetworkPolicy before a NetworkPolicy of the same name", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: a, namespace: alpha}
spec:
  order: 100
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    source: {selector: app == 'client'}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: a}
spec:
  order: 100
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Deny
    source: {selector: app == 'client'}
`)
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeFalse(), "the GlobalNetworkPolicy runs first")
			Expect(cell(m, "beta/client", "beta/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, "alpha/db", "beta/web", "80/TCP")).To(BeFalse(), "end of tier")
		})

		// §5.4, §7.3.9: Pass skips the rest of its tier, and the Kubernetes policies sit in the
		// default tier at order 1000: a Pass from a default-tier policy skips them too and reaches
		// the namespace profile, which allows. (Tiers before default, where a Pass would land in the
		// Kubernetes policies, are refused at admission until tiers land; kubectl palisade evaluates
		// such a policy as absent while an enforcer given one anyway enforces it, so the lab cannot
		// compare them.)
		It("passes from the default tier past the Kubernetes policies to the profile", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: pass, namespace: alpha}
spec:
  order: 10
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Pass
    source: {selector: app == 'client'}
---
` + knpWebFromClient80)
			Expect(cell(m, "alpha/client", "alpha/web", "81/TCP")).To(BeTrue(), "Pass skips the Kubernetes policy of the same tier")
			Expect(cell(m, "alpha/client", "alpha/web", "80/UDP")).To(BeTrue())
			Expect(cell(m, "alpha/db", "alpha/web", "80/TCP")).To(BeFalse(), "not passed: the Kubernetes policy isolates web")
			Expect(cell(m, "beta/client", "alpha/web", "80/TCP")).To(BeFalse(), "the Pass rule's selector is namespaced")
		})

		// §5.4: Log records and goes on with the next rule; it never decides.
		It("logs, then denies: Log never decides", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: log-deny, namespace: alpha}
spec:
  order: 10
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Log
  - action: Deny
    source: {selector: app == 'client'}
  - action: Allow
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: log-only, namespace: alpha}
spec:
  order: 10
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Log
`)
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, "beta/client", "alpha/web", "80/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/web", "alpha/db", "80/TCP")).To(BeFalse(), "a lone Log rule allows nothing: end of tier")
			Expect(cell(m, "alpha/web", "alpha/db", "ICMP")).To(BeFalse())
		})

		// §5.3: notNets: the address is in none of the CIDRs.
		It("honours notNets on egress and ingress", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: not-web, namespace: alpha}
spec:
  selector: app == 'client'
  types: [Egress]
  egress:
  - action: Allow
    destination: {notNets: [198.18.10.2/32]}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: not-alpha, namespace: beta}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    source: {notNets: [198.18.10.0/24]}
`)
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, "alpha/client", "alpha/db", "80/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/client", outsideIP, "80/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/db", "beta/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, "beta/client", "beta/web", "80/TCP")).To(BeTrue())
			Expect(cell(m, outsideIP, "beta/web", "80/TCP")).To(BeTrue())
		})

		// §5.3: notPorts: the port is in none of them.
		It("honours notPorts", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: not-80, namespace: beta}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    destination: {notPorts: [80]}
`)
			Expect(cell(m, "alpha/client", "beta/web", "81/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "beta/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, "alpha/client", "beta/web", "80/UDP")).To(BeFalse(), "the rule is TCP only")
			Expect(cell(m, "alpha/client", "beta/web", "ICMP")).To(BeFalse())
		})

		// §5.3: a named port in an egress rule resolves against the destination pods: http is 80
		// on alpha/web and 81 on beta/web.
		It("resolves named ports on egress at the destination", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: http-out, namespace: alpha}
spec:
  selector: app == 'client'
  types: [Egress]
  egress:
  - action: Allow
    protocol: TCP
    destination: {ports: [http]}
`)
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "alpha/web", "81/TCP")).To(BeFalse())
			Expect(cell(m, "alpha/client", "beta/web", "81/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "beta/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, "alpha/client", "alpha/db", "80/TCP")).To(BeFalse(), "db has no port named http")
		})

		// §5.1, §5.2: serviceAccounts in a rule match the peer's service account;
		// serviceAccountSelector narrows the pods a policy applies to.
		It("matches service accounts in rules and in the policy's serviceAccountSelector", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: db-from-frontend, namespace: alpha}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    source:
      serviceAccounts: {names: [frontend]}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: isolate-front, namespace: alpha}
spec:
  serviceAccountSelector: role == 'front'
  types: [Ingress]
`)
			Expect(cell(m, "alpha/client", "alpha/db", "80/TCP")).To(BeTrue())
			Expect(cell(m, "alpha/web", "alpha/db", "80/TCP")).To(BeFalse())
			Expect(cell(m, "beta/client", "alpha/db", "80/TCP")).To(BeFalse())
			Expect(cell(m, "alpha/web", "alpha/client", "80/TCP")).To(BeFalse(), "client runs as frontend (role=front)")
			Expect(cell(m, "alpha/db", "alpha/web", "80/TCP")).To(BeTrue(), "web runs as backend")
		})

		// §5.5: one tier, one order axis: a GlobalNetworkPolicy of lower order decides before a
		// NetworkPolicy, and after it when its order is higher.
		It("lets a GlobalNetworkPolicy of lower order override a NetworkPolicy", func() {
			m := enforce(gnpOverNP("10"))
			Expect(cell(m, "beta/client", "alpha/web", "80/TCP")).To(BeFalse(), "the GlobalNetworkPolicy (order 10) denies team b")
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeTrue())
			Expect(cell(m, "beta/client", "beta/web", "80/TCP")).To(BeFalse())
		})
		It("lets a NetworkPolicy of lower order decide before a GlobalNetworkPolicy", func() {
			m := enforce(gnpOverNP("200"))
			Expect(cell(m, "beta/client", "alpha/web", "80/TCP")).To(BeTrue(), "the NetworkPolicy (order 100) allows first")
			Expect(cell(m, "beta/client", "beta/web", "80/TCP")).To(BeFalse())
		})

		// §5.3 nets, §7.3.4: the source address of a host outside the cluster.
		It("matches nets on ingress from an address outside the cluster", func() {
			m := enforce(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: from-outside, namespace: alpha}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    source: {nets: [198.18.12.0/24]}
`)
			Expect(cell(m, outsideIP, "alpha/web", "80/TCP")).To(BeTrue())
			Expect(cell(m, outsideIP, "alpha/web", "ICMP")).To(BeTrue())
			Expect(cell(m, "alpha/client", "alpha/web", "80/TCP")).To(BeFalse())
			Expect(cell(m, outsideIP, "alpha/db", "80/TCP")).To(BeTrue(), "no policy selects db")
		})
	})
})

// npAllowDenyPair is two NetworkPolicies of the same order on alpha/web's ingress: allowName
// allows from alpha's clients, denyName denies them.
func npAllowDenyPair(allowName, denyName, order string) string {
	return `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: ` + allowName + `, namespace: alpha}
spec:
  order: ` + order + `
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    source: {selector: app == 'client'}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: ` + denyName + `, namespace: alpha}
spec:
  order: ` + order + `
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Deny
    source: {selector: app == 'client'}
`
}

// knpWebFromClient80 isolates alpha/web, allowing alpha's clients on 80/TCP.
const knpWebFromClient80 = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: alpha}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 80, protocol: TCP}]
`

// gnpOverNP is a GlobalNetworkPolicy of the given order denying team b's namespaces into every
// web pod, and a NetworkPolicy of order 100 allowing everything into alpha/web.
func gnpOverNP(gnpOrder string) string {
	return `apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: deny-team-b}
spec:
  order: ` + gnpOrder + `
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Deny
    source: {namespaceSelector: team == 'b'}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: alpha}
spec:
  order: 100
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
`
}
