package convert

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

// keptMetadata are the metadata fields convert promises to keep.
var keptMetadata = []string{"name", "generateName", "namespace", "labels", "annotations", "ownerReferences", "finalizers"}

func generic(t *testing.T, j []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRoundTripKeepsEveryField converts the kitchen sink (every field set) and compares, as JSON, the
// spec and the kept metadata of each input with what the manifest loader reads back from the output.
func TestRoundTripKeepsEveryField(t *testing.T) {
	data, err := os.ReadFile("testdata/kitchen-sink.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in, err := manifest.Parse("in.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	// The kitchen sink sets every field, so admission would refuse it; this test is about what the
	// conversion keeps, TestGolden about what admission refuses.
	res := manifests(in, false)
	if res.Failed() || len(res.Reports) != 0 {
		t.Fatalf("conversion reported %+v", res.Reports)
	}
	out, err := manifest.Load([]string{"-"}, strings.NewReader(string(res.YAML())))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Documents) != len(in.Documents) {
		t.Fatalf("%d documents in, %d out", len(in.Documents), len(out.Documents))
	}
	for i, d := range in.Documents {
		before, after := generic(t, d.JSON), generic(t, out.Documents[i].JSON)
		if after["apiVersion"] != v1alpha1.GroupVersion.String() || after["kind"] != before["kind"] {
			t.Errorf("document %d: %v %v became %v %v", i, before["apiVersion"], before["kind"], after["apiVersion"], after["kind"])
		}
		if !reflect.DeepEqual(before["spec"], after["spec"]) {
			t.Errorf("document %d: spec changed\n before %v\n after  %v", i, before["spec"], after["spec"])
		}
		bm, am := before["metadata"].(map[string]any), after["metadata"].(map[string]any)
		for _, k := range keptMetadata {
			if !reflect.DeepEqual(bm[k], am[k]) {
				t.Errorf("document %d: metadata.%s changed from %v to %v", i, k, bm[k], am[k])
			}
		}
	}
}

// TestKitchenSinkSetsEveryField makes the round trip above meaningful and keeps it so: every field of
// every type reachable from the policy specs must be set somewhere in the kitchen sink (Rollout
// excepted: Calico has none). A field added to the API fails this test until the kitchen sink
// exercises it.
func TestKitchenSinkSetsEveryField(t *testing.T) {
	data, err := os.ReadFile("testdata/kitchen-sink.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := manifest.Parse("in.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range set.Documents {
		obj, problems := Document(d)
		if obj == nil {
			t.Fatalf("%s: %+v", d.Source, problems)
		}
		switch o := obj.(type) {
		case *v1alpha1.NetworkPolicy:
			markSet(reflect.ValueOf(o.Spec), seen)
		case *v1alpha1.GlobalNetworkPolicy:
			markSet(reflect.ValueOf(o.Spec), seen)
		}
	}
	all := map[string]bool{}
	listFields(reflect.TypeFor[v1alpha1.GlobalNetworkPolicySpec](), all, map[reflect.Type]bool{})
	var missing []string
	for f := range all {
		if !seen[f] && !strings.HasPrefix(f, "PolicySpec.Rollout") && !strings.HasPrefix(f, "Rollout") {
			missing = append(missing, f)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("testdata/kitchen-sink.yaml leaves these fields unset: %v", missing)
	}
}

// listFields names every field of the struct types reachable from t as "Type.Field".
func listFields(t reflect.Type, out map[string]bool, visited map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || visited[t] || t.PkgPath() != reflect.TypeFor[v1alpha1.Rule]().PkgPath() {
		return
	}
	visited[t] = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == "Rollout" {
			continue
		}
		out[t.Name()+"."+f.Name] = true
		listFields(f.Type, out, visited)
	}
}

// markSet records every "Type.Field" that holds a non-zero value somewhere under v.
func markSet(v reflect.Value, seen map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			markSet(v.Elem(), seen)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			markSet(v.Index(i), seen)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			markSet(v.MapIndex(k), seen)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if !v.Field(i).IsZero() {
				seen[t.Name()+"."+t.Field(i).Name] = true
			}
			markSet(v.Field(i), seen)
		}
	}
}
