package manifest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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

// FuzzStreamCount writes n objects in one of the separators and encodings kubectl reads and checks
// that exactly those objects are read back, in order: an object after the first must never be
// dropped (issue 13 item 1, a dropped Deny policy reads as ALLOWED).
func FuzzStreamCount(f *testing.F) {
	f.Add(uint8(2), uint8(0), uint8(0), false, "ab")
	f.Add(uint8(3), uint8(1), uint8(2), true, "x")
	f.Add(uint8(5), uint8(3), uint8(4), false, "n0")
	f.Add(uint8(1), uint8(4), uint8(5), true, "")
	f.Add(uint8(7), uint8(6), uint8(3), false, "zz9")
	encNames := sortedEncodings()
	f.Fuzz(func(t *testing.T, n, form, enc uint8, crlf bool, seed string) {
		count := int(n%20) + 1
		var names []string
		for i := range count {
			names = append(names, fmt.Sprintf("ns-%d-%x", i, seed))
		}
		text := writeStream(names, int(form)%len(streamForms))
		if crlf {
			text = strings.ReplaceAll(text, "\n", "\r\n")
		}
		data := encodings[encNames[int(enc)%len(encNames)]](text)
		set, err := Parse("s", data)
		if err != nil {
			t.Fatalf("form %s, %s: %v\n%s", streamForms[int(form)%len(streamForms)], encNames[int(enc)%len(encNames)], err, text)
		}
		var got []string
		for _, d := range set.Documents {
			got = append(got, d.Name)
		}
		if !slices.Equal(got, names) {
			t.Fatalf("form %s, %s: read %d objects %q, wrote %d %q\n%s", streamForms[int(form)%len(streamForms)], encNames[int(enc)%len(encNames)], len(got), got, len(names), names, text)
		}
	})
}

var streamForms = []string{"yaml ---", "yaml ...", "yaml --- and ...", "json lines", "json pretty", "json concatenated", "List", "yaml --- then json"}

func sortedEncodings() []string {
	var out []string
	for k := range encodings {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func writeStream(names []string, form int) string {
	yamlNS := func(n string) string { return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + n + "\n" }
	jsonNS := func(n string) string {
		return `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + n + `"}}`
	}
	var b strings.Builder
	switch streamForms[form] {
	case "yaml ---":
		for i, n := range names {
			if i > 0 {
				b.WriteString("---\n")
			}
			b.WriteString(yamlNS(n))
		}
	case "yaml ...":
		for _, n := range names {
			b.WriteString(yamlNS(n) + "...\n")
		}
	case "yaml --- and ...":
		for _, n := range names {
			b.WriteString("---\n" + yamlNS(n) + "...\n")
		}
	case "json lines":
		for _, n := range names {
			b.WriteString(jsonNS(n) + "\n")
		}
	case "json pretty":
		for _, n := range names {
			b.WriteString("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\",\n  \"metadata\": {\n    \"name\": \"" + n + "\"\n  }\n}\n")
		}
	case "json concatenated":
		for _, n := range names {
			b.WriteString(jsonNS(n))
		}
	case "List":
		b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
		for _, n := range names {
			b.WriteString("- " + jsonNS(n) + "\n")
		}
	case "yaml --- then json":
		// Several JSON objects inside documents separated by ---.
		for i, n := range names {
			if i%2 == 0 {
				b.WriteString("---\n")
			}
			b.WriteString(jsonNS(n) + "\n")
		}
	}
	return b.String()
}
