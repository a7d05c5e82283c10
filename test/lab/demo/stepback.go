package demo

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

const (
	// canaryPercent is the progressive policy's staged.canaryPercent: frontend/web, the one pod
	// web-tier selects, is in a 75% canary (rollout.InCanary), so Staged enforces the candidate on
	// it (TestCanaryHoldsWeb).
	canaryPercent = 75
	// deniedPerMinute is the progressive policy's rollback.deniedPerMinute: above the ten to
	// twenty denied connections (a retry each) of one measured matrix within one 5s report
	// interval (at most 240/min), below the bursts of the step-back step.
	deniedPerMinute = 300
	// stepBackBurst is how many connections from web to the api the step-back step opens at once,
	// about every two seconds (each dropped one takes a one-second timeout, then a second's
	// pause): about 600 a minute, twice deniedPerMinute.
	stepBackBurst = 20
)

// stepBack tells how a bad edit steps back by itself. It needs a promotion to have happened (node
// reports exist); otherwise it says why it is skipped.
func (d *demo) stepBack(ctx context.Context) error {
	d.n.section("A bad edit steps back by itself")
	if d.rep.Promoted == nil {
		d.n.say("Skipped: stepping back is decided on the denials the enforcers report, and the promotion above",
			"did not happen for want of node reports.")
		return nil
	}
	d.n.say("Someone tidies web-tier and drops its egress rule to the api. Nobody calls the api during the "+d.o.Window.String(),
		"audit window (the traffic that matters is often rare: a nightly job, a failover), so the window is quiet",
		"and the edit is promoted to Staged. Then web calls the api: on the canary the connections are dropped,",
		fmt.Sprintf("and when the enforcers report more than %d denials a minute the operator steps the generation", deniedPerMinute),
		"back to Audit by itself and enforces the last good generation again.")
	obj, err := d.sc.policy(progressivePolicy, d.progressiveRollout())
	if err != nil {
		return err
	}
	addEgressRule(obj, workerMetricsRule)
	removeEgressRule(obj, 0) // the rule allowing web to the api
	p, err := d.apply(ctx, progressivePolicy, obj, v1alpha1.PhaseAudit)
	if err != nil {
		return err
	}
	good := p.Status.EnforcedGeneration
	if reached, err := d.waitPhase(ctx, v1alpha1.PhaseStaged, &d.rep.BadEdit); err != nil || !reached {
		return err
	}
	if _, err := d.n.expect(ctx, 0, "kubectl lists the policies", d.kubectl, "get", "networkpolicies.policy.palisade.dev", "-A"); err != nil {
		return err
	}
	if p, err = d.callAPIUntilSteppedBack(ctx); err != nil {
		return err
	}
	d.rep.SteppedBack = steppedBack(p)
	if !d.n.claim(d.rep.SteppedBack, "the operator stepped generation "+fmt.Sprint(p.Generation)+" back to Audit by itself",
		fmt.Sprintf("phase %s; %s", p.Status.Phase, progressing(p))) {
		return nil
	}
	fmt.Fprintln(d.n.out, condition(p, v1alpha1.ConditionDegraded))
	d.n.claim(p.Status.EnforcedGeneration == good, fmt.Sprintf("generation %d, the last good one, is enforced again", good),
		fmt.Sprintf("status.enforcedGeneration is %d", p.Status.EnforcedGeneration))
	if _, err := d.n.expect(ctx, 0, "kubectl lists the policies", d.kubectl, "get", "networkpolicies.policy.palisade.dev", "-A"); err != nil {
		return err
	}
	if err := d.waitPhaseProgrammed(ctx); err != nil {
		return err
	}
	if d.rep.AfterStepBack, err = d.measure(ctx, d.rep.Promoted); err != nil {
		return err
	}
	d.flowClaim(d.rep.AfterStepBack, webToAPI, true, fmt.Sprintf("generation %d allows web to the api again", good))
	d.flowClaim(d.rep.AfterStepBack, apiToWeb, false, fmt.Sprintf("generation %d still holds", good))
	return nil
}

// callAPIUntilSteppedBack opens stepBackBurst connections a second from web to the api until
// the progressive policy steps back or four report intervals pass, and returns the policy as
// last read.
func (d *demo) callAPIUntilSteppedBack(ctx context.Context) (*v1alpha1.NetworkPolicy, error) {
	from, ok1 := d.endpoint(webToAPI.From)
	to, ok2 := d.endpoint(webToAPI.To)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("no endpoints for %s", webToAPI)
	}
	flows := make([]probe.Flow, stepBackBurst)
	for i := range flows {
		flows[i] = probe.Flow{From: from, To: to, Port: webToAPI.Port}
	}
	fmt.Fprintf(d.n.out, "web calls the api: %d connections at a time to %s:%s\n", stepBackBurst, webToAPI.To, webToAPI.Port)
	start, lastSaid := time.Now(), time.Now()
	sent, dropped := 0, 0
	var p *v1alpha1.NetworkPolicy
	_, err := poll(ctx, time.Second, 4*d.o.ReportInterval, func() (bool, error) {
		vs, err := probe.RunFlows(ctx, flows, probe.Options{Retries: -1, Timeout: time.Second})
		if err != nil {
			return false, err
		}
		for _, v := range vs {
			sent++
			if !v.Allowed {
				dropped++
			}
		}
		if p, err = getPolicy(ctx, d.l, progressivePolicy); err != nil {
			return false, err
		}
		if time.Since(lastSaid) >= 5*time.Second {
			lastSaid = time.Now()
			fmt.Fprintf(d.n.out, "  %3.0fs: %d connections, %d dropped; phase %s; %s\n", time.Since(start).Seconds(), sent, dropped, p.Status.Phase, progressing(p))
		}
		return steppedBack(p), nil
	})
	fmt.Fprintf(d.n.out, "after %v: %d connections, %d dropped\n", time.Since(start).Round(time.Second), sent, dropped)
	if err == nil {
		d.n.claim(dropped > 0, "web's connections to the api are dropped: generation 3 is enforced on the canary, web among it",
			fmt.Sprintf("none of %d was", sent))
	}
	return p, err
}

// steppedBack says whether the policy's current generation stepped back to Audit.
func steppedBack(p *v1alpha1.NetworkPolicy) bool {
	c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionDegraded)
	return p.Status.Phase == v1alpha1.PhaseAudit && c != nil && c.Status == metav1.ConditionTrue && c.Reason == rollout.ReasonSteppedBack
}

// endpoint is the probe endpoint of a pod.
func (d *demo) endpoint(ref string) (probe.Endpoint, bool) {
	for _, p := range d.l.Plan.Pods {
		if p.Ref == ref {
			ns, ok := d.l.PodNS(ref)
			return probe.Endpoint{Ref: ref, IP: p.IP, NS: ns}, ok
		}
	}
	return probe.Endpoint{}, false
}
