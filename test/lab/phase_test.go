package lab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// phaseYAML: a client and four web pods in one namespace, spread over the lab's two nodes. At a
// 50% canary share shop/web-0 and shop/web-4 are in the canary, shop/web-1 and shop/web-2 are not
// (the spec checks this with rollout.InCanary rather than trusting the comment).
var phaseYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
` + phasePods

var phasePods = func() string {
	var b strings.Builder
	for _, p := range []struct{ name, app string }{{"client", "client"}, {"web-0", "web"}, {"web-1", "web"}, {"web-2", "web"}, {"web-4", "web"}} {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: shop
  labels:
    app: %s
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
`, p.name, p.app)
	}
	return b.String()
}()

var webPods = []string{"shop/web-0", "shop/web-1", "shop/web-2", "shop/web-4"}

// The rollout contract measured with packets (docs/rollout.md): the status and revisions a rollout
// operator would write are written here directly, and one real palisade-enforcer per node must
// enforce the enforced generation, shadow the candidate, and enforce it on the canary when Staged.
var _ = Describe("rollout phases with packets", Ordered, func() {
	var (
		l   *lab.Lab
		ctx context.Context
		key = client.ObjectKey{Namespace: "shop", Name: "deny-client"}
	)

	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this suite creates network namespaces and must run as root: sudo make test-e2e")
		}
		if _, err := exec.LookPath("iptables-save"); err != nil {
			Fail("iptables-save is missing: install iptables (make deps)")
		}
		ctx = log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		enforcer := filepath.Join(GinkgoT().TempDir(), "palisade-enforcer")
		out, err := exec.Command("go", "build", "-o", enforcer, "../../cmd/palisade-enforcer").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building palisade-enforcer: %s", out)
		set, err := manifestSet(phaseYAML)
		Expect(err).NotTo(HaveOccurred())
		l, err = lab.Start(ctx, set, lab.Options{
			Nodes: 2,
			NodeProcess: lab.NodeProcess{
				Command: []string{enforcer, "run", "--kubeconfig={{.Kubeconfig}}", "--node-name={{.Node}}",
					"--health-addr=127.0.0.1:9808", "--metrics-addr=0", "--min-sync-interval=100ms"},
				ReadyURL: "http://127.0.0.1:9808/readyz",
			},
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })

		in := 0
		for _, w := range webPods {
			if inCanary(w) {
				in++
			}
		}
		Expect(in).To(Equal(2), "the fixture needs canary and non-canary web pods at 50%%")
	})

	AfterEach(func() {
		if l == nil || !CurrentSpecReport().Failed() {
			return
		}
		for _, n := range l.Plan.Nodes {
			if path, ok := l.NodeProcessLog(n.Name); ok {
				b, _ := os.ReadFile(path)
				GinkgoWriter.Printf("--- node %s enforcer log %s:\n%s\n", n.Name, path, b)
			}
			if ns, ok := l.NodeNS(n.Name); ok {
				GinkgoWriter.Printf("--- node %s iptables-save:\n%s\n", n.Name, iptablesSave(ns.Name))
			}
		}
	})

	// clientToWeb measures client -> every web pod on 80/TCP with real connections.
	clientToWeb := func() map[string]bool {
		measured, err := l.Probe(ctx, []probe.Port{{Port: 80, Protocol: probe.TCP}}, probe.Options{Timeout: 700 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		out := map[string]bool{}
		for _, v := range measured {
			if v.From == "shop/client" {
				out[v.To] = v.Allowed
			}
		}
		return out
	}
	expectFlows := func(allowed func(web string) bool, why string) {
		want := map[string]bool{}
		for _, w := range webPods {
			want[w] = allowed(w)
		}
		Eventually(clientToWeb).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Equal(want), why)
		// Stable, not a moment between two syncs.
		Expect(clientToWeb()).To(Equal(want), why)
	}
	// saveOf is iptables-save of the node a pod runs on.
	saveOf := func(ref string) string {
		ns, ok := l.NodeNS(podOf(l, ref).Node)
		Expect(ok).To(BeTrue())
		return iptablesSave(ns.Name)
	}
	shadowRule := func(ref string) *regexp.Regexp {
		return regexp.MustCompile(`-m conntrack --ctstate NEW -m limit --limit 200/sec --limit-burst 400 -m comment --comment "PAL:[0-9a-f]{16} Palisade observe: [^"]*" -j NFLOG --nflog-prefix "SI\|` + regexp.QuoteMeta(ref) + `" --nflog-group 2`)
	}
	writeStatus := func(st v1alpha1.PolicyStatus) {
		var np v1alpha1.NetworkPolicy
		Expect(l.Client.Get(ctx, key, &np)).To(Succeed())
		st.ObservedGeneration = np.Generation
		np.Status = st
		Expect(l.Client.Status().Update(ctx, &np)).To(Succeed())
	}

	It("Audit: a candidate that would deny client -> web is shadowed: every connection succeeds and new ones are sampled", func() {
		np := &v1alpha1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny-client"},
			Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{
				Selector: "app == 'web'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress},
				Ingress: []v1alpha1.Rule{
					{Action: v1alpha1.Deny, Source: v1alpha1.EntityRule{Selector: "app == 'client'"}},
					{Action: v1alpha1.Allow},
				},
			}},
		}
		Expect(l.Client.Create(ctx, np)).To(Succeed())
		Expect(np.Generation).To(Equal(int64(1)))
		writeStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit})
		for _, w := range webPods {
			Eventually(func() string { return saveOf(w) }).WithTimeout(20*time.Second).Should(MatchRegexp(shadowRule(w).String()), "shadow sample of %s", w)
		}
		Expect(saveOf("shop/client")).NotTo(ContainSubstring(`"SI|shop/client"`), "the client is selected by no candidate")
		expectFlows(func(string) bool { return true }, "Audit enforces nothing")
	})

	It("Staged at 50%: the connections to canary pods are dropped, the others pass", func() {
		writeStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseStaged, CanaryPercent: 50, CanaryEndpoints: 2})
		expectFlows(func(w string) bool { return !inCanary(w) }, "Staged enforces the candidate on the canary only")
		for _, w := range webPods {
			// The canary enforces the candidate (its drops are sampled as the candidate's); the rest
			// still shadows it.
			Expect(shadowRule(w).MatchString(saveOf(w))).To(Equal(!inCanary(w)), "shadow sample of %s", w)
		}
		Expect(saveOf("shop/web-0")).To(ContainSubstring(`--nflog-prefix "DI0|np/shop/deny-client@candidate" --nflog-group 2`))
	})

	It("Enforced: dropped everywhere, and the drops are sampled", func() {
		var np v1alpha1.NetworkPolicy
		Expect(l.Client.Get(ctx, key, &np)).To(Succeed())
		// The operator keeps the enforced generation's spec as a revision.
		Expect(l.Client.Create(ctx, revisionOf(&np, 1))).To(Succeed())
		writeStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseEnforced, EnforcedGeneration: 1})
		expectFlows(func(string) bool { return false }, "Enforced denies client -> web everywhere")
		for _, w := range webPods {
			s := saveOf(w)
			Expect(s).To(ContainSubstring(`--nflog-prefix "DI0|np/shop/deny-client" --nflog-group 2`))
			Expect(shadowRule(w).MatchString(s)).To(BeFalse(), "nothing is shadowed for %s", w)
		}
	})

	It("a new generation in Audit leaves the previous generation enforced, also for enforcers that start afresh", func() {
		var np v1alpha1.NetworkPolicy
		Expect(l.Client.Get(ctx, key, &np)).To(Succeed())
		// Generation 2 would allow the client: were it enforced, or nothing, the flows would pass.
		np.Spec.Ingress[0].Source.Selector = "app == 'nobody'"
		Expect(l.Client.Update(ctx, &np)).To(Succeed())
		Expect(np.Generation).To(Equal(int64(2)))
		writeStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1})
		for _, w := range webPods {
			Eventually(func() string { return saveOf(w) }).WithTimeout(20*time.Second).Should(MatchRegexp(shadowRule(w).String()), "generation 2 shadowed on %s", w)
		}
		expectFlows(func(string) bool { return false }, "generation 1 stays enforced while generation 2 is in Audit")

		// Restarted enforcers hold nothing: generation 1 can only come from its revision.
		for _, n := range l.Plan.Nodes {
			Expect(l.RestartNodeProcess(ctx, n.Name)).To(Succeed())
		}
		expectFlows(func(string) bool { return false }, "after a restart, generation 1 is enforced from its revision")
	})
})

func inCanary(ref string) bool {
	ns, name, _ := strings.Cut(ref, "/")
	return rollout.InCanary(rollout.EndpointIdentity(ns, name), 50)
}

// revisionOf is the ControllerRevision the rollout operator keeps for generation gen of np (its
// current spec).
func revisionOf(np *v1alpha1.NetworkPolicy, gen int64) *appsv1.ControllerRevision {
	raw, err := json.Marshal(np.Spec)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: np.Namespace, Name: fmt.Sprintf("%s-%d", np.Name, gen),
			Labels: rollout.RevisionLabels(np.UID, gen),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "NetworkPolicy", Name: np.Name, UID: np.UID, Controller: ptr.To(true),
			}},
		},
		Revision: gen,
		Data:     runtime.RawExtension{Raw: raw},
	}
}

func iptablesSave(ns string) string {
	out, err := exec.Command("ip", "netns", "exec", ns, "iptables-save", "-t", "filter").CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "iptables-save in %s: %s", ns, out)
	return string(out)
}
