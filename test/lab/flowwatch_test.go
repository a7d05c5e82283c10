package lab_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// This file holds what the change-timing and fault specs share: a watcher that probes a few flows
// over and over with short, bounded connections and records every verdict with its time, the
// engine's matrix for the objects the API server holds now, and readers of a node's
// iptables-save and ipset save.

// flowKey is one flow: from a pod to a pod's port.
type flowKey struct {
	From, To string
	Port     probe.Port
}

func (f flowKey) String() string { return f.From + " -> " + f.To + " " + f.Port.String() }

func tcpFlow(from, to string, port uint16) flowKey {
	return flowKey{from, to, probe.Port{Port: port, Protocol: probe.TCP}}
}

func udpFlow(from, to string, port uint16) flowKey {
	return flowKey{from, to, probe.Port{Port: port, Protocol: probe.UDP}}
}

// sample is one attempt: when it started, whether it was answered.
type sample struct {
	At      time.Time
	Allowed bool
	Reason  string
}

// flowWatch probes each of its flows in a loop, one attempt at a time per flow, each a new
// connection (a new socket, so a new conntrack entry) bounded by timeout.
type flowWatch struct {
	timeout time.Duration
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	samples map[flowKey][]sample
}

// watchPause is the rest between two attempts of one flow: an answered attempt takes about a
// millisecond, and the watcher must not take the CPU from the enforcers it measures.
const watchPause = 20 * time.Millisecond

func watchFlows(l *lab.Lab, flows []flowKey, timeout time.Duration) *flowWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &flowWatch{timeout: timeout, cancel: cancel, samples: map[flowKey][]sample{}}
	for _, f := range flows {
		from, ok := l.PodNS(f.From)
		ExpectWithOffset(1, ok).To(BeTrue(), "pod %s", f.From)
		to := podOf(l, f.To).IP
		w.wg.Go(func() {
			for ctx.Err() == nil {
				at := time.Now()
				ok, reason := attempt(ctx, from, to, f.Port, timeout)
				if ctx.Err() != nil {
					return // cut short by stop: not a verdict
				}
				w.mu.Lock()
				w.samples[f] = append(w.samples[f], sample{at, ok, reason})
				w.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(watchPause):
				}
			}
		})
	}
	DeferCleanup(w.stop)
	return w
}

// stop ends the watch; it is idempotent.
func (w *flowWatch) stop() {
	w.cancel()
	w.wg.Wait()
}

func (w *flowWatch) of(f flowKey) []sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.samples[f])
}

// settled returns the start of the last run of samples of f that began at or after since and all
// have the verdict want, when that run reaches the latest sample and has at least n samples.
func (w *flowWatch) settled(f flowKey, since time.Time, want bool, n int) (time.Time, bool) {
	s := w.of(f)
	i := len(s)
	for i > 0 && s[i-1].Allowed == want && !s[i-1].At.Before(since) {
		i--
	}
	if len(s)-i < n {
		return time.Time{}, false
	}
	return s[i].At, true
}

// answeredRecently says whether f was answered in the last d: a flow that should stay allowed,
// checked without failing on one attempt starved of CPU on a loaded machine.
func (w *flowWatch) answeredRecently(f flowKey, d time.Duration) bool {
	return len(w.answeredAmong(f, time.Now().Add(-d))) > 0
}

// settleDeadline bounds how long a change may take to show in the packets. It is a deadline for
// the test to give up, not a speed the spec asserts.
const settleDeadline = 30 * time.Second

// awaitVerdict waits until f has given want for settleRun attempts in a row since t0, and returns
// how long after t0 the run began: the observed time for the change to reach the packets.
func (w *flowWatch) awaitVerdict(f flowKey, t0 time.Time, want bool) time.Duration {
	var at time.Time
	EventuallyWithOffset(1, func() bool {
		var ok bool
		at, ok = w.settled(f, t0, want, settleRun)
		return ok
	}).WithTimeout(settleDeadline).WithPolling(50*time.Millisecond).Should(BeTrue(),
		"%s never settled on allowed=%v; its last samples: %v", f, want, lastSamples(w.of(f), 5))
	return at.Sub(t0)
}

