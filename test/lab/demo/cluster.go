package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/chartrun"
)

const (
	// syncsSample counts an enforcer's successful syncs: each change of the policies it watches
	// triggers one.
	syncsSample = `palisade_enforcer_sync_duration_seconds_count{result="success"}`
)

// poll calls check every interval until it returns true, an error, or timeout passes (false, nil).
func poll(ctx context.Context, interval, timeout time.Duration, check func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := check()
		if err != nil || ok {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// getPolicy reads a NetworkPolicy.
func getPolicy(ctx context.Context, l *lab.Lab, ref policyRef) (*v1alpha1.NetworkPolicy, error) {
	p := &v1alpha1.NetworkPolicy{}
	if err := l.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, p); err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", ref, err)
	}
	return p, nil
}

// waitDecided waits until the operator has decided about the policy's current generation and
// its phase is one of phases; it returns the policy as last read and whether that happened.
func waitDecided(ctx context.Context, l *lab.Lab, ref policyRef, timeout time.Duration, phases ...v1alpha1.RolloutPhase) (*v1alpha1.NetworkPolicy, bool, error) {
	var p *v1alpha1.NetworkPolicy
	ok, err := poll(ctx, 200*time.Millisecond, timeout, func() (bool, error) {
		var err error
		if p, err = getPolicy(ctx, l, ref); err != nil {
			return false, err
		}
		return p.Status.ObservedGeneration == p.Generation && slices.Contains(phases, p.Status.Phase), nil
	})
	return p, ok, err
}

// progressing says what the operator's last decision was, from the Progressing condition.
func progressing(p *v1alpha1.NetworkPolicy) string {
	c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionProgressing)
	if c == nil {
		return "no Progressing condition yet"
	}
	return fmt.Sprintf("Progressing=%s, reason %s: %s", c.Status, c.Reason, c.Message)
}

// nodeReports counts the NodeReports in the cluster, and those that report on the policy.
func nodeReports(ctx context.Context, l *lab.Lab, ref policyRef) (total, mentioning int, err error) {
	var list v1alpha1.NodeReportList
	if err := l.Client.List(ctx, &list); err != nil {
		return 0, 0, fmt.Errorf("listing node reports: %w", err)
	}
	for _, r := range list.Items {
		if slices.ContainsFunc(r.Spec.Policies, func(p v1alpha1.PolicyReport) bool {
			return p.Kind == v1alpha1.KindNetworkPolicy && p.Namespace == ref.Namespace && p.Name == ref.Name
		}) {
			mentioning++
		}
	}
	return len(list.Items), mentioning, nil
}

// syncs reads each enforcer's count of successful syncs, from its metrics port inside its node's
// namespace, by node.
func syncs(ctx context.Context, enforcers []*chartrun.Pod) (map[string]float64, error) {
	out := map[string]float64{}
	for _, p := range enforcers {
		port, err := p.Port("http-metrics")
		if err != nil {
			return nil, err
		}
		code, body, err := p.Get(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			return nil, fmt.Errorf("reading node %s's enforcer metrics: %w", p.Node, err)
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("reading node %s's enforcer metrics: status %d", p.Node, code)
		}
		v, found, err := successfulSyncs(strings.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("reading node %s's enforcer metrics: %w", p.Node, err)
		}
		if !found {
			return nil, fmt.Errorf("node %s's enforcer exports no %s", p.Node, syncsSample)
		}
		out[p.Node] = v
	}
	return out, nil
}

// successfulSyncs finds the syncsSample sample in Prometheus's text format.
func successfulSyncs(r io.Reader) (float64, bool, error) {
	const series = syncsSample
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", series, err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}

// waitProgrammed waits until every enforcer has completed a sync since the counts before (taken
// before a change was applied), then a little longer: a change reaches the enforcers within
// milliseconds and they sync it within their --min-sync-interval (100ms), so a sync that ended
// before the change arrived is followed by one that holds it. False when some enforcer did not
// sync within timeout.
func waitProgrammed(ctx context.Context, enforcers []*chartrun.Pod, before map[string]float64, timeout time.Duration) (bool, error) {
	ok, err := poll(ctx, 100*time.Millisecond, timeout, func() (bool, error) {
		now, err := syncs(ctx, enforcers)
		if err != nil {
			return false, err
		}
		for node, n := range now {
			if n <= before[node] {
				return false, nil
			}
		}
		return true, nil
	})
	if ok {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return ok, err
}
