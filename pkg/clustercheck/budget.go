package clustercheck

import (
	"context"
	"errors"
	"fmt"
)

// DefaultMaxWork is the work a check may do when Checker.MaxWork is 0: two million units, where a
// unit is one pod seen or tested against one selection, or one stored policy read. On the benchmark
// machine a unit costs 50-150 ns, so the cap is reached in a few hundred milliseconds, well inside
// the 5 s (Palisade kinds) and 2 s (Kubernetes NetworkPolicy) timeouts of the webhooks.
const DefaultMaxWork = 2_000_000

// ctxCheckEvery is how many units pass between two looks at the context: often enough that a check
// stops within a millisecond or so of its deadline, rarely enough to cost nothing measurable.
const ctxCheckEvery = 1024

// ErrWorkBudget is the cause of a CutShortError when the check used up its work budget.
var ErrWorkBudget = errors.New("work budget spent")

// CutShortError says a check stopped before it finished: its work budget ran out, or its context
// was cancelled or passed its deadline. The findings returned with it are those of the checks that
// finished; the others are unknown, not absent. Checks are advice: a cut-short check must never be
// a reason to refuse a policy.
type CutShortError struct {
	// Done names the checks that finished, in the order they ran; empty when none did.
	Done []string
	// Work is the number of units spent.
	Work int64
	// Cause is ErrWorkBudget or the context's error.
	Cause error
}

func (e *CutShortError) Error() string {
	return fmt.Sprintf("cluster checks cut short after %d units of work (finished: %v): %v", e.Work, e.Done, e.Cause)
}

func (e *CutShortError) Unwrap() error { return e.Cause }

// budget counts the work of one check against its cap and, every ctxCheckEvery units, looks at its
// context. It reads no clock: the deadline is the context's. A budget is used by one goroutine.
type budget struct {
	ctx   context.Context
	max   int64
	spent int64
	next  int64 // spent at which the context is looked at next
	cut   error // ErrWorkBudget or the context's error, once the budget has run out
}

func newBudget(ctx context.Context, maxWork int) *budget {
	if maxWork <= 0 {
		maxWork = DefaultMaxWork
	}
	b := &budget{ctx: ctx, max: int64(maxWork)}
	if err := ctx.Err(); err != nil {
		b.cut = err
	}
	return b
}

// spend charges n units and reports whether the check may go on.
func (b *budget) spend(n int) bool {
	if b.cut != nil {
		return false
	}
	b.spent += int64(n)
	switch {
	case b.spent > b.max:
		b.cut = ErrWorkBudget
	case b.spent >= b.next:
		b.next = b.spent + ctxCheckEvery
		b.cut = b.ctx.Err()
	}
	return b.cut == nil
}
