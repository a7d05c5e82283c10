package manifest

import (
	"errors"
	"testing"
)

// FuzzParse holds the loader to its promise: arbitrary bytes never panic, every failure is a
// *manifest.Error, and every successfully decoded document has a typed object and a valid source.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"---\n",
		ns("a") + "---\n" + ns("b"),
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n",
		"apiVersion: policy.palisade.dev/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  ingress:\n  - action: Allow\n    destination: {ports: [80, \"http\", \"1:2\"]}\n",
		"apiVersion: policy.palisade.dev/v1alpha1\nkind: GlobalNetworkPolicy\nspec: {order: [1], bogus: &a {x: *a}}\n",
		"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n",
		"{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": {\"containers\": [{\"ports\": [{\"containerPort\": 1e99}]}]}}",
		"a: &x [*x]\n",
		"--- |\n  text\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: 1\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse("fuzz.yaml", data)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *manifest.Error: %v", err, err)
			}
			return
		}
		for _, d := range set.Documents {
			if d.Source.Index < 0 || d.Source.Line < 1 {
				t.Fatalf("bad source %+v", d.Source)
			}
			if d.Class == ClassSupported && (d.Object == nil) == (d.Err == nil) {
				t.Fatalf("supported document %s has object %v and error %v", d.Source, d.Object, d.Err)
			}
		}
	})
}
