package webhookintegration

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/webhooks/policy"
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

var _ = Describe("Defaults filled in by the API server", Serial, Ordered, func() {
	var ns string
	BeforeAll(func() { ns = createNamespace("defaults-in-apiserver", nil) })

	It("register no mutating webhook and call only validation", func() {
		mutations := env.server.callsTo(policy.MutateNetworkPolicyPath) + env.server.callsTo(policy.MutateGlobalNetworkPolicyPath)
		validations := env.server.callsTo(policy.ValidateNetworkPolicyPath) + env.server.callsTo(policy.ValidateGlobalNetworkPolicyPath)
		np := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-mutating-call"}}
		np.Spec.Egress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		Expect(env.client.Create(ctx, np)).To(Succeed())
		gnp := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "no-mutating-call"}}
		gnp.Spec.Selector = "app == 'defaults-only'"
		gnp.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
		Expect(env.client.Create(ctx, gnp)).To(Succeed())
		Expect(np.Spec.Types).To(Equal([]v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}))
		Expect(gnp.Spec.Rollout).NotTo(BeNil())
		Expect(env.server.callsTo(policy.MutateNetworkPolicyPath) + env.server.callsTo(policy.MutateGlobalNetworkPolicyPath)).To(Equal(mutations))
		Expect(env.server.callsTo(policy.ValidateNetworkPolicyPath) + env.server.callsTo(policy.ValidateGlobalNetworkPolicyPath)).To(Equal(validations + 2))
	})

	// An explicit empty string is not absent, so no schema default replaces it: the admission
	// policy fills it as pkg/defaulting does, and without the admission policy the mutating
	// webhook's matchCondition lets it through to the webhook, which fills it the same way.
	DescribeTable("fill an explicit empty tier or strategy",
		func(a admission, name string, field []string, want func(*v1alpha1.NetworkPolicy) string, wantValue string) {
			Expect(env.use(a)).To(Succeed())
			DeferCleanup(func() { Expect(env.use(asInstalled)).To(Succeed()) })
			mutations := env.server.callsTo(policy.MutateNetworkPolicyPath)
			p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
			p.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow}}
			u := toUnstructured(p)
			Expect(unstructured.SetNestedField(u.Object, "", field...)).To(Succeed())
			Expect(env.client.Create(ctx, u)).To(Succeed())
			wantCalls := mutations
			if a.mutating {
				wantCalls++
			}
			Expect(env.server.callsTo(policy.MutateNetworkPolicyPath)).To(Equal(wantCalls))
			got := &v1alpha1.NetworkPolicy{}
			Expect(env.client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			Expect(want(got)).To(Equal(wantValue))
		},
		Entry("an empty tier, in the API server", asInstalled, "empty-tier", []string{"spec", "tier"},
			func(p *v1alpha1.NetworkPolicy) string { return p.Spec.Tier }, v1alpha1.DefaultTier),
		Entry("an empty rollout strategy, in the API server", asInstalled, "empty-strategy", []string{"spec", "rollout", "strategy"},
			func(p *v1alpha1.NetworkPolicy) string { return string(p.Spec.Rollout.Strategy) }, string(defaulting.DefaultStrategy)),
		Entry("an empty tier, by the mutating webhook", webhookDefaulting, "empty-tier-webhook", []string{"spec", "tier"},
			func(p *v1alpha1.NetworkPolicy) string { return p.Spec.Tier }, v1alpha1.DefaultTier),
		Entry("an empty rollout strategy, by the mutating webhook", webhookDefaulting, "empty-strategy-webhook", []string{"spec", "rollout", "strategy"},
			func(p *v1alpha1.NetworkPolicy) string { return string(p.Spec.Rollout.Strategy) }, string(defaulting.DefaultStrategy)),
	)

	It("default a policy written without a spec, without the mutating webhook", func() {
		mutations := env.server.callsTo(policy.MutateNetworkPolicyPath)
		u := toUnstructured(&v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-spec"}})
		unstructured.RemoveNestedField(u.Object, "spec")
		unstructured.RemoveNestedField(u.Object, "status")
		Expect(env.client.Create(ctx, u)).To(Succeed())
		Expect(env.server.callsTo(policy.MutateNetworkPolicyPath)).To(Equal(mutations))
		got := &v1alpha1.NetworkPolicy{}
		Expect(env.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "no-spec"}, got)).To(Succeed())
		want := &v1alpha1.NetworkPolicy{}
		defaulting.NetworkPolicy(want)
		Expect(got.Spec).To(Equal(want.Spec))
	})

	It("store what the mutating webhook stores on a cluster without the admission policy, for every example", func() {
		set, err := manifest.Load(exampleDirs(), nil)
		Expect(err).NotTo(HaveOccurred())
		// Every example as written, and again with types left out: the examples spell types out,
		// and what the API server makes of a missing one is what this compares.
		var objs []client.Object
		var typesUnset int64
		for _, e := range set.NetworkPolicies {
			p := e.Object.DeepCopy()
			p.Namespace = ns
			objs = append(objs, withAndWithoutTypes(p)...)
			typesUnset++
		}
		for _, e := range set.GlobalNetworkPolicies {
			objs = append(objs, withAndWithoutTypes(e.Object.DeepCopy())...)
			typesUnset++
		}
		Expect(len(set.NetworkPolicies)).To(BeNumerically(">=", 5), "the examples hold few NetworkPolicies")
		Expect(set.GlobalNetworkPolicies).NotTo(BeEmpty())

		// admitted dry-run creates each object and returns the specs the API server would store,
		// with what pkg/defaulting makes of each as the expectation.
		admitted := func() (got, want []any) {
			GinkgoHelper()
			for _, o := range objs {
				o := o.DeepCopyObject().(client.Object)
				switch p := o.(type) {
				case *v1alpha1.NetworkPolicy:
					w := p.DeepCopy()
					defaulting.NetworkPolicy(w)
					want = append(want, w.Spec)
				case *v1alpha1.GlobalNetworkPolicy:
					w := p.DeepCopy()
					defaulting.GlobalNetworkPolicy(w)
					want = append(want, w.Spec)
				}
				Expect(env.client.Create(ctx, o, client.DryRunAll)).To(Succeed(), "%s", o.GetName())
				switch p := o.(type) {
				case *v1alpha1.NetworkPolicy:
					got = append(got, p.Spec)
				case *v1alpha1.GlobalNetworkPolicy:
					got = append(got, p.Spec)
				}
			}
			return got, want
		}
		mutating := func() int64 {
			return env.server.callsTo(policy.MutateNetworkPolicyPath) + env.server.callsTo(policy.MutateGlobalNetworkPolicyPath)
		}

		before := mutating()
		inAPIServer, want := admitted()
		Expect(mutating()).To(Equal(before), "the API server left defaults to the webhook")
		Expect(inAPIServer).To(Equal(want))
		// The corpus reaches every outcome of the types default.
		outcomes := map[string]bool{}
		for _, w := range want {
			switch spec := w.(type) {
			case v1alpha1.NetworkPolicySpec:
				outcomes[fmt.Sprint(spec.Types)] = true
			case v1alpha1.GlobalNetworkPolicySpec:
				outcomes[fmt.Sprint(spec.Types)] = true
			}
		}
		Expect(outcomes).To(HaveKey("[Ingress]"))
		Expect(outcomes).To(HaveKey("[Egress]"))
		Expect(outcomes).To(HaveKey("[Ingress Egress]"))

		Expect(env.use(webhookDefaulting)).To(Succeed())
		DeferCleanup(func() { Expect(env.use(asInstalled)).To(Succeed()) })
		before = mutating()
		byWebhook, _ := admitted()
		Expect(mutating()).To(Equal(before+typesUnset), "without the admission policy, the objects that leave types out need the mutating webhook")
		Expect(byWebhook).To(Equal(inAPIServer))
	})
})

