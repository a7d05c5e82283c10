package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// Observation rules (docs/dataplane.md, "Observation"). They only copy packets to an NFLOG group:
// NFLOG continues with the next rule, so they never decide, and each one carries -m limit, so a busy
// node loses log lines, never packets.
//
//   - shadow: the first rule of an endpoint's chain for a direction in which some candidate selects
//     the endpoint without being enforced for it logs the chain's new connections, prefix
//     "SI|<namespace>/<pod>" or "SE|…";
//   - drop: every DROP an enforced policy decides is preceded by the same match logging to the group,
//     prefix "D" + I or E + the rule's index (a Deny rule) + "|" + the policy ID; no index for a
//     policy failing closed and for the end of a tier (the ID is then the tier's last policy for the
//     endpoint, the one the flow fell through).
//
// Prefixes longer than NFLOG's 63 bytes are shortened as LogPrefix does (kind letter, "#", a hash).

// Limit is an -m limit match: at most PerSecond packets a second on average, in bursts of Burst.
type Limit struct {
	PerSecond, Burst uint32
}

// maxLimitRate: xt_limit counts in 1/10000 s, so a rate above 10000/s cannot be expressed.
const maxLimitRate = 10000

func (l Limit) validate(what string) error {
	if l.PerSecond == 0 || l.PerSecond > maxLimitRate {
		return fmt.Errorf("render options: %s rate %d/s: want 1 to %d", what, l.PerSecond, maxLimitRate)
	}
	if l.Burst == 0 || l.Burst > maxLimitRate {
		return fmt.Errorf("render options: %s burst %d: want 1 to %d", what, l.Burst, maxLimitRate)
	}
	return nil
}

// render writes the limit as iptables-save prints it (the burst only when not the default 5).
func (l Limit) render() string {
	s := "-m limit --limit " + strconv.FormatUint(uint64(l.PerSecond), 10) + "/sec"
	if l.Burst != 5 {
		s += " --limit-burst " + strconv.FormatUint(uint64(l.Burst), 10)
	}
	return s
}

// Observation settings of Options.
type Observation struct {
	// Group is the NFLOG group of observation samples, separate from Log rules' group so that the
	// observer reads only its own. 0 renders no observation rule at all.
	Group uint16
	// Shadow limits the samples of new connections of shadowed endpoints, Drop the samples of
	// drops; each rule has its own bucket (per node, per rule).
	Shadow, Drop Limit
}

// The defaults (docs/dataplane.md explains the choice).
const (
	DefaultObserveGroup  = 2
	DefaultObserveRate   = 200
	DefaultObserveBurst  = 400
	DefaultDropLogRate   = 200
	DefaultDropLogBurst  = 400
	observeCommentPrefix = "Palisade observe: "
	// OfferedCommentPrefix starts the comment of the counter rule before each sample rule: the same
	// matches without the limit and without a target, so offered minus sampled packets are the
	// samples the limit skipped (the enforcer reads both counters). Same length as
	// observeCommentPrefix, so a comment cut to the kernel's limit still fits.
	OfferedCommentPrefix = "Palisade offered: "
)

// DefaultObservation is group 2, 200 samples a second in bursts of 400 for both kinds.
func DefaultObservation() Observation {
	return Observation{
		Group:  DefaultObserveGroup,
		Shadow: Limit{PerSecond: DefaultObserveRate, Burst: DefaultObserveBurst},
		Drop:   Limit{PerSecond: DefaultDropLogRate, Burst: DefaultDropLogBurst},
	}
}

func (o Observation) validate(logGroup uint16) error {
	if o.Group == 0 {
		return nil
	}
	if o.Group == logGroup {
		return fmt.Errorf("render options: observation NFLOG group %d is the Log rules' group", o.Group)
	}
	if err := o.Shadow.validate("shadow sample"); err != nil {
		return err
	}
	return o.Drop.validate("drop sample")
}

func dirLetter(dir engine.Direction) string {
	if dir == engine.Egress {
		return "E"
	}
	return "I"
}

// ShadowPrefix is the NFLOG prefix of an endpoint's shadow samples in one direction.
func ShadowPrefix(dir engine.Direction, ref engine.EndpointRef) string {
	head := "S" + dirLetter(dir) + "|"
	return shorten(head, ref.String())
}

// DropPrefix is the NFLOG prefix of the drops a policy decides: rule is the Deny rule's index as
// written, or -1 for a policy failing closed and for the end of a tier.
func DropPrefix(dir engine.Direction, id engine.PolicyID, rule int) string {
	head := "D" + dirLetter(dir)
	if rule >= 0 {
		head += strconv.Itoa(rule)
	}
	return shorten(head+"|", id.String())
}

// shorten returns head+id, or head+"#"+hash when that is longer than NFLOG allows.
func shorten(head, id string) string {
	if s := head + id; len(s) <= maxNFLogPrefix {
		return s
	}
	return hashName(head+"#", id)
}

// observing reports whether observation rules are rendered.
func (b *builder) observing() bool { return b.opts.Observe.Group != 0 }

// shadowRules are the first rules of an endpoint chain whose endpoint is shadowed in dir: the
// counter of new connections, then their limited sample.
func (b *builder) shadowRules(ep *engine.ModelEndpoint, dir engine.Direction) []Rule {
	if !b.observing() || len(ep.Shadowed(dir)) == 0 {
		return nil
	}
	o := b.opts.Observe
	comment := fmt.Sprintf("%s %s new connections, %d candidate(s) shadowed", ep.Ref, lowerDir(dir), len(ep.Shadowed(dir)))
	return sampled(M().CTState("NEW"), o.Shadow, NFLog{Group: o.Group, Prefix: ShadowPrefix(dir, ep.Ref), Observe: true}, comment)
}

// sampled returns the counter rule and the limited sample rule of match m.
func sampled(m Match, l Limit, log NFLog, comment string) []Rule {
	return []Rule{
		{Match: m, Action: Count{}, Comment: OfferedCommentPrefix + comment},
		{Match: m.limited(l), Action: log, Comment: observeCommentPrefix + comment},
	}
}

// logDrop returns the rules for a DROP on match m: the limited NFLOG first when observing.
func (b *builder) logDrop(m Match, prefix, comment string) []Rule {
	drop := Rule{Match: m, Action: Drop{}, Comment: comment}
	if !b.observing() {
		return []Rule{drop}
	}
	o := b.opts.Observe
	return append(sampled(m, o.Drop, NFLog{Group: o.Group, Prefix: prefix, Observe: true}, comment), drop)
}

func lowerDir(dir engine.Direction) string { return strings.ToLower(dir.String()) }

// limited returns m with an -m limit criterion (rendered last among the modules).
func (m Match) limited(l Limit) Match {
	m.limit = &l
	return m
}
