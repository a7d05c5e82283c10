package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// measure probes the matrix's cells (every pod to every other pod on the port it serves), prints
// them and returns them. Only the cells are probed: an observing enforcer counts every connection
// a candidate would deny, and the demo's own traffic must not fill an evidence window.
func (d *demo) measure(ctx context.Context, prev []probe.Verdict) ([]probe.Verdict, error) {
	eps := map[string]probe.Endpoint{}
	for _, p := range d.l.Plan.Pods {
		ns, ok := d.l.PodNS(p.Ref)
		if !ok {
			return nil, fmt.Errorf("no namespace for pod %s", p.Ref)
		}
		eps[p.Ref] = probe.Endpoint{Ref: p.Ref, IP: p.IP, NS: ns}
	}
	var flows []probe.Flow
	for _, from := range d.cols {
		for _, to := range d.cols {
			if from.pod != to.pod {
				flows = append(flows, probe.Flow{From: eps[from.pod], To: eps[to.pod], Port: to.port})
			}
		}
	}
	fmt.Fprintf(d.n.out, "measuring with real packets: every pod to every other pod on the port it serves (a TCP connection echoed, a UDP datagram answered)\n")
	vs, err := probe.RunFlows(ctx, flows, probe.Options{})
	if err != nil {
		return nil, fmt.Errorf("measuring the matrix: %w", err)
	}
	d.n.matrix(d.cols, vs, prev)
	return vs, nil
}

// waitSynced waits until every enforcer has synced since before (their sync counts before a
// policy was applied), as a claim.
func (d *demo) waitSynced(ctx context.Context, before map[string]float64) error {
	const timeout = 20 * time.Second
	ok, err := waitProgrammed(ctx, d.rel.Enforcers, before, timeout)
	if err != nil {
		return err
	}
	d.n.claim(ok, "every enforcer has synced since it was applied", fmt.Sprintf("some did not sync within %v", timeout))
	return nil
}

// waitPhaseProgrammed waits, as a claim, until the progressive policy's Programmed condition says
// every node programmed what its status describes: after a promotion or a step back, node reports
// exist (they made it happen), so the enforcers say themselves when they are done.
func (d *demo) waitPhaseProgrammed(ctx context.Context) error {
	timeout := 3*d.o.ReportInterval + 5*time.Second
	var p *v1alpha1.NetworkPolicy
	ok, err := poll(ctx, 500*time.Millisecond, timeout, func() (bool, error) {
		var err error
		if p, err = getPolicy(ctx, d.l, progressivePolicy); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionProgrammed)
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == p.Generation, nil
	})
	if err != nil {
		return err
	}
	text := fmt.Sprintf("every node reports phase %s programmed", p.Status.Phase)
	otherwise := fmt.Sprintf("not within %v: %s", timeout, condition(p, v1alpha1.ConditionProgrammed))
	d.n.claim(ok, text, otherwise)
	return nil
}

// condition describes one of the policy's conditions.
func condition(p *v1alpha1.NetworkPolicy, typ string) string {
	c := meta.FindStatusCondition(p.Status.Conditions, typ)
	if c == nil {
		return "no " + typ + " condition"
	}
	return fmt.Sprintf("%s=%s, reason %s: %s", typ, c.Status, c.Reason, c.Message)
}

// flowClaim checks a flow's measured verdict.
func (d *demo) flowClaim(vs []probe.Verdict, f flow, allowed bool, why string) bool {
	got, ok := verdict(vs, f)
	word := map[bool]string{true: "passes", false: "is dropped"}
	text := fmt.Sprintf("%s %s (%s)", f, word[allowed], why)
	if !ok {
		return d.n.claim(false, text, "the flow was not measured")
	}
	return d.n.claim(got == allowed, text, "it "+word[got])
}

func (d *demo) before(ctx context.Context) error {
	d.n.section("Before any policy: every pod reaches every other")
	vs, err := d.measure(ctx, nil)
	if err != nil {
		return err
	}
	d.rep.Before = vs
	denied := 0
	for _, v := range vs {
		if !v.Allowed {
			denied++
		}
	}
	d.n.claim(denied == 0, fmt.Sprintf("all %d flows pass", len(vs)), fmt.Sprintf("%d are dropped", denied))
	return nil
}

