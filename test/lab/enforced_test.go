package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/cli"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// enforcedLab is a lab with one real palisade-enforcer per node whose policies (and, for the
// random scenarios, pods, service accounts and namespace labels) the specs replace while it runs,
// so that many scenarios share one lab. Every expectation comes from the engine through
// `kubectl palisade matrix` and `kubectl palisade trace` on a manifest of exactly the objects the
// lab holds.
type enforcedLab struct {
	l   *lab.Lab
	ctx context.Context
	dir string
}

// enforcerNodeProcess runs the enforcer as enforcer_test.go does; the short sync interval keeps the
// wait after each change short. No operator runs here, so the policies carry no rollout status:
// --rollout-phases=false enforces them as written (a Progressive policy without a status would be in
// Audit, shadowed and not enforced).
func enforcerNodeProcess(binary string) lab.NodeProcess {
	return lab.NodeProcess{
		Command: []string{binary, "run", "--kubeconfig", "{{.Kubeconfig}}", "--node-name", "{{.Node}}",
			"--health-addr", "127.0.0.1:9808", "--metrics-addr", "0", "--min-sync-interval", "100ms",
			"--rollout-phases=false"},
		ReadyURL: "http://127.0.0.1:9808/readyz",
	}
}

// buildEnforcer builds cmd/palisade-enforcer into the spec's temporary directory.
func buildEnforcer() string {
	bin := filepath.Join(GinkgoT().TempDir(), "palisade-enforcer")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/palisade-enforcer").CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "building palisade-enforcer: %s", out)
	return bin
}

// startEnforcedLab builds the enforcer and starts a lab from yaml with it on every node; the lab
// is closed when the container's specs are done. Every pod serves extraPorts over TCP and UDP.
func startEnforcedLab(ctx context.Context, yaml string, nodes int, extraPorts []uint16) *enforcedLab {
	if os.Geteuid() != 0 {
		Fail("this suite creates network namespaces and must run as root: sudo make test-e2e")
	}
	bin := buildEnforcer()
	set, err := manifestSet(yaml)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	start := time.Now()
	l, err := lab.Start(ctx, set, lab.Options{Nodes: nodes, ExtraPorts: extraPorts, NodeProcess: enforcerNodeProcess(bin)})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })
	GinkgoWriter.Printf("lab %s with enforcers ready in %v\n", l.Prefix, time.Since(start).Round(time.Millisecond))
	return &enforcedLab{l: l, ctx: ctx, dir: GinkgoT().TempDir()}
}

// dumpLogs prints the enforcers' logs when the current spec failed.
func (e *enforcedLab) dumpLogs() {
	if e == nil || !CurrentSpecReport().Failed() {
		return
	}
	for _, n := range e.l.Plan.Nodes {
		if path, ok := e.l.NodeProcessLog(n.Name); ok {
			b, _ := os.ReadFile(path)
			GinkgoWriter.Printf("--- enforcer on %s (%s):\n%s\n", n.Name, path, b)
		}
	}
}

// create creates every object of the manifest text in the API server (namespaced objects without
// a namespace go to "default").
func (e *enforcedLab) create(yaml string) {
	set, err := manifestSet(yaml)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "the spec's manifest:\n%s", yaml)
	var objs []client.Object
	for _, x := range set.ServiceAccounts {
		objs = append(objs, x.Object.DeepCopy())
	}
	for _, x := range set.Pods {
		objs = append(objs, x.Object.DeepCopy())
	}
	for _, x := range set.KubernetesNetworkPolicies {
		objs = append(objs, x.Object.DeepCopy())
	}
	for _, x := range set.NetworkPolicies {
		objs = append(objs, x.Object.DeepCopy())
	}
	for _, x := range set.GlobalNetworkPolicies {
		objs = append(objs, x.Object.DeepCopy())
	}
	for _, o := range objs {
		if _, global := o.(*v1alpha1.GlobalNetworkPolicy); !global && o.GetNamespace() == "" {
			o.SetNamespace("default")
		}
		o.SetResourceVersion("")
		var status corev1.PodStatus
		if pod, ok := o.(*corev1.Pod); ok {
			status, pod.Status = pod.Status, corev1.PodStatus{}
		}
		ExpectWithOffset(1, e.l.Client.Create(e.ctx, o)).To(Succeed(), "creating %T %s", o, client.ObjectKeyFromObject(o))
		if pod, ok := o.(*corev1.Pod); ok {
			// What a kubelet would report: running, at the manifest's address (the lab's slot).
			now := metav1.Now()
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: status.PodIP, PodIPs: []corev1.PodIP{{IP: status.PodIP}}, StartTime: &now,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}}
			ExpectWithOffset(1, e.l.Client.Status().Update(e.ctx, pod)).To(Succeed(), "setting pod %s's status", client.ObjectKeyFromObject(pod))
		}
	}
}

