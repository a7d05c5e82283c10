package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/cli"
	"github.com/palisade-dev/palisade/test/assets"
	"github.com/palisade-dev/palisade/test/lab"
)

// The rollout end to end (issue 16): the real palisade-controller (admission webhooks and the
// rollout operator) and one real palisade-enforcer per node, windows of seconds, real TCP
// connections. The policy obs/guard selects two servers, srv-in in its 50% canary and srv-out
// outside it, on different nodes; obs/client calls them.
var _ = Describe("rollout in the lab", Ordered, func() {
	const (
		window   = 5 * time.Second // audit and staged minDuration: the evidence windows
		interval = time.Second     // report interval of the enforcers and the operator
	)
	var (
		l             *lab.Lab
		ctx           context.Context
		srvIn, srvOut string
		ip            = map[string]string{}
		ctrl          *exec.Cmd
		ctrlExited    chan struct{}
		ctrlLog       string
		kubectl       string
		gens          = map[string]int64{}
	)

	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this suite creates network namespaces and must run as root: sudo make test-e2e")
		}
		ctx = log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		dir, err := assets.Dir()
		Expect(err).NotTo(HaveOccurred())
		kubectl = filepath.Join(dir, "kubectl")
		bin := GinkgoT().TempDir()
		for _, c := range []string{"palisade-enforcer", "palisade-controller"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(bin, c), "../../cmd/"+c).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "building %s: %s", c, out)
		}
		root, err := lab.RepoRoot()
		Expect(err).NotTo(HaveOccurred())

		in, notIn := canaryNames(50)
		srvIn, srvOut = "obs/"+in, "obs/"+notIn
		set, err := manifestSet(rolloutYAML(in, notIn))
		Expect(err).NotTo(HaveOccurred())
		l, err = lab.Start(ctx, set, lab.Options{Nodes: 2,
			Webhooks: []string{filepath.Join(root, "config", "webhook", "manifests.yaml")},
			NodeProcess: lab.NodeProcess{
				Command: []string{filepath.Join(bin, "palisade-enforcer"), "run", "--kubeconfig={{.Kubeconfig}}", "--node-name={{.Node}}",
					"--health-addr=127.0.0.1:9808", "--metrics-addr=0", "--min-sync-interval=100ms", "--report-interval=" + interval.String()},
				ReadyURL: "http://127.0.0.1:9808/readyz",
			}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })
		for _, p := range l.Plan.Pods {
			ip[p.Ref] = p.IP.String()
		}
		Expect(podOf(l, srvIn).Node).NotTo(Equal(podOf(l, srvOut).Node))

		// The controller, in the root namespace as the envtest suites run it (it serves the webhooks
		// the API server calls on loopback); its command line names the lab's directory, so the
		// lab's cleanup finds it after a crash.
		ctrlLog = filepath.Join(l.Dir, "palisade-controller.log")
		probe := strconv.Itoa(freeLocalPort())
		ctrlExited = make(chan struct{})
		ctrl = startControllerProcess(filepath.Join(bin, "palisade-controller"), ctrlLog, ctrlExited,
			"--kubeconfig="+l.Kubeconfig, "--cert-source=cert-manager", "--webhook-cert-dir="+l.Webhook.CertDir,
			"--webhook-port="+strconv.Itoa(l.Webhook.Port), "--health-probe-bind-address=127.0.0.1:"+probe,
			"--metrics-bind-address=0", "--namespace=palisade-system", "--report-interval="+interval.String())
		DeferCleanup(func() { stopControllerProcess(ctrl, ctrlExited) })
		Eventually(func() int { code, _ := get("http://127.0.0.1:" + probe + "/readyz"); return code }).
			WithTimeout(time.Minute).WithPolling(200*time.Millisecond).Should(Equal(200), "palisade-controller ready")
	})

	AfterEach(func() {
		if l == nil || !CurrentSpecReport().Failed() {
			return
		}
		b, _ := os.ReadFile(ctrlLog)
		GinkgoWriter.Printf("--- palisade-controller log (last 8k):\n%s\n", lastBytes(b, 8192))
		for _, n := range l.Plan.Nodes {
			if path, ok := l.NodeProcessLog(n.Name); ok {
				b, _ := os.ReadFile(path)
				GinkgoWriter.Printf("--- node %s enforcer log (last 4k):\n%s\n", n.Name, lastBytes(b, 4096))
			}
		}
		GinkgoWriter.Printf("--- kubectl get:\n%s\n", kubectlGet(kubectl, l))
	})

	guard := func() *v1alpha1.NetworkPolicy {
		var np v1alpha1.NetworkPolicy
		ExpectWithOffset(1, l.Client.Get(ctx, client.ObjectKey{Namespace: "obs", Name: "guard"}, &np)).To(Succeed())
		return &np
	}
	// phaseOf is "PHASE/enforced generation" at the current generation, once the operator observed it.
	phaseOf := func() string {
		np := guard()
		if np.Status.ObservedGeneration != np.Generation {
			return "unobserved"
		}
		return fmt.Sprintf("%s/%d", np.Status.Phase, np.Status.EnforcedGeneration)
	}
	// waitPhase waits for phase and enforced generation, and shows the row kubectl get prints.
	waitPhase := func(phase v1alpha1.RolloutPhase, enforced int64, timeout time.Duration) {
		EventuallyWithOffset(1, phaseOf).WithTimeout(timeout).WithPolling(250 * time.Millisecond).
			Should(Equal(fmt.Sprintf("%s/%d", phase, enforced)))
		out := kubectlGet(kubectl, l)
		GinkgoWriter.Printf("kubectl get networkpolicies.policy.palisade.dev -n obs:\n%s", out)
		// The printer columns: name, order (none), phase, ready, enforced generation (none when 0).
		if enforced == 0 {
			ExpectWithOffset(1, out).To(MatchRegexp(`(?m)^guard\s+%s\s+(True|False|Unknown)\s`, phase))
		} else {
			ExpectWithOffset(1, out).To(MatchRegexp(`(?m)^guard\s+%s\s+(True|False|Unknown)\s+%d\s`, phase, enforced))
		}
		// kubectl palisade status says the same, as text for the reader and as JSON for the check.
		GinkgoWriter.Printf("kubectl palisade status -n obs guard:\n%s", palisadeStatus(l, "-n", "obs", "guard"))
		var st struct {
			Phase              v1alpha1.RolloutPhase `json:"phase"`
			EnforcedGeneration int64                 `json:"enforcedGeneration"`
		}
		ExpectWithOffset(1, json.Unmarshal([]byte(palisadeStatus(l, "-n", "obs", "guard", "-o", "json")), &st)).To(Succeed())
		ExpectWithOffset(1, st.Phase).To(Equal(phase), "kubectl palisade status's phase")
		ExpectWithOffset(1, st.EnforcedGeneration).To(Equal(enforced), "kubectl palisade status's enforced generation")
	}
	// apply edits the spec from a fresh read, again on a conflict: the operator writes the
	// policy's status meanwhile, and each status write moves the resourceVersion.
	apply := func(name string, from string, mutate func(*v1alpha1.NetworkPolicy)) {
		var np *v1alpha1.NetworkPolicy
		ExpectWithOffset(1, retry.RetryOnConflict(retry.DefaultRetry, func() error {
			np = guard()
			np.Spec.Ingress[0].Source.Selector = from
			if mutate != nil {
				mutate(np)
			}
			return l.Client.Update(ctx, np)
		})).To(Succeed())
		gens[name] = np.Generation
	}
	pass := func(from, to string) bool {
		ns, ok := l.PodNS(from)
		ExpectWithOffset(1, ok).To(BeTrue())
		return echoOnce(ns, mustAddr(ip[to]), from+" -> "+to)
	}

	It("a policy that would deny real traffic stays in Audit with that flow in its evidence, and the traffic passes", func() {
		np := &v1alpha1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: "obs", Name: "guard"},
			Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{
				Selector: "app == 'srv'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress},
				Ingress: []v1alpha1.Rule{{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("TCP")),
					Source:      v1alpha1.EntityRule{Selector: "app == 'nobody'"},
					Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromInt(80)}}}},
			}},
		}
		np.Spec.Rollout = &v1alpha1.RolloutSpec{
			Strategy: v1alpha1.RolloutProgressive,
			Audit:    &v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: window}, MaxDenials: ptr.To[int64](0)},
			Staged: &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: window}, MaxDenials: ptr.To[int64](0)},
				CanaryPercent: ptr.To[int32](50)},
			Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To[int64](30)},
		}
		Expect(l.Client.Create(ctx, np)).To(Succeed())
		gens["deny"] = np.Generation
		waitPhase(v1alpha1.PhaseAudit, 0, 20*time.Second)

		t := startTraffic(pass, "obs/client", []string{srvIn, srvOut}, 300*time.Millisecond)
		Eventually(func() []v1alpha1.FlowSample {
			if ev := guard().Status.Evidence; ev != nil {
				return ev.TopFlows
			}
			return nil
		}).WithTimeout(20 * time.Second).WithPolling(250 * time.Millisecond).Should(ContainElement(And(
			HaveField("Source", "obs/client"), HaveField("Destination", BeElementOf(srvIn, srvOut)), HaveField("Port", int32(80)))))
		// Held: longer than a window with the traffic going on, it is still in Audit.
		Consistently(phaseOf).WithTimeout(window + 3*interval).WithPolling(250 * time.Millisecond).Should(Equal("Audit/0"))
		ok, failed := t.stop()
		Expect(failed).To(BeZero(), "Audit drops nothing (%d passed)", ok)
		Expect(ok).To(BeNumerically(">", 10))
	})

	It("fixing the policy promotes it through Staged to Enforced", func() {
		apply("fix", "app == 'client'", nil)
		// The fix lets the client through: every connection passes in every phase.
		t := startTraffic(pass, "obs/client", []string{srvIn, srvOut}, 500*time.Millisecond)
		waitPhase(v1alpha1.PhaseStaged, 0, window+20*time.Second)
		Expect(guard().Status.CanaryPercent).To(Equal(int32(50)))
		waitPhase(v1alpha1.PhaseEnforced, gens["fix"], window+20*time.Second)
		ok, failed := t.stop()
		Expect(failed).To(BeZero(), "the fixed policy allows the client (%d passed)", ok)
		// Enforced: the others are dropped now.
		Eventually(func() bool { return pass("obs/other", srvIn) }).WithTimeout(5 * time.Second).Should(BeFalse())
		Expect(pass("obs/other", srvOut)).To(BeFalse())
		Expect(pass("obs/client", srvIn)).To(BeTrue())
	})

	It("an edit that starts denying legitimate traffic is dropped on the canary only, then steps back to Audit by itself while the previous generation stays enforced", func() {
		good := gens["fix"]
		// The edit drops the client's rule. Nobody calls during its audit window: it is promoted.
		apply("bad", "app == 'nobody'", nil)
		waitPhase(v1alpha1.PhaseAudit, good, 20*time.Second)
		waitPhase(v1alpha1.PhaseStaged, good, window+20*time.Second)
		// Staged: the canary pod enforces the edit, the other the good generation.
		Expect(pass("obs/client", srvIn)).To(BeFalse(), "%s is in the canary", srvIn)
		Expect(pass("obs/client", srvOut)).To(BeTrue(), "%s enforces generation %d", srvOut, good)
		// The client keeps calling: the denials pass the step-back rate.
		t := startTraffic(pass, "obs/client", []string{srvIn, srvIn, srvOut}, 100*time.Millisecond)
		waitPhase(v1alpha1.PhaseAudit, good, 30*time.Second)
		t.stop()
		Expect(meta.IsStatusConditionTrue(guard().Status.Conditions, v1alpha1.ConditionDegraded)).To(BeTrue())
		// Generation good enforced again everywhere: the client passes, the others do not.
		Eventually(func() bool { return pass("obs/client", srvIn) }).WithTimeout(5 * time.Second).Should(BeTrue())
		Expect(pass("obs/client", srvOut)).To(BeTrue())
		Expect(pass("obs/other", srvIn)).To(BeFalse())
	})

	It("with the operator stopped, enforcement stays as it was, an edit included (refused by the stopped webhooks, or admitted and not rolled out)", func() {
		stopControllerProcess(ctrl, ctrlExited)
		good := gens["fix"]
		before := guard().Status
		// An edit that would open everything to everyone: nobody rolls it out.
		np := guard()
		np.Spec.Ingress[0].Source.Selector = "all()"
		// The webhooks are down with the controller (failurePolicy Fail): the edit is refused, and
		// the API server says why. Enforcement is what the enforcers hold either way.
		err := l.Client.Update(ctx, np)
		GinkgoWriter.Printf("edit with the controller stopped: %v\n", err)
		for range 3 {
			Expect(pass("obs/client", srvIn)).To(BeTrue(), "generation %d still enforced", good)
			Expect(pass("obs/other", srvIn)).To(BeFalse(), "generation %d still enforced", good)
			Expect(pass("obs/other", srvOut)).To(BeFalse(), "generation %d still enforced", good)
			time.Sleep(interval)
		}
		Expect(guard().Status.EnforcedGeneration).To(Equal(before.EnforcedGeneration))
		Expect(guard().Status.Phase).To(Equal(before.Phase))
	})
})

