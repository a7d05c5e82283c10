package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/palisade-dev/palisade/pkg/manifest"
)

// namespaceFlag is -n/--namespace, as kubectl has it: the namespace of the objects that name none.
// Offline there is no kubeconfig context, so without the flag it is "default", which is what
// kubectl uses when neither the flag nor the context names one.
type namespaceFlag struct {
	value    string
	explicit bool
}

func (n *namespaceFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&n.value, "namespace", "n", defaultNamespace, "namespace of the objects that name none, as kubectl apply -n; an object naming another namespace is refused, as kubectl refuses it")
}

func (n *namespaceFlag) resolve(cmd *cobra.Command) {
	n.explicit = cmd.Flags().Changed("namespace")
}

// clusterScoped are the kinds the manifests may hold that have no namespace: kubectl neither sets
// nor checks one for them.
var clusterScoped = map[schema.GroupKind]bool{
	{Group: "", Kind: "Namespace"}:                              true,
	{Group: "policy.palisade.dev", Kind: "GlobalNetworkPolicy"}: true,
}

// applyNamespace gives every decoded namespaced object without a namespace the flag's namespace,
// as kubectl apply does before the object reaches the API server, so that lint validates, and
// trace and matrix evaluate, what the cluster would store. With an explicit -n, an object naming
// another namespace is an error, as kubectl apply -n refuses it. Cluster-scoped kinds are left
// alone. It changes the objects of the set in place.
func applyNamespace(set *manifest.Set, n namespaceFlag) error {
	var errs []error
	for _, d := range set.Documents {
		meta := objectMeta(d)
		if meta == nil || clusterScoped[d.GroupVersionKind().GroupKind()] {
			continue
		}
		switch {
		case meta.Namespace == "":
			meta.Namespace = n.value
			d.Namespace = n.value
		case n.explicit && meta.Namespace != n.value:
			errs = append(errs, &manifest.Error{File: d.Source.File, Index: d.Source.Index, Line: lineOr(d.FieldLine("metadata.namespace"), d.Source.Line),
				Err: fmt.Errorf("%s %s is in namespace %s, not the namespace %s given by -n: kubectl apply -n %s refuses it; pass -n %s or leave -n out",
					d.Kind, quote(d.Name), quote(meta.Namespace), quote(n.value), quote(n.value), quote(meta.Namespace))})
		}
	}
	return errors.Join(errs...)
}

// objectMeta returns the metadata of a decoded object, nil when the document did not decode.
func objectMeta(d *manifest.Document) *metav1.ObjectMeta {
	if d.Object == nil {
		return nil
	}
	acc, ok := d.Object.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil
	}
	return acc.GetObjectMeta().(*metav1.ObjectMeta)
}

func lineOr(line, fallback int) int {
	if line > 0 {
		return line
	}
	return fallback
}
