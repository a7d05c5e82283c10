package controllersintegration

import (
	"encoding/json"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

const (
	audit    = v1alpha1.PhaseAudit
	staged   = v1alpha1.PhaseStaged
	enforced = v1alpha1.PhaseEnforced
	isTrue   = metav1.ConditionTrue
	isFalse  = metav1.ConditionFalse
)

func inPhase(ph v1alpha1.RolloutPhase) func(Gomega, *v1alpha1.NetworkPolicy) {
	return func(g Gomega, p *v1alpha1.NetworkPolicy) {
		g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
		g.Expect(p.Status.Phase).To(Equal(ph))
	}
}

func withReason(t, reason string) func(Gomega, *v1alpha1.NetworkPolicy) {
	return func(g Gomega, p *v1alpha1.NetworkPolicy) {
		g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
		c := condition(p, t)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason))
	}
}

// waitNP waits, without reconciling itself, until the controllers have brought the policy to check.
func waitNP(ns, name string, check func(Gomega, *v1alpha1.NetworkPolicy)) *v1alpha1.NetworkPolicy {
	GinkgoHelper()
	var p *v1alpha1.NetworkPolicy
	eventually(func(g Gomega) {
		p = &v1alpha1.NetworkPolicy{}
		g.Expect(env.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p)).To(Succeed())
		check(g, p)
	}).Should(Succeed())
	return p
}

func flow(src, dst string, port int32, n int64) v1alpha1.ObservedFlow {
	return v1alpha1.ObservedFlow{Source: src, Destination: dst, Protocol: "TCP", Port: port, Count: n}
}

// haveEvent matches an event's type, reason and action.
func haveEvent(typ, reason, action string) OmegaMatcher {
	return ContainElement(And(HaveField("Type", typ), HaveField("Reason", reason), HaveField("Action", action)))
}

