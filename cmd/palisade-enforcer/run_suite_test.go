package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/test/assets"
)

func TestRun(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "palisade-enforcer run suite")
}

// podIPs are the test's pods' addresses, which the stand-in renderer below writes into its set.
var podIPs = map[string]string{"web/p0": "198.18.0.10", "web/p1": "198.18.0.11"}

// standInRenderer is NOT the renderer: it is the smallest desired state that depends on the engine,
// so this suite can prove the wiring around it (informers -> engine -> runner -> syncer -> kernel,
// readiness, metrics, fail static). It drops traffic to the pods that policy web/deny selects.
func standInRenderer(e *engine.Engine, _ nodeView) func(context.Context) (desired.Ruleset, error) {
	return func(context.Context) (desired.Ruleset, error) {
		set := desired.Set{Name: "PAL-s-deny", Type: "hash:ip", Family: "inet"}
		for _, ref := range e.SelectedEndpoints(engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: "deny"}, engine.SlotEnforced) {
			set.Members = append(set.Members, podIPs[ref.String()])
		}
		return desired.Ruleset{
			Sets: []desired.Set{set},
			Tables: []desired.Table{{Name: "filter", Family: desired.IPv4, Chains: []desired.Chain{{
				Name:  desired.EntryChain,
				Rules: []string{"-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-m set --match-set PAL-s-deny dst -j DROP"},
			}}}},
		}, nil
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var _ = Describe("palisade-enforcer run", Ordered, func() {
	var (
		env        *envtest.Environment
		kube       kubernetes.Interface
		c          client.Client
		ns         string
		kubeconfig string
	)
	BeforeAll(func() {
		dir, err := assets.Dir()
		Expect(err).NotTo(HaveOccurred(), "envtest binaries: make envtest-bins")
		env = &envtest.Environment{
			UseExistingCluster:       ptr.To(false),
			ControlPlaneStartTimeout: 2 * time.Minute,
			CRDDirectoryPaths:        []string{filepath.Join("..", "..", "config", "crd", "bases")},
			ErrorIfCRDPathMissing:    true,
		}
		env.ControlPlane.GetAPIServer().Path = filepath.Join(dir, "kube-apiserver")
		env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(dir, "etcd")}
		env.ControlPlane.KubectlPath = filepath.Join(dir, "kubectl")
		cfg, err := env.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env.Stop)
		user, err := env.AddUser(envtest.User{Name: "enforcer", Groups: []string{"system:masters"}}, cfg)
		Expect(err).NotTo(HaveOccurred())
		kc, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		kubeconfig = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		Expect(os.WriteFile(kubeconfig, kc, 0o600)).To(Succeed())
		kube, err = kubernetes.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		scheme := envtestScheme()
		c, err = client.New(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		ns = enforcertest.Netns(GinkgoT())
	})

	It("programs what the engine says, is ready after the first sync, and leaves the rules when stopped", func(sctx SpecContext) {
		health, metricsAddr := freeAddr(), freeAddr()
		f := &runFlags{
			dataplaneFlags: dataplaneFlags{netns: ns, backend: "nft", xtablesWait: 5},
			kubeconfig:     kubeconfig, nodeName: "n0",
			healthAddr: health, metricsAddr: metricsAddr,
			minInterval: 50 * time.Millisecond, maxInterval: time.Second,
			backoffBase: 50 * time.Millisecond, backoffMax: time.Second,
		}
		ctx, cancel := context.WithCancel(logr.NewContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter))))
		done := make(chan error, 1)
		go func() { done <- run(ctx, f, standInRenderer) }()
		DeferCleanup(func() error { cancel(); return <-done })

		Eventually(func() int { code, _ := get("http://" + health + "/readyz"); return code }).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
		Expect(enforcertest.Save(GinkgoT(), ns, "iptables-nft-save")).To(ContainSubstring("-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD"))

		Expect(c.Create(sctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web"}})).To(Succeed())
		for _, name := range []string{"p0", "p1"} {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name, Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{NodeName: "n0", Containers: []corev1.Container{{Name: "c", Image: "x"}}},
			}
			Expect(c.Create(sctx, pod)).To(Succeed())
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: podIPs["web/"+name], PodIPs: []corev1.PodIP{{IP: podIPs["web/"+name]}}}
			Expect(c.Status().Update(sctx, pod)).To(Succeed())
		}
		np := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "deny"}, Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: "app == 'p0'"}}}
		Expect(c.Create(sctx, np)).To(Succeed())

		sets := func() string { return enforcertest.Save(GinkgoT(), ns, "ipset", "save") }
		Eventually(sets).WithTimeout(10 * time.Second).Should(ContainSubstring("add PAL-s-deny 198.18.0.10\n"))
		Expect(sets()).NotTo(ContainSubstring("198.18.0.11"))

		// Relabelling a pod moves it into the policy at the next sync.
		p1, err := kube.CoreV1().Pods("web").Get(sctx, "p1", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		p1.Labels["app"] = "p0"
		_, err = kube.CoreV1().Pods("web").Update(sctx, p1, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(sets).WithTimeout(10 * time.Second).Should(ContainSubstring("add PAL-s-deny 198.18.0.11\n"))

		// Drift: the periodic resync puts back a rule deleted by hand.
		enforcertest.Run(GinkgoT(), ns, "", "iptables-nft", "-D", "PAL-FORWARD", "2")
		Eventually(func() string { return enforcertest.Save(GinkgoT(), ns, "iptables-nft-save") }).WithTimeout(10 * time.Second).
			Should(ContainSubstring("--match-set PAL-s-deny dst -j DROP"))

		_, body := get("http://" + metricsAddr + "/metrics")
		Expect(body).To(ContainSubstring("palisade_enforcer_rules_programmed 2"))
		Expect(body).To(ContainSubstring("palisade_enforcer_sets_programmed 1"))

		// SIGTERM (the context ends): run returns and the rules stay.
		before := enforcertest.Save(GinkgoT(), ns, "iptables-nft-save")
		cancel()
		Eventually(done).WithTimeout(10 * time.Second).Should(Receive(BeNil()))
		done <- nil // for the deferred cleanup
		Expect(enforcertest.Save(GinkgoT(), ns, "iptables-nft-save")).To(Equal(before))
		Expect(sets()).To(ContainSubstring("add PAL-s-deny 198.18.0.10\n"))

		// cleanup removes it all.
		cmd := newRootCommand(logr.Discard())
		cmd.SetArgs([]string{"cleanup", "--netns", ns, "--iptables-backend", "nft"})
		Expect(cmd.Execute()).To(Succeed())
		Expect(enforcertest.Save(GinkgoT(), ns, "iptables-nft-save")).NotTo(ContainSubstring("PAL-"))
		Expect(sets()).NotTo(ContainSubstring("PAL-"))
	})

	It("with the renderer follows the policy's phase: shadowed in Audit, enforced once Enforced, and is ready", func(sctx SpecContext) {
		// The first spec left namespace web, pods p0 and p1 (both labelled app=p0 now, on node n0)
		// and policy web/deny (no rules: ingress deny for the pods it selects; Progressive, no status)
		// in the API server.
		health, metricsAddr := freeAddr(), freeAddr()
		f := &runFlags{
			dataplaneFlags: dataplaneFlags{netns: ns, backend: "nft", xtablesWait: 5},
			phaseFlags:     defaultPhaseFlags(),
			kubeconfig:     kubeconfig, nodeName: "n0", healthAddr: health, metricsAddr: metricsAddr,
			minInterval: 50 * time.Millisecond, maxInterval: time.Second, backoffBase: 50 * time.Millisecond, backoffMax: 100 * time.Millisecond,
		}
		ctx, cancel := context.WithCancel(logr.NewContext(context.Background(), logr.Discard()))
		done := make(chan error, 1)
		go func() { done <- run(ctx, f, desiredState) }()
		DeferCleanup(func() error { cancel(); return <-done })
		Eventually(func() int { code, _ := get("http://" + health + "/readyz"); return code }).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
		save := func() string { return enforcertest.Save(GinkgoT(), ns, "iptables-nft-save") }
		// No phase yet and Progressive: Audit. Nothing enforced; the pods' new connections sampled.
		Eventually(save).WithTimeout(10 * time.Second).Should(And(
			ContainSubstring("-A FORWARD -m comment --comment palisade-hook -j PAL-FORWARD"),
			MatchRegexp(`-A PAL-TO-EP -d 198\.18\.0\.10/32 .*-g PAL-TW-`),
			MatchRegexp(`-A PAL-TW-\S+ .*-m conntrack --ctstate NEW -m limit --limit 200/sec --limit-burst 400 -m comment --comment "PAL:[0-9a-f]{16} Palisade observe: web/p0 .*" -j NFLOG --nflog-prefix "SI\|web/p0" --nflog-group 2`),
			MatchRegexp(`-A PAL-TW-\S+ .*-j NFLOG --nflog-prefix "SI\|web/p1" --nflog-group 2`),
		))
		Expect(save()).NotTo(ContainSubstring("end of tier"))

		// The status says Enforced: the next sync enforces it, and samples its drops.
		var np v1alpha1.NetworkPolicy
		Expect(c.Get(sctx, client.ObjectKey{Namespace: "web", Name: "deny"}, &np)).To(Succeed())
		np.Status = v1alpha1.PolicyStatus{ObservedGeneration: np.Generation, Phase: v1alpha1.PhaseEnforced, EnforcedGeneration: np.Generation}
		Expect(c.Status().Update(sctx, &np)).To(Succeed())
		Eventually(save).WithTimeout(10 * time.Second).Should(And(
			MatchRegexp(`-A PAL-TW-\S+ .*end of tier, default action Deny.* -j NFLOG --nflog-prefix "DI\|np/web/deny" --nflog-group 2`),
			MatchRegexp(`-A PAL-TW-\S+ .*end of tier, default action Deny.* -j DROP`),
		))
		Expect(save()).NotTo(ContainSubstring(`"SI|web/p0"`))

		// Deleting the policy opens the pods again at the next sync: its chains go.
		Expect(c.Delete(context.Background(), &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "deny"}})).To(Succeed())
		Eventually(save).WithTimeout(10 * time.Second).ShouldNot(ContainSubstring("end of tier"))
		Expect(save()).To(MatchRegexp(`-A PAL-TO-EP -d 198\.18\.0\.10/32 `))
	})

})

// defaultPhaseFlags are the run command's phase and observation flags at their defaults.
func defaultPhaseFlags() phaseFlags {
	var f phaseFlags
	f.bind(&cobra.Command{})
	return f
}
