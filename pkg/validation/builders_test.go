package validation

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// fixture gives tweaks access to the parts of a NetworkPolicy or GlobalNetworkPolicy.
type fixture struct {
	meta *metav1.ObjectMeta
	spec *v1alpha1.PolicySpec
	gnp  *v1alpha1.GlobalNetworkPolicySpec // nil for a NetworkPolicy
}

type tweak func(*fixture)

// makeNP builds a valid NetworkPolicy with an order (so that the "no order" warning only shows where a
// case asks for it) and applies the tweaks.
func makeNP(name, ns string, tweaks ...tweak) *v1alpha1.NetworkPolicy {
	p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	p.Spec.Order = ptr.To(100.0)
	p.Spec.Selector = `app == "web"`
	f := &fixture{meta: &p.ObjectMeta, spec: &p.Spec.PolicySpec}
	for _, t := range tweaks {
		t(f)
	}
	return p
}

// makeGNP builds a valid GlobalNetworkPolicy the same way.
func makeGNP(name string, tweaks ...tweak) *v1alpha1.GlobalNetworkPolicy {
	p := &v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec.Order = ptr.To(100.0)
	p.Spec.Selector = `app == "web"`
	f := &fixture{meta: &p.ObjectMeta, spec: &p.Spec.PolicySpec, gnp: &p.Spec}
	for _, t := range tweaks {
		t(f)
	}
	return p
}

// np and gnp are the common shorthands: a policy named "web" (in namespace "prod").
func np(tweaks ...tweak) *v1alpha1.NetworkPolicy        { return makeNP("web", "prod", tweaks...) }
func gnp(tweaks ...tweak) *v1alpha1.GlobalNetworkPolicy { return makeGNP("web", tweaks...) }
func withIngress(rs ...v1alpha1.Rule) tweak             { return func(f *fixture) { f.spec.Ingress = rs } }
func withEgress(rs ...v1alpha1.Rule) tweak              { return func(f *fixture) { f.spec.Egress = rs } }
func tier(s string) tweak                               { return func(f *fixture) { f.spec.Tier = s } }
func order(o float64) tweak                             { return func(f *fixture) { f.spec.Order = ptr.To(o) } }
func noOrder() tweak                                    { return func(f *fixture) { f.spec.Order = nil } }
func policySelector(s string) tweak                     { return func(f *fixture) { f.spec.Selector = s } }
func saSelector(s string) tweak                         { return func(f *fixture) { f.spec.ServiceAccountSelector = s } }
func labels(kv ...string) tweak                         { return func(f *fixture) { f.meta.Labels = kvMap(kv) } }
func annotations(kv ...string) tweak                    { return func(f *fixture) { f.meta.Annotations = kvMap(kv) } }
func rollout(r *v1alpha1.RolloutSpec) tweak             { return func(f *fixture) { f.spec.Rollout = r } }
func hints(hs ...v1alpha1.PolicyPerformanceHint) tweak {
	return func(f *fixture) { f.spec.PerformanceHints = hs }
}
func nsSelector(s string) tweak                   { return func(f *fixture) { f.gnp.NamespaceSelector = s } }
func preDNAT() tweak                              { return func(f *fixture) { f.gnp.PreDNAT = true } }
func doNotTrack() tweak                           { return func(f *fixture) { f.gnp.DoNotTrack = true } }
func applyOnForward() tweak                       { return func(f *fixture) { f.gnp.ApplyOnForward = true } }
func metaTweak(fn func(*metav1.ObjectMeta)) tweak { return func(f *fixture) { fn(f.meta) } }
func immediate() tweak                            { return rollout(&v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutImmediate}) }
func types(ts ...v1alpha1.PolicyType) tweak       { return func(f *fixture) { f.spec.Types = ts } }
func repeatRule(n int, r v1alpha1.Rule) []v1alpha1.Rule {
	rs := make([]v1alpha1.Rule, n)
	for i := range rs {
		rs[i] = r
	}
	return rs
}

const (
	ing = v1alpha1.PolicyTypeIngress
	eg  = v1alpha1.PolicyTypeEgress
)

