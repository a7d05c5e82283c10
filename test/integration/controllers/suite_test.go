package controllersintegration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

var (
	env *environment
	ctx = context.Background()
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Rollout controllers integration suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	env, err = startEnvironment(true, 4)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	Expect(env.stop()).To(Succeed())
})

// Node reports are cluster-scoped and every report names a node that every policy then waits for:
// each spec starts without any.
var _ = AfterEach(func() {
	Expect(env.client.DeleteAllOf(ctx, &v1alpha1.NodeReport{})).To(Succeed())
	eventually(func(g Gomega) {
		var l v1alpha1.NodeReportList
		g.Expect(env.reconcilers.NetworkPolicy.Client.List(ctx, &l)).To(Succeed())
		g.Expect(l.Items).To(BeEmpty())
	}).Should(Succeed())
})

// eventually is Eventually with the suite's patience for the informer caches to catch up.
func eventually(f any) AsyncAssertion {
	return Eventually(f).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond)
}

// newNamespace creates a namespace of its own for a spec.
func newNamespace() string {
	GinkgoHelper()
	name := fmt.Sprintf("t-%08x", rand.Uint32())
	Expect(env.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

// step moves the fake clock on.
func step(d time.Duration) { env.clock.Step(d) }

type npTweak func(*v1alpha1.NetworkPolicy)

// makePolicy returns a NetworkPolicy with 1m Audit and Staged windows, selecting app == 'web'.
func makePolicy(ns, name string, tweaks ...npTweak) *v1alpha1.NetworkPolicy {
	minute := metav1.Duration{Duration: time.Minute}
	p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	p.Spec.Selector = "app == 'web'"
	p.Spec.Rollout = &v1alpha1.RolloutSpec{
		Audit:  &v1alpha1.PhaseSpec{MinDuration: &minute},
		Staged: &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: &minute}},
	}
	for _, t := range tweaks {
		t(p)
	}
	return p
}

func withAnnotation(k, v string) npTweak {
	return func(p *v1alpha1.NetworkPolicy) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[k] = v
	}
}

func createPolicy(p *v1alpha1.NetworkPolicy) *v1alpha1.NetworkPolicy {
	GinkgoHelper()
	Expect(env.client.Create(ctx, p)).To(Succeed())
	return p
}

func getNP(ns, name string) *v1alpha1.NetworkPolicy {
	GinkgoHelper()
	p := &v1alpha1.NetworkPolicy{}
	Expect(env.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p)).To(Succeed())
	return p
}

// reconcileNP calls the NetworkPolicy reconciler directly, as the queue would at the fake time.
func reconcileNP(ns, name string) (ctrl.Result, error) {
	return env.reconcilers.NetworkPolicy.Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
}

// reconcileUntil reconciles until the policy's status satisfies check (the manager's caches may lag
// behind what the test just wrote) and returns the policy and the last result.
func reconcileUntil(ns, name string, check func(g Gomega, p *v1alpha1.NetworkPolicy)) (*v1alpha1.NetworkPolicy, ctrl.Result) {
	GinkgoHelper()
	var res ctrl.Result
	var p *v1alpha1.NetworkPolicy
	key := types.NamespacedName{Namespace: ns, Name: name}
	eventually(func(g Gomega) {
		// A reconcile of a policy the cache does not hold yet does nothing and says so with no error.
		g.Expect(env.reconcilers.NetworkPolicy.Client.Get(ctx, key, &v1alpha1.NetworkPolicy{})).To(Succeed())
		var err error
		res, err = reconcileNP(ns, name)
		g.Expect(err).NotTo(HaveOccurred())
		p = &v1alpha1.NetworkPolicy{}
		g.Expect(env.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p)).To(Succeed())
		check(g, p)
	}).Should(Succeed())
	return p, res
}

// echo is a node's report on a policy: what its status says, with the given window counts and flows.
func echo(p *v1alpha1.NetworkPolicy, window v1alpha1.FlowCounts, flows ...v1alpha1.ObservedFlow) v1alpha1.PolicyReport {
	r := v1alpha1.PolicyReport{
		Kind: v1alpha1.KindNetworkPolicy, Namespace: p.Namespace, Name: p.Name,
		Generation: p.Generation, Phase: p.Status.Phase, EnforcedGeneration: p.Status.EnforcedGeneration,
		Window: window, WouldDenyFlows: flows,
	}
	if p.Status.Evidence != nil && p.Status.Evidence.WindowStart != nil {
		r.WindowStart = p.Status.Evidence.WindowStart.DeepCopy()
	}
	return r
}

// writeReport creates or replaces the NodeReport of node, written now by the fake clock.
func writeReport(node string, policies ...v1alpha1.PolicyReport) {
	GinkgoHelper()
	nr := &v1alpha1.NodeReport{ObjectMeta: metav1.ObjectMeta{Name: node}}
	err := env.client.Get(ctx, types.NamespacedName{Name: node}, nr)
	if err != nil && !apierrors.IsNotFound(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	nr.Spec = v1alpha1.NodeReportSpec{
		NodeName: node, ReportTime: metav1.NewMicroTime(env.clock.Now()),
		PolicyCount: int32(len(policies)), Policies: policies,
	}
	if apierrors.IsNotFound(err) {
		Expect(env.client.Create(ctx, nr)).To(Succeed())
		return
	}
	Expect(env.client.Update(ctx, nr)).To(Succeed())
}

// annotate sets an annotation with a merge patch (metadata only: the generation does not change).
func annotate(ns, name, key, value string) {
	GinkgoHelper()
	p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	Expect(env.client.Patch(ctx, p, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

// token is a control request token for the fake clock's time, as the CLI writes it.
func token() string { return env.clock.Now().UTC().Format(rollout.RequestToken) }

func condition(p *v1alpha1.NetworkPolicy, t string) *metav1.Condition {
	return meta.FindStatusCondition(p.Status.Conditions, t)
}

// haveCondition matches a condition's type, status and reason.
func haveCondition(t string, s metav1.ConditionStatus, reason string) OmegaMatcher {
	return ContainElement(And(
		HaveField("Type", t), HaveField("Status", s), HaveField("Reason", reason),
	))
}

// revisions lists the revisions of a policy by label, as enforcers find them.
func revisions(ns string, uid types.UID) []appsv1.ControllerRevision {
	GinkgoHelper()
	var l appsv1.ControllerRevisionList
	Expect(env.client.List(ctx, &l, client.InNamespace(ns), client.MatchingLabels{rollout.LabelPolicyUID: string(uid)})).To(Succeed())
	return l.Items
}

func revisionGenerations(ns string, uid types.UID) []int64 {
	var out []int64
	for _, r := range revisions(ns, uid) {
		out = append(out, r.Revision)
	}
	return out
}

// events lists the events recorded about an object.
func events(ns, name string) []eventsv1.Event {
	GinkgoHelper()
	var l eventsv1.EventList
	Expect(env.client.List(ctx, &l, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range l.Items {
		if e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}
