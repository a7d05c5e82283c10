package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
)

// Where each enforcer serves, inside its node's namespace.
const (
	enforcerHealthAddr  = "127.0.0.1:9808"
	enforcerMetricsAddr = "127.0.0.1:9809"
	// chainWritesMetric counts the chains an enforcer rewrote: it grows when a sync changed what is
	// programmed.
	chainWritesMetric = "palisade_enforcer_chain_writes_total"
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

// nodeReports counts the NodeReports in the cluster.
func nodeReports(ctx context.Context, l *lab.Lab) (int, error) {
	var list v1alpha1.NodeReportList
	if err := l.Client.List(ctx, &list); err != nil {
		return 0, fmt.Errorf("listing node reports: %w", err)
	}
	return len(list.Items), nil
}

// chainWrites sums the enforcers' chain-write counters, read from inside each node's namespace.
func chainWrites(ctx context.Context, l *lab.Lab) (float64, error) {
	var sum float64
	for _, n := range l.Plan.Nodes {
		ns, ok := l.NodeNS(n.Name)
		if !ok {
			return 0, fmt.Errorf("no namespace for node %s", n.Name)
		}
		hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return ns.DialContext(ctx, nil, network, addr)
			},
		}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+enforcerMetricsAddr+"/metrics", nil)
		if err != nil {
			return 0, fmt.Errorf("node %s's metrics: %w", n.Name, err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, fmt.Errorf("reading node %s's enforcer metrics: %w", n.Name, err)
		}
		v, found, err := chainWritesTotal(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return 0, fmt.Errorf("reading node %s's enforcer metrics: %w", n.Name, err)
		}
		if !found {
			return 0, fmt.Errorf("node %s's enforcer exports no %s", n.Name, chainWritesMetric)
		}
		sum += v
	}
	return sum, nil
}

// chainWritesTotal finds the unlabelled chainWritesMetric sample in Prometheus's text format.
func chainWritesTotal(r io.Reader) (float64, bool, error) {
	const name = chainWritesMetric
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", name, err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}

// waitProgrammed waits until the enforcers rewrote chains since the count before, then a little
// longer for the rest of the sync; false when nothing was rewritten within timeout.
func waitProgrammed(ctx context.Context, l *lab.Lab, before float64, timeout time.Duration) (bool, error) {
	ok, err := poll(ctx, 100*time.Millisecond, timeout, func() (bool, error) {
		now, err := chainWrites(ctx, l)
		return now > before, err
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
