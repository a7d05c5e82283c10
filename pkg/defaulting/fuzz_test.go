package defaulting

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// FuzzPolicySpec decodes arbitrary YAML or JSON into a spec and checks that defaulting never panics,
// fills what it owns, keeps every explicit value and is idempotent.
func FuzzPolicySpec(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"egress":[{"action":"Allow"}]}`,
		`{"ingress":[{}],"egress":[],"types":[]}`,
		`{"types":["Egress"],"tier":"x","rollout":{"strategy":"Immediate","paused":true}}`,
		`{"rollout":{"audit":{"minDuration":"0s"},"staged":{"canaryPercent":0,"maxDenials":-1},"rollback":{}}}`,
		"tier: default\nrollout:\n  staged: {minDuration: 1h}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec v1alpha1.PolicySpec
		if yaml.Unmarshal(data, &spec) != nil {
			return
		}
		orig := spec.DeepCopy()
		PolicySpec(&spec)
		checkFilled(t, &spec)
		checkKept(t, orig, &spec)
		once := spec.DeepCopy()
		PolicySpec(&spec)
		if !reflect.DeepEqual(once, &spec) {
			t.Fatalf("not idempotent:\nonce:  %+v\ntwice: %+v", once, &spec)
		}
	})
}

func checkFilled(t *testing.T, s *v1alpha1.PolicySpec) {
	t.Helper()
	r := s.Rollout
	if len(s.Types) == 0 || s.Tier == "" || r == nil || r.Strategy == "" || r.Audit == nil || r.Audit.MinDuration == nil ||
		r.Audit.MaxDenials == nil || r.Staged == nil || r.Staged.MinDuration == nil || r.Staged.MaxDenials == nil ||
		r.Staged.CanaryPercent == nil || r.Rollback == nil || r.Rollback.DeniedPerMinute == nil {
		t.Fatalf("not fully defaulted: %+v", s)
	}
}

// checkKept verifies that every value set before defaulting is unchanged after it.
func checkKept(t *testing.T, before, after *v1alpha1.PolicySpec) {
	t.Helper()
	if len(before.Types) > 0 && !reflect.DeepEqual(before.Types, after.Types) {
		t.Fatalf("types changed: %v -> %v", before.Types, after.Types)
	}
	if before.Tier != "" && before.Tier != after.Tier {
		t.Fatalf("tier changed: %q -> %q", before.Tier, after.Tier)
	}
	if !reflect.DeepEqual(before.Ingress, after.Ingress) || !reflect.DeepEqual(before.Egress, after.Egress) ||
		!reflect.DeepEqual(before.Order, after.Order) || before.Selector != after.Selector {
		t.Fatalf("rules, order or selector changed")
	}
	b, a := before.Rollout, after.Rollout
	if b == nil {
		return
	}
	if (b.Strategy != "" && b.Strategy != a.Strategy) || b.Paused != a.Paused {
		t.Fatalf("strategy or paused changed: %+v -> %+v", b, a)
	}
	if b.Audit != nil && !keptPhase(b.Audit, a.Audit) {
		t.Fatalf("audit changed: %+v -> %+v", b.Audit, a.Audit)
	}
	if b.Staged != nil && (!keptPhase(&b.Staged.PhaseSpec, &a.Staged.PhaseSpec) ||
		(b.Staged.CanaryPercent != nil && *b.Staged.CanaryPercent != *a.Staged.CanaryPercent)) {
		t.Fatalf("staged changed: %+v -> %+v", b.Staged, a.Staged)
	}
	if b.Rollback != nil && b.Rollback.DeniedPerMinute != nil && *b.Rollback.DeniedPerMinute != *a.Rollback.DeniedPerMinute {
		t.Fatalf("rollback changed: %+v -> %+v", b.Rollback, a.Rollback)
	}
}

func keptPhase(b, a *v1alpha1.PhaseSpec) bool {
	return (b.MinDuration == nil || *b.MinDuration == *a.MinDuration) && (b.MaxDenials == nil || *b.MaxDenials == *a.MaxDenials)
}