// traffic opens connections in the background until stopped and counts how many passed.
type traffic struct {
	stopped    chan struct{}
	wg         sync.WaitGroup
	ok, failed atomic.Int64
}

func startTraffic(pass func(from, to string) bool, from string, to []string, every time.Duration) *traffic {
	t := &traffic{stopped: make(chan struct{})}
	for _, dst := range to {
		t.wg.Go(func() {
			defer GinkgoRecover()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-t.stopped:
					return
				case <-tick.C:
				}
				if pass(from, dst) {
					t.ok.Add(1)
				} else {
					t.failed.Add(1)
				}
			}
		})
	}
	return t
}

func (t *traffic) stop() (ok, failed int64) {
	close(t.stopped)
	t.wg.Wait()
	return t.ok.Load(), t.failed.Load()
}

// rolloutYAML is the rollout specs' workload: the operator's namespace, a client, another pod and
// two servers on port 80 on different nodes. The policy is created by the test, once the
// controller serves the webhooks.
func rolloutYAML(in, out string) string {
	return `apiVersion: v1
kind: Namespace
metadata:
  name: palisade-system
---
apiVersion: v1
kind: Namespace
metadata:
  name: obs
` + obsPod("client", "client", "node-1") + obsPod("other", "other", "node-2") + obsPod(in, "srv", "node-1") + obsPod(out, "srv", "node-2")
}

// palisadeStatus runs kubectl palisade status in-process against the lab's API server.
func palisadeStatus(l *lab.Lab, args ...string) string {
	var out, errOut bytes.Buffer
	cmd := cli.NewRootCommand(cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(append([]string{"status", "--kubeconfig", l.Kubeconfig}, args...))
	ExpectWithOffset(2, cmd.Execute()).To(Succeed(), "kubectl palisade status: %s", errOut.String())
	return out.String()
}

func kubectlGet(kubectl string, l *lab.Lab) string {
	out, err := exec.Command(kubectl, "--kubeconfig", l.Kubeconfig, "get", "networkpolicies.policy.palisade.dev", "-n", "obs").CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "kubectl get: %s", out)
	return string(out)
}

func startControllerProcess(bin, logPath string, exited chan struct{}, args ...string) *exec.Cmd {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	ExpectWithOffset(1, cmd.Start()).To(Succeed())
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(exited)
	}()
	return cmd
}

// stopControllerProcess sends SIGTERM to the controller's process group, SIGKILL after 15 s; a
// second call does nothing.
func stopControllerProcess(cmd *exec.Cmd, exited chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// get returns the status code of a GET on url, 0 when it failed.
func get(url string) (int, error) {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
