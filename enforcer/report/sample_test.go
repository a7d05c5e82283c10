package report

import (
	"errors"
	"testing"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in   string
		want Prefix
		err  bool
	}{
		{in: "SI|prod/web", want: Prefix{Kind: KindShadow, Direction: engine.Ingress, Pod: engine.EndpointRef{Namespace: "prod", Name: "web"}}},
		{in: "SE|prod/web", want: Prefix{Kind: KindShadow, Direction: engine.Egress, Pod: engine.EndpointRef{Namespace: "prod", Name: "web"}}},
		{in: "DI|np/prod/guard@candidate", want: Prefix{Kind: KindDrop, Direction: engine.Ingress, Policy: "np/prod/guard@candidate"}},
		{in: "DE|gnp/deny-all", want: Prefix{Kind: KindDrop, Direction: engine.Egress, Policy: "gnp/deny-all"}},
		// A Deny rule's drops carry its index (render.DropPrefix); the count is the policy's.
		{in: "DI3|np/prod/guard", want: Prefix{Kind: KindDrop, Direction: engine.Ingress, Policy: "np/prod/guard"}},
		{in: "DE12|gnp/deny-all@candidate", want: Prefix{Kind: KindDrop, Direction: engine.Egress, Policy: "gnp/deny-all@candidate"}},
		{in: "SI3|prod/web", err: true}, // shadow samples have no rule index
		{in: "DIx|np/prod/guard", err: true},
		{in: "DI3|", err: true},
		{in: "LI0|np/prod/guard", err: true}, // a Log rule's prefix
		{in: "SX|prod/web", err: true},
		{in: "XI|prod/web", err: true},
		{in: "SI|prod", err: true},
		{in: "SI|/web", err: true},
		{in: "SI|prod/", err: true},
		{in: "SI|a/b/c", err: true},
		{in: "DI|", err: true},
		{in: "SI-prod/web", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.in)
		if tt.err {
			if !errors.Is(err, ErrPrefix) {
				t.Errorf("ParsePrefix(%q) = %+v, %v; want an ErrPrefix", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePrefix(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// Every prefix the renderer writes on an observation sample parses back to its kind, direction
// and subject: the renderer and the pipeline agree on the format (a Deny rule's index included,
// which the pipeline once refused, so that those drops were never counted).
func TestParsePrefixReadsRenderedPrefixes(t *testing.T) {
	ids := []engine.PolicyID{
		{Key: engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "prod", Name: "guard"}},
		{Key: engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: "deny-all"}, Slot: engine.SlotCandidate},
	}
	for _, dir := range []engine.Direction{engine.Ingress, engine.Egress} {
		for _, id := range ids {
			for _, rule := range []int{-1, 0, 7, 123} {
				s := render.DropPrefix(dir, id, rule)
				p, err := ParsePrefix(s)
				if err != nil || p.Kind != KindDrop || p.Direction != dir || p.Policy != id.String() {
					t.Errorf("DropPrefix(%v, %v, %d) = %q parses as %+v, %v", dir, id, rule, s, p, err)
				}
			}
		}
		ref := engine.EndpointRef{Namespace: "prod", Name: "web"}
		s := render.ShadowPrefix(dir, ref)
		if p, err := ParsePrefix(s); err != nil || p.Kind != KindShadow || p.Direction != dir || p.Pod != ref {
			t.Errorf("ShadowPrefix(%v, %v) = %q parses as %+v, %v", dir, ref, s, p, err)
		}
	}
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"SI|prod/web", "DE|gnp/x", "DI3|np/a/b", "LI0|np/a/b", "", "S", "SI|", "SI|a/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err != nil {
			if !errors.Is(err, ErrPrefix) {
				t.Fatalf("error %v is not an ErrPrefix", err)
			}
			return
		}
		// A parsed prefix says exactly one subject, consistent with its kind.
		switch p.Kind {
		case KindShadow:
			if p.Pod.Namespace == "" || p.Pod.Name == "" || p.Policy != "" {
				t.Fatalf("shadow prefix %q parsed as %+v", s, p)
			}
			if s[3:] != p.Pod.String() {
				t.Fatalf("pod %v does not round-trip %q", p.Pod, s)
			}
		case KindDrop:
			if p.Policy == "" || p.Pod != (engine.EndpointRef{}) {
				t.Fatalf("drop prefix %q parsed as %+v", s, p)
			}
		default:
			t.Fatalf("kind %v", p.Kind)
		}
	})
}
