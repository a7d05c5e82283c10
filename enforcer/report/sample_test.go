package report

import (
	"errors"
	"testing"

	"github.com/palisade-dev/palisade/pkg/engine"
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

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"SI|prod/web", "DE|gnp/x", "LI0|np/a/b", "", "S", "SI|", "SI|a/"} {
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
