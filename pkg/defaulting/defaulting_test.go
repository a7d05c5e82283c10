package defaulting

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

type specTweak func(*v1alpha1.PolicySpec)

// makeSpec builds a spec with the tweaks applied; makeNP and makeGNP wrap it in objects.
func makeSpec(tweaks ...specTweak) v1alpha1.PolicySpec {
	var s v1alpha1.PolicySpec
	for _, t := range tweaks {
		t(&s)
	}
	return s
}

func makeNP(name, ns string, tweaks ...specTweak) *v1alpha1.NetworkPolicy {
	return &v1alpha1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       v1alpha1.NetworkPolicySpec{PolicySpec: makeSpec(tweaks...)},
	}
}

func withIngress(n int) specTweak {
	return func(s *v1alpha1.PolicySpec) { s.Ingress = make([]v1alpha1.Rule, n) }
}
func withEgress(n int) specTweak {
	return func(s *v1alpha1.PolicySpec) { s.Egress = make([]v1alpha1.Rule, n) }
}
func withTypes(ts ...v1alpha1.PolicyType) specTweak {
	return func(s *v1alpha1.PolicySpec) { s.Types = ts }
}
func withTier(t string) specTweak { return func(s *v1alpha1.PolicySpec) { s.Tier = t } }
func withRollout(r *v1alpha1.RolloutSpec) specTweak {
	return func(s *v1alpha1.PolicySpec) { s.Rollout = r }
}

const (
	ing = v1alpha1.PolicyTypeIngress
	eg  = v1alpha1.PolicyTypeEgress
)

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// defaultRollout is the fully filled rollout written out by hand, so that a change of any default is
// a visible change of this test.
func defaultRollout() *v1alpha1.RolloutSpec {
	return &v1alpha1.RolloutSpec{
		Strategy: v1alpha1.RolloutProgressive,
		Audit:    &v1alpha1.PhaseSpec{MinDuration: dur(10 * time.Minute), MaxDenials: ptr.To[int64](0)},
		Staged: &v1alpha1.StagedPhaseSpec{
			PhaseSpec:     v1alpha1.PhaseSpec{MinDuration: dur(10 * time.Minute), MaxDenials: ptr.To[int64](0)},
			CanaryPercent: ptr.To[int32](10),
		},
		Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To[int64](10)},
	}
}

// rolloutWith returns the default rollout changed by fn, for expectations.
func rolloutWith(fn func(*v1alpha1.RolloutSpec)) *v1alpha1.RolloutSpec {
	r := defaultRollout()
	fn(r)
	return r
}

func TestPolicySpec(t *testing.T) {
	cases := []struct {
		name string
		in   v1alpha1.PolicySpec
		want v1alpha1.PolicySpec
	}{
		// types (docs/semantics.md §2 table, Go len(rules) > 0 semantics).
		{name: "no rules", in: makeSpec(),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(defaultRollout()))},
		{name: "ingress only", in: makeSpec(withIngress(2)),
			want: makeSpec(withIngress(2), withTypes(ing), withTier("default"), withRollout(defaultRollout()))},
		{name: "egress only", in: makeSpec(withEgress(1)),
			want: makeSpec(withEgress(1), withTypes(eg), withTier("default"), withRollout(defaultRollout()))},
		{name: "both", in: makeSpec(withIngress(1), withEgress(3)),
			want: makeSpec(withIngress(1), withEgress(3), withTypes(ing, eg), withTier("default"), withRollout(defaultRollout()))},
		{name: "explicit empty egress counts as absent", in: makeSpec(withIngress(1), withEgress(0)),
			want: makeSpec(withIngress(1), withEgress(0), withTypes(ing), withTier("default"), withRollout(defaultRollout()))},
		{name: "explicit empty types are defaulted", in: makeSpec(withEgress(1), withTypes()),
			want: makeSpec(withEgress(1), withTypes(eg), withTier("default"), withRollout(defaultRollout()))},
		{name: "explicit types disagreeing with rules are kept", in: makeSpec(withIngress(1), withTypes(eg)),
			want: makeSpec(withIngress(1), withTypes(eg), withTier("default"), withRollout(defaultRollout()))},
		{name: "explicit types order kept", in: makeSpec(withTypes(eg, ing)),
			want: makeSpec(withTypes(eg, ing), withTier("default"), withRollout(defaultRollout()))},
		{name: "invalid types are not defaulting's business", in: makeSpec(withTypes("Sideways")),
			want: makeSpec(withTypes("Sideways"), withTier("default"), withRollout(defaultRollout()))},
		// tier.
		{name: "tier default kept", in: makeSpec(withTier("default")),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(defaultRollout()))},
		{name: "other tier kept (validation rejects it)", in: makeSpec(withTier("security")),
			want: makeSpec(withTypes(ing), withTier("security"), withRollout(defaultRollout()))},
		// rollout.
		{name: "empty rollout filled", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(defaultRollout()))},
		{name: "immediate kept, phases still filled", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutImmediate})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) {
				r.Strategy = v1alpha1.RolloutImmediate
			})))},
		{name: "paused kept", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Paused: true})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) { r.Paused = true })))},
		{name: "explicit zero duration kept", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Audit: &v1alpha1.PhaseSpec{MinDuration: dur(0)}})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) { r.Audit.MinDuration = dur(0) })))},
		{name: "partial audit filled", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Audit: &v1alpha1.PhaseSpec{MaxDenials: ptr.To[int64](3)}})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) { r.Audit.MaxDenials = ptr.To[int64](3) })))},
		{name: "partial staged filled", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Staged: &v1alpha1.StagedPhaseSpec{CanaryPercent: ptr.To[int32](50)}})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) { r.Staged.CanaryPercent = ptr.To[int32](50) })))},
		{name: "staged duration only", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Staged: &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: dur(time.Hour)}}})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) { r.Staged.MinDuration = dur(time.Hour) })))},
		{name: "rollback kept", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To[int64](1)}})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) { r.Rollback.DeniedPerMinute = ptr.To[int64](1) })))},
		{name: "empty rollback filled", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Rollback: &v1alpha1.RollbackSpec{}})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(defaultRollout()))},
		{name: "invalid values kept", in: makeSpec(withRollout(&v1alpha1.RolloutSpec{Strategy: "Fast", Staged: &v1alpha1.StagedPhaseSpec{CanaryPercent: ptr.To[int32](0)}})),
			want: makeSpec(withTypes(ing), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) {
				r.Strategy = "Fast"
				r.Staged.CanaryPercent = ptr.To[int32](0)
			})))},
		{name: "fully set untouched", in: makeSpec(withTypes(eg), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) {
			r.Strategy, r.Audit.MinDuration, r.Staged.MaxDenials = v1alpha1.RolloutImmediate, dur(time.Second), ptr.To[int64](7)
		}))), want: makeSpec(withTypes(eg), withTier("default"), withRollout(rolloutWith(func(r *v1alpha1.RolloutSpec) {
			r.Strategy, r.Audit.MinDuration, r.Staged.MaxDenials = v1alpha1.RolloutImmediate, dur(time.Second), ptr.To[int64](7)
		})))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := *tc.in.DeepCopy()
			PolicySpec(&got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("PolicySpec:\n got: %+v\nwant: %+v", got, tc.want)
			}
			// Idempotent: defaulting the result again changes nothing.
			again := *got.DeepCopy()
			PolicySpec(&again)
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("second PolicySpec changed the spec:\nonce:  %+v\ntwice: %+v", got, again)
			}
		})
	}
}

