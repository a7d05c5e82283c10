package clustercheck

import (
	"fmt"
	"sync"

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
	mu     sync.RWMutex
	parsed map[string]selector.Selector
}

// parse returns the parsed selector for text, from the cache when it is there.
func (c *SelectorCache) parse(text string) (selector.Selector, error) {
	if c == nil {
		return parseSelector(text)
	}
	c.mu.RLock()
	sel, ok := c.parsed[text]
	c.mu.RUnlock()
	if ok {
		return sel, nil
	}
	sel, err := parseSelector(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil || len(c.parsed) >= maxCachedSelectors {
		c.parsed = make(map[string]selector.Selector)
	}
	c.parsed[text] = sel
	c.mu.Unlock()
	return sel, nil
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