func (d *demo) refuse(ctx context.Context) error {
	d.n.section("Admission refuses a broken policy, naming the field")
	d.n.say(invalidPolicy + ": a numeric port with no protocol.")
	out, code, err := d.n.run(ctx, d.kubectl, "apply", "-f", invalidPolicy) // kubectl runs in the repository
	if err != nil {
		return err
	}
	d.rep.Refused = out
	d.n.claim(code != 0 && strings.Contains(out, "is invalid") && strings.Contains(out, "spec.ingress[0].protocol"),
		"admission refused it, naming spec.ingress[0].protocol", fmt.Sprintf("exit status %d", code))
	return nil
}

// apply writes a policy, applies it with kubectl, and waits for the operator to decide its phase.
func (d *demo) apply(ctx context.Context, ref policyRef, obj map[string]any, phases ...v1alpha1.RolloutPhase) (*v1alpha1.NetworkPolicy, error) {
	path := filepath.Join(d.dir, ref.Name+".yaml")
	if err := writeObject(path, obj); err != nil {
		return nil, err
	}
	if !slices.Contains(d.applied, path) {
		d.applied = append(d.applied, path)
	}
	d.showChanges(path, ref, obj)
	if _, err := d.n.expect(ctx, 0, "kubectl applied "+ref.String(), d.kubectl, "apply", "-f", path); err != nil {
		return nil, err
	}
	p, ok, err := waitDecided(ctx, d.l, ref, 30*time.Second, phases...)
	if err != nil {
		return nil, err
	}
	d.n.claim(ok, fmt.Sprintf("the operator put generation %d of %s in phase %s", p.Generation, ref, phases[0]),
		fmt.Sprintf("after 30s: observed generation %d, phase %q; %s", p.Status.ObservedGeneration, p.Status.Phase, progressing(p)))
	if _, err := d.n.expect(ctx, 0, "kubectl lists the policies", d.kubectl, "get", "networkpolicies.policy.palisade.dev", "-A"); err != nil {
		return nil, err
	}
	return p, nil
}

// showChanges prints what the demo changed in the example's policy: its rollout, and its egress
// rules when they differ.
func (d *demo) showChanges(path string, ref policyRef, obj map[string]any) {
	spec, _ := obj["spec"].(map[string]any)
	orig, _ := d.sc.policies[ref]["spec"].(map[string]any)
	changed := map[string]any{"rollout": spec["rollout"]}
	if !reflect.DeepEqual(spec["egress"], orig["egress"]) {
		changed["egress"] = spec["egress"]
	}
	b, err := yaml.Marshal(map[string]any{"spec": changed})
	if err != nil {
		return
	}
	fmt.Fprintf(d.n.out, "%s is %s from %s/policy.yaml with:\n", path, ref, scenarioDir)
	d.n.indent(string(b))
}

// trace runs `kubectl palisade trace` of a flow on the lab's objects and the applied policies.
func (d *demo) trace(ctx context.Context, f flow, want int, what string) error {
	args := []string{"trace", "-f", d.workload}
	for _, p := range d.applied {
		args = append(args, "-f", p)
	}
	_, err := d.n.expect(ctx, want, what, d.kp, append(args, f.traceArgs()...)...)
	return err
}

func (d *demo) immediate(ctx context.Context) error {
	d.n.section("An Immediate policy is enforced at once")
	d.n.say(immediatePolicy.String()+" from "+scenarioDir+": only the api tier may reach the database, on 5432.",
		"Applied with spec.rollout.strategy: Immediate, it skips Audit and Staged.")
	obj, err := d.sc.policy(immediatePolicy, map[string]any{"strategy": "Immediate"})
	if err != nil {
		return err
	}
	before, err := syncs(ctx, d.rel.Enforcers)
	if err != nil {
		return err
	}
	p, err := d.apply(ctx, immediatePolicy, obj, v1alpha1.PhaseEnforced)
	if err != nil {
		return err
	}
	d.rep.ImmediatePhase = p.Status.Phase
	if err := d.waitSynced(ctx, before); err != nil {
		return err
	}
	if d.rep.Immediate, err = d.measure(ctx, d.rep.Before); err != nil {
		return err
	}
	d.flowClaim(d.rep.Immediate, workerToDatabase, false, "only tier=api may reach the database")
	d.flowClaim(d.rep.Immediate, webToDatabase, false, "only tier=api may reach the database")
	d.flowClaim(d.rep.Immediate, apiToDatabase, true, "the api tier is allowed")
	d.n.say("Why is the worker's connection dropped? trace walks the policies as the enforcer does:")
	return d.trace(ctx, workerToDatabase, 1, "trace says the flow is denied (exit 1)")
}

