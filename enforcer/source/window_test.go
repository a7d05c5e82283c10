package source

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func TestWindowStartsFollowStatusEvidence(t *testing.T) {
	w := newPhaseWorld(t, selecting("a", 1, v1alpha1.PolicyStatus{}))
	w.wait("Audit", 1)
	if got := w.src.WindowStarts(); len(got) != 0 {
		t.Fatalf("no evidence yet: want no window start, got %v", got)
	}
	start := metav1.NewTime(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	w.update(selecting("a", 1, v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, Evidence: &v1alpha1.Evidence{WindowStart: &start}}))
	eventually(t, func() bool { return w.src.WindowStarts()[polKey].Equal(start.Time) })
}
