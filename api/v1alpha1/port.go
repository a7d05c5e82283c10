package v1alpha1

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Port is a port number (80 or "80"), an inclusive range ("80:90") or a named port ("http"), written
// as in Calico's numorstring.Port. It stores what was written; Parse interprets it.
//
// +kubebuilder:validation:XIntOrString
type Port intstr.IntOrString

// PortRange is the interpretation of a Port: either a numeric range (Name empty, 1 <= Min <= Max) or
// a named port (Name set, Min == Max == 0).
type PortRange struct {
	Min  uint16
	Max  uint16
	Name string
}

// IsNamed reports whether the range refers to a named container port.
func (r PortRange) IsNamed() bool { return r.Name != "" }

// Contains reports whether a numeric range holds port p. Named ports contain nothing by themselves.
func (r PortRange) Contains(p uint16) bool { return !r.IsNamed() && r.Min <= p && p <= r.Max }

// String renders the range as it is written in a policy.
func (r PortRange) String() string {
	switch {
	case r.IsNamed():
		return r.Name
	case r.Min == r.Max:
		return strconv.Itoa(int(r.Min))
	default:
		return fmt.Sprintf("%d:%d", r.Min, r.Max)
	}
}

var (
	portRangeRE = regexp.MustCompile(`^(\d+):(\d+)$`)
	// portNameSyntaxRE is the parser's notion of a name (as Calico's numorstring); validation then
	// applies the stricter IANA service-name rule.
	portNameSyntaxRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)
)

// ErrPortSyntax is wrapped by every error Parse returns.
var ErrPortSyntax = errors.New("invalid port")

// PortFromInt returns the Port for a single number. A number beyond int32 saturates, so that Parse
// rejects it rather than seeing a wrapped, possibly valid, port.
func PortFromInt(p int) Port { return Port(intstr.FromInt32(saturateInt32(p))) }

// PortFromString returns the Port for a string form: "80", "80:90" or a name.
func PortFromString(s string) Port { return Port(intstr.FromString(s)) }

// Parse interprets the port. Port 0 parses (as Calico's parser does) and is rejected by validation.
func (p Port) Parse() (PortRange, error) {
	if p.Type == intstr.Int {
		if p.IntVal < 0 || p.IntVal > 65535 {
			return PortRange{}, fmt.Errorf("%w: %d is outside 0-65535", ErrPortSyntax, p.IntVal)
		}
		return PortRange{Min: uint16(p.IntVal), Max: uint16(p.IntVal)}, nil
	}
	s := p.StrVal
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return PortRange{Min: uint16(n), Max: uint16(n)}, nil
	}
	if m := portRangeRE.FindStringSubmatch(s); m != nil {
		lo, errLo := strconv.ParseUint(m[1], 10, 16)
		hi, errHi := strconv.ParseUint(m[2], 10, 16)
		if errLo != nil || errHi != nil {
			return PortRange{}, fmt.Errorf("%w: range %q has a bound outside 0-65535", ErrPortSyntax, s)
		}
		if lo > hi {
			return PortRange{}, fmt.Errorf("%w: range %q has its minimum above its maximum", ErrPortSyntax, s)
		}
		return PortRange{Min: uint16(lo), Max: uint16(hi)}, nil
	}
	if isDigits(s) {
		return PortRange{}, fmt.Errorf("%w: %q is outside 0-65535", ErrPortSyntax, s)
	}
	if !portNameSyntaxRE.MatchString(s) {
		return PortRange{}, fmt.Errorf("%w: %q is neither a number, a range \"min:max\" nor a port name", ErrPortSyntax, s)
	}
	return PortRange{Name: s}, nil
}

// String renders the port as written.
func (p Port) String() string { return (*intstr.IntOrString)(&p).String() }

// MarshalJSON writes the port as it was written: a number or a string.
func (p Port) MarshalJSON() ([]byte, error) { return intstr.IntOrString(p).MarshalJSON() }

// UnmarshalJSON accepts a JSON number or string.
func (p *Port) UnmarshalJSON(b []byte) error {
	if err := (*intstr.IntOrString)(p).UnmarshalJSON(b); err != nil {
		return fmt.Errorf("port must be a number or a string: %w", err)
	}
	return nil
}

func saturateInt32(n int) int32 {
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	default:
		return int32(n)
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
