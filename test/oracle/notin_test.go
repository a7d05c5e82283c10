package oracle

import (
	"math/rand"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestExpandNotInMatchesUpstream checks the NotIn workaround: for random
// selectors and label sets, "some expanded selector matches under cyclonus"
// must equal "the original matches under apimachinery's implementation".
// It also pins the cyclonus deviation itself, so that the workaround is
// removed if a future cyclonus fixes it.
func TestExpandNotInMatchesUpstream(t *testing.T) {
	notIn := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"web"}},
	}}
	if kube.IsLabelsMatchLabelSelector(map[string]string{}, notIn) {
		t.Fatalf("cyclonus now matches NotIn on an absent key like upstream: drop expandNotIn")
	}
	r := rand.New(rand.NewSource(1))
	g := &generator{r: r}
	for i := 0; i < 5000; i++ {
		sel := g.selector(podLabelSpace)
		up, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatalf("generator produced an invalid selector %v: %v", sel, err)
		}
		lbls := map[string]string{}
		for _, k := range podLabelSpace.keys {
			if g.chance(0.6) {
				lbls[k] = g.pick(podLabelSpace.values[k])
			}
		}
		want := up.Matches(labels.Set(lbls))
		got := false
		for _, s := range expandSelector(sel) {
			got = got || kube.IsLabelsMatchLabelSelector(lbls, s)
		}
		if got != want {
			t.Fatalf("selector %+v on labels %v: expanded (cyclonus) %v, upstream %v", sel, lbls, got, want)
		}
	}
}