// withAndWithoutTypes returns the policy o as written and, when it spells types out, a copy named
// <name>-no-types that leaves them out.
func withAndWithoutTypes(o client.Object) []client.Object {
	if len(policySpec(o).Types) == 0 {
		return []client.Object{o}
	}
	bare := o.DeepCopyObject().(client.Object)
	bare.SetName(o.GetName() + "-no-types")
	policySpec(bare).Types = nil
	return []client.Object{o, bare}
}

// policySpec is the spec a NetworkPolicy and a GlobalNetworkPolicy share.
func policySpec(o client.Object) *v1alpha1.PolicySpec {
	switch p := o.(type) {
	case *v1alpha1.NetworkPolicy:
		return &p.Spec.PolicySpec
	case *v1alpha1.GlobalNetworkPolicy:
		return &p.Spec.PolicySpec
	}
	panic(fmt.Sprintf("not a Palisade policy: %T", o))
}

// exampleDirs are the examples/ directories of valid policies.
func exampleDirs() []string {
	GinkgoHelper()
	entries, err := os.ReadDir(filepath.Join(repoRoot, "examples"))
	Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, e := range entries {
		// invalid holds refused variants; calico holds projectcalico.org manifests.
		if e.IsDir() && e.Name() != "invalid" && e.Name() != "calico" {
			out = append(out, filepath.Join(repoRoot, "examples", e.Name()))
		}
	}
	return out
}

func toUnstructured(obj client.Object) *unstructured.Unstructured {
	GinkgoHelper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(v1alpha1.GroupVersion.String())
	u.SetKind(reflect.TypeOf(obj).Elem().Name())
	return u
}

var _ = Describe("Namespaces needed to repair a cluster", func() {
	It("are left alone by the policy webhooks, and still get the API server's defaults", func() {
		validations := env.server.callsTo(policy.ValidateNetworkPolicyPath)
		p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "not-admitted-by-palisade"}}
		// Lower-case "tcp" is refused by the validating webhook everywhere it runs.
		p.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("tcp"))}}
		Expect(env.client.Create(ctx, p)).To(Succeed(), "the validating webhook ran in kube-system")
		Expect(env.server.callsTo(policy.ValidateNetworkPolicyPath)).To(Equal(validations))
		got := &v1alpha1.NetworkPolicy{}
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		// The schema defaults and the admission policy run inside the API server, so they cannot
		// be what is down, and apply here too.
		Expect(got.Spec.Tier).To(Equal(v1alpha1.DefaultTier))
		Expect(got.Spec.Types).To(Equal([]v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}))
	})
})
