package syncer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/go-logr/logr"

	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/ipsets"
	"github.com/palisade-dev/palisade/enforcer/iptables"
)

// Family is one IP family's applier and hooks. Hooks may be nil in tests that check chains only.
type Family struct {
	Tables *iptables.Applier
	Hooks  *iptables.Hooks
}

// Stats is what one sync programmed, for metrics and logs.
type Stats struct {
	Chains, Rules, Sets, Members int
	ChainsWritten, ChainsDeleted int
	SetsDestroyed                int
}

// Step names where a sync failed, a bounded label for the errors metric.
type Step string

// The steps of a sync.
const (
	StepDesired  Step = "desired"
	StepIPSets   Step = "ipsets"
	StepIPTables Step = "iptables"
	StepHook     Step = "hook"
	StepPrune    Step = "prune"
)

// StepError is a sync that failed in Step.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("sync step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Syncer applies the desired state. It is not safe for concurrent use: the runner calls Sync from
// one goroutine.
type Syncer struct {
	// DesiredState computes the whole desired dataplane of this node. This is where the renderer
	// (pkg/render over the engine's model) plugs in.
	DesiredState func(ctx context.Context) (desired.Ruleset, error)
	Families     []Family
	Sets         *ipsets.Applier

	synced atomic.Bool
	// hooked says the FORWARD hook was checked since the last resync. Like the chains, it is trusted
	// between resyncs: checking it costs a listing of FORWARD, which with the nft backend means
	// loading the whole table, more than a one-chain change's restore.
	hooked bool
	// validator checks the desired state at every sync, scanning only the chains and sets that
	// changed since the last one.
	validator desired.Validator
}

// Synced reports whether a complete sync has succeeded (the enforcer is ready). It is safe to call
// from any goroutine, such as a readiness probe's.
func (s *Syncer) Synced() bool { return s.synced.Load() }

// Sync makes the kernel hold the desired state. With resync it reads the kernel's state first
// instead of trusting what it last wrote, which is how drift (a rule deleted by hand) is repaired.
func (s *Syncer) Sync(ctx context.Context, resync bool) (Stats, error) {
	var st Stats
	rs, err := s.DesiredState(ctx)
	if err != nil {
		return st, &StepError{StepDesired, err}
	}
	if err := s.validator.Validate(&rs); err != nil {
		return st, &StepError{StepDesired, fmt.Errorf("validating the desired state: %w", err)}
	}
	if err := s.apply(ctx, &rs, resync, s.synced.Load(), &st); err != nil {
		return st, err
	}
	if !s.synced.Load() {
		// The first complete sync is written; now, and only now, remove what is no longer desired.
		if err := s.apply(ctx, &rs, false, true, &st); err != nil {
			return st, err
		}
		s.synced.Store(true)
		logr.FromContextOrDiscard(ctx).V(1).Info("first complete sync", "chains", st.Chains, "sets", st.Sets)
	}
	return st, nil
}

func (s *Syncer) apply(ctx context.Context, rs *desired.Ruleset, resync, prune bool, st *Stats) error {
	sr, err := s.Sets.Update(ctx, rs.Sets, resync)
	if err != nil {
		return &StepError{StepIPSets, err}
	}
	st.Sets, st.Members = sr.Sets, sr.Members
	st.Chains, st.Rules = 0, 0
	for _, f := range s.Families {
		r, err := f.Tables.Apply(ctx, rs.Tables, iptables.Options{Resync: resync, Prune: prune})
		st.ChainsWritten += r.ChainsWritten
		st.ChainsDeleted += r.ChainsDeleted
		if err != nil {
			return &StepError{StepIPTables, err}
		}
		st.Chains += r.Chains
		st.Rules += r.Rules
		if f.Hooks != nil && (resync || !s.hooked) {
			if _, err := f.Hooks.EnsureJump(); err != nil {
				s.hooked = false
				return &StepError{StepHook, err}
			}
		}
	}
	s.hooked = true
	if prune {
		n, err := s.Sets.DestroyStale(ctx, rs.Sets)
		st.SetsDestroyed += n
		if err != nil {
			return &StepError{StepPrune, err}
		}
	}
	return nil
}

// Cleanup removes every Palisade chain, hook and set, in the reverse order: rules first (a set
// cannot be destroyed while a rule references it), then sets. Every family is attempted even when
// one fails; the errors are joined.
func Cleanup(ctx context.Context, families []Family, sets *ipsets.Applier) (Stats, error) {
	var st Stats
	var errs []error
	for _, f := range families {
		r, err := f.Tables.Cleanup(ctx)
		st.ChainsDeleted += r.ChainsDeleted
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return st, errors.Join(errs...)
	}
	n, err := sets.Cleanup(ctx)
	st.SetsDestroyed = n
	if err != nil {
		return st, fmt.Errorf("destroying ipsets: %w", err)
	}
	return st, nil
}
