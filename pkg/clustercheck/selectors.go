package clustercheck

import (
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// maxCachedSelectors bounds the SelectorCache. Admission requests carry selectors chosen by users, so
// an unbounded cache would let a stream of distinct selectors grow the webhook's memory without end.
const maxCachedSelectors = 4096

// SelectorCache remembers the selections the engine compiles from selectors (engine.Selection), by
// the text of every field they are compiled from, so that the selectors of the policies already
// stored are parsed and compiled once rather than on every admission request. When it is full it
// starts over, which costs recompiling and nothing else. The zero value is ready to use and safe for
// concurrent use; a nil *SelectorCache compiles every time.
type SelectorCache struct {
	compiled boundedCache[string, *engine.Selection]
}

// get returns the selection for key, compiling it when it is not cached.
func (c *SelectorCache) get(key string, compile func() (*engine.Selection, error)) (*engine.Selection, error) {
	if c == nil {
		return compile()
	}
	return c.compiled.get(key, maxCachedSelectors, compile)
}

// selectionKey renders the inputs of a selection; fields are length-prefixed so that no text can
// pass for another combination of fields.
type selectionKey struct{ b strings.Builder }

func (k *selectionKey) field(s string) *selectionKey {
	k.b.WriteString(strconv.Itoa(len(s)))
	k.b.WriteByte(':')
	k.b.WriteString(s)
	return k
}

// namespacedSubjectKey names everything engine.NamespacedPolicySubject reads.
func namespacedSubjectKey(namespace string, spec *v1alpha1.PolicySpec) string {
	k := &selectionKey{}
	k.field("namespaced").field(namespace).field(spec.Selector).field(spec.ServiceAccountSelector)
	return k.b.String()
}

// gnpSubjectKey names everything engine.GlobalNetworkPolicySubject reads.
func gnpSubjectKey(p *v1alpha1.GlobalNetworkPolicy) string {
	k := &selectionKey{}
	k.field("global").field(p.Spec.Selector).field(p.Spec.NamespaceSelector).field(p.Spec.ServiceAccountSelector)
	if p.Spec.DoNotTrack || p.Spec.PreDNAT {
		k.field("host")
	}
	return k.b.String()
}

// peerKey names everything engine.NamedPortPeers reads.
func peerKey(policyNS string, e *v1alpha1.EntityRule) string {
	k := &selectionKey{}
	k.field("peer").field(policyNS).field(e.Selector).field(e.NotSelector).field(e.NamespaceSelector)
	if sa := e.ServiceAccounts; sa != nil {
		k.field("sa").field(sa.Selector)
		for _, n := range sa.Names {
			k.field(n)
		}
	}
	return k.b.String()
}
