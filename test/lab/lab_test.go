package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/cli"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/assets"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/probe"
	"github.com/palisade-dev/palisade/test/lab/topology"
)

// allPorts are the ports every spec probes; the manifest's pods declare them all.
const allPorts = "80/TCP,81/TCP,80/UDP,81/UDP"

// rootState is what of the root network namespace the lab must leave as it found it: its links
// (the lab never adds one) and the lab namespaces in /run/netns.
type rootState struct {
	links     string
	namespace []string
}

func snapshotRoot() rootState {
	out, err := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// "2: eth0: <FLAGS> mtu ..." — index, name and flags; counters are not in -o link.
		f := strings.Fields(line)
		names = append(names, strings.Join(f[:3], " "))
	}
	nss, err := netns.List(netns.Root)
	Expect(err).NotTo(HaveOccurred())
	return rootState{links: strings.Join(names, "\n"), namespace: nss}
}

var _ = Describe("the lab", Ordered, func() {
	var (
		l        *lab.Lab
		before   rootState
		manifest string
		ports    []probe.Port
		ctx      context.Context
	)

	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("the lab suite creates network namespaces and must run as root: sudo make test-e2e")
		}
		for _, tool := range []string{"ip", "iptables"} {
			if _, err := exec.LookPath(tool); err != nil {
				Fail(fmt.Sprintf("%s is missing: install iproute2 and iptables (make deps)", tool))
			}
		}
		if _, err := assets.Dir(); err != nil {
			Fail(err.Error())
		}
		ctx = log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
		before = snapshotRoot()
		var err error
		ports, err = probe.ParsePorts(allPorts)
		Expect(err).NotTo(HaveOccurred())

		set, err := manifestSet(clusterYAML)
		Expect(err).NotTo(HaveOccurred())
		exe, err := os.Executable()
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		l, err = lab.Start(ctx, set, lab.Options{
			Nodes: 2,
			NodeProcess: lab.NodeProcess{
				Command:  []string{exe, fakeNodeArg, "--kubeconfig={{.Kubeconfig}}", "--node={{.Node}}"},
				ReadyURL: "http://127.0.0.1:9402/readyz",
			},
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })

		GinkgoWriter.Printf("lab %s started in %v\n", l.Prefix, time.Since(start))

		b, err := l.Manifest()
		Expect(err).NotTo(HaveOccurred())
		manifest = filepath.Join(GinkgoT().TempDir(), "lab.yaml")
		Expect(os.WriteFile(manifest, b, 0o600)).To(Succeed())
	})

	// On failure, show the node processes' output: their logs go with the lab.
	AfterEach(func() {
		if l == nil || !CurrentSpecReport().Failed() {
			return
		}
		for _, n := range l.Plan.Nodes {
			if path, ok := l.NodeProcessLog(n.Name); ok {
				b, _ := os.ReadFile(path)
				GinkgoWriter.Printf("--- node %s process log %s:\n%s\n", n.Name, path, b)
			}
		}
	})

	It("spreads every namespace's pods over both nodes and keeps the manifest's IPs", func() {
		Expect(l.Plan.Nodes).To(HaveLen(2))
		for _, ns := range []string{"alpha", "beta", "gamma"} {
			nodes := map[string]bool{}
			for _, p := range l.Plan.Pods {
				if strings.HasPrefix(p.Ref, ns+"/") {
					nodes[p.Node] = true
				}
			}
			Expect(nodes).To(HaveLen(2), "pods of namespace %s", ns)
		}
		Expect(podOf(l, "alpha/web").IP.String()).To(Equal("198.18.200.10"))
		Expect(podOf(l, "beta/web").IP.String()).To(Equal("198.19.3.4"))
		Expect(podOf(l, "gamma/db").Node).To(Equal("node-2"))
	})

	It("creates the objects with the status a kubelet would report", func() {
		var pods corev1.PodList
		Expect(l.Client.List(ctx, &pods)).To(Succeed())
		Expect(pods.Items).To(HaveLen(9))
		for _, p := range pods.Items {
			planned := podOf(l, p.Namespace+"/"+p.Name)
			Expect(p.Spec.NodeName).To(Equal(planned.Node))
			Expect(p.Status.PodIP).To(Equal(planned.IP.String()))
			Expect(p.Status.PodIPs).To(Equal([]corev1.PodIP{{IP: planned.IP.String()}}))
			Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
		}
		var nodes corev1.NodeList
		Expect(l.Client.List(ctx, &nodes)).To(Succeed())
		Expect(nodes.Items).To(HaveLen(2))
		var sa corev1.ServiceAccount
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: "frontend"}, &sa)).To(Succeed())
		var ns corev1.Namespace
		Expect(l.Client.Get(ctx, client.ObjectKey{Name: "beta"}, &ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue("team", "beta"))
		var svc corev1.Service
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: "web"}, &svc)).To(Succeed())
		Expect(svc.Spec.ClusterIP).NotTo(BeEmpty())
		var eps discoveryv1.EndpointSliceList
		Expect(l.Client.List(ctx, &eps, client.InNamespace("alpha"), client.MatchingLabels{discoveryv1.LabelServiceName: "web"})).To(Succeed())
		Expect(eps.Items).To(HaveLen(1))
		Expect(eps.Items[0].Endpoints).To(HaveLen(1))
		Expect(eps.Items[0].Endpoints[0].Addresses).To(Equal([]string{"198.18.200.10"}))
		Expect(*eps.Items[0].Ports[0].Port).To(Equal(int32(80)))
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "alpha", Name: "none"}, &networkingv1.NetworkPolicy{})).To(Succeed())
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: "beta", Name: "none"}, &v1alpha1.NetworkPolicy{})).To(Succeed())
		Expect(l.Client.Get(ctx, client.ObjectKey{Name: "none"}, &v1alpha1.GlobalNetworkPolicy{})).To(Succeed())
	})

	It("measures the engine's matrix: everything allowed without a policy that selects a pod", func() {
		measured, err := l.Probe(ctx, ports, probe.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(measured).To(HaveLen(9 * 8 * 4))
		Expect(probe.Diff(measured, engineMatrix(manifest, allPorts))).To(BeEmpty())
		for _, v := range measured {
			Expect(v.Allowed).To(BeTrue(), "%s -> %s %d/%s: %s", v.From, v.To, v.Port, v.Protocol, v.Reason)
		}
	})

	It("answers ICMP echo between every pair", func() {
		measured, err := l.Probe(ctx, []probe.Port{{Protocol: probe.ICMP}}, probe.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(measured).To(HaveLen(9 * 8))
		for _, v := range measured {
			Expect(v.Allowed).To(BeTrue(), "%s -> %s ICMP: %s", v.From, v.To, v.Reason)
		}
	})

	// One DROP rule for a pod's IP, in its own node's FORWARD chain, then in the other node's:
	// the measured matrix must change exactly for the flows whose packets cross that chain. This
	// proves that the prober sees denials and that both the same-node path and the cross-node
	// path go through the FORWARD chains where the enforcer will work.
	DescribeTable("a DROP in a node's FORWARD chain denies exactly the flows that cross it",
		func(ruleOnOwnNode bool) {
			target := podOf(l, "alpha/web")
			node := target.Node
			if !ruleOnOwnNode {
				node = otherNode(l, target.Node)
			}
			nodeNS, ok := l.NodeNS(node)
			Expect(ok).To(BeTrue())
			rule := []string{"FORWARD", "-d", target.IP.String() + "/32", "-j", "DROP"}
			iptables(nodeNS.Name, append([]string{"-I"}, rule...)...)
			DeferCleanup(func() { iptables(nodeNS.Name, append([]string{"-D"}, rule...)...) })

			measured, err := l.Probe(ctx, append(slices.Clone(ports), probe.Port{Protocol: probe.ICMP}), probe.Options{})
			Expect(err).NotTo(HaveOccurred())
			var want []probe.Verdict
			for _, v := range measured {
				w := v
				w.Allowed = true
				if other, involved := otherEnd(v, target.Ref); involved {
					// Requests to the target, or answers to it, cross the chain: all of them when
					// it is the target's node, only those to or from the other node's pods otherwise.
					w.Allowed = !ruleOnOwnNode && podOf(l, other).Node == target.Node
				}
				want = append(want, w)
			}
			Expect(probe.Diff(measured, want)).To(BeEmpty())
			denied := 0
			for _, v := range measured {
				if !v.Allowed {
					denied++
				}
			}
			Expect(denied).To(BeNumerically(">", 0))
		},
		Entry("on the pod's own node: every flow to or from it", true),
		Entry("on the other node: only the flows to or from that node's pods", false),
	)

	It("runs the node processes inside their namespaces, reaching the API server only through the relay", func() {
		u, err := url.Parse(l.Config.Host)
		Expect(err).NotTo(HaveOccurred())
		for _, n := range l.Plan.Nodes {
			nodeNS, _ := l.NodeNS(n.Name)
			kubeconfig, _ := l.NodeKubeconfig(n.Name)
			logPath, ok := l.NodeProcessLog(n.Name)
			Expect(ok).To(BeTrue())
			b, err := os.ReadFile(logPath)
			Expect(err).NotTo(HaveOccurred())
			want := fmt.Sprintf("listed %d pods on node %s through https://127.0.0.1:6443", len(l.Plan.PodsOn(n.Name)), n.Name)
			Expect(string(b)).To(ContainSubstring(want))

			pids, err := netns.Processes(nodeNS.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(pids).To(HaveLen(1), "the node process runs in %s", nodeNS.Name)

			kubectl := filepath.Join(must(assets.Dir()), "kubectl")
			out, err := exec.Command("ip", "netns", "exec", nodeNS.Name, kubectl, "--kubeconfig", kubeconfig, "get", "pods", "-A", "-o", "name").CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			Expect(strings.Fields(string(out))).To(HaveLen(9))

			// The API server's own loopback address is the root namespace's: not reachable here.
			_, err = nodeNS.DialContext(ctx, &net.Dialer{Timeout: time.Second}, "tcp4", u.Host)
			Expect(err).To(HaveOccurred())
		}
	})

	It("restarts a node process after a crash", func() {
		node := l.Plan.Nodes[0].Name
		Expect(l.SignalNodeProcess(node, syscall.SIGKILL)).To(Succeed())
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		Expect(l.WaitNodeProcessExit(waitCtx, node)).To(Succeed())
		Expect(l.RestartNodeProcess(ctx, node)).To(Succeed())
		path, _ := l.NodeProcessLog(node)
		b, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Count(string(b), "listed ")).To(Equal(2), "one listing per start, in one log:\n%s", b)
	})

	It("stops and starts the API server with the same address and credentials", func() {
		node := l.Plan.Nodes[1].Name
		nodeNS, _ := l.NodeNS(node)
		kubeconfig, _ := l.NodeKubeconfig(node)
		kubectl := func() error {
			out, err := exec.Command("ip", "netns", "exec", nodeNS.Name, filepath.Join(must(assets.Dir()), "kubectl"),
				"--kubeconfig", kubeconfig, "--request-timeout=3s", "get", "nodes", "-o", "name").CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		}
		Expect(kubectl()).To(Succeed())
		Expect(l.StopAPIServer()).To(Succeed())
		Expect(kubectl()).NotTo(Succeed())
		// The dataplane does not depend on the API server.
		measured, err := l.Probe(ctx, []probe.Port{{Port: 80, Protocol: probe.TCP}}, probe.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(measured).To(HaveEach(HaveField("Allowed", BeTrue())))
		Expect(l.StartAPIServer()).To(Succeed())
		Expect(kubectl()).To(Succeed())
	})

	It("tears everything down: namespaces, processes, directories, and leaves the root namespace as it was", func() {
		var pids []int
		for _, n := range l.Plan.Nodes {
			nodeNS, _ := l.NodeNS(n.Name)
			ps, err := netns.Processes(nodeNS.Name)
			Expect(err).NotTo(HaveOccurred())
			pids = append(pids, ps...)
		}
		Expect(pids).NotTo(BeEmpty())
		labNamespaces, err := netns.List(l.Prefix)
		Expect(err).NotTo(HaveOccurred())
		Expect(labNamespaces).To(HaveLen(1 + 2 + 9)) // fabric, nodes, pods
		inodes := map[uint64]string{}
		for _, name := range labNamespaces {
			inodes[must(nsInode(name))] = name
		}
		held, err := heldNamespaces()
		Expect(err).NotTo(HaveOccurred())
		Expect(held).To(HaveKey(BeElementOf(keys(inodes))), "before Close, the lab's sockets hold its namespaces")

		Expect(l.Close()).To(Succeed())

		// No socket or handle of this process keeps a lab namespace (and its veths) alive.
		held, err = heldNamespaces()
		Expect(err).NotTo(HaveOccurred())
		for ino, what := range held {
			Expect(inodes).NotTo(HaveKey(ino), "%s still holds network namespace %s", what, inodes[ino])
		}

		left, err := lab.Find(l.Prefix)
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Namespaces).To(BeEmpty())
		Expect(left.Processes).To(BeEmpty())
		Expect(left.Dirs).To(BeEmpty())
		for _, p := range pids {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", p))
			Expect(os.IsNotExist(err)).To(BeTrue(), "node process %d still exists", p)
		}
		after := snapshotRoot()
		Expect(after.links).To(Equal(before.links))
		// Other lab runs (the netns package's tests, run in parallel by go test) may come and go;
		// none of this run's may remain.
		Expect(after.namespace).NotTo(ContainElement(HavePrefix(l.Prefix)))
	})
})