// settleRun is how many attempts in a row make a verdict settled.
const settleRun = 3

func lastSamples(s []sample, n int) []sample {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// answeredAmong returns the samples of f, from since on, that were answered.
func (w *flowWatch) answeredAmong(f flowKey, since time.Time) []sample {
	var out []sample
	for _, s := range w.of(f) {
		if s.Allowed && !s.At.Before(since) {
			out = append(out, s)
		}
	}
	return out
}

// attempt makes one bounded exchange from a pod's namespace: a TCP connection that must echo a
// token, or one UDP datagram from a new socket whose echo must come back within timeout.
func attempt(ctx context.Context, from *netns.NS, to netip.Addr, p probe.Port, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	network := "tcp4"
	if p.Protocol == probe.UDP {
		network = "udp4"
	}
	c, err := from.DialContext(ctx, &net.Dialer{}, network, netip.AddrPortFrom(to, p.Port).String())
	if err != nil {
		return false, "connect: " + err.Error()
	}
	defer c.Close()
	return exchange(ctx, c)
}

// exchange writes a token on c and reads its echo before ctx's deadline.
func exchange(ctx context.Context, c net.Conn) (bool, string) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Second)
	}
	_ = c.SetDeadline(deadline)
	token := []byte(fmt.Sprintf("%s %d", c.LocalAddr(), time.Now().UnixNano()))
	if _, err := c.Write(token); err != nil {
		return false, "write: " + err.Error()
	}
	got := make([]byte, len(token))
	n := 0
	for n < len(got) {
		m, err := c.Read(got[n:])
		n += m
		if err != nil {
			return false, "read: " + err.Error()
		}
	}
	if !bytes.Equal(got, token) {
		return false, fmt.Sprintf("answer %q is not the echo", got)
	}
	return true, ""
}

// enforcerCommand builds palisade-enforcer and returns the lab's node process running it, ready at
// /readyz after its first complete sync.
func enforcerCommand(extra ...string) lab.NodeProcess {
	bin := filepath.Join(GinkgoT().TempDir(), "palisade-enforcer")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/palisade-enforcer").CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "building palisade-enforcer: %s", out)
	// These specs are about the dataplane, not rollouts: without a rollout operator in the lab,
	// every policy is enforced as written (the flag exists once the enforcer follows rollouts).
	help, err := exec.Command(bin, "run", "--help").CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "palisade-enforcer run --help: %s", help)
	if strings.Contains(string(help), "--rollout-phases") {
		extra = append(extra, "--rollout-phases=false")
	}
	return lab.NodeProcess{
		Command: append([]string{bin, "run", "--kubeconfig", "{{.Kubeconfig}}", "--node-name", "{{.Node}}",
			"--health-addr", "127.0.0.1:9808", "--metrics-addr", "0"}, extra...),
		ReadyURL: "http://127.0.0.1:9808/readyz",
	}
}

