package report

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/assets"
)

func TestWriter(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "NodeReport writer suite (envtest)")
}

var (
	env  *envtest.Environment
	cfg  *rest.Config
	kc   client.Client
	dyn  dynamic.Interface
	root = filepath.Join("..", "..")
)

var _ = BeforeSuite(func() {
	dir, err := assets.Dir()
	Expect(err).NotTo(HaveOccurred(), "envtest binaries (export KUBEBUILDER_ASSETS=...)")
	s := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(s)).To(Succeed())
	Expect(v1alpha1.AddToScheme(s)).To(Succeed())
	env = &envtest.Environment{Scheme: s, BinaryAssetsDirectory: dir, ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}, ControlPlaneStartTimeout: 2 * time.Minute}
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	kc, err = client.New(cfg, client.Options{Scheme: s})
	Expect(err).NotTo(HaveOccurred())
	dyn, err = dynamic.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

var _ = Describe("the NodeReport writer", func() {
	var (
		ctx    context.Context
		clk    *clocktesting.FakeClock
		obs    *observerAdapter
		m      *Metrics
		progs  []Program
		node   string
		w      *Writer
		get    func(name string) *v1alpha1.NodeReport
		ticked func()
	)
	BeforeEach(func() {
		ctx = context.Background()
		clk = clocktesting.NewFakeClock(t0)
		obs = newObserverAdapter(GinkgoT(), clk)
		m = NewMetrics(nil)
		node = "node-" + randSuffix()
		progs = []Program{{Key: guard, Phase: v1alpha1.PhaseAudit, Generation: 2, EnforcedGeneration: 1, WindowStart: t0}}
		w = NewWriter(WriterConfig{Node: node, Client: dyn, Observer: obs.observer, Programs: func() []Program { return progs },
			Dropped: func() int64 { return 7 }, Clock: clk, Interval: 10 * time.Second, Metrics: m})
		get = func(name string) *v1alpha1.NodeReport {
			var nr v1alpha1.NodeReport
			Expect(kc.Get(ctx, client.ObjectKey{Name: name}, &nr)).To(Succeed())
			return &nr
		}
		ticked = func() {
			GinkgoHelper()
			clk.Step(10 * time.Second)
			Expect(w.Tick(ctx)).To(Succeed())
		}
	})

	It("writes the counts of the candidate generation, owned by the Node, with its own field manager", func() {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}
		Expect(kc.Create(ctx, n)).To(Succeed())
		w.SyncWindows()
		clk.Step(time.Second)
		obs.connect(3, "SI|prod/server") // three would-deny connections from the client
		obs.connectFromOther(2)          // two allowed
		ticked()

		nr := get(node)
		Expect(nr.OwnerReferences).To(ConsistOf(metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: node, UID: n.UID}))
		Expect(nr.ManagedFields).To(ContainElement(HaveField("Manager", FieldManager)))
		Expect(nr.Spec.NodeName).To(Equal(node))
		Expect(nr.Spec.ReportTime.Time).To(BeTemporally("==", t0.Add(11*time.Second)))
		Expect(nr.Spec.DroppedSamples).To(Equal(int64(7)))
		Expect(nr.Spec.PolicyCount).To(Equal(int32(1)))
		Expect(nr.Spec.Truncated).To(BeFalse())
		first, last := metav1.NewTime(t0.Add(time.Second)), metav1.NewTime(t0.Add(time.Second))
		Expect(nr.Spec.Policies).To(BeComparableTo([]v1alpha1.PolicyReport{{
			Kind: v1alpha1.KindNetworkPolicy, Namespace: "prod", Name: "guard", Generation: 2, Phase: v1alpha1.PhaseAudit,
			EnforcedGeneration: 1, WindowStart: &metav1.Time{Time: t0},
			Window: v1alpha1.FlowCounts{WouldDeny: 3, Allowed: 2},
			Recent: v1alpha1.FlowCounts{WouldDeny: 3, Allowed: 2},
			WouldDenyFlows: []v1alpha1.ObservedFlow{{Source: "prod/client", Destination: "prod/server", Protocol: "TCP", Port: 80,
				Count: 3, FirstSeen: &first, LastSeen: &last, Rule: "ingress[0]"}},
		}}, sameTime))
		Expect(testutil.ToFloat64(m.Writes.WithLabelValues("ok"))).To(Equal(1.0))
	})

	It("writes every interval while a policy is in an evidence window: its time is what covers the window", func() {
		w.SyncWindows() // guard is in Audit
		ticked()
		rv := get(node).ResourceVersion
		ticked() // nothing changed but the time: the operator needs it to see the window covered
		Expect(get(node).ResourceVersion).NotTo(Equal(rv))
		Expect(get(node).Spec.ReportTime.Time).To(BeTemporally("==", t0.Add(20*time.Second)))
		progs[0].Phase = v1alpha1.PhaseStaged
		ticked()
		rv = get(node).ResourceVersion
		ticked()
		Expect(get(node).ResourceVersion).NotTo(Equal(rv), "Staged has a window too")
		Expect(testutil.ToFloat64(m.Writes.WithLabelValues("ok"))).To(Equal(4.0))
	})

	It("writes only when something changed, and at least every heartbeat, when no policy is in a window", func() {
		progs = []Program{{Key: guard, Phase: v1alpha1.PhaseEnforced, Generation: 2, EnforcedGeneration: 2, WindowStart: t0}}
		w.SyncWindows()
		obs.connect(1, "SI|prod/server")
		ticked() // written; Recent holds the connection
		rv := get(node).ResourceVersion
		Expect(get(node).OwnerReferences).To(BeEmpty(), "no Node, no owner")
		ticked() // Recent drops to zero: a change
		Expect(get(node).Spec.Policies[0].Recent).To(Equal(v1alpha1.FlowCounts{}))
		rv2 := get(node).ResourceVersion
		Expect(rv2).NotTo(Equal(rv))
		ticked() // nothing changed, heartbeat (20s) not due since the last write 10s ago
		Expect(get(node).ResourceVersion).To(Equal(rv2))
		ticked() // 20s since the last write: heartbeat
		Expect(get(node).ResourceVersion).NotTo(Equal(rv2))
		Expect(get(node).Spec.ReportTime.Time).To(BeTemporally("==", t0.Add(40*time.Second)))
		Expect(testutil.ToFloat64(m.Writes.WithLabelValues("ok"))).To(Equal(3.0))
	})

	It("starts a new window when status.evidence.windowStart changes and keeps the previous one", func() {
		w.SyncWindows()
		obs.connect(2, "SI|prod/server")
		ticked()
		t1 := t0.Add(10 * time.Minute)
		progs = []Program{{Key: guard, Phase: v1alpha1.PhaseStaged, Generation: 2, EnforcedGeneration: 1, WindowStart: t1}}
		w.SyncWindows()
		obs.connect(1, "SI|prod/server")
		ticked()
		p := get(node).Spec.Policies[0]
		Expect(p.Phase).To(Equal(v1alpha1.PhaseStaged))
		Expect(p.WindowStart.Time).To(BeTemporally("==", t1))
		Expect(p.Window).To(Equal(v1alpha1.FlowCounts{WouldDeny: 1}))
		Expect(p.PreviousWindow).To(BeComparableTo(&v1alpha1.PreviousWindow{Generation: 2, Phase: v1alpha1.PhaseAudit,
			Start: metav1.Time{Time: t0}, End: metav1.Time{Time: t1}, Counts: v1alpha1.FlowCounts{WouldDeny: 2}}, sameTime))
		Expect(p.WouldDenyFlows).To(HaveLen(1))
		Expect(p.WouldDenyFlows[0].Count).To(Equal(int64(1)))
	})

	It("shards many policies, cuts beyond the shards and flows beyond the sample, and says so", func() {
		w = NewWriter(WriterConfig{Node: node, Client: dyn, Observer: obs.observer, Programs: func() []Program { return progs },
			Clock: clk, Interval: 10 * time.Second, PerShard: 2, MaxShards: 2, Metrics: m})
		progs = nil
		for _, name := range []string{"e", "d", "c", "b", "guard"} {
			progs = append(progs, Program{Key: policyKey(name), Phase: v1alpha1.PhaseAudit, Generation: 2, EnforcedGeneration: 1, WindowStart: t0})
		}
		w.SyncWindows()
		obs.distinctFlows(8) // eight would-deny flows of the guard, to eight ports
		ticked()
		a, b := get(node), get(node+"-1")
		Expect(names(a)).To(Equal([]string{"b", "c"}))
		Expect(names(b)).To(Equal([]string{"d", "e"}))
		for _, nr := range []*v1alpha1.NodeReport{a, b} {
			Expect(nr.Spec.PolicyCount).To(Equal(int32(5)))
			Expect(nr.Spec.OmittedPolicies).To(Equal(int32(1)), "the guard, sorting last, is cut")
			Expect(nr.Spec.Truncated).To(BeTrue())
		}
		Expect(testutil.ToFloat64(m.Omitted.WithLabelValues("policies"))).To(Equal(1.0))

		// Fewer policies: the guard alone, its flows cut to the sample; the second shard goes away.
		progs = progs[4:]
		ticked()
		a = get(node)
		Expect(names(a)).To(Equal([]string{"guard"}))
		Expect(a.Spec.Policies[0].WouldDenyFlows).To(HaveLen(v1alpha1.MaxReportedFlows))
		Expect(a.Spec.OmittedFlows).To(Equal(int64(3)))
		Expect(a.Spec.Truncated).To(BeTrue())
		var gone v1alpha1.NodeReport
		err := kc.Get(ctx, client.ObjectKey{Name: node + "-1"}, &gone)
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the second shard is deleted: %v", err)
	})

	It("reports every interval when run, and counts failed writes", func() {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); w.Run(runCtx) }()
		Eventually(clk.HasWaiters).Should(BeTrue())
		clk.Step(10 * time.Second)
		Eventually(func() error { return kc.Get(ctx, client.ObjectKey{Name: node}, &v1alpha1.NodeReport{}) }).Should(Succeed())
		cancel()
		<-done

		bad := NewWriter(WriterConfig{Node: "Not_A_Valid_Name", Client: dyn, Observer: obs.observer,
			Programs: func() []Program { return progs }, Clock: clk, Metrics: m})
		Expect(bad.Tick(ctx)).To(MatchError(ContainSubstring("applying node report")))
		Expect(testutil.ToFloat64(m.Writes.WithLabelValues("error"))).To(Equal(1.0))
	})
})

// sameTime compares times as instants: the API server returns them in UTC at second precision.
var sameTime = cmp.Comparer(func(a, b metav1.Time) bool { return a.Equal(&b) })

func names(nr *v1alpha1.NodeReport) []string {
	var out []string
	for _, p := range nr.Spec.Policies {
		out = append(out, p.Name)
	}
	return out
}