// engineMatrix is `kubectl palisade matrix -f path --ports ports -o json`, run in-process.
func engineMatrix(path, ports string) []probe.Verdict {
	var out, errOut bytes.Buffer
	cmd := cli.NewRootCommand(cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetArgs([]string{"matrix", "-f", path, "--ports", ports, "-o", "json"})
	ExpectWithOffset(1, cmd.Execute()).To(Succeed(), errOut.String())
	var m probe.Matrix
	ExpectWithOffset(1, json.Unmarshal(out.Bytes(), &m)).To(Succeed())
	ExpectWithOffset(1, m.Verdicts).NotTo(BeEmpty())
	return m.Verdicts
}

func iptables(ns string, args ...string) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "iptables", "-w"}, args...)...).CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "iptables %s in %s: %s", strings.Join(args, " "), ns, out)
}

func podOf(l *lab.Lab, ref string) topology.Pod {
	i := slices.IndexFunc(l.Plan.Pods, func(p topology.Pod) bool { return p.Ref == ref })
	ExpectWithOffset(1, i).To(BeNumerically(">=", 0), "pod %s", ref)
	return l.Plan.Pods[i]
}

func otherNode(l *lab.Lab, node string) string {
	for _, n := range l.Plan.Nodes {
		if n.Name != node {
			return n.Name
		}
	}
	Fail("one node only")
	return ""
}

// otherEnd returns the flow's other pod when ref is one of its ends.
func otherEnd(v probe.Verdict, ref string) (string, bool) {
	switch ref {
	case v.From:
		return v.To, true
	case v.To:
		return v.From, true
	}
	return "", false
}

func manifestSet(yaml string) (*manifest.Set, error) {
	set, err := manifest.Parse("cluster.yaml", []byte(yaml))
	if err != nil {
		return nil, err
	}
	return set, set.Err()
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func must[T any](v T, err error) T {
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return v
}
