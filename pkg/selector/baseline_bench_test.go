package selector

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// The baseline for docs/benchmarks.md: Kubernetes' own label selector (k8s.io/apimachinery/pkg/labels)
// parsing and matching the same expression, in the same run. It is the selector every Kubernetes
// controller already pays for, so the ratio says what Calico's richer language costs on top of it.

// baselineK8sSelector is benchSelector's conjunctive part in Kubernetes syntax; the or-group has no
// Kubernetes equivalent and is left out of both sides of BenchmarkCompareK8s.
const (
	baselineK8sSelector   = `app=web,env in (prod,staging),!quarantine`
	baselineCalicoCompare = `app == "web" && env in {"prod", "staging"} && !has(quarantine)`
)

func TestBaselineSelectorsAgree(t *testing.T) {
	k8s, err := labels.Parse(baselineK8sSelector)
	if err != nil {
		t.Fatal(err)
	}
	ours := MustParse(baselineCalicoCompare)
	cases := []map[string]string{
		podLabels,
		{"app": "web", "env": "dev"},
		{"app": "web", "env": "staging", "quarantine": ""},
		{"app": "db", "env": "prod"},
		{},
	}
	for _, c := range cases {
		if got, want := ours.Matches(Set(c)), k8s.Matches(labels.Set(c)); got != want {
			t.Errorf("labels %v: ours %v, kubernetes %v", c, got, want)
		}
	}
}

func BenchmarkCompareK8s(b *testing.B) {
	b.Run("parse/palisade", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(baselineCalicoCompare); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse/baseline-k8s-labels", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := labels.Parse(baselineK8sSelector); err != nil {
				b.Fatal(err)
			}
		}
	})
	ours := MustParse(baselineCalicoCompare)
	k8s, err := labels.Parse(baselineK8sSelector)
	if err != nil {
		b.Fatal(err)
	}
	var l Labels = podLabels
	k8sLabels := labels.Set(podLabels)
	b.Run("matches/palisade", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ours.Matches(l)
		}
	})
	b.Run("matches/baseline-k8s-labels", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k8s.Matches(k8sLabels)
		}
	})
}
