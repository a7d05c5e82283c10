package lab_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/demo"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// `make demo` (palisade-lab demo) run non-interactively: every fact its story claims is held to
// what it measured, and it leaves nothing behind. The first spec kills a demo with SIGKILL in the
// middle of its story and runs what `make demo-down` runs; the second then runs the whole demo
// again on the same machine.
var _ = Describe("palisade-lab demo", Ordered, func() {
	var bin string
	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this spec creates network namespaces and must run as root: sudo make test-e2e")
		}
		bin = GinkgoT().TempDir()
		buildCommands(bin, "palisade-controller", "palisade-enforcer", "kubectl-palisade", "palisade-lab")
		buildHelm(bin)
	})

	It("leaves nothing behind once demo-down has run after the demo was killed with SIGKILL", func() {
		rootRules := rootNamespaceState()
		cmd := exec.Command(filepath.Join(bin, "palisade-lab"), "demo", "--bin-dir", bin, "--repo", filepath.Join("..", ".."))
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		cmd.Stderr = GinkgoWriter
		Expect(cmd.Start()).To(Succeed())
		killed := false
		defer func() {
			if !killed {
				_ = cmd.Process.Kill()
			}
			_ = cmd.Wait()
		}()
		// Read the story until the Progressive policy is applied: the controller runs, the
		// enforcers have programmed both policies in their namespaces.
		prefix, reached := make(chan string, 1), make(chan struct{})
		go func() {
			defer GinkgoRecover()
			sc := bufio.NewScanner(stdout)
			signalled := false
			for sc.Scan() {
				line := sc.Text()
				fmt.Fprintln(GinkgoWriter, line)
				if rest, ok := strings.CutPrefix(line, "lab "); ok && strings.Contains(line, " is up;") {
					prefix <- strings.Fields(rest)[0]
				}
				if !signalled && strings.HasPrefix(line, "  ✔ the operator put generation 1 of frontend/web-tier in phase Audit") {
					signalled = true
					close(reached)
				}
			}
		}()
		var p string
		Eventually(prefix).WithTimeout(3*time.Minute).Should(Receive(&p), "the demo's lab did not come up")
		Eventually(reached).WithTimeout(3*time.Minute).Should(BeClosed(), "the demo did not reach its Audit step")
		Expect(netns.List(p)).NotTo(BeEmpty(), "the lab's namespaces exist while the demo runs")

		By("killing palisade-lab demo with SIGKILL: it cannot tear anything down")
		Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		killed = true
		_ = cmd.Wait()

		By("running what make demo-down runs")
		out, err := exec.Command(filepath.Join(bin, "palisade-lab"), "cleanup", "--prefix", p).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "palisade-lab cleanup: %s", out)
		Expect(string(out)).To(MatchRegexp(`removed [1-9][0-9]* namespaces, [0-9]+ processes, 1 directories`))

		By("finding no namespace, process, directory or root-namespace rule of the run")
		// The controller dies with the demo (its parent-death signal), the enforcers with their
		// namespaces; give the kernel a moment to reap them.
		Eventually(func() []int { return processesNaming(p) }).WithTimeout(10 * time.Second).Should(BeEmpty())
		left, err := lab.Find(p)
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Namespaces).To(BeEmpty())
		Expect(left.Processes).To(BeEmpty())
		Expect(left.Dirs).To(BeEmpty())
		Expect(lab.WorkDir(p)).NotTo(BeADirectory())
		Expect(rootNamespaceState()).To(Equal(rootRules), "Palisade's chains and sets in the root namespace changed")
	})

	It("enforces the Immediate policy, lets Audit traffic through, promotes on evidence, and cleans up after itself", func() {
		rootRules := rootNamespaceState()

		ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		var story bytes.Buffer
		rep, err := demo.Run(ctx, demo.Options{Out: &story, BinDir: bin, Window: 10 * time.Second})
		AddReportEntry("demo output", story.String())
		Expect(rep).NotTo(BeNil())
		Expect(rep.Prefix).To(HavePrefix(netns.Root), "the lab did not start: %v\n%s", err, &story)

		By("leaving no namespace, process, directory or root-namespace rule behind")
		Expect(rep.Leftovers).NotTo(BeNil())
		Expect(rep.Leftovers.Namespaces).To(BeEmpty())
		Expect(rep.Leftovers.Processes).To(BeEmpty())
		Expect(rep.Leftovers.Dirs).To(BeEmpty())
		Expect(netns.List(rep.Prefix)).To(BeEmpty())
		Expect(processesNaming(rep.Prefix)).To(BeEmpty())
		Expect(rootNamespaceState()).To(Equal(rootRules), "Palisade's chains and sets in the root namespace changed")

		By("refusing the broken policy at admission")
		Expect(rep.Refused).To(ContainSubstring("spec.ingress[0].protocol"))

		By("dropping what the Immediate policy denies, at once")
		workerToDB := probe.Verdict{From: "backend/worker", To: "database/postgres-0", Port: 5432, Protocol: probe.TCP}
		apiToDB := probe.Verdict{From: "backend/api", To: "database/postgres-0", Port: 5432, Protocol: probe.TCP}
		Expect(rep.ImmediatePhase).To(Equal(v1alpha1.PhaseEnforced))
		Expect(allowedIn(rep.Before, workerToDB)).To(BeTrue(), "before any policy")
		Expect(allowedIn(rep.Immediate, workerToDB)).To(BeFalse(), "with database-tier enforced")
		Expect(allowedIn(rep.Immediate, apiToDB)).To(BeTrue(), "with database-tier enforced")

		By("letting through what the policy in Audit would deny")
		webToWorker := probe.Verdict{From: "frontend/web", To: "backend/worker", Port: 9100, Protocol: probe.TCP}
		apiToWeb := probe.Verdict{From: "backend/api", To: "frontend/web", Port: 80, Protocol: probe.TCP}
		Expect(rep.AuditPhase).To(Equal(v1alpha1.PhaseAudit))
		Expect(allowedIn(rep.Audit, webToWorker)).To(BeTrue(), "web-tier in Audit")
		Expect(allowedIn(rep.Audit, apiToWeb)).To(BeTrue(), "web-tier in Audit")
		Expect(allowedIn(rep.Audit, workerToDB)).To(BeFalse(), "database-tier still enforced")

		By("promoting the fixed policy and stepping a bad edit back, or saying what the promotion waited for")
		if rep.Promoted != nil {
			webToAPI := probe.Verdict{From: "frontend/web", To: "backend/api", Port: 8080, Protocol: probe.TCP}
			Expect(allowedIn(rep.Promoted, apiToWeb)).To(BeFalse(), "web-tier enforced")
			Expect(allowedIn(rep.Promoted, webToWorker)).To(BeTrue(), "the fixed web-tier enforced")
			Expect(rep.SteppedBack).To(BeTrue(), "the bad edit stepped back")
			Expect(allowedIn(rep.AfterStepBack, webToAPI)).To(BeTrue(), "the last good generation enforced again")
		} else {
			Expect(rep.Promotion.WaitedFor).To(ContainSubstring("NodeReport"))
			Expect(rep.Promotion.Reached).To(Equal(v1alpha1.PhaseAudit))
			Expect(rep.SteppedBack).To(BeFalse())
		}

		By("telling only what is true")
		Expect(rep.False).To(BeEmpty())
		Expect(err).NotTo(HaveOccurred())
	})
})

