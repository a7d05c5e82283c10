package cli

import (
	"errors"
	"testing"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

// TestStoredTellsNotStoredFromFailsClosed holds the CLI to issue 12 item 5: a policy the engine
// did not store is an error naming file and line (no verdict without it), one it stored but cannot
// interpret is a warning that it fails closed.
func TestStoredTellsNotStoredFromFailsClosed(t *testing.T) {
	src := manifest.Source{File: "p.yaml", Index: 2, Item: -1, Line: 9}
	key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "ns", Name: "a"}
	tests := []struct {
		name        string
		err         error
		wantErr     string
		wantWarning string
	}{
		{name: "stored", err: nil},
		{
			name:        "stored but fails closed",
			err:         &engine.InvalidPolicyError{Key: key, Err: errors.New("spec.selector: bad")},
			wantWarning: "p.yaml:2: NetworkPolicy ns/a is stored but fails closed (denies every flow that reaches it in the directions it governs): spec.selector: bad",
		},
		{
			name:    "not stored",
			err:     &engine.NotStoredError{Object: "NetworkPolicy \"ns/\"", Err: errors.New("metadata.name is required")},
			wantErr: "p.yaml: document 2, line 9: NetworkPolicy ns/a could not be loaded, so no verdict is given (one without it could allow what it denies): metadata.name is required",
		},
		{
			name:    "any other error is refused too",
			err:     errors.New("surprise"),
			wantErr: "p.yaml: document 2, line 9: NetworkPolicy ns/a could not be loaded, so no verdict is given (one without it could allow what it denies): surprise",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &model{}
			err := m.stored(src, "NetworkPolicy", "ns/a", tt.err)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			gotWarning := ""
			if len(m.warnings) > 0 {
				gotWarning = m.warnings[0]
			}
			if gotErr != tt.wantErr || gotWarning != tt.wantWarning || len(m.warnings) > 1 {
				t.Errorf("got error %q, warnings %q\nwant error %q, warning %q", gotErr, m.warnings, tt.wantErr, tt.wantWarning)
			}
		})
	}
}
