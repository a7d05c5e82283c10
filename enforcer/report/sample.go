package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-dev/palisade/enforcer/nflog"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// Kind says why a packet was logged.
type Kind uint8

// Kinds of samples.
const (
	// KindShadow: the first packet of a new connection of a pod with a shadowed candidate.
	KindShadow Kind = iota + 1
	// KindDrop: a packet an enforced policy drops.
	KindDrop
)

// String returns "shadow" or "drop".
func (k Kind) String() string {
	switch k {
	case KindShadow:
		return "shadow"
	case KindDrop:
		return "drop"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ErrPrefix wraps every error of ParsePrefix.
var ErrPrefix = errors.New("not an observation prefix")

// Prefix is a parsed observation prefix.
type Prefix struct {
	Kind Kind
	// Direction is the side of the flow the rule is on: Ingress at the destination pod, Egress at
	// the source pod.
	Direction engine.Direction
	// Pod is the logged pod of a shadow sample; zero for a drop sample.
	Pod engine.EndpointRef
	// Policy is the policy ID of a drop sample as rendered (possibly hashed); empty for a shadow
	// sample.
	Policy string
}

// ParsePrefix parses "SI|<ns>/<pod>", "SE|<ns>/<pod>", "DI|<policy>", "DE|<policy>", and the drop
// prefixes of a Deny rule, which carry its index: "DI3|<policy>" (render.DropPrefix). Any other
// prefix (a Log rule's "LI0|...", garbage) is an error naming what is wrong.
func ParsePrefix(s string) (Prefix, error) {
	var p Prefix
	bar := strings.IndexByte(s, '|')
	if len(s) < 4 || bar < 2 || bar == len(s)-1 {
		return p, fmt.Errorf("%w: %q: want <S|D><I|E>|<subject>", ErrPrefix, s)
	}
	switch s[0] {
	case 'S':
		p.Kind = KindShadow
	case 'D':
		p.Kind = KindDrop
	default:
		return p, fmt.Errorf("%w: %q: kind %q, want S or D", ErrPrefix, s, s[0])
	}
	switch s[1] {
	case 'I':
		p.Direction = engine.Ingress
	case 'E':
		p.Direction = engine.Egress
	default:
		return p, fmt.Errorf("%w: %q: direction %q, want I or E", ErrPrefix, s, s[1])
	}
	// Between the direction and the bar: nothing, or a Deny rule's index (drops only). The index
	// says which rule dropped; the count is the policy's, so it is checked and not kept.
	if idx := s[2:bar]; idx != "" {
		if p.Kind != KindDrop || !allDigits(idx) {
			return p, fmt.Errorf("%w: %q: %q before the bar, want a Deny rule's index (drops only) or nothing", ErrPrefix, s, idx)
		}
	}
	subject := s[bar+1:]
	if p.Kind == KindDrop {
		p.Policy = subject
		return p, nil
	}
	ns, name, ok := strings.Cut(subject, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return p, fmt.Errorf("%w: %q: pod %q, want <namespace>/<name>", ErrPrefix, s, subject)
	}
	p.Pod = engine.EndpointRef{Namespace: ns, Name: name}
	return p, nil
}

// allDigits reports whether s is made of ASCII digits only.
func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Sample is one decoded observation record.
type Sample struct {
	Prefix
	Flow engine.Flow
}

// Decode turns a record of the observation group into a sample.
func Decode(rec *nflog.Record) (Sample, error) {
	p, err := ParsePrefix(rec.Prefix)
	if err != nil {
		return Sample{}, err
	}
	return Sample{Prefix: p, Flow: rec.Packet.Flow()}, nil
}

// connKey identifies one connection in one direction: the 5-tuple (the ICMP type and code in
// place of ports; an echo's identifier is not captured, so pings of one pair within the dedupe
// window count as one) and the side observed.
type connKey struct {
	src, dst         [16]byte
	srcPort, dstPort uint16
	protocol         uint8
	dir              engine.Direction
}

func keyOf(s *Sample) connKey {
	k := connKey{src: s.Flow.Src.As16(), dst: s.Flow.Dst.As16(), protocol: s.Flow.Protocol, dir: s.Direction,
		srcPort: s.Flow.SrcPort, dstPort: s.Flow.DstPort}
	if s.Flow.ICMP != nil {
		k.srcPort, k.dstPort = uint16(s.Flow.ICMP.Type), uint16(s.Flow.ICMP.Code)
	}
	return k
}
