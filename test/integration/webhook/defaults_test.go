package webhookintegration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

var _ = Describe("Defaulting", func() {
	var ns string
	BeforeEach(func() { ns = createNamespace("defaults", nil) })

	It("stores every default explicitly, as pkg/defaulting computes it", func() {
		p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "minimal"}}
		p.Spec.Order = ptr.To(10.0)
		p.Spec.Egress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		want := p.DeepCopy()
		defaulting.NetworkPolicy(want)
		Expect(want.Spec.Types).To(Equal([]v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}))

		Expect(env.client.Create(ctx, p)).To(Succeed())
		got := &v1alpha1.NetworkPolicy{}
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Spec).To(Equal(want.Spec))
		Expect(got.Spec.Tier).To(Equal("default"))
		Expect(got.Spec.Rollout.Strategy).To(Equal(v1alpha1.RolloutProgressive))
	})

	It("defaults GlobalNetworkPolicies too", func() {
		p := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "defaults-gnp"}}
		p.Spec.Order = ptr.To(10.0)
		// Specs run in random order: this stored policy must not select the pods other specs
		// reason about (its egress Allow would give them a DNS path).
		p.Spec.Selector = "app == 'defaults-only'"
		p.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		p.Spec.Egress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		want := p.DeepCopy()
		defaulting.GlobalNetworkPolicy(want)
		Expect(env.client.Create(ctx, p)).To(Succeed())
		got := &v1alpha1.GlobalNetworkPolicy{}
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Spec).To(Equal(want.Spec))
		Expect(got.Spec.Types).To(Equal([]v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress}))
	})

	It("keeps explicit values", func() {
		p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "explicit"}}
		p.Spec.Order = ptr.To(10.0)
		p.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}
		p.Spec.Egress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		p.Spec.Rollout = &v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutImmediate, Staged: &v1alpha1.StagedPhaseSpec{CanaryPercent: ptr.To[int32](50)}}
		Expect(env.client.Create(ctx, p)).To(Succeed())
		got := &v1alpha1.NetworkPolicy{}
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Spec.Types).To(Equal([]v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}))
		Expect(got.Spec.Rollout.Strategy).To(Equal(v1alpha1.RolloutImmediate))
		Expect(*got.Spec.Rollout.Staged.CanaryPercent).To(Equal(int32(50)))
	})

	It("changes nothing when the read-back object is written again", func() {
		p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reapply-update"}}
		p.Spec.Order = ptr.To(10.0)
		p.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		Expect(env.client.Create(ctx, p)).To(Succeed())
		stored := &v1alpha1.NetworkPolicy{}
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(p), stored)).To(Succeed())
		again := stored.DeepCopy()
		Expect(env.client.Update(ctx, again)).To(Succeed())
		Expect(again.ResourceVersion).To(Equal(stored.ResourceVersion), "a no-op update bumped the resourceVersion")
		Expect(again.Generation).To(Equal(stored.Generation))
	})

	It("changes nothing when the same manifest is server-side applied again", func() {
		manifest := func() *unstructured.Unstructured {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "policy.palisade.dev/v1alpha1",
				"kind":       "NetworkPolicy",
				"metadata":   map[string]any{"name": "reapply-ssa", "namespace": ns},
				"spec": map[string]any{
					"order":    int64(10),
					"selector": "app == 'web'",
					"ingress":  []any{map[string]any{"action": "Allow", "protocol": "TCP", "destination": map[string]any{"ports": []any{int64(80)}}}},
				},
			}}
			return u
		}
		apply := func() *v1alpha1.NetworkPolicy {
			GinkgoHelper()
			Expect(env.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(manifest()), client.FieldOwner("test"), client.ForceOwnership)).To(Succeed())
			got := &v1alpha1.NetworkPolicy{}
			Expect(env.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "reapply-ssa"}, got)).To(Succeed())
			return got
		}
		first := apply()
		second := apply()
		Expect(second.ResourceVersion).To(Equal(first.ResourceVersion), "re-applying the same manifest changed the object")
		Expect(second.Spec).To(Equal(first.Spec))
		Expect(second.Spec.Types).To(Equal([]v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}))
	})
})

var _ = Describe("Namespaces needed to repair a cluster", func() {
	It("are left alone by the policy webhooks", func() {
		p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "not-admitted-by-palisade"}}
		p.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		Expect(env.client.Create(ctx, p)).To(Succeed())
		got := &v1alpha1.NetworkPolicy{}
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Spec.Tier).To(BeEmpty(), "the mutating webhook ran in kube-system")
		Expect(got.Spec.Types).To(BeEmpty())
	})
})
