package clustercheck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// checkOf names the check a finding comes from, by its field.
func checkOf(w validation.Warning) string {
	switch {
	case w.Field == "spec.selector":
		return checkSelection
	case strings.Contains(w.Field, "ports"):
		return checkNamedPorts
	case w.Field == "spec.order":
		return checkTies
	case w.Field == "spec.types":
		return checkDNS
	}
	return "unknown " + w.Field
}

// budgetCluster and budgetPolicy give a finding in every check but the selection's.
var (
	budgetCluster = &cluster{pods: webOK, namespaces: []Namespace{shop}, nps: []*v1alpha1.NetworkPolicy{np("shop", "rival", order(5))}}
	budgetPolicy  = np("shop", "p", order(5), types(v1alpha1.PolicyTypeIngress, v1alpha1.PolicyTypeEgress),
		ingress(rule(v1alpha1.Allow, proto("TCP"), dst(ports("metrics")))))
)

// TestBudgetCutsShort: with any budget too small for the whole check, the result is a CutShortError
// naming the checks that finished, in order, with exactly their findings; a budget large enough
// gives every finding and no error.
func TestBudgetCutsShort(t *testing.T) {
	full, err := (&Checker{Lister: budgetCluster}).NetworkPolicy(ctx, budgetPolicy)
	if err != nil || len(full) != 3 {
		t.Fatalf("unbounded: %v, %v; want a named-port, a tie and a DNS finding", full, err)
	}
	order := []string{checkSelection, checkNamedPorts, checkTies, checkDNS}
	completed := false
	for maxWork := 1; maxWork < 100 && !completed; maxWork++ {
		got, err := (&Checker{Lister: budgetCluster, MaxWork: maxWork}).NetworkPolicy(ctx, budgetPolicy)
		var cut *CutShortError
		switch {
		case err == nil:
			if diff := cmp.Diff(full, got); diff != "" {
				t.Errorf("MaxWork %d completed with other findings (-full +got):\n%s", maxWork, diff)
			}
			completed = true
		case errors.As(err, &cut):
			if !errors.Is(err, ErrWorkBudget) {
				t.Errorf("MaxWork %d: cause %v; want ErrWorkBudget", maxWork, cut.Cause)
			}
			if !slices.Equal(cut.Done, order[:len(cut.Done)]) {
				t.Errorf("MaxWork %d: done %v; want a prefix of %v", maxWork, cut.Done, order)
			}
			var want []validation.Warning
			for _, w := range full {
				if slices.Contains(cut.Done, checkOf(w)) {
					want = append(want, w)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("MaxWork %d, done %v (-want +got):\n%s", maxWork, cut.Done, diff)
			}
		default:
			t.Fatalf("MaxWork %d: %v", maxWork, err)
		}
	}
	if !completed {
		t.Error("no budget under 100 units completed the check")
	}
}

// TestCancelledContextCutsShort: a check whose context is done does nothing and says so, whatever
// the Lister answers then.
func TestCancelledContextCutsShort(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for name, cl := range map[string]*cluster{"view readable": budgetCluster, "view failing": {err: errList}} {
		got, err := (&Checker{Lister: cl}).NetworkPolicy(cancelled, budgetPolicy)
		var cut *CutShortError
		if !errors.As(err, &cut) || !errors.Is(err, context.Canceled) || len(cut.Done) != 0 || got != nil {
			t.Errorf("%s: %v, %v; want a CutShortError for context.Canceled with nothing done", name, got, err)
		}
	}
}

// minWork returns the smallest budget with which the check of p completes.
func minWork(t *testing.T, cl *cluster, p *v1alpha1.GlobalNetworkPolicy) int {
	t.Helper()
	lo, hi := 1, 1<<24
	for lo < hi {
		mid := (lo + hi) / 2
		if _, err := (&Checker{Lister: cl, MaxWork: mid}).GlobalNetworkPolicy(ctx, p); err == nil {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// TestPeerSelectionsAreMemoised: rules that share a peer selector share its work, so 256 named-port
// rules over one selector cost what one does, where 256 distinct selectors cost a pass over the pods
// each.
func TestPeerSelectionsAreMemoised(t *testing.T) {
	var pods []Pod
	for i := range 200 {
		pods = append(pods, pod(fmt.Sprintf("ns-%d", i%10), fmt.Sprintf("p-%d", i), map[string]string{"app": fmt.Sprintf("svc-%d", i%4)}, tcp("http", 80)))
	}
	cl := &cluster{pods: pods}
	policy := func(rules int, distinct bool) *v1alpha1.GlobalNetworkPolicy {
		var rs []v1alpha1.Rule
		for i := range rules {
			s := "app == 'svc-1'"
			if distinct {
				s = fmt.Sprintf("app == 'svc-%d'", i)
			}
			rs = append(rs, rule(v1alpha1.Allow, proto("TCP"), dst(entity(eSel(s), ports(fmt.Sprintf("port-%d", i))))))
		}
		return gnp("g", spec(types(v1alpha1.PolicyTypeEgress)), spec(egress(append(rs, allowDNS())...)))
	}
	one, shared, distinct := minWork(t, cl, policy(1, false)), minWork(t, cl, policy(256, false)), minWork(t, cl, policy(256, true))
	if shared != one {
		t.Errorf("256 rules over one selector cost %d units, one rule %d; want the same", shared, one)
	}
	if extra := distinct - one; extra < 255*len(pods) {
		t.Errorf("256 distinct selectors cost %d units more than one; want at least a pass over the %d pods for each of the 255 more", extra, len(pods))
	}
}