// progressiveRollout is the progressive policy's spec.rollout: short windows for the demo.
func (d *demo) progressiveRollout() map[string]any {
	w := d.o.Window.String()
	return map[string]any{
		"strategy": "Progressive",
		"audit":    map[string]any{"minDuration": w, "maxDenials": 0},
		"staged":   map[string]any{"minDuration": w, "maxDenials": 0, "canaryPercent": canaryPercent},
		// The matrix measured after promotion sends a few flows web-tier denies (about ten
		// connections): they must not step the new generation back during its watch, while the
		// burst of the step-back step (stepBackBurst a second) must.
		"rollback": map[string]any{"deniedPerMinute": deniedPerMinute},
	}
}

func (d *demo) audit(ctx context.Context) error {
	d.n.section("A Progressive policy starts in Audit: nothing is dropped because of it")
	d.n.say(progressivePolicy.String()+" from "+scenarioDir+": web takes connections from the ingress controller only",
		"and connects to the api and DNS only. Applied with strategy Progressive and "+d.o.Window.String()+" windows",
		"(spec.rollout.audit.minDuration and staged.minDuration; the default is 10m).")
	obj, err := d.sc.policy(progressivePolicy, d.progressiveRollout())
	if err != nil {
		return err
	}
	before, err := syncs(ctx, d.rel.Enforcers)
	if err != nil {
		return err
	}
	p, err := d.apply(ctx, progressivePolicy, obj, v1alpha1.PhaseAudit)
	if err != nil {
		return err
	}
	d.rep.AuditPhase = p.Status.Phase
	// The matrix below must be measured with the candidate programmed (in Audit: observed only).
	if err := d.waitSynced(ctx, before); err != nil {
		return err
	}
	if d.rep.Audit, err = d.measure(ctx, d.rep.Immediate); err != nil {
		return err
	}
	a := d.flowClaim(d.rep.Audit, webToWorker, true, "web-tier would deny it, but it is in Audit")
	b := d.flowClaim(d.rep.Audit, apiToWeb, true, "web-tier would deny it, but it is in Audit")
	if !a || !b {
		d.n.say("An enforcer that programs each policy by its phase only observes an Audit candidate;",
			"this palisade-enforcer enforced it as written.")
	}
	d.flowClaim(d.rep.Audit, workerToDatabase, false, "the Immediate policy still holds")
	d.n.say("What web-tier would do once enforced:")
	if err := d.trace(ctx, webToWorker, 1, "trace says web-tier would deny web -> worker:9100 (exit 1)"); err != nil {
		return err
	}
	return d.waitWouldDeny(ctx)
}

