package source

import (
	"cmp"
	"errors"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

// PolicyProgram is what this enforcer programs for one Palisade policy: a snapshot for the
// observation pipeline and the node report.
type PolicyProgram struct {
	Key engine.PolicyKey
	// Phase is the candidate's phase as applied: Audit, Staged or Enforced (a policy without a phase
	// for its current generation gets its strategy's default, see docs/rollout.md).
	Phase string
	// EnforcedGeneration is the generation actually in the enforced slot, 0 when none. It differs from
	// status.enforcedGeneration while that generation's revision is missing (the last known
	// generation stays enforced).
	EnforcedGeneration int64
	// CandidateGeneration is the policy's metadata.generation: the candidate the node reports on.
	// It is the enforced generation itself when Phase is Enforced.
	CandidateGeneration int64
	// CanaryPercent is the share of endpoints enforcing the candidate (Staged only, else 0).
	CanaryPercent int32
	// CanaryEndpoints echoes status.canaryEndpoints (cluster-wide, while Staged).
	CanaryEndpoints int
	// RevisionMissing: the status names an enforced generation whose revision this enforcer cannot
	// find; EnforcedGeneration is the last known one (or the spec standing in, see Source).
	RevisionMissing bool
}

// policyRecord is the last seen state of one Palisade policy.
type policyRecord struct {
	key        engine.PolicyKey
	uid        types.UID
	generation int64
	immediate  bool
	status     v1alpha1.PolicyStatus
	// revisionNS is the namespace its revisions must be in; "" accepts any (a GlobalNetworkPolicy
	// when Source.RevisionNamespace is empty).
	revisionNS string
	// store writes a spec to a slot: the policy's own when raw is nil, else the revision's JSON.
	store func(e *engine.Engine, raw []byte, slot engine.Slot) error

	plan    plan
	missing bool
}

// slotState is what this source stored in one slot of one policy.
type slotState struct {
	stored     bool
	generation int64
	origin     origin
}

// Generation returns the generation held in one slot of a policy (for a Kubernetes
// NetworkPolicy, its metadata.generation in the enforced slot), false when the slot is empty.
func (s *Source) Generation(key engine.PolicyKey, slot engine.Slot) (int64, bool) {
	if slot > engine.SlotCandidate {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.slots[key]
	if !ok || !st[slot].stored {
		return 0, false
	}
	return st[slot].generation, true
}

// Chooser returns the dataplane's chooser for the current statuses: the candidate of every Staged
// policy is enforced for the endpoints in its canary (rollout.InCanary of the endpoint's identity and
// the policy's share), the enforced generation everywhere else. With nothing Staged it is
// engine.EnforcedOnly, whose lists the engine precomputes. The returned chooser is a snapshot: later
// status changes need a new call.
func (s *Source) Chooser() engine.Chooser {
	s.mu.Lock()
	staged := map[engine.PolicyKey]int32{}
	for k, r := range s.records {
		if r.plan.canaryPercent > 0 {
			staged[k] = r.plan.canaryPercent
		}
	}
	s.mu.Unlock()
	if len(staged) == 0 {
		return engine.EnforcedOnly
	}
	return engine.ChooserFunc(func(ep engine.EndpointRef, key engine.PolicyKey) engine.Slot {
		if p, ok := staged[key]; ok && rollout.InCanary(rollout.EndpointIdentity(ep.Namespace, ep.Name), p) {
			return engine.SlotCandidate
		}
		return engine.SlotEnforced
	})
}

// Policies returns what is programmed for every Palisade policy, sorted by kind, namespace, name.
func (s *Source) Policies() []PolicyProgram {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PolicyProgram, 0, len(s.records))
	for k, r := range s.records {
		p := PolicyProgram{
			Key:                 k,
			Phase:               string(r.plan.phase),
			CandidateGeneration: r.generation,
			CanaryPercent:       r.plan.canaryPercent,
			RevisionMissing:     r.missing,
		}
		if r.plan.phase == v1alpha1.PhaseStaged {
			p.CanaryEndpoints = int(r.status.CanaryEndpoints)
		}
		if st := s.slots[k]; st[engine.SlotEnforced].stored {
			p.EnforcedGeneration = st[engine.SlotEnforced].generation
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PolicyProgram) int { return compareKeys(a.Key, b.Key) })
	return out
}

// MissingRevisions counts the policies whose status names an enforced generation that has no
// revision this enforcer can read.
func (s *Source) MissingRevisions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.records {
		if r.missing {
			n++
		}
	}
	return n
}

