package cli

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func TestProgress(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	minute := &metav1.Duration{Duration: time.Minute}
	progressive := &v1alpha1.RolloutSpec{Audit: &v1alpha1.PhaseSpec{MinDuration: minute},
		Staged: &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: minute}}}
	pol := func(st v1alpha1.PolicyStatus, r *v1alpha1.RolloutSpec) policy {
		st.ObservedGeneration = 2
		return policy{generation: 2, rollout: r, status: &st}
	}
	tests := []struct {
		name      string
		p         policy
		now       time.Duration
		text, bar string
	}{
		{"no status yet", policy{generation: 1, status: &v1alpha1.PolicyStatus{}}, 0,
			"waiting for the operator to decide on this generation", ""},
		{"Audit, window from the evidence", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, PhaseSince: at(0),
			Evidence: &v1alpha1.Evidence{WindowStart: at(30 * time.Second)}}, progressive), 45 * time.Second,
			"25% toward Staged (15s of 1m)", "[█████░░░░░░░░░░░░░░░] 25% toward Staged (15s of 1m)"},
		{"Audit with the API server's defaults: 10m", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, PhaseSince: at(0)}, nil),
			5 * time.Minute, "50% toward Staged (5m of 10m)", ""},
		{"Staged, window over", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseStaged, PhaseSince: at(0)}, progressive), 2 * time.Minute,
			"100% toward Enforced (1m of 1m): window over, promoted once every node's evidence covers it",
			"[████████████████████] 100% toward Enforced (1m of 1m): window over, promoted once every node's evidence covers it"},
		{"Enforced, watched", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseEnforced, PhaseSince: at(0)}, progressive), 6 * time.Second,
			"10% of the watch after promotion (6s of 1m): steps back if denials pass the threshold", ""},
		{"Enforced, done", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseEnforced, PhaseSince: at(0)}, progressive), time.Hour,
			"enforced", "enforced"},
		{"paused by request", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, PhaseSince: at(0),
			Controls: &v1alpha1.RolloutControls{Paused: true}}, progressive), 3 * time.Second,
			"5% toward Staged (3s of 1m), paused: it will not be promoted until resumed", ""},
		{"held", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, PhaseSince: at(0),
			Controls: &v1alpha1.RolloutControls{HeldGeneration: 2}}, progressive), 3 * time.Second,
			"held in Audit after a step back or rollback: promote it or edit the policy", ""},
		{"a clock behind the operator's", pol(v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, PhaseSince: at(time.Minute)}, progressive), 0,
			"0% toward Staged (0s of 1m)", "[░░░░░░░░░░░░░░░░░░░░] 0% toward Staged (0s of 1m)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr := progressOf(tc.p, t0.Add(tc.now))
			if got := pr.text(false); got != tc.text {
				t.Errorf("text = %q, want %q", got, tc.text)
			}
			if tc.bar != "" {
				if got := pr.text(true); got != tc.bar {
					t.Errorf("bar = %q, want %q", got, tc.bar)
				}
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 59 * time.Second: "59s", time.Minute: "1m", 200 * time.Second: "3m20s",
		time.Hour: "1h", 125 * time.Minute: "2h5m", 76 * time.Hour: "3d4h",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestParsePolicyRef(t *testing.T) {
	for in, want := range map[string]string{
		"web":                 "networkpolicy/shop/web",
		"pnp/web":             "networkpolicy/shop/web",
		"NetworkPolicies/web": "networkpolicy/shop/web",
		"gnp/deny":            "globalnetworkpolicy/deny",
		"globalnetworkpolicy.policy.palisade.dev/deny": "globalnetworkpolicy/deny",
		"deployment/web": "error",
		"pnp/":           "error",
		"pnp/a/b":        "error",
	} {
		r, err := parsePolicyRef(in, "shop")
		got := r.String()
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("parsePolicyRef(%q) = %q, want %q", in, got, want)
		}
	}
}
