package validation

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/pkg/selector"
)

// maxSelectorLen is the CRD's maxLength for every selector field (R12).
const maxSelectorLen = 1024

// globalRule says where global() may appear in a selector field.
type globalRule int

const (
	// globalForbidden: policy selectors and rule selectors. Calico's CEL rejects the raw substring
	// "global(" anywhere, even inside a quoted value, and so does Palisade.
	globalForbidden globalRule = iota
	// globalAlone: a rule's namespaceSelector may be exactly global() and nothing else.
	globalAlone
	// globalUnchecked: notSelector and serviceAccounts.selector, which Calico does not check.
	globalUnchecked
)

// selectorField checks one selector-valued field: length (R12), syntax (S2, R9) and the placement of
// global(). An over-long selector is not parsed, so that a hostile value costs nothing.
func (c *checker) selectorField(s string, p *field.Path, g globalRule) {
	if len(s) > maxSelectorLen {
		c.add(field.TooLong(p, s, maxSelectorLen))
		return
	}
	if err := selector.Validate(s); err != nil {
		c.add(field.Invalid(p, s, selectorErrorDetail(err)))
		return
	}
	switch g {
	case globalForbidden:
		if selector.ContainsGlobal(s) {
			c.add(field.Invalid(p, s, `global() can only be used in a rule's namespaceSelector, alone`))
		}
	case globalAlone:
		if selector.ContainsGlobal(s) && !selector.IsGlobal(s) {
			c.add(field.Invalid(p, s, `global() cannot be combined with other selectors: use exactly "global()" or a selector without it`))
		}
	case globalUnchecked:
	}
}

// selectorErrorDetail keeps the parser's position message but drops the echo of the input, which
// the field error already shows as the bad value.
func selectorErrorDetail(err error) string {
	var pe *selector.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("invalid selector: at position %d: expected %s, found %s", pe.Pos, pe.Expected, pe.Found)
	}
	return "invalid selector: " + err.Error()
}
