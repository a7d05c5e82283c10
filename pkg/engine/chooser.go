package engine

import (
	"errors"
	"fmt"
	"slices"
)

// Chooser picks, for one endpoint and one policy, which generation an evaluation uses. The policy
// is evaluated at that endpoint with:
//   - SlotEnforced: its enforced generation (the policy is absent there when it has none);
//   - SlotCandidate: its candidate where it has one, else its enforced generation.
//
// Any other value reads as SlotEnforced. The chooser is asked about the endpoint whose policies are
// being evaluated: the source pod for the egress side of a flow, the destination pod for the
// ingress side. Choose must be cheap and safe for concurrent use; it is called under the engine's
// shared lock and must not call the engine.
//
// The two Modes are ready-made choosers whose lists are precomputed per pod; any other chooser
// (Canary, ChooserFunc) has the lists of the two pods of a flow computed on demand: a sort of
// their applicable policies per evaluation.
type Chooser interface {
	Choose(ep EndpointRef, key PolicyKey) Slot
}

// Choose implements Chooser: EnforcedOnly chooses SlotEnforced everywhere, CandidatesAsEnforced
// SlotCandidate everywhere.
func (m Mode) Choose(EndpointRef, PolicyKey) Slot {
	if m == CandidatesAsEnforced {
		return SlotCandidate
	}
	return SlotEnforced
}

// ChooserFunc adapts a function to a Chooser.
type ChooserFunc func(ep EndpointRef, key PolicyKey) Slot

// Choose implements Chooser.
func (f ChooserFunc) Choose(ep EndpointRef, key PolicyKey) Slot { return f(ep, key) }

// Canary enforces candidates on a slice of endpoints, as a Staged rollout does: for each policy
// key it lists, the endpoints in its set evaluate the policy's candidate (its enforced generation
// if it has no candidate); every other endpoint, and every policy it does not list, evaluates the
// enforced generation.
type Canary map[PolicyKey]map[EndpointRef]bool

// Choose implements Chooser.
func (c Canary) Choose(ep EndpointRef, key PolicyKey) Slot {
	if c[key][ep] {
		return SlotCandidate
	}
	return SlotEnforced
}

// checkChooser rejects a nil chooser and a Mode outside the two defined.
func checkChooser(ch Chooser) error {
	if ch == nil {
		return errors.New("evaluating flow: nil chooser")
	}
	if m, ok := ch.(Mode); ok && m >= numModes {
		return fmt.Errorf("evaluating flow: unknown mode %d", m)
	}
	return nil
}

// chosen returns the generation of the entry that the chooser's slot designates for an endpoint
// that the generations in flags select, or nil when that generation is absent or does not select
// the endpoint.
func (pe *policyEntry) chosen(slot Slot, flags uint8) *compiled {
	if slot != SlotCandidate || pe.slots[SlotCandidate] == nil {
		slot = SlotEnforced
	}
	if c := pe.slots[slot]; c != nil && flags&(1<<slot) != 0 {
		return c
	}
	return nil
}

// listFor returns the ordered generations the chooser applies to ep in one direction: the
// precomputed list for a Mode, else a list computed now from the pod's set.
func listFor(ep *endpoint, ch Chooser, dir Direction) []*compiled {
	if m, ok := ch.(Mode); ok {
		return ep.lists[m][dir]
	}
	var out []*compiled
	for _, m := range ep.set.members {
		if c := m.pe.chosen(ch.Choose(ep.ref, m.pe.key), m.flags); c != nil && c.governs[dir] {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, comparePolicies)
	return out
}