// waitWouldDeny waits for the operator to count the would-deny flows the matrix just sent.
func (d *demo) waitWouldDeny(ctx context.Context) error {
	d.n.say("The enforcers count what web-tier would deny and report it in NodeReports every "+d.o.ReportInterval.String()+"; the operator",
		"sums them into status.evidence (the Would-Deny column), and a window over its maxDenials (0) starts again.")
	var p *v1alpha1.NetworkPolicy
	var absent string
	start, lastSaid := time.Now(), time.Now()
	ok, err := poll(ctx, time.Second, 3*d.o.ReportInterval+5*time.Second, func() (bool, error) {
		var err error
		if p, err = getPolicy(ctx, d.l, progressivePolicy); err != nil {
			return false, err
		}
		if wouldDenySeen(p) {
			return true, nil
		}
		if time.Since(lastSaid) >= progressEvery {
			lastSaid = time.Now()
			reports, err := d.listReports(ctx)
			if err != nil {
				return false, err
			}
			fmt.Fprintf(d.n.out, "  %3.0fs: %s\n", time.Since(start).Seconds(), progressLine(time.Now(), p, d.o.Window, reports))
		}
		if absent, err = d.evidenceAbsent(ctx, p); err != nil || absent != "" {
			return false, cmp.Or(err, errStopWaiting)
		}
		return false, nil
	})
	if err != nil && !errors.Is(err, errStopWaiting) {
		return err
	}
	if ok {
		fmt.Fprintf(d.n.out, "web-tier as written would break traffic that flows today; the operator says: %s\n", progressing(p))
		if p.Status.Evidence != nil {
			for _, f := range p.Status.Evidence.TopFlows {
				fmt.Fprintf(d.n.out, "    would deny: %s -> %s %d/%s (%d connections)\n", f.Source, f.Destination, f.Port, f.Protocol, f.Count)
			}
		}
		_, err := d.n.expect(ctx, 0, "kubectl lists the policies", d.kubectl, "get", "networkpolicies.policy.palisade.dev", "-A")
		return err
	}
	fmt.Fprintf(d.n.out, "waited %v for the operator to count the flows above as would-deny: it did not (%s; %s)\n",
		time.Since(start).Round(time.Second), cmp.Or(absent, "the reports counted none"), progressing(p))
	return nil
}

func (d *demo) promote(ctx context.Context) error {
	d.n.section("Fix the policy and let it earn enforcement: Audit -> Staged -> Enforced")
	d.n.say("web scrapes the worker's metrics on 9100, which web-tier forgot: add an egress rule for it. The edit",
		"is a new generation, which starts over in Audit; with no would-deny traffic in a whole "+d.o.Window.String()+" window",
		"and every node's report covering it, the operator promotes it to Staged, enforced on the canary",
		"("+strconv.Itoa(canaryPercent)+"% of the pods it selects, chosen by a hash of their names: frontend/web is one),",
		"then, after another quiet window, to Enforced.")
	obj, err := d.sc.policy(progressivePolicy, d.progressiveRollout())
	if err != nil {
		return err
	}
	addEgressRule(obj, workerMetricsRule)
	if _, err := d.apply(ctx, progressivePolicy, obj, v1alpha1.PhaseAudit); err != nil {
		return err
	}
	for _, next := range []v1alpha1.RolloutPhase{v1alpha1.PhaseStaged, v1alpha1.PhaseEnforced} {
		reached, err := d.waitPhase(ctx, next, &d.rep.Promotion)
		if err != nil || !reached {
			return err
		}
		if _, err := d.n.expect(ctx, 0, "kubectl lists the policies", d.kubectl, "get", "networkpolicies.policy.palisade.dev", "-A"); err != nil {
			return err
		}
	}
	if err := d.waitPhaseProgrammed(ctx); err != nil {
		return err
	}
	if d.rep.Promoted, err = d.measure(ctx, d.rep.Audit); err != nil {
		return err
	}
	d.flowClaim(d.rep.Promoted, apiToWeb, false, "web-tier is enforced: web takes connections from the ingress controller only")
	d.flowClaim(d.rep.Promoted, ingressToWeb, true, "web-tier allows the ingress controller")
	d.flowClaim(d.rep.Promoted, webToWorker, true, "the fixed web-tier allows the worker's metrics")
	d.flowClaim(d.rep.Promoted, webToAPI, true, "web-tier allows the api")
	return nil
}

