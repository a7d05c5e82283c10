package rollout

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden narratives in testdata/stories")

// TestStories plays every story exactly (no jitter) and compares its narrative, one line per
// decision, with testdata/stories/<name>.golden as a whole.
func TestStories(t *testing.T) {
	if len(stories) < 10 {
		t.Fatalf("only %d stories", len(stories))
	}
	for _, s := range stories {
		t.Run(s.name, func(t *testing.T) {
			obs := play(s, jitter{})
			checkInvariants(t, s, obs)
			var b strings.Builder
			fmt.Fprintf(&b, "# %s: nodes %s; audit and staged windows 5m, canary 50%%, step back above 10 denied/min\n",
				s.name, strings.Join(s.nodes, ","))
			for _, o := range obs {
				b.WriteString(o.line + "\n")
			}
			path := filepath.Join("testdata", "stories", s.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("narrative differs from %s (-want +got; rerun with -update if intended):\n%s", path, diff)
			}
		})
	}
}

// TestStoriesJittered reruns every story with seeded random event order within a step, report order,
// node order, report and decision timing (up to 20 s either side of the step) and extra resync
// decisions. What may change is
// when a transition happens (by a step); what must not:
//   - the sequence of (generation, phase, enforced generation) states the policy goes through, and
//     the final one, equal the exact run's;
//   - every invariant of checkInvariants holds at every decision.
func TestStoriesJittered(t *testing.T) {
	const seeds = 25
	for _, s := range stories {
		t.Run(s.name, func(t *testing.T) {
			want := transitions(play(s, jitter{}))
			for seed := int64(1); seed <= seeds; seed++ {
				obs := play(s, jitter{rng: rand.New(rand.NewSource(seed))})
				checkInvariants(t, s, obs)
				if got := transitions(obs); !slices.Equal(got, want) {
					t.Errorf("seed %d: states %v, want %v\n%s", seed, got, want, lines(obs))
				}
			}
		})
	}
}

func transitions(obs []observation) []string {
	var out []string
	for _, o := range obs {
		s := fmt.Sprintf("gen%d:%s:enf%d", o.in.Generation, o.phase, o.enforced)
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func lines(obs []observation) string {
	var b strings.Builder
	for _, o := range obs {
		b.WriteString(o.line + "\n")
	}
	return b.String()
}

// checkInvariants holds at every decision of every run, exact or jittered:
//  1. Enforced ⇔ the candidate is the enforced generation; in Audit and Staged it is not;
//  2. the enforced generation is 0 or one that went through Enforced before: a step back never
//     enforces a generation that did not earn it;
//  3. a promotion on evidence comes after the phase's minimum duration, with a fresh report covering
//     the window from every node, none stale or missing;
//  4. the result does not depend on the order of nodes and reports (reversed input, same result);
//  5. deciding again from the result at the same time decides nothing new (no double promotion);
//  6. the canary share is in status exactly while Staged;
//  7. Ready=True only when Programmed=True and not Degraded; Stalled and Reconciling never both;
//  8. each control request is acted on exactly once.
func checkInvariants(t *testing.T, s story, obs []observation) {
	t.Helper()
	earned := map[int64]bool{0: true}
	requests, acted := 0, 0
	for _, evs := range s.events {
		for _, e := range evs {
			if strings.HasPrefix(e.name, "request ") {
				requests++
			}
		}
	}
	for _, o := range obs {
		st, in, d := o.res.Status, o.in, o.res.Decision
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: %s", o.line, fmt.Sprintf(format, args...))
		}
		acted += len(d.Controls)
		if in.Deleting {
			if d.Action != ActionNone {
				fail("deleting, yet decided %s", d.Action)
			}
			continue
		}
		// 1.
		if (st.Phase == v1alpha1.PhaseEnforced) != (st.EnforcedGeneration == in.Generation) {
			fail("phase %s with generation %d enforced", st.Phase, st.EnforcedGeneration)
		}
		// 2.
		if st.Phase == v1alpha1.PhaseEnforced {
			earned[in.Generation] = true
		}
		if !earned[st.EnforcedGeneration] {
			fail("generation %d enforced without having been promoted", st.EnforcedGeneration)
		}
		// 3.
		if d.Action == ActionPromote && d.Reason == ReasonPromoted {
			ps := in.Status.PhaseSince.Time
			minDur := auditMin
			if in.Status.Phase == v1alpha1.PhaseStaged {
				minDur = stagedMin
			}
			if in.Now.Before(ps.Add(minDur)) {
				fail("promoted %s after %s in phase", in.Status.Phase, in.Now.Sub(ps))
			}
			v := viewNodes(in)
			if len(v.stale)+len(v.missing) > 0 || len(v.uncovered(in.Generation, in.Status.Phase, in.Status.Evidence.WindowStart.Time, in.Status.Evidence.WindowStart.Add(minDur))) > 0 {
				fail("promoted without full evidence: stale %v missing %v", v.stale, v.missing)
			}
		}
		// 4.
		rev := in
		rev.Nodes = slices.Clone(in.Nodes)
		slices.Reverse(rev.Nodes)
		rev.Reports = slices.Clone(in.Reports)
		slices.Reverse(rev.Reports)
		if diff := cmp.Diff(o.res, Plan(rev)); diff != "" {
			fail("result depends on input order:\n%s", diff)
		}
		// 5.
		again := in
		again.Status = *st.DeepCopy()
		r2 := Plan(again)
		if r2.Decision.Transition() || r2.Status.Phase != st.Phase || r2.Status.EnforcedGeneration != st.EnforcedGeneration || len(r2.Decision.Controls) > 0 {
			fail("deciding again decided %s %s→%s (%s)", r2.Decision.Action, r2.Decision.From, r2.Decision.To, r2.Decision.Reason)
		}
		// 6.
		if (st.Phase == v1alpha1.PhaseStaged) != (st.CanaryPercent != 0) {
			fail("canary share %d in %s", st.CanaryPercent, st.Phase)
		}
		// 7.
		if meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady) &&
			(!meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionProgrammed) || meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionDegraded)) {
			fail("Ready without being programmed, or while degraded")
		}
		if meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled) != nil && meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReconciling) != nil {
			fail("both Stalled and Reconciling")
		}
		for _, c := range st.Conditions {
			if c.ObservedGeneration != in.Generation || c.LastTransitionTime.After(in.Now) || c.Status == metav1.ConditionUnknown {
				fail("condition %s: observedGeneration %d, transition %s", c.Type, c.ObservedGeneration, c.LastTransitionTime)
			}
		}
	}
	// 8.
	if acted != requests {
		t.Errorf("%d control requests, acted on %d times", requests, acted)
	}
}
