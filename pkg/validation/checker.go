package validation

import "k8s.io/apimachinery/pkg/util/validation/field"

// checker accumulates errors and warnings while walking one object, so that every helper can report
// both without threading two return values through every call.
type checker struct {
	errs  field.ErrorList
	warns []Warning
	// namespaced is true for NetworkPolicy, false for GlobalNetworkPolicy.
	namespaced bool
}

func (c *checker) add(errs ...*field.Error) { c.errs = append(c.errs, errs...) }

func (c *checker) warn(p *field.Path, msg string) {
	c.warns = append(c.warns, Warning{Field: p.String(), Message: msg})
}