// waitPhase waits for the progressive policy to reach phase, printing progress. It returns false,
// having said what it waited for, when the timeout passes or no node reports exist long after
// the enforcers started (missing evidence never promotes).
func (d *demo) waitPhase(ctx context.Context, phase v1alpha1.RolloutPhase, out *Promotion) (bool, error) {
	start := time.Now()
	fmt.Fprintf(d.n.out, "waiting up to %v for phase %s (a %v window, then every node's report past its end; reports every %v)...\n",
		d.o.PromotionTimeout, phase, d.o.Window, d.o.ReportInterval)
	var p *v1alpha1.NetworkPolicy
	lastSaid := start
	giveUp := ""
	ok, err := poll(ctx, time.Second, d.o.PromotionTimeout, func() (bool, error) {
		var err error
		if p, err = getPolicy(ctx, d.l, progressivePolicy); err != nil {
			return false, err
		}
		out.Reached = p.Status.Phase
		if p.Status.Phase == phase {
			return true, nil
		}
		if giveUp, err = d.evidenceAbsent(ctx, p); err != nil || giveUp != "" {
			return false, cmp.Or(err, errStopWaiting)
		}
		if time.Since(lastSaid) >= progressEvery {
			lastSaid = time.Now()
			reports, err := d.listReports(ctx)
			if err != nil {
				return false, err
			}
			fmt.Fprintf(d.n.out, "  %3.0fs: %s\n", time.Since(start).Seconds(), progressLine(time.Now(), p, d.o.Window, reports))
		}
		return false, nil
	})
	if err != nil && !errors.Is(err, errStopWaiting) {
		return false, err
	}
	if ok {
		fmt.Fprintf(d.n.out, "promoted to %s after %v: %s\n", phase, time.Since(start).Round(time.Second), progressing(p))
		return true, nil
	}
	total, mentioning, err := nodeReports(ctx, d.l, progressivePolicy)
	if err != nil {
		return false, err
	}
	out.NodeReports = total
	if giveUp == "" {
		giveUp = fmt.Sprintf("waited %v; %d NodeReports exist, %d report on %s", d.o.PromotionTimeout, total, mentioning, progressivePolicy)
	}
	out.WaitedFor = fmt.Sprintf("phase %s of %s generation %d, which needs every node's NodeReport covering its %v evidence window (docs/rollout.md, rule 3): %s; the operator says: %s",
		phase, progressivePolicy, p.Generation, d.o.Window, giveUp, progressing(p))
	fmt.Fprintf(d.n.out, "NOT PROMOTED: the demo waited for %s.\n", out.WaitedFor)
	if mentioning == 0 {
		fmt.Fprintf(d.n.out, "No palisade-enforcer reports on %s, so the operator holds it in Audit: missing evidence never promotes.\n", progressivePolicy)
	}
	_, err = d.n.expect(ctx, 0, "kubectl lists the policies", d.kubectl, "get", "networkpolicies.policy.palisade.dev", "-A")
	return false, err
}

var errStopWaiting = errors.New("stop waiting")

// evidenceAbsent says why no evidence about the progressive policy can come, once the enforcers
// and the policy have been there three report intervals (an enforcer reports every policy it
// programs each interval): no NodeReport at all, or none that reports on the policy. Empty while
// evidence may still come.
func (d *demo) evidenceAbsent(ctx context.Context, p *v1alpha1.NetworkPolicy) (string, error) {
	if time.Since(d.started) < 3*d.o.ReportInterval || time.Since(p.CreationTimestamp.Time) < 3*d.o.ReportInterval {
		return "", nil
	}
	total, mentioning, err := nodeReports(ctx, d.l, progressivePolicy)
	switch {
	case err != nil:
		return "", err
	case total == 0:
		return fmt.Sprintf("no NodeReport exists %v after the enforcers started", time.Since(d.started).Round(time.Second)), nil
	case mentioning == 0:
		return fmt.Sprintf("%d NodeReports exist, none reports on %s %v after it was created", total, progressivePolicy, time.Since(p.CreationTimestamp.Time).Round(time.Second)), nil
	}
	return "", nil
}

// wouldDenySeen says whether the operator has seen would-deny flows of the policy's candidate: in
// the current window's counts, in the flows it shows, or in its decision to start the window
// again (a window over tolerance starts again as soon as a node reports it, so its count may be
// back to 0 when the status is read).
func wouldDenySeen(p *v1alpha1.NetworkPolicy) bool {
	if ev := p.Status.Evidence; ev != nil && (ev.WouldDeny > 0 || len(ev.TopFlows) > 0) {
		return true
	}
	c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionProgressing)
	return c != nil && c.Reason == rollout.ReasonDenials
}