func compareKeys(a, b engine.PolicyKey) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// program applies a policy's plan to the engine. Called with s.mu held.
//
// The enforced slot never opens what it closed because a revision is missing: when the status names
// an enforced generation whose revision cannot be found (deleted by hand, not yet in the cache,
// unreadable), the slot keeps the generation it holds. When it holds nothing yet (an enforcer
// starting while the revision is missing), the policy's spec stands in: it is the newest intent,
// and it is what every enforcer did before rollouts existed, so a missing revision never leaves the
// policy's endpoints unprotected.
func (s *Source) program(r *policyRecord) {
	r.plan = planFor(r.generation, r.immediate, r.status)
	if s.EnforceAsWritten {
		r.plan = plan{phase: v1alpha1.PhaseEnforced, enforced: fromSpec, enforcedGeneration: r.generation}
	}
	if r.plan.candidate {
		s.storeSlot(r, engine.SlotCandidate, fromSpec, r.generation, nil)
	} else {
		s.clearSlot(r.key, engine.SlotCandidate)
	}
	wasMissing := r.missing
	r.missing = false
	switch r.plan.enforced {
	case fromNothing:
		s.clearSlot(r.key, engine.SlotEnforced)
	case fromSpec:
		s.storeSlot(r, engine.SlotEnforced, fromSpec, r.generation, nil)
	case fromRevision:
		raw, ok := s.revisionFor(r, r.plan.enforcedGeneration)
		if ok && s.storeSlot(r, engine.SlotEnforced, fromRevision, r.plan.enforcedGeneration, raw) {
			break
		}
		r.missing = true
		cur := s.slots[r.key][engine.SlotEnforced]
		if !cur.stored {
			s.storeSlot(r, engine.SlotEnforced, fromSpec, r.generation, nil)
		}
		if !wasMissing {
			s.Log.Error(errors.New("revision not found"), "the enforced generation's revision is missing; keeping the last known generation enforced",
				"policy", r.key.String(), "enforcedGeneration", r.plan.enforcedGeneration,
				"keeping", s.slots[r.key][engine.SlotEnforced].generation)
		}
	}
	if wasMissing && !r.missing {
		s.Log.Info("the enforced generation's revision is back", "policy", r.key.String(), "enforcedGeneration", r.plan.enforcedGeneration)
	}
}

// storeSlot writes a generation to a slot unless the slot already holds it (a generation's spec
// never changes; status updates come often and must not recompile the policy). It returns false when
// the generation's revision data cannot be read (the slot is unchanged).
func (s *Source) storeSlot(r *policyRecord, slot engine.Slot, from origin, gen int64, raw []byte) bool {
	st := s.slots[r.key]
	if st[slot].stored && st[slot].generation == gen {
		return true
	}
	err := r.store(s.Engine, raw, slot)
	var bad *revisionDataError
	if errors.As(err, &bad) {
		s.Log.Error(err, "revision not usable", "policy", r.key.String(), "generation", gen)
		return false
	}
	stored, failClosed := storedDespite(err)
	switch {
	case !stored:
		s.Log.Error(err, "policy generation not stored; the slot keeps what it held", "policy", r.key.String(), "slot", slot, "generation", gen)
		return true
	case failClosed:
		s.Log.Error(err, "policy generation stored failing closed", "policy", r.key.String(), "slot", slot, "generation", gen)
	}
	st[slot] = slotState{stored: true, generation: gen, origin: from}
	s.slots[r.key] = st
	return true
}

// storedDespite reads an engine upsert's error: whether the new generation is now in the slot, and
// whether it is there failing closed.
func storedDespite(err error) (stored, failClosed bool) {
	var invalid *engine.InvalidPolicyError
	var notStored *engine.NotStoredError
	switch {
	case err == nil:
		return true, false
	case errors.As(err, &notStored), errors.As(err, &invalid) && invalid.LastValidKept:
		return false, false
	default:
		return true, true
	}
}

func (s *Source) clearSlot(key engine.PolicyKey, slot engine.Slot) {
	st, ok := s.slots[key]
	if !ok || !st[slot].stored {
		return
	}
	s.Engine.DeletePolicy(key, slot)
	st[slot] = slotState{}
	s.slots[key] = st
}

// forget removes both slots of a deleted policy. Called with s.mu held.
func (s *Source) forget(key engine.PolicyKey) {
	s.Engine.DeletePolicy(key, engine.SlotEnforced)
	s.Engine.DeletePolicy(key, engine.SlotCandidate)
	if r := s.records[key]; r != nil {
		delete(s.byUID, r.uid)
	}
	delete(s.records, key)
	delete(s.slots, key)
}
