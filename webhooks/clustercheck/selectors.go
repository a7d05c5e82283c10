package clustercheck

import (
	"fmt"

	"github.com/palisade-dev/palisade/pkg/selector"
)

// maxCachedSelectors bounds the SelectorCache. Admission requests carry selectors chosen by users, so
// an unbounded cache would let a stream of distinct selectors grow the webhook's memory without end.
const maxCachedSelectors = 4096

// SelectorCache remembers parsed selectors by their text, so that the selectors of the policies
// already stored are parsed once rather than on every admission request. When it is full it starts
// over, which costs re-parsing and nothing else. The zero value is ready to use and safe for
// concurrent use; a nil *SelectorCache parses every time.
type SelectorCache struct {
	parsed boundedCache[string, selector.Selector]
}

// parse returns the parsed selector for text, from the cache when it is there.
func (c *SelectorCache) parse(text string) (selector.Selector, error) {
	if c == nil {
		return parseSelector(text)
	}
	return c.parsed.get(text, maxCachedSelectors, func() (selector.Selector, error) { return parseSelector(text) })
}

func parseSelector(text string) (selector.Selector, error) {
	sel, err := selector.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing selector %q: %w", text, err)
	}
	return sel, nil
}

// prefixed parses text and prefixes its keys (pcns./pcsa. inheritance, semantics §5.1, §5.2).
func (w *world) prefixed(text, prefix string) (selector.Selector, error) {
	sel, err := w.sel.parse(text)
	if err != nil {
		return nil, err
	}
	return selector.PrefixKeys(sel, prefix), nil
}
