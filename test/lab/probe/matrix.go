package probe

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Protocols the prober speaks. ICMP probes carry port 0.
const (
	TCP  = "TCP"
	UDP  = "UDP"
	ICMP = "ICMP"
)

// Verdict is one cell of a matrix. Its JSON is that of `kubectl palisade matrix -o json`'s cells
// (pkg/cli's matrixVerdict).
type Verdict struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     uint16 `json:"port"`
	Protocol string `json:"protocol"`
	Allowed  bool   `json:"allowed"`
	// Reason says why a measured flow was not answered (a timeout, a refusal); never in the JSON.
	Reason string `json:"-"`
}

// Matrix is the document `kubectl palisade matrix -o json` prints.
type Matrix struct {
	Verdicts []Verdict `json:"verdicts"`
}

// Port is a destination port and protocol.
type Port struct {
	Port     uint16
	Protocol string
}

func (p Port) String() string {
	if p.Protocol == ICMP {
		return ICMP
	}
	return strconv.Itoa(int(p.Port)) + "/" + p.Protocol
}

// ParsePorts reads "80/TCP,53/UDP,ICMP" (protocol case-insensitive, TCP when omitted), dropping
// duplicates.
func ParsePorts(s string) ([]Port, error) {
	var out []Port
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if strings.EqualFold(item, ICMP) {
			if p := (Port{Protocol: ICMP}); !slices.Contains(out, p) {
				out = append(out, p)
			}
			continue
		}
		num, proto, hasProto := strings.Cut(item, "/")
		p := Port{Protocol: TCP}
		if hasProto {
			p.Protocol = strings.ToUpper(proto)
			if p.Protocol != TCP && p.Protocol != UDP {
				return nil, fmt.Errorf("port %q: protocol %q is not TCP or UDP (the lab's echo servers speak those; ICMP is written alone)", item, proto)
			}
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("port %q: want PORT/PROTOCOL with PORT in 1-65535, like 80/TCP, or ICMP", item)
		}
		p.Port = uint16(n)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Sort orders verdicts as `kubectl palisade matrix` does: by port, protocol, from, to.
func Sort(v []Verdict) {
	slices.SortFunc(v, func(a, b Verdict) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol),
			cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
}

// Mismatch is a cell on which two matrices disagree. A cell one of them lacks has Missing set.
type Mismatch struct {
	From, To string
	Port     Port
	// Measured and Expected are the two verdicts; meaningful only when Missing is empty.
	Measured, Expected bool
	// Reason is the measured verdict's Reason.
	Reason string
	// Missing is "measured" or "expected" when that matrix has no such cell.
	Missing string
}

func (m Mismatch) String() string {
	if m.Missing != "" {
		return fmt.Sprintf("%s -> %s %s: not in the %s matrix", m.From, m.To, m.Port, m.Missing)
	}
	word := map[bool]string{true: "allowed", false: "denied"}
	s := fmt.Sprintf("%s -> %s %s: measured %s, expected %s", m.From, m.To, m.Port, word[m.Measured], word[m.Expected])
	if m.Reason != "" {
		s += " (" + m.Reason + ")"
	}
	return s
}

type cellKey struct {
	from, to string
	port     Port
}

// Diff compares a measured matrix with an expected one, cell by cell, in Sort order. Expected
// cells from a pod to itself are ignored: the lab never probes them (such traffic never leaves the
// pod, so no node enforces anything on it), while `kubectl palisade matrix` lists them.
func Diff(measured, expected []Verdict) []Mismatch {
	want := map[cellKey]Verdict{}
	for _, v := range expected {
		if v.From != v.To {
			want[cellKey{v.From, v.To, Port{v.Port, v.Protocol}}] = v
		}
	}
	var out []Mismatch
	seen := map[cellKey]bool{}
	for _, v := range measured {
		k := cellKey{v.From, v.To, Port{v.Port, v.Protocol}}
		seen[k] = true
		e, ok := want[k]
		switch {
		case !ok:
			out = append(out, Mismatch{From: v.From, To: v.To, Port: k.port, Missing: "expected"})
		case e.Allowed != v.Allowed:
			out = append(out, Mismatch{From: v.From, To: v.To, Port: k.port, Measured: v.Allowed, Expected: e.Allowed, Reason: v.Reason})
		}
	}
	for k := range want {
		if !seen[k] {
			out = append(out, Mismatch{From: k.from, To: k.to, Port: k.port, Missing: "measured"})
		}
	}
	slices.SortFunc(out, func(a, b Mismatch) int {
		return cmp.Or(cmp.Compare(a.Port.Port, b.Port.Port), cmp.Compare(a.Port.Protocol, b.Port.Protocol),
			cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Missing, b.Missing))
	})
	return out
}