// metric is the value of a counter of the operator's registry with exactly these labels (0 when absent).
func metric(name string, labels map[string]string) float64 {
	GinkgoHelper()
	families, err := env.registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

var _ = Describe("the NetworkPolicy rollout controller", func() {
	It("gives a new policy status Audit, Valid and Progressing, Ready only once nodes programmed it, and never touches spec", func() {
		ns := newNamespace()
		starts := metric("palisade_rollout_transitions_total", map[string]string{"kind": "NetworkPolicy", "action": "Start", "from": "None", "to": "Audit"})
		created := createPolicy(makePolicy(ns, "web"))
		p := waitNP(ns, "web", inPhase(audit))

		Expect(p.Generation).To(Equal(int64(1)))
		Expect(p.Spec).To(Equal(created.Spec))
		Expect(p.ResourceVersion).NotTo(Equal(created.ResourceVersion), "the status was written")
		Expect(p.Status.PhaseSince.Time).To(BeTemporally("==", env.clock.Now()))
		Expect(p.Status.Evidence.WindowStart.Time).To(BeTemporally("==", env.clock.Now()))
		Expect(p.Status.EnforcedGeneration).To(BeZero())
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionValid, isTrue, rollout.ReasonCompiled))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionProgressing, isTrue, rollout.ReasonNewPolicy))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionProgrammed, isFalse, rollout.ReasonNoNodes))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionReady, isFalse, rollout.ReasonNoNodes))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionDegraded, isFalse, rollout.ReasonNotDegraded))
		eventually(func() []any { return toAny(events(ns, "web")) }).Should(haveEvent(corev1.EventTypeNormal, rollout.ReasonNewPolicy, "Start"))
		Expect(metric("palisade_rollout_transitions_total", map[string]string{"kind": "NetworkPolicy", "action": "Start", "from": "None", "to": "Audit"})).
			To(BeNumerically(">", starts))

		By("a node echoing the status: Programmed and Ready, still in Audit")
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{Allowed: 2}))
		p = waitNP(ns, "web", withReason(v1alpha1.ConditionReady, rollout.ReasonProgrammed))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionReady, isTrue, rollout.ReasonProgrammed))
		Expect(p.Status.NodesProgrammed).To(Equal(int32(1)))
		Expect(p.Status.NodesDesired).To(Equal(int32(1)))
		Expect(p.Status.Evidence.Allowed).To(Equal(int64(2)))
		Expect(p.Status.Phase).To(Equal(audit))

		By("status writes left the generation and the spec alone")
		Expect(p.Generation).To(Equal(int64(1)))
		Expect(p.Spec).To(Equal(created.Spec))
		Expect(p.Annotations).To(BeEmpty())
	})

	It("requeues when the planner says the next decision is due, and not otherwise", func() {
		ns := newNamespace()
		createPolicy(makePolicy(ns, "web", func(p *v1alpha1.NetworkPolicy) {
			p.Spec.Rollout.Audit.MinDuration = &metav1.Duration{Duration: 5 * time.Minute}
		}))
		_, res := reconcileUntil(ns, "web", inPhase(audit))
		Expect(res).To(Equal(ctrl.Result{RequeueAfter: 5 * time.Minute}), "the end of the Audit window")

		step(2 * time.Minute)
		_, res = reconcileUntil(ns, "web", withReason(v1alpha1.ConditionProgressing, rollout.ReasonWaiting))
		Expect(res).To(Equal(ctrl.Result{RequeueAfter: 3 * time.Minute}), "the end of the window, by the injected clock")

		step(3*time.Minute + time.Second)
		p, res := reconcileUntil(ns, "web", withReason(v1alpha1.ConditionProgressing, rollout.ReasonEvidenceAbsent))
		Expect(res).To(Equal(ctrl.Result{}), "no enforcer at all: only a node report can change the decision, so no polling")
		Expect(p.Status.Phase).To(Equal(audit))

		By("a node that has not reported on the policy yet: decided again one report interval later")
		writeReport("node-a")
		eventually(func(g Gomega) {
			res, err := reconcileNP(ns, "web")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res).To(Equal(ctrl.Result{RequeueAfter: reportInterval}))
		}).Should(Succeed())
		p = getNP(ns, "web")
		Expect(condition(p, v1alpha1.ConditionProgressing).Message).To(ContainSubstring("node-a"))
	})

	It("holds a policy in Audit while a node reports would-deny flows, and shows the flows in status", func() {
		ns := newNamespace()
		createPolicy(makePolicy(ns, "web"))
		p := waitNP(ns, "web", inPhase(audit))
		window := p.Status.Evidence.WindowStart.Time

		step(61 * time.Second)
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{WouldDeny: 4, Allowed: 10}, flow("shop/client", "shop/web-0", 8080, 4)))
		// The controller (reacting to the report) and this test's reconcile race: whichever decides
		// first starts the window again (DenialsInWindow), the other then waits for the new window's
		// end. Either way the window starts again now.
		p, res := reconcileUntil(ns, "web", func(g Gomega, p *v1alpha1.NetworkPolicy) {
			g.Expect(p.Status.Evidence.WindowStart.Time).To(BeTemporally(">", window), "the window starts again")
		})
		Expect(p.Status.Phase).To(Equal(audit))
		Expect(p.Status.Evidence.WindowStart.Time).To(BeTemporally("==", env.clock.Now()))
		Expect(p.Status.Evidence.WouldDeny).To(BeZero(), "the new window has seen nothing yet")
		Expect(res).To(Equal(ctrl.Result{RequeueAfter: time.Minute}))
		Expect(p.Status.Evidence.TopFlows).To(Equal([]v1alpha1.FlowSample{
			{Source: "shop/client", Destination: "shop/web-0", Protocol: "TCP", Port: 8080, Count: 4,
				SuggestionNote: "source: pod shop/client no longer exists"},
		}))

		By("the node counting the new window: still quiet at its end, it promotes")
		step(61 * time.Second)
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{Allowed: 3}))
		reconcileUntil(ns, "web", inPhase(staged))
	})

	It("promotes a quiet policy to Staged, then Enforced, and keeps the enforced generation's revision", func() {
		ns := newNamespace()
		createPolicy(makePolicy(ns, "web"))
		p := waitNP(ns, "web", inPhase(audit))

		step(61 * time.Second)
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{Allowed: 5}))
		writeReport("node-b", echo(p, v1alpha1.FlowCounts{}))
		p, res := reconcileUntil(ns, "web", inPhase(staged))
		Expect(res).To(Equal(ctrl.Result{RequeueAfter: time.Minute}), "the end of the Staged window")
		Expect(p.Status.CanaryPercent).To(Equal(int32(10)))
		Expect(p.Status.EnforcedGeneration).To(BeZero())
		Expect(revisions(ns, p.UID)).To(BeEmpty(), "nothing is enforced yet")

		step(61 * time.Second)
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{Allowed: 7}))
		writeReport("node-b", echo(p, v1alpha1.FlowCounts{}))
		p, res = reconcileUntil(ns, "web", inPhase(enforced))
		Expect(res).To(Equal(ctrl.Result{RequeueAfter: time.Minute}), "the watch after promotion")
		Expect(p.Status.EnforcedGeneration).To(Equal(int64(1)))
		Expect(p.Status.CanaryPercent).To(BeZero())

		revs := revisions(ns, p.UID)
		Expect(revs).To(HaveLen(1))
		Expect(revs[0].Revision).To(Equal(int64(1)))
		Expect(revs[0].Labels).To(Equal(rollout.RevisionLabels(p.UID, 1)))
		Expect(revs[0].OwnerReferences).To(ConsistOf(And(
			HaveField("Kind", "NetworkPolicy"), HaveField("Name", "web"), HaveField("UID", p.UID),
			HaveField("Controller", HaveValue(BeTrue())), HaveField("BlockOwnerDeletion", HaveValue(BeTrue())),
		)))
		var stored v1alpha1.NetworkPolicySpec
		Expect(json.Unmarshal(revs[0].Data.Raw, &stored)).To(Succeed())
		Expect(stored).To(Equal(p.Spec))

		eventually(func() []any { return toAny(events(ns, "web")) }).Should(And(
			haveEvent(corev1.EventTypeNormal, rollout.ReasonPromoted, "Promote"),
		))
		Expect(p.Generation).To(Equal(int64(1)))

		By("a revision deleted by hand is made again while its generation is the spec")
		Expect(env.client.Delete(ctx, &revs[0])).To(Succeed())
		eventually(func(g Gomega) {
			now := revisions(ns, p.UID)
			g.Expect(now).To(HaveLen(1))
			g.Expect(now[0].UID).NotTo(Equal(revs[0].UID))
		}).Should(Succeed())
	})

	It("keeps the enforced and previous good revisions, prunes older ones, and records control requests", func() {
		ns := newNamespace()
		createPolicy(makePolicy(ns, "web"))
		waitNP(ns, "web", inPhase(audit))
		promote := func(to v1alpha1.RolloutPhase) {
			GinkgoHelper()
			step(time.Second)
			tok := token()
			annotate(ns, "web", rollout.AnnotationPromote, tok)
			waitNP(ns, "web", func(g Gomega, p *v1alpha1.NetworkPolicy) {
				inPhase(to)(g, p)
				g.Expect(p.Status.Controls.Promote).To(Equal(tok))
			})
		}
		edit := func(selector string) {
			GinkgoHelper()
			p := getNP(ns, "web")
			patch := client.MergeFrom(p.DeepCopy())
			p.Spec.Selector = selector
			Expect(env.client.Patch(ctx, p, patch)).To(Succeed())
		}

		promote(staged)
		promote(enforced)
		p := getNP(ns, "web")
		Expect(p.Status.EnforcedGeneration).To(Equal(int64(1)))
		Expect(revisionGenerations(ns, p.UID)).To(ConsistOf(int64(1)))

		edit("app == 'web' && tier == 'front'")
		p = waitNP(ns, "web", inPhase(audit))
		Expect(p.Generation).To(Equal(int64(2)))
		Expect(p.Status.EnforcedGeneration).To(Equal(int64(1)), "the previous generation stays enforced")
		promote(staged)
		promote(enforced)
		p = getNP(ns, "web")
		Expect(p.Status.EnforcedGeneration).To(Equal(int64(2)))
		Expect(p.Status.PreviousEnforcedGeneration).To(Equal(int64(1)))
		Expect(revisionGenerations(ns, p.UID)).To(ConsistOf(int64(1), int64(2)))

		edit("app == 'web' && tier == 'back'")
		waitNP(ns, "web", inPhase(audit))
		promote(staged)
		promote(enforced)
		eventually(func(g Gomega) {
			_, err := reconcileNP(ns, "web")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(revisionGenerations(ns, p.UID)).To(ConsistOf(int64(2), int64(3)))
		}).Should(Succeed())

		p = getNP(ns, "web")
		Expect(p.Generation).To(Equal(int64(3)), "control annotations never change the generation")
		Expect(p.Status.PreviousEnforcedGeneration).To(Equal(int64(2)))
		Expect(p.Annotations).To(HaveKeyWithValue(rollout.AnnotationPromote, p.Status.Controls.Promote), "the operator never writes annotations")

		By("rollback: back to Audit, held and Degraded; generation 2 enforced again; generation 3's revision pruned")
		step(time.Second)
		annotate(ns, "web", rollout.AnnotationRollback, token())
		p = waitNP(ns, "web", inPhase(audit))
		Expect(p.Status.EnforcedGeneration).To(Equal(int64(2)))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionDegraded, isTrue, rollout.ReasonRolledBack))
		Expect(p.Status.Controls.HeldGeneration).To(Equal(int64(3)))
		eventually(func() []any { return toAny(events(ns, "web")) }).Should(haveEvent(corev1.EventTypeWarning, rollout.ReasonRolledBack, "Rollback"))
		eventually(func(g Gomega) {
			_, err := reconcileNP(ns, "web")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(revisionGenerations(ns, p.UID)).To(ConsistOf(int64(2)))
		}).Should(Succeed())
	})

	It("holds a quiet policy while a pause request stands, and promotes it after resume", func() {
		ns := newNamespace()
		createPolicy(makePolicy(ns, "web", withAnnotation(rollout.AnnotationPause, token())))
		p := waitNP(ns, "web", inPhase(audit))
		Expect(p.Status.Controls.Paused).To(BeTrue())

		step(61 * time.Second)
		writeReport("node-a", echo(p, v1alpha1.FlowCounts{Allowed: 1}))
		// Paused from the start, so wait for the report to be read too (Ready).
		p, res := reconcileUntil(ns, "web", func(g Gomega, p *v1alpha1.NetworkPolicy) {
			withReason(v1alpha1.ConditionProgressing, rollout.ReasonPaused)(g, p)
			g.Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionReady, isTrue, rollout.ReasonProgrammed), "paused and programmed is Ready")
		})
		Expect(p.Status.Phase).To(Equal(audit))
		Expect(res).To(Equal(ctrl.Result{}), "paused: nothing is due")

		step(time.Second)
		annotate(ns, "web", rollout.AnnotationResume, token())
		p = waitNP(ns, "web", inPhase(staged))
		Expect(p.Status.Controls.Paused).To(BeFalse())
		Expect(p.Generation).To(Equal(int64(1)))
	})

	It("never promotes an invalid candidate, even on request", func() {
		ns := newNamespace()
		// No admission webhook runs here, so the API server stores what validation would refuse.
		createPolicy(makePolicy(ns, "web", func(p *v1alpha1.NetworkPolicy) { p.Spec.Selector = "app == 'web" }))
		p := waitNP(ns, "web", inPhase(audit))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionValid, isFalse, rollout.ReasonInvalid))
		Expect(p.Status.Conditions).To(haveCondition(v1alpha1.ConditionStalled, isTrue, rollout.ReasonInvalid))
		step(time.Second)
		annotate(ns, "web", rollout.AnnotationPromote, token())
		p = waitNP(ns, "web", func(g Gomega, p *v1alpha1.NetworkPolicy) { g.Expect(p.Status.Controls.Promote).NotTo(BeEmpty()) })
		Expect(p.Status.Phase).To(Equal(audit))
		Expect(p.Status.EnforcedGeneration).To(BeZero())
	})

	It("reconciles 200 policies", func() {
		ns := newNamespace()
		const n = 200
		for i := range n {
			createPolicy(makePolicy(ns, fmt.Sprintf("p-%03d", i)))
		}
		Eventually(func(g Gomega) {
			var l v1alpha1.NetworkPolicyList
			g.Expect(env.client.List(ctx, &l, client.InNamespace(ns))).To(Succeed())
			g.Expect(l.Items).To(HaveLen(n))
			for _, p := range l.Items {
				g.Expect(p.Status.ObservedGeneration).To(Equal(int64(1)), p.Name)
				g.Expect(p.Status.Phase).To(Equal(audit), p.Name)
			}
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
	})
})

