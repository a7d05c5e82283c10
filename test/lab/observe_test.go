package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/cli"
	"github.com/palisade-dev/palisade/pkg/rollout"
	"github.com/palisade-dev/palisade/test/lab"
)

// Observation end to end (issue 15), without the operator: the test writes each policy's status and
// revisions as the operator would, real palisade-enforcers program the phases on two nodes, real
// TCP connections cross them, and the NodeReports the enforcers write are summed over the nodes.
//
// The candidate obs/guard selects the servers and allows ingress only from app == 'nobody': it
// would deny every connection of obs/client. With a 50% canary, the canary holds srv-in and not
// srv-out (the names are chosen so, rollout.InCanary is a pure function of the identity).
var _ = Describe("observation in the lab", Ordered, func() {
	const (
		policy       = "guard"
		shadowRate   = 5  // --observe-rate: new connections sampled per second, per shadow rule
		shadowBurst  = 10 // --observe-burst
		reportPeriod = time.Second
	)
	var (
		l               *lab.Lab
		ctx             context.Context
		srvIn, srvOut   string // "obs/NAME": in and out of the 50% canary
		clientRef       = "obs/client"
		ip              = map[string]netip.Addr{}
		enforcer        string
		reportsFromNode = map[string]bool{}
	)

	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this suite creates network namespaces and must run as root: sudo make test-e2e")
		}
		ctx = log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		enforcer = filepath.Join(GinkgoT().TempDir(), "palisade-enforcer")
		out, err := exec.Command("go", "build", "-o", enforcer, "../../cmd/palisade-enforcer").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building palisade-enforcer: %s", out)

		in, notIn := canaryNames(50)
		srvIn, srvOut = "obs/"+in, "obs/"+notIn
		set, err := manifestSet(observeYAML(in, notIn))
		Expect(err).NotTo(HaveOccurred())
		l, err = lab.Start(ctx, set, lab.Options{Nodes: 2, NodeProcess: lab.NodeProcess{
			Command: []string{enforcer, "run", "--kubeconfig={{.Kubeconfig}}", "--node-name={{.Node}}",
				"--health-addr=127.0.0.1:9808", "--metrics-addr=0", "--min-sync-interval=100ms",
				"--report-interval=" + reportPeriod.String(),
				fmt.Sprintf("--observe-rate=%d", shadowRate), fmt.Sprintf("--observe-burst=%d", shadowBurst)},
			ReadyURL: "http://127.0.0.1:9808/readyz",
		}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })
		for _, p := range l.Plan.Pods {
			ip[p.Ref] = p.IP
		}
		// The servers on different nodes: the counts are summed over two enforcers' reports.
		Expect(podOf(l, srvIn).Node).NotTo(Equal(podOf(l, srvOut).Node))

		var np v1alpha1.NetworkPolicy
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "obs", Name: policy}, &np)).To(Succeed())
		Expect(np.Generation).To(Equal(int64(1)))
	})

	AfterEach(func() {
		if l == nil || !CurrentSpecReport().Failed() {
			return
		}
		for _, n := range l.Plan.Nodes {
			if path, ok := l.NodeProcessLog(n.Name); ok {
				b, _ := os.ReadFile(path)
				GinkgoWriter.Printf("--- node %s enforcer log %s (last 8k):\n%s\n", n.Name, path, lastBytes(b, 8192))
			}
		}
		var list v1alpha1.NodeReportList
		if err := l.Client.List(ctx, &list); err == nil {
			b, _ := json.MarshalIndent(list.Items, "", "  ")
			GinkgoWriter.Printf("--- NodeReports:\n%s\n", b)
		}
	})

	// setStatus writes the status the operator would, with a new evidence window starting now, and
	// waits until every node reports counting that window for generation gen in phase.
	setStatus := func(st v1alpha1.PolicyStatus, gen int64) time.Time {
		var np v1alpha1.NetworkPolicy
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "obs", Name: policy}, &np)).To(Succeed())
		start := metav1.NewTime(time.Now().Truncate(time.Second))
		st.ObservedGeneration = np.Generation
		st.Evidence = &v1alpha1.Evidence{WindowStart: &start}
		np.Status = st
		Expect(l.Client.Status().Update(ctx, &np)).To(Succeed())
		Eventually(func() []string {
			var out []string
			for _, r := range guardReports(ctx, l, policy) {
				if r.Generation == gen && r.Phase == st.Phase && r.WindowStart != nil && r.WindowStart.Equal(&start) {
					out = append(out, r.node)
				}
			}
			return out
		}).WithTimeout(20*time.Second).WithPolling(200*time.Millisecond).Should(HaveLen(2), "both nodes report generation %d in %s from %v", gen, st.Phase, start)
		return start.Time
	}

	// connect opens n new TCP connections from client to the pod's port 80, one after another, and
	// returns how many got their echo back.
	connect := func(to string, n int) int {
		ns, ok := l.PodNS(clientRef)
		Expect(ok).To(BeTrue())
		ok2 := 0
		for i := range n {
			if echoOnce(ns, ip[to], fmt.Sprintf("%s #%d", to, i)) {
				ok2++
			}
		}
		return ok2
	}

	// counts sums the window's counts over the nodes reporting it.
	counts := func() v1alpha1.FlowCounts {
		var sum v1alpha1.FlowCounts
		for _, r := range guardReports(ctx, l, policy) {
			sum.WouldDeny += r.Window.WouldDeny
			sum.Denied += r.Window.Denied
			sum.Allowed += r.Window.Allowed
			reportsFromNode[r.node] = true
		}
		return sum
	}
	expectCounts := func(want v1alpha1.FlowCounts) {
		Eventually(counts).WithTimeout(10 * time.Second).WithPolling(200 * time.Millisecond).Should(Equal(want))
		// Exactly: nothing more arrives over two more report intervals.
		Consistently(counts).WithTimeout(2 * reportPeriod).WithPolling(250 * time.Millisecond).Should(Equal(want))
	}

	It("Audit: a candidate that would deny lets every connection through, and the node reports count each one", func() {
		setStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit}, 1)
		Expect(connect(srvIn, 3)).To(Equal(3))
		Expect(connect(srvOut, 4)).To(Equal(4))
		expectCounts(v1alpha1.FlowCounts{WouldDeny: 7})
		Expect(reportsFromNode).To(HaveLen(2))

		// kubectl palisade observe sums the nodes and names the flow and the rule that denies it.
		var out, errOut bytes.Buffer
		cmd := cli.NewRootCommand(cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		cmd.SetArgs([]string{"observe", "-n", "obs", policy, "--kubeconfig", l.Kubeconfig})
		Expect(cmd.Execute()).To(Succeed(), errOut.String())
		GinkgoWriter.Printf("kubectl palisade observe -n obs %s:\n%s", policy, out.String())
		Expect(out.String()).To(MatchRegexp(`obs/guard\s+1\s+Audit\s+0\s+2/2\s+7\s+0\s+0\s`))
		Expect(out.String()).To(MatchRegexp(`\n\s+4\s+obs/client\s+` + srvOut + `\s+TCP/80\s+\S`))
		Expect(out.String()).To(MatchRegexp(`\n\s+3\s+obs/client\s+` + srvIn + `\s+TCP/80\s+\S`))
	})

	It("a burst above the sampling limit loses samples, not connections, and the reports say how many", func() {
		dropped := func() int64 {
			var list v1alpha1.NodeReportList
			Expect(l.Client.List(ctx, &list)).To(Succeed())
			var n int64
			for _, nr := range list.Items {
				n += nr.Spec.DroppedSamples
			}
			return n
		}
		setStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit}, 1)
		// Let the buckets refill (shadowBurst at shadowRate a second), then settle the baseline.
		time.Sleep(time.Duration(shadowBurst/shadowRate+1) * time.Second)
		before := dropped()
		const burst = 4 * shadowBurst
		start := time.Now()
		Expect(connect(srvOut, burst)).To(Equal(burst), "every connection of the burst passes")
		took := time.Since(start)
		// What the limit can have let through while the burst lasted.
		maxSampled := int64(shadowBurst) + int64(took.Seconds()*shadowRate) + 1
		Expect(maxSampled).To(BeNumerically("<", burst), "the burst (%v) must outrun the limit", took)
		// Sampled plus not sampled is exactly the burst, on the nodes' own word.
		Eventually(func() int64 { return counts().WouldDeny + dropped() - before }).WithTimeout(10 * time.Second).
			WithPolling(200 * time.Millisecond).Should(Equal(int64(burst)))
		Expect(counts().WouldDeny).To(And(BeNumerically(">=", shadowBurst), BeNumerically("<=", maxSampled)))
		GinkgoWriter.Printf("burst of %d connections in %v: %d sampled, %d reported as dropped samples\n", burst, took, counts().WouldDeny, dropped()-before)
	})

	It("Staged with a 50% canary: connections to the canary pod are dropped and counted denied, the others pass", func() {
		setStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseStaged, CanaryPercent: 50, CanaryEndpoints: 1}, 1)
		Expect(connect(srvIn, 2)).To(Equal(0), "%s is in the canary: the candidate is enforced there", srvIn)
		Expect(connect(srvOut, 3)).To(Equal(3), "%s is outside the canary: the candidate is only observed", srvOut)
		expectCounts(v1alpha1.FlowCounts{WouldDeny: 3, Denied: 2})
	})

	It("Enforced: every connection is dropped and counted denied", func() {
		setStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseEnforced, EnforcedGeneration: 1}, 1)
		Expect(connect(srvIn, 2)).To(Equal(0))
		Expect(connect(srvOut, 2)).To(Equal(0))
		expectCounts(v1alpha1.FlowCounts{Denied: 4})
	})

	It("a new generation in Audit leaves the previous one enforced: packets still dropped, the candidate counted as allowing them", func() {
		var np v1alpha1.NetworkPolicy
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "obs", Name: policy}, &np)).To(Succeed())
		// The operator's revision of generation 1, which stays enforced.
		raw, err := json.Marshal(np.Spec)
		Expect(err).NotTo(HaveOccurred())
		yes := true
		Expect(l.Client.Create(ctx, &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Namespace: "obs", Name: policy + "-1", Labels: rollout.RevisionLabels(np.UID, 1),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "NetworkPolicy", Name: policy, UID: np.UID, Controller: &yes}}},
			Revision: 1, Data: runtime.RawExtension{Raw: raw},
		})).To(Succeed())
		// Generation 2 allows the client: the fix.
		np.Spec.Ingress[0].Source.Selector = "app == 'client'"
		Expect(l.Client.Update(ctx, &np)).To(Succeed())
		Expect(np.Generation).To(Equal(int64(2)))
		setStatus(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1}, 2)

		Expect(connect(srvIn, 2)).To(Equal(0), "generation 1 is still enforced")
		Expect(connect(srvOut, 2)).To(Equal(0), "generation 1 is still enforced")
		for _, r := range guardReports(ctx, l, policy) {
			Expect(r.EnforcedGeneration).To(Equal(int64(1)), "node %s", r.node)
		}
	})
})