// allowedIn looks a flow up in a measured matrix; a flow that was not measured fails.
func allowedIn(vs []probe.Verdict, want probe.Verdict) bool {
	GinkgoHelper()
	for _, v := range vs {
		if v.From == want.From && v.To == want.To && v.Port == want.Port && v.Protocol == want.Protocol {
			return v.Allowed
		}
	}
	Fail("flow " + want.From + " -> " + want.To + ":" + strconv.Itoa(int(want.Port)) + " was not measured")
	return false
}

// processesNaming lists the processes whose command line mentions s.
func processesNaming(s string) []int {
	GinkgoHelper()
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}

// rootNamespaceState is what of Palisade's is in the root namespace's firewall (read only): the
// lines of iptables-save and ip6tables-save naming its chains, and its ipsets.
func rootNamespaceState() []string {
	GinkgoHelper()
	var out []string
	for _, args := range [][]string{{"iptables-save"}, {"ip6tables-save"}, {"ipset", "list", "-n"}} {
		b, err := exec.Command(args[0], args[1:]...).Output()
		Expect(err).NotTo(HaveOccurred(), "%s", strings.Join(args, " "))
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "PAL-") || strings.HasPrefix(strings.ToLower(l), "pal") {
				out = append(out, args[0]+": "+l)
			}
		}
	}
	return out
}
