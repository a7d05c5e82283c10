package knp

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error is one part of a Kubernetes NetworkPolicy spec that cannot be translated.
type Error struct {
	// Field is the path of the offending field, as a field.Path renders it
	// ("spec.ingress[0].from[1].ipBlock.cidr", "spec.podSelector.matchLabels[app]").
	Field string
	// Err says what is wrong and, where it helps, what is allowed.
	Err error
}

// Error renders the error as "<field>: <what is wrong>".
func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause, so that errors.Is sees through to a CIDR parser's error for example.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem of one translation, in the order of the spec's fields.
type ErrorList []*Error

// Err joins the list into one error (nil for an empty list), one problem per line.
func (l ErrorList) Err() error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// errorf records an error at path p; format may use %w.
func (t *translator) errorf(p *field.Path, format string, args ...any) {
	t.errs = append(t.errs, &Error{Field: p.String(), Err: fmt.Errorf(format, args...)})
}