// canaryNames returns a server name in the canary of percent and one outside it.
func canaryNames(percent int32) (in, out string) {
	for i := 0; in == "" || out == ""; i++ {
		name := fmt.Sprintf("srv-%d", i)
		if rollout.InCanary(rollout.EndpointIdentity("obs", name), percent) {
			if in == "" {
				in = name
			}
		} else if out == "" {
			out = name
		}
	}
	return in, out
}

// observeYAML is the cluster of the observation specs: a client and two servers on port 80, the
// servers on different nodes, and the candidate guard (no status: the test writes it).
func observeYAML(in, out string) string {
	return `apiVersion: v1
kind: Namespace
metadata:
  name: obs
` + obsPod("client", "client", "node-1") + obsPod(in, "srv", "node-1") + obsPod(out, "srv", "node-2") + `---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: guard
  namespace: obs
spec:
  selector: app == 'srv'
  types: [Ingress]
  rollout:
    strategy: Progressive
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: app == 'nobody'
    destination:
      ports: [80]
`
}

// nodePolicyReport is one node's report on one policy.
type nodePolicyReport struct {
	v1alpha1.PolicyReport
	node string
}

// guardReports returns every node's report on obs/NAME.
func guardReports(ctx context.Context, l *lab.Lab, name string) []nodePolicyReport {
	var list v1alpha1.NodeReportList
	ExpectWithOffset(1, l.Client.List(ctx, &list)).To(Succeed())
	var out []nodePolicyReport
	for _, nr := range list.Items {
		for _, p := range nr.Spec.Policies {
			if p.Kind == v1alpha1.KindNetworkPolicy && p.Namespace == "obs" && p.Name == name {
				out = append(out, nodePolicyReport{PolicyReport: p, node: nr.Spec.NodeName})
			}
		}
	}
	return out
}

// echoOnce opens one TCP connection from inside ns to addr:80 and reports whether the echo server
// answered within a second.
func echoOnce(ns interface {
	DialContext(context.Context, *net.Dialer, string, string) (net.Conn, error)
}, addr netip.Addr, token string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := ns.DialContext(ctx, &net.Dialer{}, "tcp4", netip.AddrPortFrom(addr, 80).String())
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(token)); err != nil {
		return false
	}
	got := make([]byte, len(token))
	n := 0
	for n < len(got) {
		m, err := c.Read(got[n:])
		n += m
		if err != nil {
			return false
		}
	}
	return string(got) == token
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// obsPod is a pod of namespace obs on node serving TCP port 80.
func obsPod(name, app, node string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: obs
  labels:
    app: %s
spec:
  nodeName: %s
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
`, name, app, node)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func freeLocalPort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
