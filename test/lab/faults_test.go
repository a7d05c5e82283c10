package lab_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/netns"
)

// denyAlpha is the policy whose denials the fault specs watch: gamma's pods refuse alpha's and
// accept beta's. It sorts after the churn policies, so a restarted enforcer's informers deliver
// it last.
const denyAlpha = `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: deny-alpha
  namespace: gamma
spec:
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
  - action: Deny
    source:
      namespaceSelector: team == 'alpha'
  - action: Allow
    source:
      namespaceSelector: team == 'beta'
`

// churnPolicy is one of the large policy set: it selects gamma's pods after deny-alpha, allows
// alpha's pods without the label churn=I on a port nobody listens on, then passes. Had deny-alpha
// not been programmed, the Pass would let alpha in: any sync that programs churn policies without
// deny-alpha opens the flows the specs watch.
func churnPolicy(i int, port int) *v1alpha1.NetworkPolicy {
	text := fmt.Sprintf(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: churn-%03d
  namespace: gamma
spec:
  order: %d
  selector: all()
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      namespaceSelector: team == 'alpha'
      selector: churn != '%d'
    destination:
      ports: [%d]
  - action: Pass
`, i, 100+i, i, port)
	np := &v1alpha1.NetworkPolicy{}
	ExpectWithOffset(1, yaml.Unmarshal([]byte(text), np)).To(Succeed())
	return np
}

// churnPolicies is the size of the large policy set.
const churnPolicies = 150

// foreignIptables is what another program (kube-proxy, a CNI) keeps in a node namespace: chains
// in three tables, jumps from built-in chains, a rule matching a foreign set.
const foreignIptables = `*filter
:KUBE-SERVICES - [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -j CNI-FORWARD
-A FORWARD -j KUBE-SERVICES
-A KUBE-SERVICES -d 198.18.100.1/32 -p tcp -m comment --comment "default/kubernetes:https has no endpoints" -j REJECT --reject-with icmp-port-unreachable
-A CNI-FORWARD -m set --match-set CNI-PODS src -m comment --comment "cni: pod traffic" -j RETURN
-A CNI-FORWARD -m set --match-set KUBE-X dst -j DROP
COMMIT
*nat
:KUBE-POSTROUTING - [0:0]
-A POSTROUTING -j KUBE-POSTROUTING
-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE
COMMIT
*mangle
:CNI-MANGLE - [0:0]
-A PREROUTING -j CNI-MANGLE
-A CNI-MANGLE -p udp -m udp --dport 5353 -j MARK --set-xmark 0x1/0x1
COMMIT
`

const foreignIpsets = `create KUBE-X hash:ip family inet hashsize 1024 maxelem 65536
add KUBE-X 198.18.7.7
create CNI-PODS hash:net family inet hashsize 1024 maxelem 65536
add CNI-PODS 198.18.0.0/15
`

// initvalRE matches the random hash seed `ipset save` prints for each set.
var initvalRE = regexp.MustCompile(` initval 0x[0-9a-f]+`)

// palState is Palisade's part of a node namespace: its iptables lines and its sets, sorted, with
// the sets' random hash seeds removed.
func palState(ns string) []string {
	return append(palisadeOnly(nodeIptablesSave(ns)), palisadeOnly(initvalRE.ReplaceAllString(nodeIpsetSave(ns), ""))...)
}

// settledPalState is palState once it has not changed for longer than the enforcer's periodic
// resync (--max-sync-interval 2s, which also rereads the kernel): the state an enforcer converged
// to, not one it is still writing. A change seen meanwhile is logged with its lines, so a failure
// tells a slow convergence from a state that is wrong for good.
func settledPalState(node, ns string) []string {
	const window = 2500 * time.Millisecond
	start := time.Now()
	last, since := palState(ns), time.Now()
	for time.Since(since) < window {
		ExpectWithOffset(1, time.Since(start)).To(BeNumerically("<", 30*time.Second), "node %s's Palisade state never settled", node)
		time.Sleep(250 * time.Millisecond)
		if cur := palState(ns); !slices.Equal(cur, last) {
			GinkgoWriter.Printf("node %s's state still changed %v after it was first read:\n%s", node, time.Since(start).Round(time.Millisecond), lineDiff(cur, last))
			last, since = cur, time.Now()
		}
	}
	return last
}

// The fault specs run real palisade-enforcer processes, one per node namespace, under a large
// policy set, with foreign chains, rules and sets installed beside Palisade's in both node
// namespaces; each spec ends by checking that the foreign state is byte-identical.
var _ = Describe("enforcers under faults", Ordered, func() {
	var (
		l         *lab.Lab
		ctx       context.Context
		enforcer  string
		foreignIP = map[string]string{} // node namespace -> iptables-save without Palisade's lines
		foreignIS = map[string]string{} // node namespace -> ipset save without Palisade's sets
		nodes     []string
		// alphaGamma are the flows deny-alpha denies: every alpha pod to every gamma pod, TCP and
		// UDP; betaGamma some it allows.
		alphaGamma, betaGamma []flowKey
	)

	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this suite creates network namespaces and must run as root: sudo make test-e2e")
		}
		ctx = log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		set, err := manifestSet(clusterYAML)
		Expect(err).NotTo(HaveOccurred())
		proc := enforcerCommand("--min-sync-interval", "100ms", "--max-sync-interval", "2s",
			"--sync-backoff", "200ms", "--sync-backoff-max", "1s")
		enforcer = proc.Command[0]
		l, err = lab.Start(ctx, set, lab.Options{Nodes: 2, NodeProcess: proc})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })
		for _, n := range l.Plan.Nodes {
			nodes = append(nodes, n.Name)
			ns, _ := l.NodeNS(n.Name)
			runIn(ns.Name, foreignIpsets, "ipset", "restore")
			runIn(ns.Name, foreignIptables, "iptables-restore", "--noflush", "-w", "5")
			// A CNI that inserts itself first in FORWARD, before Palisade's jump: Palisade puts its
			// jump back in front at its next resync, and must move nothing else.
			runIn(ns.Name, "", "iptables", "-w", "-I", "FORWARD", "1", "-m", "comment", "--comment", "cni: first", "-j", "CNI-FORWARD")
			foreignIP[ns.Name] = notPalisade(nodeIptablesSave(ns.Name))
			foreignIS[ns.Name] = notPalisade(nodeIpsetSave(ns.Name))
			Expect(foreignIP[ns.Name]).To(ContainSubstring("-A CNI-FORWARD -m set --match-set KUBE-X dst -j DROP"))
		}

		var np v1alpha1.NetworkPolicy
		Expect(yaml.Unmarshal([]byte(denyAlpha), &np)).To(Succeed())
		Expect(l.Client.Create(ctx, &np)).To(Succeed())
		for i := range churnPolicies {
			Expect(l.Client.Create(ctx, churnPolicy(i, 9000+i))).To(Succeed())
		}
		for _, from := range []string{"alpha/web", "alpha/api", "alpha/db"} {
			for _, to := range []string{"gamma/web", "gamma/api", "gamma/db"} {
				alphaGamma = append(alphaGamma, tcpFlow(from, to, 80), udpFlow(from, to, 81))
			}
		}
		betaGamma = []flowKey{tcpFlow("beta/web", "gamma/web", 80), tcpFlow("beta/api", "gamma/db", 80), udpFlow("beta/db", "gamma/api", 81)}
		// The large set reaches the packets, and the lab measures the engine's matrix.
		w := watchFlows(l, append(slices.Clone(alphaGamma[:2]), betaGamma...), 200*time.Millisecond)
		w.awaitVerdict(alphaGamma[0], time.Now(), false)
		w.stop()
		expectEngineMatrix(ctx, l)
	})
	AfterEach(func() { dumpNodeLogs(l) })

	// expectForeignUntouched: every node namespace's foreign chains, rules and sets are as they
	// were installed, byte for byte (built-in chains' counters aside).
	expectForeignUntouched := func(when string) {
		for ns, want := range foreignIP {
			ExpectWithOffset(1, notPalisade(nodeIptablesSave(ns))).To(Equal(want), "foreign iptables state of %s %s", ns, when)
			ExpectWithOffset(1, notPalisade(nodeIpsetSave(ns))).To(Equal(foreignIS[ns]), "foreign ipsets of %s %s", ns, when)
		}
	}

	It("(c) leaves foreign chains, rules and sets byte-identical through syncs and resyncs, and keeps its jump in FORWARD while moving it", func() {
		w := watchFlows(l, slices.Clone(alphaGamma), 200*time.Millisecond)
		t0 := time.Now()
		// A sync on both nodes (a churn policy's port changes the chains of every gamma pod), and
		// resyncs (every 2 s) that read the kernel back. Meanwhile the CNI inserts itself before
		// Palisade's jump, again and again: each resync moves the jump back to first place, and
		// no denied flow may pass while it does.
		np := &v1alpha1.NetworkPolicy{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "gamma", Name: "churn-000"}, np)).To(Succeed())
		np.Spec.Ingress[0].Destination.Ports[0] = v1alpha1.PortFromInt(8999)
		Expect(l.Client.Update(ctx, np)).To(Succeed())
		hook := "\n-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD\n-A FORWARD -m comment --comment \"cni: first\" -j CNI-FORWARD\n"
		for range 3 {
			for _, n := range nodes {
				ns, _ := l.NodeNS(n)
				runIn(ns.Name, "", "iptables", "-w", "-I", "FORWARD", "1", "-m", "comment", "--comment", "cni: first", "-j", "CNI-FORWARD")
			}
			for _, n := range nodes {
				ns, _ := l.NodeNS(n)
				Eventually(func() bool { return strings.Contains(nodeIptablesSave(ns.Name), hook) }).WithTimeout(10*time.Second).WithPolling(100*time.Millisecond).
					Should(BeTrue(), "Palisade's jump first in FORWARD of %s again", n)
				runIn(ns.Name, "", "iptables", "-w", "-D", "FORWARD", "-m", "comment", "--comment", "cni: first", "-j", "CNI-FORWARD")
			}
		}
		w.stop()
		for _, f := range alphaGamma {
			Expect(w.answeredAmong(f, t0)).To(BeEmpty(), "%s was answered while Palisade's jump was moved", f)
		}
		for _, n := range nodes {
			ns, _ := l.NodeNS(n)
			save := nodeIptablesSave(ns.Name)
			// One TCP port is "-m tcp --dport 8999", a native nft match (pkg/render).
			Expect(strings.Contains(save, "-p tcp -m tcp --dport 8999 ")).To(BeTrue(), "the change reached %s", n)
			Expect(strings.Contains(save, hook)).To(BeTrue(), "FORWARD in %s:\n%s", n, forwardRules(save))
		}
		expectForeignUntouched("after syncs and resyncs")
	})

	It("(a) SIGKILL in the middle of syncs, while policies change: no denied flow is ever answered, and the rules converge", func() {
		w := watchFlows(l, append(slices.Clone(alphaGamma), betaGamma...), 200*time.Millisecond)
		t0 := time.Now()
		stopChurn, churnErr := churn(ctx, l)
		var killed []string
		for k := range 4 {
			node := nodes[k%len(nodes)]
			time.Sleep(time.Second) // let the churn run
			what := killMidSync(l, node, churnErr)
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			Expect(l.WaitNodeProcessExit(waitCtx, node)).To(Succeed())
			cancel()
			killed = append(killed, node+" during "+what)
			if k >= 2 {
				// Killed again in its first sync after the start, the one that also prunes: the
				// restart reports that the process died before it was ready.
				restarted := make(chan error, 1)
				go func() {
					defer GinkgoRecover()
					restarted <- l.RestartNodeProcess(ctx, node)
				}()
				what := killMidSync(l, node, churnErr, "iptables-nft-re", "ipset")
				when := "after it was ready"
				if err := <-restarted; err != nil {
					when = "before it was ready"
				}
				waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
				Expect(l.WaitNodeProcessExit(waitCtx, node)).To(Succeed())
				cancel()
				killed = append(killed, node+" restarted, "+when+", during "+what)
			}
			// Restarted while the policies keep changing: its first sync after a start is the one
			// that prunes.
			Expect(l.RestartNodeProcess(ctx, node)).To(Succeed())
		}
		changes := stopChurn()
		GinkgoWriter.Printf("killed %s; %d API changes meanwhile\n", strings.Join(killed, ", "), changes)
		time.Sleep(time.Second)
		w.stop()
		total := 0
		for _, f := range alphaGamma {
			s := w.of(f)
			total += len(s)
			Expect(len(s)).To(BeNumerically(">", 10), "%s was probed", f)
			Expect(w.answeredAmong(f, t0)).To(BeEmpty(), "%s, denied by deny-alpha throughout, was answered", f)
		}
		failedAllowed := 0
		for _, f := range betaGamma {
			Expect(w.answeredAmong(f, t0)).NotTo(BeEmpty(), "%s, allowed throughout, was never answered: the prober saw nothing", f)
			for _, s := range w.of(f) {
				if !s.Allowed {
					failedAllowed++
				}
			}
		}
		GinkgoWriter.Printf("%d attempts on %d denied flows, none answered; %d of the allowed flows' attempts unanswered\n", total, len(alphaGamma), failedAllowed)
		AddReportEntry("SIGKILL mid-sync", fmt.Sprintf("killed %v; %d denied attempts, none answered", killed, total))

		// Converged: the rules left by the killed and restarted enforcers are those a fresh
		// enforcer writes from nothing after cleanup.
		expectEngineMatrix(ctx, l)
		for _, n := range nodes {
			ns, _ := l.NodeNS(n)
			converged := settledPalState(n, ns.Name)
			Expect(l.SignalNodeProcess(n, syscall.SIGTERM)).To(Succeed())
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			Expect(l.WaitNodeProcessExit(waitCtx, n)).To(Succeed())
			cancel()
			runIn(ns.Name, "", enforcer, "cleanup")
			Expect(palState(ns.Name)).To(BeEmpty())
			Expect(l.RestartNodeProcess(ctx, n)).To(Succeed())
			fresh := palState(ns.Name)
			Expect(fresh).To(Equal(converged), "node %s: the state after the kills differs from a fresh enforcer's:\n%s", n, lineDiff(fresh, converged))
		}
		expectForeignUntouched("after SIGKILLs, restarts and cleanups")
	})

	It("(b) API server stopped: enforcement stays as it was through resyncs, and resumes when it returns", func() {
		watched := append(slices.Clone(alphaGamma), betaGamma...)
		betaDB := tcpFlow("beta/api", "gamma/db", 80)
		w := watchFlows(l, watched, 200*time.Millisecond)
		for _, f := range betaGamma {
			w.awaitVerdict(f, time.Now(), true)
		}
		before := map[string][]string{}
		for _, n := range nodes {
			ns, _ := l.NodeNS(n)
			before[n] = palState(ns.Name)
		}
		t0 := time.Now()
		// kube-apiserver's graceful stop waits for open watches to end (up to its 60 s shutdown
		// timeout): the relays drop the enforcers' connections first, then carry again, finding
		// no API server behind them.
		for _, n := range nodes {
			Expect(l.CutAPIServer(n)).To(Succeed())
		}
		Expect(l.StopAPIServer()).To(Succeed())
		stopped := true
		for _, n := range nodes {
			Expect(l.HealAPIServer(n)).To(Succeed())
		}
		DeferCleanup(func() {
			if stopped {
				Expect(l.StartAPIServer()).To(Succeed())
			}
		})
		time.Sleep(5 * time.Second) // at least two periodic resyncs without the API server
		for _, n := range nodes {
			ns, _ := l.NodeNS(n)
			Expect(palState(ns.Name)).To(Equal(before[n]), "node %s's rules changed while the API server was down", n)
			pids, err := netns.Processes(ns.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(pids).NotTo(BeEmpty(), "node %s's enforcer exited without the API server", n)
		}
		for _, f := range alphaGamma {
			Expect(w.answeredAmong(f, t0)).To(BeEmpty(), "%s was answered while the API server was down", f)
		}
		for _, f := range betaGamma {
			Expect(w.answeredRecently(f, 2*time.Second)).To(BeTrue(), "%s stopped being answered while the API server was down", f)
		}
		Expect(l.StartAPIServer()).To(Succeed())
		stopped = false

		// A change made once it is back reaches the packets: beta/api may no longer reach gamma/db.
		Expect(l.Client.Create(ctx, denyBetaTo("deny-beta-db", "db"))).To(Succeed())
		t1 := time.Now()
		took := w.awaitVerdict(betaDB, t1, false)
		GinkgoWriter.Printf("API server back: a new policy reached the packets %v after it was written\n", took.Round(time.Millisecond))
		AddReportEntry("change after the API server returned", took.Round(time.Millisecond).String())
		for _, f := range alphaGamma {
			Expect(w.answeredAmong(f, t0)).To(BeEmpty(), "%s was answered", f)
		}
		w.stop()
		expectEngineMatrix(ctx, l)
		expectForeignUntouched("after the API server outage")
	})

	It("(b) a node cut off from the API server keeps its rules while changes are made, and applies them once it is back", func() {
		cut := podOf(l, "gamma/db").Node // the manifest puts gamma/db on node-2
		var other, target string
		for _, ref := range []string{"gamma/web", "gamma/api"} {
			if podOf(l, ref).Node != cut {
				other, target = podOf(l, ref).Node, ref
			}
		}
		Expect(target).NotTo(BeEmpty(), "a gamma pod away from %s", cut)
		betaDB := tcpFlow("beta/api", "gamma/db", 80) // decided on the cut node
		betaOther := tcpFlow("beta/web", target, 80)  // decided on the other node
		w := watchFlows(l, append(slices.Clone(alphaGamma), betaDB, betaOther), 200*time.Millisecond)
		w.awaitVerdict(betaDB, time.Now(), false)
		w.awaitVerdict(betaOther, time.Now(), true)
		cutNS, _ := l.NodeNS(cut)
		before := palState(cutNS.Name)

		Expect(l.CutAPIServer(cut)).To(Succeed())
		healed := false
		DeferCleanup(func() {
			if !healed {
				Expect(l.HealAPIServer(cut)).To(Succeed())
			}
		})
		t0 := time.Now()
		// Both changes are made while the cut node cannot see them: deny-beta-db goes (gamma/db's
		// ingress, programmed on the cut node only), deny-beta-other comes (on the other node).
		np := &v1alpha1.NetworkPolicy{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "gamma", Name: "deny-beta-db"}, np)).To(Succeed())
		Expect(l.Client.Delete(ctx, np)).To(Succeed())
		Expect(l.Client.Create(ctx, denyBetaTo("deny-beta-other", strings.TrimPrefix(target, "gamma/")))).To(Succeed())
		tookOther := w.awaitVerdict(betaOther, t0, false)
		time.Sleep(4 * time.Second) // two resyncs of the cut node: it must keep what it has
		Expect(w.answeredAmong(betaDB, t0)).To(BeEmpty(), "the cut node applied a change it cannot have seen")
		Expect(palState(cutNS.Name)).To(Equal(before), "the cut node's rules changed while it was cut off")

		Expect(l.HealAPIServer(cut)).To(Succeed())
		healed = true
		t1 := time.Now()
		tookCut := w.awaitVerdict(betaDB, t1, true)
		GinkgoWriter.Printf("node %s cut off: a change reached node %s in %v; node %s applied the change made meanwhile %v after it was reconnected\n",
			cut, other, tookOther.Round(time.Millisecond), cut, tookCut.Round(time.Millisecond))
		AddReportEntry("partitioned node catching up", tookCut.Round(time.Millisecond).String())
		for _, f := range alphaGamma {
			Expect(w.answeredAmong(f, t0)).To(BeEmpty(), "%s was answered", f)
		}
		w.stop()
		expectEngineMatrix(ctx, l)
		expectForeignUntouched("after a partition")
	})

	It("(c, d) SIGTERM leaves the rules; cleanup removes every Palisade chain, rule and set of its node and nothing else, not another node's", func() {
		node := podOf(l, "gamma/db").Node
		ns, _ := l.NodeNS(node)
		otherNS, _ := l.NodeNS(otherNode(l, node))
		beforeIP, beforeIS := nodeIptablesSave(ns.Name), nodeIpsetSave(ns.Name)
		otherIP, otherIS := nodeIptablesSave(otherNS.Name), nodeIpsetSave(otherNS.Name)
		Expect(palisadeOnly(beforeIP)).NotTo(BeEmpty())
		Expect(palisadeOnly(beforeIS)).NotTo(BeEmpty())

		Expect(l.SignalNodeProcess(node, syscall.SIGTERM)).To(Succeed())
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		Expect(l.WaitNodeProcessExit(waitCtx, node)).To(Succeed())
		cancel()
		Expect(nodeIptablesSave(ns.Name)).To(Equal(beforeIP), "SIGTERM changed the rules (fail static)")
		Expect(nodeIpsetSave(ns.Name)).To(Equal(beforeIS), "SIGTERM changed the sets (fail static)")
		w := watchFlows(l, []flowKey{tcpFlow("alpha/web", "gamma/db", 80)}, 200*time.Millisecond)
		time.Sleep(time.Second)
		Expect(w.answeredAmong(tcpFlow("alpha/web", "gamma/db", 80), time.Time{})).To(BeEmpty(), "denied flows stay denied once the enforcer stopped")
		w.stop()

		for range 2 { // idempotent: the second run finds nothing to remove
			runIn(ns.Name, "", enforcer, "cleanup")
			Expect(nodeIptablesSave(ns.Name)).To(Equal(notPalisade(beforeIP)), "cleanup must remove Palisade's lines and nothing else")
			Expect(nodeIpsetSave(ns.Name)).To(Equal(notPalisade(beforeIS)), "cleanup must destroy Palisade's sets and nothing else")
			Expect(nodeIptablesSave(ns.Name) + nodeIpsetSave(ns.Name)).NotTo(ContainSubstring("PAL"))
		}
		Expect(nodeIptablesSave(otherNS.Name)).To(Equal(otherIP), "cleanup on %s touched %s's rules", node, otherNode(l, node))
		Expect(nodeIpsetSave(otherNS.Name)).To(Equal(otherIS), "cleanup on %s touched %s's sets", node, otherNode(l, node))
		expectForeignUntouched("after cleanup")

		// With its rules gone, gamma/db's ingress is no longer enforced: alpha reaches it.
		w = watchFlows(l, []flowKey{tcpFlow("alpha/web", "gamma/db", 80)}, 500*time.Millisecond)
		w.awaitVerdict(tcpFlow("alpha/web", "gamma/db", 80), time.Now(), true)
		w.stop()

		// A new enforcer programs the node again from nothing.
		Expect(l.RestartNodeProcess(ctx, node)).To(Succeed())
		expectEngineMatrix(ctx, l)
		expectForeignUntouched("after the enforcer came back")
	})

	It("(e) a UDP flow allowed and then denied stays answered from a source port it used while allowed, until its conntrack entries are gone: the matrix forgets them first", func() {
		// The dataplane decides on a flow's first packet; a later datagram of the same 5-tuple is
		// ESTABLISHED and accepted whatever the policies say now. This is why expectEngineMatrix
		// calls forgetFlows: a UDP probe that draws a source port the watchers used while the flow
		// was allowed would measure the old verdict (the partition spec's beta/db -> gamma/api
		// 81/UDP, answered once in a few runs with hundreds of such entries in the table).
		from, to := "beta/web", "gamma/db"
		fromNS, ok := l.PodNS(from)
		Expect(ok).To(BeTrue())
		toIP := podOf(l, to).IP
		port := uint16(20000 + rand.IntN(10000)) // below the ephemeral range: no other socket draws it
		send := func() bool {
			for range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				d := &net.Dialer{LocalAddr: &net.UDPAddr{Port: int(port)}}
				c, err := fromNS.DialContext(ctx, d, "udp4", netip.AddrPortFrom(toIP, 81).String())
				Expect(err).NotTo(HaveOccurred())
				answered, _ := exchange(ctx, c)
				_ = c.Close()
				cancel()
				if answered {
					return true
				}
			}
			return false
		}
		Expect(send()).To(BeTrue(), "%s -> %s 81/UDP from port %d, allowed", from, to, port)

		deny := denyBetaTo("deny-beta-db-udp", "db")
		Expect(l.Client.Create(ctx, deny)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(l.Client.Delete(ctx, deny))).To(Succeed()) })
		tcp := tcpFlow(from, to, 80)
		w := watchFlows(l, []flowKey{tcp}, 200*time.Millisecond)
		w.awaitVerdict(tcp, time.Now(), false)
		w.stop()
		Expect(send()).To(BeTrue(), "the flow's old 5-tuple, still in conntrack, is answered after the deny")
		forgetFlows(l)
		Expect(send()).To(BeFalse(), "the same 5-tuple once the lab forgot the entries: a new flow, denied")

		Expect(l.Client.Delete(ctx, deny)).To(Succeed())
		Eventually(send).WithTimeout(10*time.Second).WithPolling(200*time.Millisecond).Should(BeTrue(), "allowed again once the deny is gone")
	})
})

// denyBetaTo is a policy in gamma, before deny-alpha, denying beta's pods the gamma pod app=APP.
func denyBetaTo(name, app string) *v1alpha1.NetworkPolicy {
	text := fmt.Sprintf(`apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: %s
  namespace: gamma
spec:
  order: 5
  selector: app == '%s'
  types: [Ingress]
  ingress:
  - action: Deny
    source:
      namespaceSelector: team == 'beta'
`, name, app)
	np := &v1alpha1.NetworkPolicy{}
	ExpectWithOffset(1, yaml.Unmarshal([]byte(text), np)).To(Succeed())
	return np
}

// churn changes the API objects until the returned function is called, which returns how many
// changes it made: churn policies deleted and created again, their ports changed, alpha's pods
// relabelled (which changes the membership of every churn policy's source set). None of it
// changes what deny-alpha denies or allows.
func churn(ctx context.Context, l *lab.Lab) (stopChurn func() int, churnErr func() error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	changes := 0
	var failure error
	wg.Go(func() {
		defer GinkgoRecover()
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			var err error
			i := rng.IntN(churnPolicies)
			switch n % 3 {
			case 0: // delete, or create again
				np := churnPolicy(i, 9000+i)
				if err = l.Client.Delete(ctx, np); apierrors.IsNotFound(err) {
					err = l.Client.Create(ctx, np)
				}
			case 1: // change a port
				np := &v1alpha1.NetworkPolicy{}
				if err = l.Client.Get(ctx, client.ObjectKey{Namespace: "gamma", Name: fmt.Sprintf("churn-%03d", i)}, np); err == nil {
					np.Spec.Ingress[0].Destination.Ports[0] = v1alpha1.PortFromInt(9000 + rng.IntN(1000))
					err = l.Client.Update(ctx, np)
				} else if apierrors.IsNotFound(err) {
					err = nil
				}
			case 2: // relabel an alpha pod
				pod := &corev1.Pod{}
				name := []string{"web", "api", "db"}[rng.IntN(3)]
				if err = l.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: name}, pod); err == nil {
					patch := client.MergeFrom(pod.DeepCopy())
					pod.Labels["churn"] = strconv.Itoa(rng.IntN(churnPolicies))
					err = l.Client.Patch(ctx, pod, patch)
				}
			}
			if err != nil && !apierrors.IsConflict(err) {
				mu.Lock()
				failure = err
				mu.Unlock()
				return
			}
			mu.Lock()
			changes++
			mu.Unlock()
		}
	})
	churnErr = func() error {
		mu.Lock()
		defer mu.Unlock()
		return failure
	}
	return func() int {
		close(stop)
		wg.Wait()
		ExpectWithOffset(1, failure).NotTo(HaveOccurred(), "changing the API objects")
		return changes
	}, churnErr
}

// killMidSync waits until the node's enforcer runs a child (iptables-restore, ipset, iptables-save:
// it is in the middle of a sync; only the named ones when names are given) and SIGKILLs its process
// group, children included. It returns the child's name. The enforcer may be starting: it is looked
// for until it runs.
func killMidSync(l *lab.Lab, node string, churnErr func() error, names ...string) string {
	ns, _ := l.NodeNS(node)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ExpectWithOffset(1, churnErr()).NotTo(HaveOccurred(), "changing the API objects")
		for _, pid := range enforcerPIDs(ns.Name) {
			tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
			for _, t := range tasks {
				b, _ := os.ReadFile(t)
				for _, child := range strings.Fields(string(b)) {
					comm, _ := os.ReadFile("/proc/" + child + "/comm")
					name := strings.TrimSpace(string(comm))
					if name == "palisade-enforc" || (len(names) > 0 && !slices.Contains(names, name)) {
						continue // forked, not yet the command it runs; or not one asked for
					}
					if err := l.SignalNodeProcess(node, syscall.SIGKILL); err != nil {
						Fail(err.Error())
					}
					return name
				}
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	Fail(fmt.Sprintf("node %s's enforcer ran no sync for 20 s while the policies changed", node))
	return ""
}

// enforcerPIDs returns the palisade-enforcer run processes in a node namespace.
func enforcerPIDs(ns string) []int {
	pids, err := netns.Processes(ns)
	ExpectWithOffset(2, err).NotTo(HaveOccurred())
	var out []int
	for _, p := range pids {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "cmdline"))
		if strings.Contains(string(cmdline), "palisade-enforcer") && strings.Contains(string(cmdline), "\x00run\x00") {
			out = append(out, p)
		}
	}
	return out
}

// forwardRules are the rules of the filter table's FORWARD chain in an iptables-save.
func forwardRules(save string) string {
	var out []string
	for _, line := range strings.Split(save, "\n") {
		if strings.HasPrefix(line, "-A FORWARD ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// runIn runs a command inside a node namespace with stdin.
func runIn(ns, stdin string, argv ...string) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "%s in %s: %s", strings.Join(argv, " "), ns, out)
}
