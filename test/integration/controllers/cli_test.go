package controllersintegration

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/cli"
	"github.com/palisade-dev/palisade/pkg/rollout"
	"github.com/palisade-dev/palisade/test/output"
)

var update = flag.Bool("update", false, "rewrite the CLI golden files in testdata/")

// kubeconfig writes the test API server's kubeconfig to a file, as a user's would be.
func kubeconfig() string {
	GinkgoHelper()
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(path, env.env.KubeConfig, 0o600)).To(Succeed())
	return path
}

// runCLI runs kubectl palisade with the test clock against the test API server and returns its
// output and exit code.
func runCLI(kc string, args ...string) (stdout, stderr string, code int) {
	var out, errOut output.Buffer
	code = runCLIInto(&out, &errOut, kc, args...)
	return out.String(), errOut.String(), code
}

func runCLIInto(out, errOut *output.Buffer, kc string, args ...string) int {
	cmd := cli.NewRootCommandWith(cli.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}, cli.ClusterDeps{Clock: env.clock})
	cmd.SetArgs(append(args, "--kubeconfig", kc))
	return cli.HandleError(cmd.ExecuteContext(ctx), errOut)
}

// timestamps are the absolute times in decision messages; the fake clock's absolute time depends on
// which specs ran before, so goldens show them as <time>.
var timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

func expectGolden(name, got string) {
	GinkgoHelper()
	got = timestamps.ReplaceAllString(got, "<time>")
	path := filepath.Join("testdata", name)
	if *update {
		Expect(os.WriteFile(path, []byte(got), 0o644)).To(Succeed())
	}
	want, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "run with -update to create %s", path)
	Expect(got).To(Equal(string(want)), "%s differs; rerun with -update if the change is intended", path)
}

