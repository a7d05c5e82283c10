package observe

import (
	"cmp"
	"net/netip"
	"time"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// Evaluator is the part of *engine.Engine the observer uses.
type Evaluator interface {
	EvaluateBothInto(c *engine.Comparison, f engine.Flow) error
	EvaluateInto(v *engine.Verdict, f engine.Flow, ch engine.Chooser) error
}

// Generations maps a policy's stored slot to its metadata.generation. The engine's traces name
// the slot (enforced or candidate) that decided; the daemon knows which generation it put in
// each slot. ok=false counts under generation 0.
type Generations interface {
	Generation(key engine.PolicyKey, slot engine.Slot) (gen int64, ok bool)
}

// GenerationsFunc adapts a function to Generations.
type GenerationsFunc func(key engine.PolicyKey, slot engine.Slot) (int64, bool)

// Generation calls f.
func (f GenerationsFunc) Generation(key engine.PolicyKey, slot engine.Slot) (int64, bool) {
	return f(key, slot)
}

// Limits bound the observer's memory and its Summary, whatever the traffic.
type Limits struct {
	// MaxPolicies is how many policies are counted; observations for further policies are
	// counted in Summary.PoliciesCut only (default 256).
	MaxPolicies int
	// MaxRules is how many (generation, direction, rule) counters a policy keeps per window;
	// further ones are counted in PolicySummary.RulesCut (default 32).
	MaxRules int
	// MaxFlows is how many would-deny and denied flows Summary returns per policy (default 20),
	// TrackedFlows how many are tracked per policy to choose them (default 4 x MaxFlows;
	// least-seen are evicted and counted).
	MaxFlows, TrackedFlows int
}

func (l Limits) withDefaults() Limits {
	if l.MaxPolicies <= 0 {
		l.MaxPolicies = 256
	}
	if l.MaxRules <= 0 {
		l.MaxRules = 32
	}
	if l.MaxFlows <= 0 {
		l.MaxFlows = 20
	}
	if l.TrackedFlows < l.MaxFlows {
		l.TrackedFlows = 4 * l.MaxFlows
	}
	return l
}

// Counts are flow counts for one policy generation; the fields match rollout.Counts.
type Counts struct {
	// WouldDeny: new connections the candidate would deny where the enforced generation allows.
	WouldDeny int64 `json:"wouldDeny"`
	// Denied: new connections the enforced generation denied.
	Denied int64 `json:"denied"`
	// Allowed: new connections the candidate allowed.
	Allowed int64 `json:"allowed"`
}

// GenerationCounts are the counts of one generation.
type GenerationCounts struct {
	Generation int64 `json:"generation"`
	Counts     `json:",inline"`
}

// RuleKey names the rule that decided: RuleEndOfTier when the tier's default action denied
// (or the policy was invalid and failed closed).
type RuleKey struct {
	Generation int64            `json:"generation"`
	Direction  engine.Direction `json:"direction"`
	Rule       int              `json:"rule"`
}

// RuleEndOfTier is the Rule of a denial no rule decided.
const RuleEndOfTier = -1

// RuleCounts are the counts attributed to one rule.
type RuleCounts struct {
	RuleKey `json:",inline"`
	Counts  `json:",inline"`
}

// Peer is one end of a flow: a pod when Name is set, else an address.
type Peer struct {
	Namespace string     `json:"namespace,omitempty"`
	Name      string     `json:"name,omitempty"`
	Addr      netip.Addr `json:"addr,omitzero"`
}

func (p Peer) compare(o Peer) int {
	return cmp.Or(cmp.Compare(p.Namespace, o.Namespace), cmp.Compare(p.Name, o.Name), p.Addr.Compare(o.Addr))
}

// FlowKey identifies a would-deny or denied flow: no source port, so the connections of one
// client to one service fold into one key.
type FlowKey struct {
	Policy     engine.PolicyKey `json:"policy"`
	Generation int64            `json:"generation"`
	// Verdict is VerdictWouldDeny or VerdictDenied.
	Verdict   Verdict          `json:"verdict"`
	Direction engine.Direction `json:"direction"`
	Rule      int              `json:"rule"`
	Src       Peer             `json:"src"`
	Dst       Peer             `json:"dst"`
	Protocol  uint8            `json:"protocol"`
	DstPort   uint16           `json:"dstPort,omitempty"`
}

func (k FlowKey) compare(o FlowKey) int {
	return cmp.Or(cmp.Compare(k.Policy.String(), o.Policy.String()), cmp.Compare(k.Generation, o.Generation), cmp.Compare(k.Verdict, o.Verdict),
		cmp.Compare(k.Direction, o.Direction), cmp.Compare(k.Rule, o.Rule),
		k.Src.compare(o.Src), k.Dst.compare(o.Dst), cmp.Compare(k.Protocol, o.Protocol), cmp.Compare(k.DstPort, o.DstPort))
}

// FlowSample is one kept would-deny or denied flow.
type FlowSample struct {
	FlowKey   `json:",inline"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// rank orders samples best first: more connections, then seen more recently, then by key, so
// the top N is the same whatever the arrival order of equal counts.
func (s *FlowSample) rank(o *FlowSample) int {
	return cmp.Or(cmp.Compare(o.Count, s.Count), o.LastSeen.Compare(s.LastSeen), s.compare(o.FlowKey))
}

// PolicySummary is what one node counted for one policy.
type PolicySummary struct {
	Policy engine.PolicyKey `json:"policy"`
	// WindowStart is the start of the current window (status.evidence.windowStart as last set);
	// Window its counts per generation, sorted.
	WindowStart time.Time          `json:"windowStart"`
	Window      []GenerationCounts `json:"window,omitempty"`
	// PreviousWindowStart and Previous are the window before the current one.
	PreviousWindowStart time.Time          `json:"previousWindowStart,omitzero"`
	Previous            []GenerationCounts `json:"previous,omitempty"`
	// Recent are the counts of the last complete report interval (see RollInterval).
	Recent []GenerationCounts `json:"recent,omitempty"`
	// Rules break the current window down by deciding rule, sorted; RulesCut counts the
	// attributions left out by Limits.MaxRules.
	Rules    []RuleCounts `json:"rules,omitempty"`
	RulesCut int64        `json:"rulesCut,omitempty"`
	// Flows are the current window's top would-deny and denied flows attributed to the policy,
	// best first; FlowsCut counts distinct flows evicted or not returned.
	Flows    []FlowSample `json:"flows,omitempty"`
	FlowsCut int64        `json:"flowsCut,omitempty"`
}

// WindowCounts returns the current window's counts of one generation (zero when none).
func (p *PolicySummary) WindowCounts(gen int64) Counts { return find(p.Window, gen) }

// RecentCounts returns the last complete interval's counts of one generation.
func (p *PolicySummary) RecentCounts(gen int64) Counts { return find(p.Recent, gen) }

func find(gs []GenerationCounts, gen int64) Counts {
	for _, g := range gs {
		if g.Generation == gen {
			return g.Counts
		}
	}
	return Counts{}
}

// Summary is a deep copy of the observer's state, bounded by Limits, ready to be copied into a
// node report.
type Summary struct {
	// Policies are sorted by policy key.
	Policies []PolicySummary `json:"policies,omitempty"`
	// PoliciesCut counts attributions to policies beyond Limits.MaxPolicies.
	PoliciesCut int64 `json:"policiesCut,omitempty"`
	// Unattributed counts denials no policy could be named for; Errors evaluation failures.
	Unattributed int64 `json:"unattributed,omitempty"`
	Errors       int64 `json:"errors,omitempty"`
}
