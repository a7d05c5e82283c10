package lab_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// protectDB guards alpha/db: only pods labelled app=api and the pods of namespaces labelled
// team=trusted may connect to it.
const protectDB = `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: protect-db
  namespace: alpha
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    source:
      selector: app == 'api'
  - action: Allow
    source:
      namespaceSelector: team == 'trusted'
`

// latency is how long one change took to reach the packets of one flow, as observed.
type latency struct {
	change string
	flow   flowKey
	took   time.Duration
}

// Change timing with real enforcers: each change to the API objects is followed by a prober
// that connects over and over (a new connection every ~20 ms, each bounded by 200 ms), until the
// flows it affects settle on their new verdict. The spec waits with a deadline and records how
// long it took (it asserts no speed), then holds the whole measured matrix to the engine's for
// the objects the API server then holds. Flows whose verdict the change must not alter are
// watched too: a flow denied before and after a change must never be answered in between.
var _ = Describe("changes reaching the packets", Ordered, func() {
	var (
		l         *lab.Lab
		ctx       context.Context
		w         *flowWatch
		latencies []latency
	)
	// The flows to alpha/db the changes act on; alpha/db is selected by protect-db once it exists.
	webDB := tcpFlow("alpha/web", "alpha/db", 80)
	webDBUDP := udpFlow("alpha/web", "alpha/db", 80)
	betaDB := tcpFlow("beta/web", "alpha/db", 80)
	apiDB := tcpFlow("alpha/api", "alpha/db", 80)
	gammaDB := tcpFlow("gamma/web", "alpha/db", 80)
	gammaDBUDP := udpFlow("gamma/api", "alpha/db", 81)

	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this suite creates network namespaces and must run as root: sudo make test-e2e")
		}
		ctx = log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		set, err := manifestSet(clusterYAML)
		Expect(err).NotTo(HaveOccurred())
		l, err = lab.Start(ctx, set, lab.Options{Nodes: 2, NodeProcess: enforcerCommand("--min-sync-interval", "100ms")})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })
		expectEngineMatrix(ctx, l)
		w = watchFlows(l, []flowKey{webDB, webDBUDP, betaDB, apiDB, gammaDB, gammaDBUDP}, 200*time.Millisecond)
		for _, f := range []flowKey{webDB, betaDB, apiDB, gammaDB} {
			w.awaitVerdict(f, time.Now(), true)
		}
		GinkgoWriter.Printf("alpha/db is on %s; alpha/web on %s, beta/web on %s, gamma/web on %s\n",
			podOf(l, "alpha/db").Node, podOf(l, "alpha/web").Node, podOf(l, "beta/web").Node, podOf(l, "gamma/web").Node)
	})
	AfterEach(func() { dumpNodeLogs(l) })
	AfterAll(func() {
		var b strings.Builder
		b.WriteString("observed time from the API write's return to the first attempt of a settled new verdict:\n")
		for _, lt := range latencies {
			fmt.Fprintf(&b, "  %-45s %-34s %v\n", lt.change, lt.flow, lt.took.Round(time.Millisecond))
		}
		GinkgoWriter.Print(b.String())
		AddReportEntry("change latencies", b.String())
	})

	// settle waits for each flow's new verdict after a change made at t0 and records the time.
	settle := func(change string, t0 time.Time, want map[flowKey]bool) {
		for f, allowed := range want {
			took := w.awaitVerdict(f, t0, allowed)
			latencies = append(latencies, latency{change, f, took})
		}
	}
	// neverAnswered holds flows that the change must leave denied to the samples since t0.
	neverAnswered := func(t0 time.Time, flows ...flowKey) {
		for _, f := range flows {
			ExpectWithOffset(1, w.answeredAmong(f, t0)).To(BeEmpty(), "%s is denied before and after the change, yet was answered", f)
		}
	}
	relabelPod := func(ref, app string) time.Time {
		ns, name, _ := strings.Cut(ref, "/")
		pod := &corev1.Pod{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pod)).To(Succeed())
		patch := client.MergeFrom(pod.DeepCopy())
		pod.Labels["app"] = app
		Expect(l.Client.Patch(ctx, pod, patch)).To(Succeed())
		return time.Now()
	}

	It("a new policy: new connections follow it, established ones stay (conntrack, docs/semantics.md §5.7)", func() {
		// An established TCP connection and a UDP flow that has been answered, on port 81, which
		// protect-db closes to alpha/web as well.
		dbIP := podOf(l, "alpha/db").IP
		webNS, _ := l.PodNS("alpha/web")
		tcpConn, err := webNS.DialContext(ctx, &net.Dialer{Timeout: time.Second}, "tcp4", netip.AddrPortFrom(dbIP, 81).String())
		Expect(err).NotTo(HaveOccurred())
		defer tcpConn.Close()
		udpConn, err := webNS.DialContext(ctx, &net.Dialer{}, "udp4", netip.AddrPortFrom(dbIP, 81).String())
		Expect(err).NotTo(HaveOccurred())
		defer udpConn.Close()
		for _, c := range []net.Conn{tcpConn, udpConn} {
			ok, reason := exchangeWithin(c, time.Second)
			Expect(ok).To(BeTrue(), "before the policy, %s: %s", c.LocalAddr().Network(), reason)
		}

		var np v1alpha1.NetworkPolicy
		Expect(yaml.Unmarshal([]byte(protectDB), &np)).To(Succeed())
		Expect(l.Client.Create(ctx, &np)).To(Succeed())
		t0 := time.Now()
		settle("policy protect-db created", t0, map[flowKey]bool{webDB: false, webDBUDP: false, betaDB: false, gammaDB: false, gammaDBUDP: false})
		Expect(w.answeredRecently(apiDB, time.Second)).To(BeTrue(), "alpha/api is allowed by protect-db")

		// New flows on port 81 are denied, the established ones still pass.
		newFlow, _ := attempt(ctx, webNS, dbIP, probe.Port{Port: 81, Protocol: probe.TCP}, 500*time.Millisecond)
		Expect(newFlow).To(BeFalse(), "a new connection alpha/web -> alpha/db 81/TCP")
		for _, c := range []net.Conn{tcpConn, udpConn} {
			ok, reason := exchangeWithin(c, time.Second)
			Expect(ok).To(BeTrue(), "the %s flow established before the policy was cut: %s", c.LocalAddr().Network(), reason)
		}
		expectEngineMatrix(ctx, l)
	})

	It("a pod relabelled into a rule's source selector", func() {
		t0 := relabelPod("alpha/web", "api")
		settle("alpha/web relabelled app=api (into a rule)", t0, map[flowKey]bool{webDB: true, webDBUDP: true})
		neverAnswered(t0, betaDB, gammaDB, gammaDBUDP)
		expectEngineMatrix(ctx, l)
	})

	It("a pod relabelled out of the policy's selector", func() {
		t0 := relabelPod("alpha/db", "store")
		settle("alpha/db relabelled app=store (out of policy)", t0, map[flowKey]bool{betaDB: true, gammaDB: true, gammaDBUDP: true})
		expectEngineMatrix(ctx, l)
	})

	It("a pod relabelled into the policy's selector", func() {
		t0 := relabelPod("alpha/db", "db")
		settle("alpha/db relabelled app=db (into policy)", t0, map[flowKey]bool{betaDB: false, gammaDB: false, gammaDBUDP: false})
		Expect(w.answeredRecently(webDB, time.Second)).To(BeTrue(), "alpha/web (app=api) stays allowed")
		expectEngineMatrix(ctx, l)
	})

	It("a namespace label that a namespaceSelector uses", func() {
		ns := &corev1.Namespace{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Name: "beta"}, ns)).To(Succeed())
		patch := client.MergeFrom(ns.DeepCopy())
		ns.Labels["team"] = "trusted"
		Expect(l.Client.Patch(ctx, ns, patch)).To(Succeed())
		t0 := time.Now()
		settle("namespace beta labelled team=trusted", t0, map[flowKey]bool{betaDB: true})
		neverAnswered(t0, gammaDB, gammaDBUDP)
		expectEngineMatrix(ctx, l)
	})

	It("a policy deleted", func() {
		np := &v1alpha1.NetworkPolicy{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: "protect-db"}, np)).To(Succeed())
		Expect(l.Client.Delete(ctx, np)).To(Succeed())
		t0 := time.Now()
		settle("policy protect-db deleted", t0, map[flowKey]bool{gammaDB: true, gammaDBUDP: true})
		verdicts := expectEngineMatrix(ctx, l)
		for _, v := range verdicts {
			Expect(v.Allowed).To(BeTrue(), "no policy selects a pod any more: %+v", v)
		}
	})
})

// exchangeWithin sends a token on an open connection and waits for its echo.
func exchangeWithin(c net.Conn, d time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return exchange(ctx, c)
}