// dumpNodeLogs prints the node processes' logs when the current spec failed.
func dumpNodeLogs(l *lab.Lab) {
	if l == nil || !CurrentSpecReport().Failed() {
		return
	}
	for _, n := range l.Plan.Nodes {
		if path, ok := l.NodeProcessLog(n.Name); ok {
			b, _ := os.ReadFile(path)
			GinkgoWriter.Printf("--- node %s process log %s (last 60 lines):\n%s\n", n.Name, path, lastLines(string(b), 60))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// apiManifest writes the objects the API server holds now (namespaces, service accounts,
// services, pods with their status, policies of the three kinds) as a manifest, so that the
// engine's matrix can be computed for the cluster as it is after changes.
func apiManifest(ctx context.Context, l *lab.Lab) string {
	var docs []runtime.Object
	add := func(list client.ObjectList, gvk schema.GroupVersionKind, items func() []client.Object) {
		ExpectWithOffset(2, l.Client.List(ctx, list)).To(Succeed())
		for _, o := range items() {
			o.GetObjectKind().SetGroupVersionKind(gvk)
			o.SetManagedFields(nil)
			o.SetResourceVersion("")
			o.SetUID("")
			docs = append(docs, o)
		}
	}
	var nss corev1.NamespaceList
	add(&nss, corev1.SchemeGroupVersion.WithKind("Namespace"), func() []client.Object { return ptrs(nss.Items) })
	var sas corev1.ServiceAccountList
	add(&sas, corev1.SchemeGroupVersion.WithKind("ServiceAccount"), func() []client.Object { return ptrs(sas.Items) })
	var svcs corev1.ServiceList
	add(&svcs, corev1.SchemeGroupVersion.WithKind("Service"), func() []client.Object {
		var out []client.Object
		for i := range svcs.Items {
			if svcs.Items[i].Namespace != "default" || svcs.Items[i].Name != "kubernetes" {
				out = append(out, &svcs.Items[i])
			}
		}
		return out
	})
	var pods corev1.PodList
	add(&pods, corev1.SchemeGroupVersion.WithKind("Pod"), func() []client.Object { return ptrs(pods.Items) })
	var knps networkingv1.NetworkPolicyList
	add(&knps, networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), func() []client.Object { return ptrs(knps.Items) })
	var nps v1alpha1.NetworkPolicyList
	add(&nps, v1alpha1.GroupVersion.WithKind("NetworkPolicy"), func() []client.Object { return ptrs(nps.Items) })
	var gnps v1alpha1.GlobalNetworkPolicyList
	add(&gnps, v1alpha1.GroupVersion.WithKind("GlobalNetworkPolicy"), func() []client.Object { return ptrs(gnps.Items) })
	var b bytes.Buffer
	for i, d := range docs {
		y, err := yaml.Marshal(d)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	path := filepath.Join(GinkgoT().TempDir(), "api.yaml")
	ExpectWithOffset(1, os.WriteFile(path, b.Bytes(), 0o600)).To(Succeed())
	return path
}

func ptrs[T any, PT interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, 0, len(items))
	for i := range items {
		out = append(out, PT(&items[i]))
	}
	return out
}

// expectEngineMatrix probes every ordered pair of pods on allPorts and holds the result to the
// engine's matrix for the objects the API server holds now.
func expectEngineMatrix(ctx context.Context, l *lab.Lab) []probe.Verdict {
	ports, err := probe.ParsePorts(allPorts)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	want := engineMatrix(apiManifest(ctx, l), allPorts)
	forgetFlows(l)
	measured, err := l.Probe(ctx, ports, probe.Options{})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	diff := probe.Diff(measured, want)
	ExpectWithOffset(1, diff).To(BeEmpty(), "measured with packets against the engine's matrix for the API server's objects\n%s", mismatchContext(l, diff))
	return want
}

// forgetFlows deletes the UDP and ICMP entries of every node namespace's conntrack table. The
// matrix measures what the rules decide for a new flow, and the dataplane decides on a flow's first
// packet only (what conntrack calls ESTABLISHED is accepted whatever the policies say now). A UDP
// probe or ICMP echo gets a random source port or identifier, but a flow the watchers probed
// while it was allowed leaves hundreds of entries (one per attempt, for 30 to 120 s): a probe of
// the same flow after a change to Deny that draws one of their ports is the old flow, answered.
// TCP needs no such care: a probe's SYN on a closed connection's entry starts a new flow.
func forgetFlows(l *lab.Lab) {
	for _, n := range l.Plan.Nodes {
		ns, _ := l.NodeNS(n.Name)
		for _, proto := range []string{"udp", "icmp"} {
			out, err := exec.Command("ip", "netns", "exec", ns.Name, "conntrack", "-D", "-p", proto).CombinedOutput()
			// conntrack -D exits 1 when it deleted nothing.
			if err != nil && !strings.Contains(string(out), " 0 flow entries have been deleted") {
				ExpectWithOffset(1, err).NotTo(HaveOccurred(), "conntrack -D -p %s in %s: %s", proto, ns.Name, out)
			}
		}
	}
}

// mismatchContext is what a failed matrix comparison needs to be explained: for each mismatched
// cell, the conntrack entries every node namespace holds for the pair of addresses (a flow
// answered against the policy through an entry created while it was allowed is not a rule's
// fault). The rules themselves are in the specs' own failure output (palState, lineDiff).
func mismatchContext(l *lab.Lab, diff []probe.Mismatch) string {
	if len(diff) == 0 {
		return ""
	}
	var b strings.Builder
	for _, m := range diff {
		if m.Missing != "" {
			continue
		}
		from, to := podOf(l, m.From), podOf(l, m.To)
		fmt.Fprintf(&b, "--- %s (%s, %s) -> %s (%s, %s) %v:\n", m.From, from.IP, from.Node, m.To, to.IP, to.Node, m.Port)
		for _, n := range l.Plan.Nodes {
			ns, _ := l.NodeNS(n.Name)
			out, err := exec.Command("ip", "netns", "exec", ns.Name, "conntrack", "-L", "-s", from.IP.String(), "-d", to.IP.String()).CombinedOutput()
			fmt.Fprintf(&b, "conntrack in %s (err %v):\n%s", n.Name, err, out)
		}
	}
	return b.String()
}

// lineDiff lists the lines only one of two states holds, for a failure message that a
// truncated dump of both would hide. A state is tens of thousands of lines under the fault specs'
// policy set, so each side is looked up in a set of the other, not scanned.
func lineDiff(got, want []string) string {
	var b strings.Builder
	only := func(label string, a, other []string) {
		in := make(map[string]bool, len(other))
		for _, l := range other {
			in[l] = true
		}
		for _, l := range a {
			if !in[l] {
				fmt.Fprintf(&b, "%s %s\n", label, l)
			}
		}
	}
	only("only in the first: ", got, want)
	only("only in the second:", want, got)
	return b.String()
}

// countersRE matches the packet and byte counters iptables-save prints for built-in chains.
var countersRE = regexp.MustCompile(`\[\d+:\d+\]`)

// nodeIptablesSave is the node namespace's iptables-save, every table, without its comment lines
// (they carry the time) and with the built-in chains' counters zeroed (traffic moves them).
func nodeIptablesSave(ns string) string {
	out, err := exec.Command("ip", "netns", "exec", ns, "iptables-save").Output()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "iptables-save in %s", ns)
	var keep []string
	for _, line := range strings.SplitAfter(string(out), "\n") {
		if !strings.HasPrefix(line, "#") {
			keep = append(keep, countersRE.ReplaceAllString(line, "[0:0]"))
		}
	}
	return strings.Join(keep, "")
}

func nodeIpsetSave(ns string) string {
	out, err := exec.Command("ip", "netns", "exec", ns, "ipset", "save").Output()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "ipset save in %s", ns)
	return string(out)
}

// notPalisade keeps the lines that name nothing of Palisade's: every table's header and COMMIT,
// other chains' declarations and rules, other sets; in their order.
func notPalisade(save string) string {
	var keep []string
	for _, line := range strings.SplitAfter(save, "\n") {
		if !strings.Contains(line, "PAL") && !strings.Contains(line, "palisade-hook") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// palisadeOnly keeps the lines that name Palisade's chains, rules and sets, sorted (set members
// come out of a hash in no fixed order).
func palisadeOnly(save string) []string {
	var keep []string
	for _, line := range strings.Split(save, "\n") {
		if strings.Contains(line, "PAL") || strings.Contains(line, "palisade-hook") {
			keep = append(keep, line)
		}
	}
	slices.Sort(keep)
	return keep
}