func TestObjects(t *testing.T) {
	np := makeNP("web", "prod", withEgress(1))
	NetworkPolicy(np)
	want := makeNP("web", "prod", withEgress(1), withTypes(eg), withTier("default"), withRollout(defaultRollout()))
	if !reflect.DeepEqual(np, want) {
		t.Errorf("NetworkPolicy:\n got: %+v\nwant: %+v", np, want)
	}

	gnp := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "g"}}
	gnp.Spec.PreDNAT, gnp.Spec.ApplyOnForward, gnp.Spec.NamespaceSelector = true, true, "a == 'b'"
	gnp.Spec.Ingress = make([]v1alpha1.Rule, 1)
	GlobalNetworkPolicy(gnp)
	wantG := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "g"}}
	wantG.Spec.PolicySpec = makeSpec(withIngress(1), withTypes(ing), withTier("default"), withRollout(defaultRollout()))
	wantG.Spec.PreDNAT, wantG.Spec.ApplyOnForward, wantG.Spec.NamespaceSelector = true, true, "a == 'b'"
	if !reflect.DeepEqual(gnp, wantG) {
		t.Errorf("GlobalNetworkPolicy:\n got: %+v\nwant: %+v", gnp, wantG)
	}

	// nil inputs are left alone.
	NetworkPolicy(nil)
	GlobalNetworkPolicy(nil)
	PolicySpec(nil)
	Rollout(nil)
}

// TestNoSharedPointers: each defaulted object gets its own values, so that changing one stored
// object (or the planner mutating a copy) never changes another.
func TestNoSharedPointers(t *testing.T) {
	a, b := makeNP("a", "ns"), makeNP("b", "ns")
	NetworkPolicy(a)
	NetworkPolicy(b)
	*a.Spec.Rollout.Staged.CanaryPercent = 99
	*a.Spec.Rollout.Audit.MaxDenials = 99
	a.Spec.Rollout.Staged.MinDuration.Duration = time.Hour
	if *b.Spec.Rollout.Staged.CanaryPercent != DefaultCanaryPercent || *b.Spec.Rollout.Audit.MaxDenials != DefaultAuditMaxDenials ||
		b.Spec.Rollout.Staged.MinDuration.Duration != DefaultStagedMinDuration {
		t.Errorf("defaulted objects share values: %+v", b.Spec.Rollout)
	}
}

func TestPolicyTypes(t *testing.T) {
	spec := makeSpec(withTypes(eg))
	got := PolicyTypes(&spec)
	got[0] = ing
	if spec.Types[0] != eg {
		t.Error("PolicyTypes returned the spec's own slice")
	}
	if got := PolicyTypes(&v1alpha1.PolicySpec{Egress: make([]v1alpha1.Rule, 1), Ingress: make([]v1alpha1.Rule, 1)}); !reflect.DeepEqual(got, []v1alpha1.PolicyType{ing, eg}) {
		t.Errorf("PolicyTypes(both) = %v", got)
	}
}

// TestExportedDefaults pins the documented defaults (docs and the rollout planner refer to them).
func TestExportedDefaults(t *testing.T) {
	got := []any{DefaultStrategy, DefaultAuditMinDuration, DefaultAuditMaxDenials, DefaultStagedMinDuration,
		DefaultStagedMaxDenials, DefaultCanaryPercent, DefaultRollbackDeniedPerMinute}
	want := []any{v1alpha1.RolloutProgressive, 10 * time.Minute, int64(0), 10 * time.Minute, int64(0), int32(10), int64(10)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %v, want %v", got, want)
	}
	r := &v1alpha1.RolloutSpec{}
	Rollout(r)
	if !reflect.DeepEqual(r, defaultRollout()) {
		t.Errorf("Rollout(empty) = %+v", r)
	}
}
