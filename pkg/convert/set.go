package convert

import (
	"bytes"
	"fmt"

	"github.com/palisade-dev/palisade/pkg/manifest"
)

// Output is one document of a conversion's output.
type Output struct {
	// Source is the input document this output comes from.
	Source manifest.Source
	// Object is the converted policy, nil for a document passed through unchanged.
	Object Object
	// YAML is the document as written out, without a "---" marker.
	YAML []byte
}

// Report is a Problem of one input document.
type Report struct {
	Document *manifest.Document
	Problem
}

// Result is the conversion of a whole manifest set.
type Result struct {
	// Outputs follow the input order. Calico documents are converted; every other document is
	// passed through as written, so that converting a folder of manifests gives a folder's worth.
	Outputs []Output
	// Reports are errors and warnings in input order.
	Reports []Report
}

// Failed reports whether any document failed to convert. A failed Result must not be written out:
// applying the policies that did convert without those that did not could open or close traffic
// that the set as a whole does not.
func (r *Result) Failed() bool {
	for _, rep := range r.Reports {
		if !rep.Warning {
			return true
		}
	}
	return false
}

// YAML joins the outputs into one stream, documents separated by "---".
func (r *Result) YAML() []byte {
	var b bytes.Buffer
	for i, o := range r.Outputs {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(o.YAML)
		if len(o.YAML) > 0 && o.YAML[len(o.YAML)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Manifests converts every Calico document of the set and passes the others through. A converted
// policy that Palisade's admission would refuse is an error (admissionProblems).
func Manifests(set *manifest.Set) *Result { return manifests(set, true) }

// manifests is Manifests; admit false skips the admission check, for tests of the conversion alone
// on inputs that set every field at once (no admissible policy does).
func manifests(set *manifest.Set, admit bool) *Result {
	res := &Result{}
	type key struct{ kind, namespace, name string }
	seen := map[key]*manifest.Document{}
	for _, d := range set.Documents {
		if d.Class != manifest.ClassCalico {
			res.Outputs = append(res.Outputs, passThrough(d, res))
			continue
		}
		obj, problems := Document(d)
		for _, p := range problems {
			res.Reports = append(res.Reports, Report{Document: d, Problem: p})
		}
		if obj == nil {
			continue
		}
		if refused := admissionProblems(d, obj); admit && len(refused) > 0 {
			for _, p := range refused {
				res.Reports = append(res.Reports, Report{Document: d, Problem: p})
			}
			continue
		}
		k := key{obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName()}
		if first, dup := seen[k]; dup && k.name != "" {
			res.Reports = append(res.Reports, Report{Document: d, Problem: Problem{
				Field:   "metadata.name",
				Line:    d.FieldLine("metadata.name"),
				Warning: true,
				Message: fmt.Sprintf("converts to the same %s as %s (%s); applied in this order, this document replaces that one as the policy's newest generation",
					k.kind, first.Source, first.Kind),
			}})
		} else {
			seen[k] = d
		}
		y, err := Encode(obj)
		if err != nil {
			res.Reports = append(res.Reports, Report{Document: d, Problem: Problem{Message: err.Error()}})
			continue
		}
		res.Outputs = append(res.Outputs, Output{Source: d.Source, Object: obj, YAML: y})
	}
	return res
}

// passThrough copies a non-Calico document: its own text when it has one, else (a List item) its
// JSON rendered as YAML.
func passThrough(d *manifest.Document, res *Result) Output {
	if d.Text != nil {
		return Output{Source: d.Source, YAML: d.Text}
	}
	y, err := JSONToYAML(d.JSON)
	if err != nil {
		res.Reports = append(res.Reports, Report{Document: d, Problem: Problem{Message: err.Error()}})
	}
	return Output{Source: d.Source, YAML: y}
}