func kvMap(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

type ruleTweak func(*v1alpha1.Rule)

func rule(a v1alpha1.Action, ts ...ruleTweak) v1alpha1.Rule {
	r := v1alpha1.Rule{Action: a}
	for _, t := range ts {
		t(&r)
	}
	return r
}

func allow(ts ...ruleTweak) v1alpha1.Rule { return rule(v1alpha1.Allow, ts...) }
func deny(ts ...ruleTweak) v1alpha1.Rule  { return rule(v1alpha1.Deny, ts...) }
func logR(ts ...ruleTweak) v1alpha1.Rule  { return rule(v1alpha1.Log, ts...) }
func pass(ts ...ruleTweak) v1alpha1.Rule  { return rule(v1alpha1.Pass, ts...) }

func proto(s string) ruleTweak {
	return func(r *v1alpha1.Rule) { p := v1alpha1.ProtocolFromString(s); r.Protocol = &p }
}
func protoNum(n int) ruleTweak {
	return func(r *v1alpha1.Rule) { p := v1alpha1.ProtocolFromInt(n); r.Protocol = &p }
}

// protoRaw sets a protocol string verbatim, as JSON decoding would keep "256".
func protoRaw(s string) ruleTweak {
	return func(r *v1alpha1.Rule) { p := v1alpha1.Protocol{Type: intstr.String, StrVal: s}; r.Protocol = &p }
}
func notProto(s string) ruleTweak {
	return func(r *v1alpha1.Rule) { p := v1alpha1.ProtocolFromString(s); r.NotProtocol = &p }
}
func ipv(v int) ruleTweak { return func(r *v1alpha1.Rule) { r.IPVersion = ptr.To(v) } }
func icmp(typ, code *int) ruleTweak {
	return func(r *v1alpha1.Rule) { r.ICMP = &v1alpha1.ICMPFields{Type: typ, Code: code} }
}
func notICMP(typ, code *int) ruleTweak {
	return func(r *v1alpha1.Rule) { r.NotICMP = &v1alpha1.ICMPFields{Type: typ, Code: code} }
}
func httpMatch(methods ...string) ruleTweak {
	return func(r *v1alpha1.Rule) { r.HTTP = &v1alpha1.HTTPMatch{Methods: methods} }
}
func ruleAnnotations(kv ...string) ruleTweak {
	return func(r *v1alpha1.Rule) { r.Metadata = &v1alpha1.RuleMetadata{Annotations: kvMap(kv)} }
}

type entityTweak func(*v1alpha1.EntityRule)

func src(ts ...entityTweak) ruleTweak {
	return func(r *v1alpha1.Rule) {
		for _, t := range ts {
			t(&r.Source)
		}
	}
}

func dst(ts ...entityTweak) ruleTweak {
	return func(r *v1alpha1.Rule) {
		for _, t := range ts {
			t(&r.Destination)
		}
	}
}

func nets(ns ...string) entityTweak    { return func(e *v1alpha1.EntityRule) { e.Nets = ns } }
func notNets(ns ...string) entityTweak { return func(e *v1alpha1.EntityRule) { e.NotNets = ns } }
func sel(s string) entityTweak         { return func(e *v1alpha1.EntityRule) { e.Selector = s } }
func notSel(s string) entityTweak      { return func(e *v1alpha1.EntityRule) { e.NotSelector = s } }
func nsSel(s string) entityTweak       { return func(e *v1alpha1.EntityRule) { e.NamespaceSelector = s } }
func ports(ps ...any) entityTweak      { return func(e *v1alpha1.EntityRule) { e.Ports = toPorts(ps) } }
func notPorts(ps ...any) entityTweak {
	return func(e *v1alpha1.EntityRule) { e.NotPorts = toPorts(ps) }
}
func domains(ds ...string) entityTweak { return func(e *v1alpha1.EntityRule) { e.Domains = ds } }
func svc(name, ns string) entityTweak {
	return func(e *v1alpha1.EntityRule) { e.Services = &v1alpha1.ServiceMatch{Name: name, Namespace: ns} }
}
func saNames(ns ...string) entityTweak {
	return func(e *v1alpha1.EntityRule) {
		if e.ServiceAccounts == nil {
			e.ServiceAccounts = &v1alpha1.ServiceAccountMatch{}
		}
		e.ServiceAccounts.Names = ns
	}
}
func saSel(s string) entityTweak {
	return func(e *v1alpha1.EntityRule) {
		if e.ServiceAccounts == nil {
			e.ServiceAccounts = &v1alpha1.ServiceAccountMatch{}
		}
		e.ServiceAccounts.Selector = s
	}
}

func toPorts(ps []any) []v1alpha1.Port {
	out := make([]v1alpha1.Port, len(ps))
	for i, p := range ps {
		switch v := p.(type) {
		case int:
			out[i] = v1alpha1.PortFromInt(v)
		case string:
			out[i] = v1alpha1.PortFromString(v)
		default:
			panic(fmt.Sprintf("toPorts: unsupported %T", p))
		}
	}
	return out
}

func nPorts(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = 1000 + i
	}
	return out
}

