package cli

import (
	"errors"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/palisade-dev/palisade/pkg/manifest"
)

// duplicate is an object defined twice: same kind, namespace and name.
type duplicate struct {
	later, first *manifest.Document
}

// findDuplicates returns every decoded object whose kind, namespace and name an earlier, different
// object already has. The cluster keeps one object per name, so the later one would silently replace
// the earlier and a verdict would depend on the order of -f. Namespaces must already be applied.
func findDuplicates(set *manifest.Set) []duplicate {
	type key struct{ group, kind, ns, name string }
	seen := map[key]*manifest.Document{}
	var out []duplicate
	for _, d := range set.Documents {
		if d.Object == nil {
			continue
		}
		gk := d.GroupVersionKind().GroupKind()
		k := key{gk.Group, gk.Kind, d.Namespace, d.Name}
		if clusterScoped[gk] {
			k.ns = ""
		}
		if first, dup := seen[k]; dup {
			// The same object twice (one file passed twice, a shared namespace in two examples)
			// is what applying it twice gives: one object, whatever the order.
			if !apiequality.Semantic.DeepEqual(first.Object, d.Object) {
				out = append(out, duplicate{later: d, first: first})
			}
			continue
		}
		seen[k] = d
	}
	return out
}

func (dup duplicate) message() string {
	return fmt.Sprintf("%s is defined twice, differently (first at %s): the cluster keeps one object per name, so the result would depend on the order of -f; remove one",
		objectRef(dup.later.Kind, dup.later.Namespace, dup.later.Name), position(dup.first.Source))
}

// position names where a document is: "FILE: document N, line L".
func position(src manifest.Source) string {
	if src.Line > 0 {
		return fmt.Sprintf("%s: document %d, line %d", src.File, src.Index, src.Line)
	}
	return fmt.Sprintf("%s: document %d", src.File, src.Index)
}

// duplicatesError is the error of trace and matrix for duplicates.
func duplicatesError(set *manifest.Set) error {
	var errs []error
	for _, dup := range findDuplicates(set) {
		s := dup.later.Source
		errs = append(errs, &manifest.Error{File: s.File, Index: s.Index, Line: s.Line, Err: errors.New(dup.message())})
	}
	return errors.Join(errs...)
}
