package oracle

import (
	"encoding/json"
	"flag"
	"math/rand"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/pkg/engine"
)

var (
	oracleSeed  = flag.Int64("oracle.seed", 20260801, "seed of the first random case; case i uses seed+i")
	oracleCases = flag.Int("oracle.cases", 1000, "number of random scenarios to compare (each is ~940 flows)")
)

// maxReported caps the mismatching flows printed for one scenario.
const maxReported = 12

// TestEngineAgreesWithCyclonus generates random scenarios and compares, for
// every flow of each, the engine's egress and ingress verdicts with
// cyclonus's. A failure prints the scenario as YAML, the seed that replays
// it, and the engine's trace of every mismatching flow.
func TestEngineAgreesWithCyclonus(t *testing.T) {
	var flows, allowed, egressDenied, ingressDenied int
	for i := 0; i < *oracleCases; i++ {
		seed := *oracleSeed + int64(i)
		s := Generate(rand.New(rand.NewSource(seed)))
		// Even seeds load the scenario in the plain order, odd ones with
		// churn (random interleaving, decoys, transient objects).
		var got *Palisade
		var loadLog []string
		var err error
		if seed%2 == 0 {
			got, err = NewPalisade(s)
		} else {
			got, loadLog, err = LoadChurned(s, rand.New(rand.NewSource(^seed)))
		}
		if err != nil {
			failScenario(t, seed, s, loadLog, "engine refused a valid scenario: "+err.Error())
			return
		}
		want := NewCyclonus(s)
		var report []string
		for _, f := range s.Flows() {
			w := want.Verdict(f)
			g, trace, err := got.Verdict(f)
			if err != nil {
				report = append(report, err.Error())
				continue
			}
			flows++
			if g.Allowed() {
				allowed++
			}
			if !g.Egress {
				egressDenied++
			}
			if !g.Ingress {
				ingressDenied++
			}
			if g != w {
				if len(report) < maxReported {
					tr, _ := json.Marshal(trace)
					report = append(report, "flow "+f.String()+"\n  cyclonus: "+w.String()+"\n  engine:   "+g.String()+"\n  engine trace: "+string(tr))
				} else if len(report) == maxReported {
					report = append(report, "(more mismatches not shown)")
				}
			}
		}
		if len(report) > 0 {
			failScenario(t, seed, s, loadLog, strings.Join(report, "\n"))
			return
		}
	}
	t.Logf("compared %d flows in %d scenarios (seeds %d..%d): %d allowed, %d denied by egress, %d denied by ingress",
		flows, *oracleCases, *oracleSeed, *oracleSeed+int64(*oracleCases)-1, allowed, egressDenied, ingressDenied)
	// A generator that never produces denials (or never allows) would make
	// the comparison vacuous.
	if *oracleCases >= 50 && (egressDenied < flows/50 || ingressDenied < flows/50 || allowed < flows/4) {
		t.Errorf("generator lost its spread: %d flows, %d allowed, %d egress-denied, %d ingress-denied", flows, allowed, egressDenied, ingressDenied)
	}
}

func failScenario(t *testing.T, seed int64, s *Scenario, loadLog []string, what string) {
	t.Helper()
	y, err := s.YAML()
	if err != nil {
		y = "(scenario not renderable: " + err.Error() + ")"
	}
	var conv []string
	for _, np := range s.Policies {
		spec, err := engine.KubernetesNetworkPolicySpec(np)
		b, _ := yaml.Marshal(spec)
		line := "# " + np.Namespace + "/" + np.Name + " as Calico:\n" + string(b)
		if err != nil {
			line += "# conversion error: " + err.Error() + "\n"
		}
		conv = append(conv, line)
	}
	order := "namespaces, pods, then policies"
	if loadLog != nil {
		order = "\n  " + strings.Join(loadLog, "\n  ")
	}
	t.Fatalf("engine and cyclonus disagree (replay: go test -run %s -oracle.seed=%d -oracle.cases=1)\n%s\n\nscenario:\n%s\nengine's Calico view of the policies:\n%s\nloaded into the engine in this order: %s",
		t.Name(), seed, what, y, strings.Join(conv, ""), order)
}
