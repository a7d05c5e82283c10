package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// flowDesc is the flow as the user asked for it, for the text header.
type flowDesc struct {
	From, To endpointArg
	Src, Dst string // addresses used
	What     string // "TCP port 80", "ICMP type 8 code 0"
}

// writeTraceText renders a verdict in the spirit of `cilium policy trace`:
// each side's visited policies in evaluation order, then the deciding step,
// then the final verdict.
func writeTraceText(w io.Writer, fd flowDesc, v *engine.Verdict) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Tracing %s -> %s, %s\n", fd.From, fd.To, fd.What)
	writeSide(&b, "Egress", "from", fd.From, &v.Egress)
	writeSide(&b, "Ingress", "to", fd.To, &v.Ingress)
	b.WriteString("\nFinal verdict: ")
	switch {
	case v.Allowed:
		b.WriteString("ALLOWED\n")
	case !v.Egress.Allowed && !v.Ingress.Allowed:
		b.WriteString("DENIED (by egress and by ingress)\n")
	case !v.Egress.Allowed:
		b.WriteString("DENIED (by egress)\n")
	default:
		b.WriteString("DENIED (by ingress)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSide(b *strings.Builder, dir, prep string, ep endpointArg, t *engine.DirectionTrace) {
	lower := strings.ToLower(dir)
	if t.Endpoint == nil {
		fmt.Fprintf(b, "\n%s %s %s:\n", dir, prep, ep.IP)
		fmt.Fprintf(b, "  %s is not a pod of the manifests: no %s policy applies\n", ep.IP, lower)
		fmt.Fprintf(b, "  => %s allowed: %s\n", dir, decisionText(lower, t))
		return
	}
	fmt.Fprintf(b, "\n%s %s %s:\n", dir, prep, refText(*t.Endpoint))
	if len(t.Policies) == 0 && t.Decision.Reason != reasonSelfTraffic {
		fmt.Fprintf(b, "  no policy selects %s for %s\n", refText(*t.Endpoint), lower)
	}
	for i, p := range t.Policies {
		fmt.Fprintf(b, "  %d. %s (tier %s, %s): %s\n", i+1, policyName(p.Policy), quote(p.Tier), orderText(p.Order), outcomeText(lower, &p))
	}
	verdict := "denied"
	if t.Allowed {
		verdict = "allowed"
	}
	fmt.Fprintf(b, "  => %s %s: %s\n", dir, verdict, decisionText(lower, t))
}

// policyName renders a policy key as the kind and namespace/name a user
// would pass to kubectl.
func policyName(k engine.PolicyKey) string {
	if k.Namespace == "" {
		return string(k.Kind) + " " + quote(k.Name)
	}
	return string(k.Kind) + " " + quote(k.Namespace) + "/" + quote(k.Name)
}

func orderText(o *float64) string {
	if o == nil {
		return "no order"
	}
	return "order " + strconv.FormatFloat(*o, 'g', -1, 64)
}

func outcomeText(dir string, p *engine.PolicyTrace) string {
	var s string
	switch p.Outcome {
	case engine.OutcomeNoRuleMatched:
		s = "no " + dir + " rule matched, next policy"
	case engine.OutcomeInvalid:
		s = "invalid, fails closed (Deny)"
		if p.Error != "" {
			s += ": " + escapeControl(clip(p.Error))
		}
	default:
		s = fmt.Sprintf("%s rule %s matched: %s", dir, ruleIndex(p.RuleIndex), p.Outcome)
		if p.Outcome == engine.OutcomePass {
			s += " (skip to the next tier)"
		}
	}
	if len(p.LogRules) > 0 {
		var idx []string
		for _, i := range p.LogRules {
			idx = append(idx, strconv.Itoa(i))
		}
		s += " (Log rules matched before: " + strings.Join(idx, ", ") + ")"
	}
	return s
}

func ruleIndex(i *int) string {
	if i == nil {
		return "?"
	}
	return strconv.Itoa(*i)
}

func decisionText(dir string, t *engine.DirectionTrace) string {
	d := t.Decision
	switch d.Reason {
	case engine.ReasonNotAnEndpoint:
		return "the address belongs to no pod"
	case engine.ReasonNoPolicyApplies:
		return "no policy applies, so the namespace profile allows"
	case engine.ReasonRule:
		name := "?"
		if d.Policy != nil {
			name = policyName(*d.Policy)
		}
		return fmt.Sprintf("%s rule %s of %s (tier %s) says %s", dir, ruleIndex(d.RuleIndex), name, quote(d.Tier), d.Action)
	case engine.ReasonEndOfTierDeny:
		return fmt.Sprintf("policies of tier %s select this pod for %s and none allowed: end-of-tier Deny", quote(d.Tier), dir)
	case engine.ReasonPassedToProfile:
		return "every applicable tier passed, so the namespace profile allows"
	case reasonSelfTraffic:
		return "the pod reaches its own address: the packet stays inside its network namespace (loopback) and crosses no interface where policy applies"
	case engine.ReasonInvalidPolicy:
		name := "?"
		if d.Policy != nil {
			name = policyName(*d.Policy)
		}
		return fmt.Sprintf("%s (tier %s) is invalid and fails closed", name, quote(d.Tier))
	}
	return string(d.Reason)
}