var _ = Describe("kubectl palisade against a cluster", func() {
	var kc string
	BeforeEach(func() { kc = kubeconfig() })

	It("status shows phase, time in phase, progress, nodes, generations and the top flows with their suggested rules", func() {
		// A fixed namespace: the golden names it.
		ns := "cli-golden"
		err := env.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
		createPod(ns, "web-0", map[string]string{"app": "web"})
		createPod(ns, "client-6c9-xk2", map[string]string{"app": "client", "pod-template-hash": "6c9"})
		tolerate := int64(100)
		createPolicy(makePolicy(ns, "web", func(p *v1alpha1.NetworkPolicy) { p.Spec.Rollout.Audit.MaxDenials = &tolerate }))
		p := waitNP(ns, "web", inPhase(audit))

		step(45 * time.Second)
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{WouldDeny: 9, Allowed: 40},
			flow(ns+"/client-6c9-xk2", ns+"/web-0", 8080, 6),
			flow("203.0.113.9", ns+"/web-0", 443, 2),
			flow(ns+"/gone-1", ns+"/web-0", 8080, 1)))
		waitNP(ns, "web", func(g Gomega, p *v1alpha1.NetworkPolicy) {
			g.Expect(p.Status.Evidence.TopFlows).To(HaveLen(3))
			g.Expect(p.Status.NodesProgrammed).To(BeEquivalentTo(1))
		})

		out, errOut, code := runCLI(kc, "status", "-n", ns, "web")
		Expect(code).To(BeZero(), errOut)
		expectGolden("status-audit.golden", out)

		By("-o json carries the same, with the suggested rules as the API has them")
		out, errOut, code = runCLI(kc, "status", "-n", ns, "web", "-o", "json")
		Expect(code).To(BeZero(), errOut)
		var s struct {
			Phase          string `json:"phase"`
			InPhaseSeconds int64  `json:"inPhaseSeconds"`
			Progress       struct {
				State   string `json:"state"`
				Toward  string `json:"toward"`
				Percent int    `json:"percent"`
			} `json:"progress"`
			Evidence v1alpha1.Evidence `json:"evidence"`
		}
		Expect(json.Unmarshal([]byte(out), &s)).To(Succeed())
		Expect(s.Phase).To(Equal("Audit"))
		Expect(s.InPhaseSeconds).To(BeEquivalentTo(45))
		Expect(s.Progress.State).To(Equal("Waiting"))
		Expect(s.Progress.Toward).To(Equal("Staged"))
		Expect(s.Progress.Percent).To(Equal(75))
		Expect(s.Evidence.TopFlows[0].SuggestedRules[0].Rule.Source.Selector).To(Equal("app == 'client'"))

		By("listing the namespace; a missing policy is an error naming it")
		out, _, code = runCLI(kc, "status", "-n", ns)
		Expect(code).To(BeZero())
		Expect(out).To(HavePrefix("networkpolicy/cli-golden/web\n"))
		_, errOut, code = runCLI(kc, "status", "-n", ns, "nope")
		Expect(code).To(Equal(cli.ExitUsage))
		Expect(errOut).To(Equal("error: networkpolicy/cli-golden/nope not found\n"))
	})

	It("each control writes its annotation, never the spec, and the operator records it in status", func() {
		ns := newNamespace()
		createPolicy(makePolicy(ns, "web"))
		waitNP(ns, "web", inPhase(audit))
		controls := func(p *v1alpha1.NetworkPolicy) *v1alpha1.RolloutControls {
			Expect(p.Status.Controls).NotTo(BeNil())
			return p.Status.Controls
		}

		run := func(verb, annotation string) (*v1alpha1.NetworkPolicy, string) {
			GinkgoHelper()
			step(time.Second)
			tok := token()
			out, errOut, code := runCLI(kc, verb, "-n", ns, "web", "--wait", "--timeout", "30s")
			Expect(code).To(BeZero(), errOut)
			Expect(out).To(Equal("networkpolicy/" + ns + "/web: " + verb + " recorded by the operator (" + annotation + "=" + tok + ")\n"))
			p := getNP(ns, "web")
			Expect(p.Annotations).To(HaveKeyWithValue(annotation, tok))
			Expect(p.Generation).To(BeEquivalentTo(1), "a control never writes spec")
			return p, tok
		}

		p, tok := run("promote", rollout.AnnotationPromote)
		Expect(controls(p).Promote).To(Equal(tok))
		Expect(p.Status.Phase).To(Equal(staged))

		p, tok = run("pause", rollout.AnnotationPause)
		Expect(controls(p).Pause).To(Equal(tok))
		Expect(controls(p).Paused).To(BeTrue())

		p, tok = run("resume", rollout.AnnotationResume)
		Expect(controls(p).Resume).To(Equal(tok))
		Expect(controls(p).Paused).To(BeFalse())

		p, tok = run("rollback", rollout.AnnotationRollback)
		Expect(controls(p).Rollback).To(Equal(tok))
		Expect(p.Status.Phase).To(Equal(audit))
		Expect(controls(p).HeldGeneration).To(BeEquivalentTo(1))
		Expect(meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionDegraded)).To(BeTrue())

		By("-o json says what was requested")
		step(time.Second)
		out, errOut, code := runCLI(kc, "pause", "-n", ns, "pnp/web", "-o", "json")
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(MatchJSON(`{"kind":"NetworkPolicy","namespace":"` + ns + `","name":"web","control":"pause",
			"annotation":"rollout.palisade.dev/pause","token":"` + token() + `","recorded":false}`))

		By("a policy that does not exist")
		_, errOut, code = runCLI(kc, "promote", "-n", ns, "nope")
		Expect(code).To(Equal(cli.ExitUsage))
		Expect(errOut).To(ContainSubstring("annotating networkpolicy/" + ns + "/nope"))
	})

	It("controls and status name a GlobalNetworkPolicy as gnp/NAME", func() {
		g := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "cli-gnp"}}
		g.Spec.Selector = "all()"
		Expect(env.client.Create(ctx, g)).To(Succeed())
		DeferCleanup(func() { Expect(env.client.Delete(ctx, g)).To(Succeed()) })
		eventually(func(gm Gomega) {
			gm.Expect(env.client.Get(ctx, client.ObjectKeyFromObject(g), g)).To(Succeed())
			gm.Expect(g.Status.Phase).To(Equal(audit))
		}).Should(Succeed())
		step(time.Second)
		tok := token()
		out, errOut, code := runCLI(kc, "promote", "gnp/cli-gnp", "--wait")
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(Equal("globalnetworkpolicy/cli-gnp: promote recorded by the operator (rollout.palisade.dev/promote=" + tok + ")\n"))
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(g), g)).To(Succeed())
		Expect(g.Status.Controls.Promote).To(Equal(tok))
		Expect(g.Status.Phase).To(Equal(staged))
		out, errOut, code = runCLI(kc, "status", "globalnetworkpolicy/cli-gnp")
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(HavePrefix("globalnetworkpolicy/cli-gnp\n  Phase:       Staged for 0s\n"))
	})

	It("watch prints each transition and returns once the policy is Enforced", func() {
		ns := newNamespace()
		createPolicy(makePolicy(ns, "web"))
		waitNP(ns, "web", inPhase(audit))

		var out, errOut output.Buffer
		done := make(chan int, 1)
		go func() {
			defer GinkgoRecover()
			done <- runCLIInto(&out, &errOut, kc, "watch", "-n", ns, "web", "--timeout", "60s")
		}()
		eventually(out.String).Should(ContainSubstring("Audit"))
		for _, want := range []v1alpha1.RolloutPhase{staged, v1alpha1.PhaseEnforced} {
			step(time.Second)
			annotate(ns, "web", rollout.AnnotationPromote, token())
			waitNP(ns, "web", inPhase(want))
		}
		var code int
		Eventually(done).WithTimeout(30 * time.Second).Should(Receive(&code))
		Expect(code).To(BeZero(), errOut.String())
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		Expect(lines[0]).To(MatchRegexp(`^\S+  networkpolicy/` + ns + `/web  generation 1  Audit  enforced none  NewPolicy: `))
		Expect(lines).To(ContainElement(MatchRegexp(`  Audit -> Staged  enforced none  PromoteRequested: `)))
		Expect(lines[len(lines)-1]).To(MatchRegexp(`  Staged -> Enforced  enforced 1  \w+: `))

		By("a rollout that does not finish: --timeout, exit 1")
		createPolicy(makePolicy(ns, "slow"))
		waitNP(ns, "slow", inPhase(audit))
		o, e, code := runCLI(kc, "watch", "-n", ns, "slow", "--timeout", "1s", "-o", "json")
		Expect(code).To(Equal(cli.ExitInvalid))
		Expect(e).To(Equal("networkpolicy/" + ns + "/slow: not Enforced after 1s\n"))
		var t map[string]any
		Expect(json.Unmarshal([]byte(strings.Split(o, "\n")[0]), &t)).To(Succeed())
		Expect(t).To(HaveKeyWithValue("to", "Audit"))
	})
})
