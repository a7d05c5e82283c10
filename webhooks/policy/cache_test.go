package policy

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Every kind the webhooks cache loses its managed fields on the way in: through the pod transform
// for pods, through the default transform for every other kind.
func TestCacheOptionsStripManagedFieldsFromEveryKind(t *testing.T) {
	opts := CacheOptions()
	for _, obj := range watchedObjects() {
		transform := opts.DefaultTransform
		for o, by := range opts.ByObject {
			if sameKind(o, obj) && by.Transform != nil {
				transform = by.Transform
			}
		}
		if transform == nil {
			t.Errorf("%T: cached with no transform; managed fields would be kept", obj)
			continue
		}
		in := obj.DeepCopyObject().(client.Object)
		in.SetName("x")
		in.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}})
		out, err := transform(in)
		if err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		got := out.(client.Object)
		if mf := got.GetManagedFields(); len(mf) != 0 {
			t.Errorf("%T: cached with managed fields %v", obj, mf)
		}
		if got.GetName() != "x" {
			t.Errorf("%T: the transform lost the name", obj)
		}
	}
}

func sameKind(a, b client.Object) bool { return reflect.TypeOf(a) == reflect.TypeOf(b) }
