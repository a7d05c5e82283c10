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

// Calico's semantics with real packets (policy-semantics.md §5-7): for each case a few policies
// are applied to the running lab, and the matrix measured between every pair of the 5 pods and
// the outside host, on 80/TCP, 81/TCP, 80/UDP and ICMP echo, must equal the engine's (kubectl
// palisade matrix and trace on the same objects). Each case also states a few verdicts by hand,
// from the semantics reference, so that the engine and the dataplane agreeing on a wrong answer
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
})