// deletePolicies deletes every policy of the three kinds.
func (e *enforcedLab) deletePolicies() {
	c := e.l.Client
	var knps networkingv1.NetworkPolicyList
	ExpectWithOffset(1, c.List(e.ctx, &knps)).To(Succeed())
	for i := range knps.Items {
		ExpectWithOffset(1, ignoreNotFound(c.Delete(e.ctx, &knps.Items[i]))).To(Succeed())
	}
	var nps v1alpha1.NetworkPolicyList
	ExpectWithOffset(1, c.List(e.ctx, &nps)).To(Succeed())
	for i := range nps.Items {
		ExpectWithOffset(1, ignoreNotFound(c.Delete(e.ctx, &nps.Items[i]))).To(Succeed())
	}
	var gnps v1alpha1.GlobalNetworkPolicyList
	ExpectWithOffset(1, c.List(e.ctx, &gnps)).To(Succeed())
	for i := range gnps.Items {
		ExpectWithOffset(1, ignoreNotFound(c.Delete(e.ctx, &gnps.Items[i]))).To(Succeed())
	}
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// gracelessly deletes a pod at once: without a kubelet, a graceful deletion never completes.
var gracelessly = client.GracePeriodSeconds(0)

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// fingerprint is what the enforcers have programmed: every node's filter table and ipsets.
func (e *enforcedLab) fingerprint() string {
	var b strings.Builder
	for _, n := range e.l.Plan.Nodes {
		ns, _ := e.l.NodeNS(n.Name)
		for _, argv := range [][]string{{"iptables-save", "-t", "filter"}, {"ipset", "save"}} {
			out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, argv...)...).CombinedOutput()
			ExpectWithOffset(2, err).NotTo(HaveOccurred(), "%s in %s: %s", argv[0], ns.Name, out)
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(line, "#") {
					continue // timestamps
				}
				b.WriteString(counters.ReplaceAllString(line, ""))
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// waitSettled waits until the programmed rules and sets have stopped changing: unchanged over a
// second of polls (ten times the enforcers' minimum sync interval), and changed from before, if
// they ever do, or 3 seconds passed. It bounds the wait; the verdicts are checked afterwards by
// probing until they agree.
func (e *enforcedLab) waitSettled(before string) time.Duration {
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	last, stable, changed := before, 0, false
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		cur := e.fingerprint()
		if cur != before {
			changed = true
		}
		if cur == last {
			stable++
		} else {
			stable, last = 0, cur
		}
		if stable >= 4 && (changed || time.Since(start) > 3*time.Second) {
			return time.Since(start)
		}
	}
	Fail("the enforcers' rules kept changing for 30s")
	return 0
}

// endpoints are the lab pods of refs ("namespace/name"), to probe from and to.
func (e *enforcedLab) endpoints(refs ...string) []probe.Endpoint {
	var out []probe.Endpoint
	for _, ref := range refs {
		p := podOf(e.l, ref)
		ns, ok := e.l.PodNS(ref)
		ExpectWithOffset(1, ok).To(BeTrue(), "pod %s", ref)
		out = append(out, probe.Endpoint{Ref: ref, IP: p.IP, NS: ns})
	}
	return out
}

// asHost renames an endpoint to its IP: the engine knows it as an address, not a pod.
func asHost(ep probe.Endpoint) probe.Endpoint {
	ep.Ref = ep.IP.String()
	return ep
}

// writeManifest writes text to a file of the lab's directory and returns its path.
func (e *enforcedLab) writeManifest(name, text string) string {
	path := filepath.Join(e.dir, name)
	ExpectWithOffset(1, os.WriteFile(path, []byte(text), 0o600)).To(Succeed())
	return path
}

// expected is the engine's verdict for every ordered pair of distinct endpoints on every port:
// `kubectl palisade matrix` for TCP and UDP between pods, `kubectl palisade trace` (ICMP echo
// request, type 8 code 0, as the prober sends) for ICMP and for hosts outside the cluster.
func expected(path string, eps []probe.Endpoint, ports []probe.Port) []probe.Verdict {
	isPod := func(ref string) bool { return strings.Contains(ref, "/") }
	var matrixPorts []string
	for _, p := range ports {
		if p.Protocol != probe.ICMP {
			matrixPorts = append(matrixPorts, p.String())
		}
	}
	cells := map[string]bool{}
	key := func(from, to string, p probe.Port) string { return from + " " + to + " " + p.String() }
	if len(matrixPorts) > 0 {
		for _, v := range engineMatrix(path, strings.Join(matrixPorts, ",")) {
			cells[key(v.From, v.To, probe.Port{Port: v.Port, Protocol: v.Protocol})] = v.Allowed
		}
	}
	var out []probe.Verdict
	for _, p := range ports {
		for _, from := range eps {
			for _, to := range eps {
				if from.Ref == to.Ref {
					continue
				}
				allowed, ok := cells[key(from.Ref, to.Ref, p)]
				if !ok || p.Protocol == probe.ICMP || !isPod(from.Ref) || !isPod(to.Ref) {
					allowed = engineTrace(path, from.Ref, to.Ref, p)
				}
				out = append(out, probe.Verdict{From: from.Ref, To: to.Ref, Port: p.Port, Protocol: p.Protocol, Allowed: allowed})
			}
		}
	}
	probe.Sort(out)
	return out
}

// engineTrace is `kubectl palisade trace -f path --from from --to to (--port P | --icmp 8/0) -o
// json`, run in-process; it returns the verdict.
func engineTrace(path, from, to string, p probe.Port) bool {
	var out, errOut bytes.Buffer
	cmd := cli.NewRootCommand(cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	args := []string{"trace", "-f", path, "--from", from, "--to", to, "-o", "json"}
	if p.Protocol == probe.ICMP {
		args = append(args, "--icmp", "8/0")
	} else {
		args = append(args, "--port", p.String())
	}
	cmd.SetArgs(args)
	err := cmd.Execute()
	var v struct {
		Allowed bool `json:"allowed"`
	}
	ExpectWithOffset(2, json.Unmarshal(out.Bytes(), &v)).To(Succeed(), "trace %v: %v %s", args, err, errOut.String())
	// Exit status 1 means denied; anything else is a failure of the command.
	ExpectWithOffset(2, err == nil).To(Equal(v.Allowed), "trace %v: exit %v with allowed=%t: %s", args, err, v.Allowed, errOut.String())
	return v.Allowed
}

// probeOptions keep a denied verdict cheap (a timeout, probed twice) while an answer within
// half a second is ample inside one machine.
var probeOptions = probe.Options{Timeout: 600 * time.Millisecond, Parallel: 48}

// agreement is one comparison of packets with the engine.
type agreement struct {
	measured, expected []probe.Verdict
	diff               []probe.Mismatch
	attempts           int
	took               time.Duration
}

// measureUntilAgreed probes eps on ports until the measured matrix equals the engine's for the
// manifest at path, or until the deadline; it returns the last comparison. Probing again covers
// an enforcer that settled on its rules a moment after waitSettled looked.
func (e *enforcedLab) measureUntilAgreed(path string, eps []probe.Endpoint, ports []probe.Port, within time.Duration) agreement {
	want := expected(path, eps, ports)
	start := time.Now()
	var a agreement
	for {
		a.attempts++
		got, err := probe.Run(e.ctx, eps, ports, probeOptions)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		a.measured, a.expected, a.diff = got, want, probe.Diff(got, want)
		if len(a.diff) == 0 || time.Since(start) > within {
			a.took = time.Since(start)
			return a
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// describeDiff lists the cells on which packets and the engine disagree.
func describeDiff(d []probe.Mismatch) string {
	lines := make([]string, 0, len(d))
	for _, m := range d {
		lines = append(lines, "  "+m.String())
	}
	return strings.Join(lines, "\n")
}

// cell returns the verdict of one measured cell, failing when the matrix lacks it.
func cell(vs []probe.Verdict, from, to string, port string) bool {
	ps, err := probe.ParsePorts(port)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	i := slices.IndexFunc(vs, func(v probe.Verdict) bool {
		return v.From == from && v.To == to && v.Port == ps[0].Port && v.Protocol == ps[0].Protocol
	})
	ExpectWithOffset(1, i).To(BeNumerically(">=", 0), "no cell %s -> %s %s", from, to, port)
	return vs[i].Allowed
}

// replaceWorld replaces the lab's objects by a scenario's: every policy, pod and service account
// of the scenario's namespaces goes, the namespaces take the scenario's labels, and the
// scenario's service accounts, pods and policies are created.
func (e *enforcedLab) replaceWorld(namespaces []manifest.Entry[*corev1.Namespace], text string) {
	c := e.l.Client
	e.deletePolicies()
	for _, n := range namespaces {
		ns := n.Object
		var pods corev1.PodList
		ExpectWithOffset(1, c.List(e.ctx, &pods, client.InNamespace(ns.Name))).To(Succeed())
		for i := range pods.Items {
			ExpectWithOffset(1, ignoreNotFound(c.Delete(e.ctx, &pods.Items[i], gracelessly))).To(Succeed())
		}
		var sas corev1.ServiceAccountList
		ExpectWithOffset(1, c.List(e.ctx, &sas, client.InNamespace(ns.Name))).To(Succeed())
		for i := range sas.Items {
			ExpectWithOffset(1, ignoreNotFound(c.Delete(e.ctx, &sas.Items[i]))).To(Succeed())
		}
		cur := &corev1.Namespace{}
		ExpectWithOffset(1, c.Get(e.ctx, client.ObjectKeyFromObject(ns), cur)).To(Succeed())
		cur.Labels = map[string]string{corev1.LabelMetadataName: ns.Name}
		for k, v := range ns.Labels {
			cur.Labels[k] = v
		}
		ExpectWithOffset(1, c.Update(e.ctx, cur)).To(Succeed())
	}
	e.create(text)
}