func nNets(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
	}
	return out
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// wantErr is what a test expects of one field error: type, path and detail. The bad value is
// compared by the message tests in messages_test.go.
type wantErr struct {
	Type   field.ErrorType
	Field  string
	Detail string
}

func (w wantErr) String() string { return fmt.Sprintf("%s %s: %q", w.Type, w.Field, w.Detail) }

func inv(path, detail string) wantErr  { return wantErr{field.ErrorTypeInvalid, path, detail} }
func req(path, detail string) wantErr  { return wantErr{field.ErrorTypeRequired, path, detail} }
func forb(path, detail string) wantErr { return wantErr{field.ErrorTypeForbidden, path, detail} }
func dup(path string) wantErr          { return wantErr{field.ErrorTypeDuplicate, path, ""} }
func notSup(path string, values ...string) wantErr {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return wantErr{field.ErrorTypeNotSupported, path, "supported values: " + strings.Join(q, ", ")}
}
func tooMany(path string, max int) wantErr {
	return wantErr{field.ErrorTypeTooMany, path, fmt.Sprintf("must have at most %d items", max)}
}
func tooLong(path string, max int) wantErr {
	return wantErr{field.ErrorTypeTooLong, path, fmt.Sprintf("may not be more than %d bytes", max)}
}

// checkResult compares the whole error list and the whole warning list.
func checkResult(t *testing.T, errs field.ErrorList, warns []Warning, wantErrs []wantErr, wantWarns []string) {
	t.Helper()
	got := make([]wantErr, len(errs))
	for i, e := range errs {
		got[i] = wantErr{e.Type, e.Field, e.Detail}
	}
	if !equalLists(got, wantErrs) {
		t.Errorf("errors:\n got: %s\nwant: %s", listString(got), listString(wantErrs))
	}
	gotW := Strings(warns)
	if !equalLists(gotW, wantWarns) {
		t.Errorf("warnings:\n got: %q\nwant: %q", gotW, wantWarns)
	}
}

func equalLists[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func listString(ws []wantErr) string {
	if len(ws) == 0 {
		return "[]"
	}
	var b strings.Builder
	for _, w := range ws {
		b.WriteString("\n  " + w.String())
	}
	return b.String()
}

// policyCase is one table row for ValidateNetworkPolicy or ValidateGlobalNetworkPolicy.
type policyCase struct {
	name      string
	obj       any // *v1alpha1.NetworkPolicy or *v1alpha1.GlobalNetworkPolicy
	wantErrs  []wantErr
	wantWarns []string
}

func runPolicyCases(t *testing.T, cases []policyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var errs field.ErrorList
			var warns []Warning
			switch o := tc.obj.(type) {
			case *v1alpha1.NetworkPolicy:
				errs, warns = ValidateNetworkPolicy(o)
			case *v1alpha1.GlobalNetworkPolicy:
				errs, warns = ValidateGlobalNetworkPolicy(o)
			default:
				t.Fatalf("unsupported object %T", tc.obj)
			}
			checkResult(t, errs, warns, tc.wantErrs, tc.wantWarns)
		})
	}
}
