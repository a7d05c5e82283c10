package rollout

import "testing"

func TestRevisionLabels(t *testing.T) {
	got := RevisionLabels("6f1c2d3e-0000-4000-8000-000000000001", 12)
	want := map[string]string{"policy.palisade.dev/policy-uid": "6f1c2d3e-0000-4000-8000-000000000001", "policy.palisade.dev/generation": "12"}
	if len(got) != len(want) || got[LabelPolicyUID] != want[LabelPolicyUID] || got[LabelGeneration] != want[LabelGeneration] {
		t.Errorf("RevisionLabels = %v, want %v", got, want)
	}
}
