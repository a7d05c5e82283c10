package engine

import (
	"encoding/json"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Verdict is the answer for one flow: allowed iff both the egress side (at the source pod) and the
// ingress side (at the destination pod) allow it. Its JSON form is stable:
//
//	{"allowed": bool, "egress": DirectionTrace, "ingress": DirectionTrace}
type Verdict struct {
	Allowed bool           `json:"allowed"`
	Egress  DirectionTrace `json:"egress"`
	Ingress DirectionTrace `json:"ingress"`
}

// Reason says what decided one direction.
type Reason string

const (
	// ReasonNotAnEndpoint: the address is not a known pod, so no policy applies on this side and
	// it allows.
	ReasonNotAnEndpoint Reason = "NotAnEndpoint"
	// ReasonNoPolicyApplies: no policy selecting the pod governs this direction, so the pod's
	// kns.<namespace> profile allows.
	ReasonNoPolicyApplies Reason = "NoPolicyApplies"
	// ReasonRule: an Allow or Deny rule decided.
	ReasonRule Reason = "Rule"
	// ReasonEndOfTierDeny: policies of a tier applied, none of their rules decided, and the
	// tier's default action is Deny.
	ReasonEndOfTierDeny Reason = "EndOfTierDeny"
	// ReasonPassedToProfile: every applicable tier passed (Pass rules or Pass tiers), so the
	// pod's profile allows.
	ReasonPassedToProfile Reason = "PassedToProfile"
	// ReasonInvalidPolicy: an invalid policy was reached; it fails closed and denies.
	ReasonInvalidPolicy Reason = "InvalidPolicy"
)

// Outcome is what one visited policy did with the flow.
type Outcome string

const (
	// OutcomeAllow, OutcomeDeny and OutcomePass: a rule with that action matched.
	OutcomeAllow Outcome = "Allow"
	OutcomeDeny  Outcome = "Deny"
	OutcomePass  Outcome = "Pass"
	// OutcomeNoRuleMatched: no non-Log rule matched; evaluation continued with the next policy.
	OutcomeNoRuleMatched Outcome = "NoRuleMatched"
	// OutcomeInvalid: the policy is invalid and failed closed (it denies).
	OutcomeInvalid Outcome = "Invalid"
)

// DirectionTrace explains one direction at one endpoint.
type DirectionTrace struct {
	// Endpoint is the pod whose policy was evaluated; nil when the address is not a known pod.
	Endpoint *EndpointRef `json:"endpoint"`
	Allowed  bool         `json:"allowed"`
	Decision Decision     `json:"decision"`
	// Policies are the policies visited, in evaluation order.
	Policies []PolicyTrace `json:"policies"`
}

// Decision is the deciding step of one direction.
type Decision struct {
	Reason Reason `json:"reason"`
	// Tier is the tier whose rule or end-of-tier action decided (Rule, EndOfTierDeny,
	// InvalidPolicy).
	Tier string `json:"tier,omitempty"`
	// Policy is the deciding policy (Rule, InvalidPolicy).
	Policy *PolicyKey `json:"policy,omitempty"`
	// RuleIndex is the index of the deciding rule in the policy's rule list for this direction,
	// as written in the object (for a Kubernetes NetworkPolicy: the index of the k8s rule).
	RuleIndex *int `json:"ruleIndex,omitempty"`
	// Action is the deciding rule's action (Rule only).
	Action v1alpha1.Action `json:"action,omitempty"`
}

// PolicyTrace is one visited policy.
type PolicyTrace struct {
	Policy PolicyKey `json:"policy"`
	Tier   string    `json:"tier"`
	// Order is nil for a policy without order (sorted as +Inf).
	Order *float64 `json:"order,omitempty"`
	// Generation is which stored generation was evaluated.
	Generation Slot    `json:"generation"`
	Outcome    Outcome `json:"outcome"`
	// RuleIndex is the index (as written) of the rule that produced Outcome; nil for
	// NoRuleMatched and Invalid.
	RuleIndex *int `json:"ruleIndex,omitempty"`
	// LogRules are the indices of the Log rules that matched before the outcome.
	LogRules []int `json:"logRules,omitempty"`
	// Error says why an invalid policy failed closed.
	Error string `json:"error,omitempty"`
}

// Comparison is the answer of EvaluateBoth.
type Comparison struct {
	Enforced  Verdict `json:"enforced"`
	Candidate Verdict `json:"candidate"`
}

// WouldDeny reports whether the candidate verdict denies a flow the enforced verdict allows.
func (c *Comparison) WouldDeny() bool { return c.Enforced.Allowed && !c.Candidate.Allowed }

// MarshalJSON writes "policies" as [] rather than null when no policy was visited.
func (t DirectionTrace) MarshalJSON() ([]byte, error) {
	type plain DirectionTrace
	if t.Policies == nil {
		t.Policies = []PolicyTrace{}
	}
	return json.Marshal(plain(t))
}

// reset prepares a trace for reuse, keeping slice capacity.
func (t *DirectionTrace) reset() {
	t.Endpoint = nil
	t.Allowed = false
	t.Decision = Decision{}
	t.Policies = t.Policies[:0]
}

// copyFrom deep-copies src into t, reusing t's capacity. Pointers into engine-owned immutable
// data (Order, RuleIndex, Policy) are shared.
func (t *DirectionTrace) copyFrom(src *DirectionTrace) {
	pols := append(t.Policies[:0], src.Policies...)
	for i := range pols {
		if pols[i].LogRules != nil {
			pols[i].LogRules = append([]int(nil), pols[i].LogRules...)
		}
	}
	*t = *src
	t.Policies = pols
}
