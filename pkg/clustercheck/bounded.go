package clustercheck

import "sync"

// boundedCache is a map safe for concurrent use that starts over when it holds max entries. What
// it saves is recomputation, so forgetting costs time and nothing else, and its memory stays
// bounded whatever keys admission requests bring. The zero value is ready to use.
type boundedCache[K comparable, V any] struct {
	mu      sync.RWMutex
	entries map[K]V
}

// get returns the value for key, computing and remembering it when it is not there. An error is
// returned and not remembered.
func (c *boundedCache[K, V]) get(key K, maxEntries int, compute func() (V, error)) (V, error) {
	c.mu.RLock()
	v, ok := c.entries[key]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxEntries {
		c.entries = make(map[K]V)
	}
	c.entries[key] = v
	c.mu.Unlock()
	return v, nil
}
