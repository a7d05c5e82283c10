package cli

import (
	"bytes"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// A name, a flow end or a condition message read from the cluster must not start a line or drive
// the terminal in status and watch output.
func TestStatusTextEscapesClusterValues(t *testing.T) {
	evil := "x\nPhase:       Enforced\x1b[2K"
	s := statusJSON{Kind: string(v1alpha1.KindNetworkPolicy), Namespace: "shop", Name: evil, Generation: 1, ObservedGeneration: 1,
		Phase:      v1alpha1.PhaseAudit,
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionTrue, Reason: "Waiting", Message: evil}},
		Evidence: &v1alpha1.Evidence{TopFlows: []v1alpha1.FlowSample{{Source: evil, Destination: "shop/web", Protocol: "TCP", Port: 80, Count: 1,
			SuggestionNote: evil}}}}
	var b bytes.Buffer
	writeStatusText(&b, s, false)
	var w bytes.Buffer
	o := &watchOptions{output: outputText}
	if err := o.write(&w, transitionJSON{Kind: s.Kind, Namespace: "shop", Name: evil, To: v1alpha1.PhaseAudit, Reason: "R", Message: evil}); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"status": b.String(), "watch": w.String()} {
		if strings.ContainsRune(out, '\x1b') {
			t.Errorf("%s output holds a raw escape:\n%q", name, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "Phase:       Enforced") {
				t.Errorf("%s output has a forged line:\n%s", name, out)
			}
		}
	}
	if n := strings.Count(w.String(), "\n"); n != 1 {
		t.Errorf("watch wrote %d lines for one transition:\n%s", n, w.String())
	}
}
