package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/report"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/test/assets"
)

var _ = Describe("startObservation", Ordered, func() {
	var (
		dyn        dynamic.Interface
		c          client.Client
		ns         string
		kubeconfig string
	)
	BeforeAll(func() {
		dir, err := assets.Dir()
		Expect(err).NotTo(HaveOccurred(), "envtest binaries: make envtest-bins")
		env := &envtest.Environment{UseExistingCluster: ptr.To(false), BinaryAssetsDirectory: dir, ControlPlaneStartTimeout: 2 * time.Minute,
			CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
		cfg, err := env.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env.Stop)
		user, err := env.AddUser(envtest.User{Name: "enforcer", Groups: []string{"system:masters"}}, cfg)
		Expect(err).NotTo(HaveOccurred())
		kc, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		kubeconfig = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		Expect(os.WriteFile(kubeconfig, kc, 0o600)).To(Succeed())
		dyn, err = dynamic.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		c, err = client.New(cfg, client.Options{Scheme: envtestScheme()})
		Expect(err).NotTo(HaveOccurred())
		ns = enforcertest.Netns(GinkgoT())
	})

	deps := func(node string, reg prometheus.Registerer) observeDeps {
		key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: "guard"}
		return observeDeps{node: node, netns: ns, engine: engine.New(), dynamic: dyn, registry: reg,
			programs: func() []report.Program {
				return []report.Program{{Key: key, Phase: v1alpha1.PhaseAudit, Generation: 3, EnforcedGeneration: 2}}
			}}
	}

	It("opens the group in the node's namespace, writes the NodeReport each interval and registers its metrics", func(ctx SpecContext) {
		reg := prometheus.NewRegistry()
		f := &observeFlags{enabled: true, group: 2, reportInterval: 100 * time.Millisecond, buffer: 16}
		octx, cancel := context.WithCancel(logr.NewContext(context.Background(), logr.Discard()))
		defer cancel()
		Expect(startObservation(octx, f, deps("obs-node", reg))).To(Succeed())

		var nr v1alpha1.NodeReport
		Eventually(func() error { return c.Get(ctx, client.ObjectKey{Name: "obs-node"}, &nr) }).WithTimeout(10 * time.Second).Should(Succeed())
		Expect(nr.Spec.NodeName).To(Equal("obs-node"))
		Expect(nr.Spec.Policies).To(ConsistOf(HaveField("Name", "guard")))
		Expect(nr.Spec.Policies[0].Generation).To(Equal(int64(3)))
		n, err := testutil.GatherAndCount(reg, "palisade_nflog_received_total", "palisade_nflog_dropped_total",
			"palisade_observe_samples_total", "palisade_nodereport_writes_total")
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(BeNumerically(">=", 4))

		// The kernel allows one listener per group: a second enforcer on it fails, and says so.
		Expect(startObservation(octx, f, deps("other", prometheus.NewRegistry()))).To(MatchError(ContainSubstring("opening NFLOG group 2")))
	})

	It("does nothing with --observe=false", func(ctx SpecContext) {
		f := &observeFlags{enabled: false, group: 3, reportInterval: 50 * time.Millisecond}
		Expect(startObservation(ctx, f, deps("quiet-node", prometheus.NewRegistry()))).To(Succeed())
		Consistently(func() error { return c.Get(ctx, client.ObjectKey{Name: "quiet-node"}, &v1alpha1.NodeReport{}) }).
			WithTimeout(300 * time.Millisecond).ShouldNot(Succeed())
	})

	It("run connects the source's hooks: the NodeReport echoes each policy's generation, phase, enforced generation and evidence window", func(sctx SpecContext) {
		const node = "hooks-node"
		Expect(c.Create(sctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hooks"}})).To(Succeed())
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "hooks", Name: "p0", Labels: map[string]string{"app": "p0"}},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "x"}}},
		}
		Expect(c.Create(sctx, pod)).To(Succeed())
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "198.18.0.20", PodIPs: []corev1.PodIP{{IP: "198.18.0.20"}}}
		Expect(c.Status().Update(sctx, pod)).To(Succeed())
		np := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "hooks", Name: "guard"},
			Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: "app == 'p0'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}}}}
		Expect(c.Create(sctx, np)).To(Succeed())
		setStatus := func(st v1alpha1.PolicyStatus) {
			Expect(c.Get(sctx, client.ObjectKeyFromObject(np), np)).To(Succeed())
			np.Status = st
			Expect(c.Status().Update(sctx, np)).To(Succeed())
		}
		t0 := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
		setStatus(v1alpha1.PolicyStatus{ObservedGeneration: 1, Phase: v1alpha1.PhaseAudit, Evidence: &v1alpha1.Evidence{WindowStart: &t0}})

		pf := defaultPhaseFlags()
		pf.nflogGroup = 3 // the group of the run: the earlier spec's reader may still hold 2 until its context ends
		f := &runFlags{
			dataplaneFlags: dataplaneFlags{netns: ns, backend: "nft", xtablesWait: 5},
			phaseFlags:     pf,
			observe:        observeFlags{enabled: true, reportInterval: 100 * time.Millisecond, buffer: 64},
			kubeconfig:     kubeconfig, nodeName: node, healthAddr: freeAddr(), metricsAddr: "0",
			minInterval: 50 * time.Millisecond, maxInterval: time.Second, backoffBase: 50 * time.Millisecond, backoffMax: 100 * time.Millisecond,
		}
		ctx, cancel := context.WithCancel(logr.NewContext(context.Background(), logr.Discard()))
		done := make(chan error, 1)
		go func() { done <- run(ctx, f, desiredState) }()
		DeferCleanup(func() error { cancel(); return <-done })

		guard := func() v1alpha1.PolicyReport {
			var nr v1alpha1.NodeReport
			if err := c.Get(sctx, client.ObjectKey{Name: node}, &nr); err != nil || len(nr.Spec.Policies) != 1 {
				return v1alpha1.PolicyReport{}
			}
			return nr.Spec.Policies[0]
		}
		windowStart := func(p v1alpha1.PolicyReport) time.Time {
			if p.WindowStart == nil {
				return time.Time{}
			}
			return p.WindowStart.Time
		}
		// The observation group is the renderer's: --nflog-group, one flag for both.
		Eventually(func() string { return enforcertest.Save(GinkgoT(), ns, "iptables-nft-save") }).WithTimeout(10 * time.Second).
			Should(ContainSubstring(`--nflog-prefix "SI|hooks/p0" --nflog-group 3`))
		Eventually(guard).WithTimeout(10 * time.Second).Should(And(
			HaveField("Name", "guard"), HaveField("Generation", int64(1)), HaveField("Phase", v1alpha1.PhaseAudit),
			HaveField("EnforcedGeneration", int64(0)), WithTransform(windowStart, BeTemporally("==", t0.Time))))

		// The operator starts a new window: the report counts from it, the old one is the previous.
		t1 := metav1.NewTime(t0.Add(30 * time.Second))
		setStatus(v1alpha1.PolicyStatus{ObservedGeneration: 1, Phase: v1alpha1.PhaseAudit, Evidence: &v1alpha1.Evidence{WindowStart: &t1}})
		Eventually(guard).WithTimeout(10 * time.Second).Should(And(
			WithTransform(windowStart, BeTemporally("==", t1.Time)),
			HaveField("PreviousWindow", And(Not(BeNil()), HaveField("Start.Time", BeTemporally("==", t0.Time)), HaveField("End.Time", BeTemporally("==", t1.Time))))))

		// Enforced: the node reports generation 1 enforced.
		setStatus(v1alpha1.PolicyStatus{ObservedGeneration: 1, Phase: v1alpha1.PhaseEnforced, EnforcedGeneration: 1, Evidence: &v1alpha1.Evidence{WindowStart: &t1}})
		Eventually(guard).WithTimeout(10 * time.Second).Should(And(HaveField("Phase", v1alpha1.PhaseEnforced), HaveField("EnforcedGeneration", int64(1))))
	})
})