var _ = Describe("the GlobalNetworkPolicy rollout controller", func() {
	It("enforces an Immediate policy at once and keeps its revision in the operator's namespace, owned by the policy", func() {
		g := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("all-%d", GinkgoRandomSeed()%1000)}}
		g.Spec.Selector = "all()"
		g.Spec.Rollout = &v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutImmediate}
		Expect(env.client.Create(ctx, g)).To(Succeed())
		eventually(func(gm Gomega) {
			gm.Expect(env.client.Get(ctx, client.ObjectKeyFromObject(g), g)).To(Succeed())
			gm.Expect(g.Status.Phase).To(Equal(enforced))
			gm.Expect(g.Status.EnforcedGeneration).To(Equal(int64(1)))
		}).Should(Succeed())
		Expect(g.Status.Conditions).To(haveCondition(v1alpha1.ConditionProgressing, isFalse, rollout.ReasonEnforced))

		var revs []appsv1.ControllerRevision
		eventually(func() []appsv1.ControllerRevision { revs = revisions(operatorNamespace, g.UID); return revs }).Should(HaveLen(1))
		Expect(revs[0].OwnerReferences).To(ConsistOf(And(
			HaveField("Kind", "GlobalNetworkPolicy"), HaveField("UID", g.UID), HaveField("Controller", HaveValue(BeTrue())),
		)))

		By("deleting the policy: nothing more is decided; the garbage collector (not running in envtest) removes the revisions it owns")
		Expect(env.client.Delete(ctx, g)).To(Succeed())
		eventually(func(gm Gomega) {
			res, err := env.reconcilers.GlobalNetworkPolicy.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(g)})
			gm.Expect(err).NotTo(HaveOccurred())
			gm.Expect(res).To(Equal(ctrl.Result{}))
		}).Should(Succeed())
		Expect(revisions(operatorNamespace, g.UID)).To(HaveLen(1), "no revision made after deletion")
	})
})

func toAny[T any](s []T) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}
