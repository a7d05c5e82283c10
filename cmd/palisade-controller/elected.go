package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// electedGroup holds the Lease for the controllers that need a single writer and runs them while
// it leads. It replaces the manager's own leader election, which stops the whole manager when the
// lease is lost (controller-runtime then skips the graceful shutdown): a replica would drop the
// admission requests it is serving because another replica took a lease that admission does not
// need. Here losing the lease stops only the group's runnables; the webhooks, the certificate
// rotation and the probes go on, and the group campaigns again.
//
// The group itself runs on every replica (NeedLeaderElection is false). The rollout operator's
// controllers are added to it through electedManager. controller-runtime's controllers and caches
// cannot be started twice, so after a lost lease a group holding any runnable that is not
// restartableRunnable does not campaign again in this process: it keeps serving admission and
// fails /healthz (Healthz), so that the kubelet restarts the replica with its graceful shutdown and
// the new process campaigns afresh. Admission is never cut off by the lease. On shutdown the runnables stop first, and only then is the lease released,
// so that no two leaders overlap.
type electedGroup struct {
	lock resourcelock.Interface
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's (and controller-runtime's)
	// defaults unless set.
	leaseDuration, renewDeadline, retryPeriod time.Duration
	runnables                                 []manager.Runnable
	log                                       logr.Logger
	// lostForGood is set once a lease was lost by a group that cannot restart its runnables.
	lostForGood atomic.Bool
}

// Healthz fails once the lease was lost for good (see Start): the replica still serves admission,
// but only a restart brings its controllers back.
func (g *electedGroup) Healthz(*http.Request) error {
	if g.lostForGood.Load() {
		return errLeaseLost
	}
	return nil
}

var _ manager.LeaderElectionRunnable = (*electedGroup)(nil)

// errLeaseLost is what Healthz reports after the lease was lost by a group whose runnables cannot be
// started again.
var errLeaseLost = errors.New("lost the leader-election lease: the rollout controllers cannot be restarted in this process; restart it to campaign again")

// restartableRunnable marks a runnable that can be started again after it stopped.
type restartableRunnable interface {
	manager.Runnable
	Restartable()
}

// restartable reports whether every runnable of the group can be started in a new term.
func (g *electedGroup) restartable() bool {
	for _, r := range g.runnables {
		if _, ok := r.(restartableRunnable); !ok {
			return false
		}
	}
	return true
}

// electedManager is the manager as the rollout controllers see it: what they add (controllers, the
// revision cache) joins the elected group instead of the manager, so it runs only while this replica
// holds the lease. Everything else is the manager's.
type electedManager struct {
	manager.Manager
	group *electedGroup
}

// Add puts the runnable in the elected group; it must be called before the manager starts.
func (m electedManager) Add(r manager.Runnable) error {
	m.group.runnables = append(m.group.runnables, r)
	return nil
}

// NeedLeaderElection is false: the group does its own election.
func (*electedGroup) NeedLeaderElection() bool { return false }

// Start campaigns until ctx is done, running the runnables in every term it leads.
func (g *electedGroup) Start(ctx context.Context) error {
	if g.leaseDuration == 0 {
		g.leaseDuration, g.renewDeadline, g.retryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
	for ctx.Err() == nil {
		if err := g.term(ctx); err != nil {
			return err
		}
		if ctx.Err() == nil && !g.restartable() {
			// The controllers cannot run again in this process. Admission goes on; /healthz fails
			// (Healthz) so that the kubelet restarts this replica with its graceful shutdown, and the
			// new process campaigns afresh.
			g.lostForGood.Store(true)
			g.log.Info("lost the lease; the rollout controllers cannot restart in this process: admission goes on and /healthz fails until the kubelet restarts this replica", "lease", g.lock.Describe())
			<-ctx.Done()
			return nil
		}
		if ctx.Err() == nil {
			g.log.Info("lost the lease; admission goes on; campaigning again", "lease", g.lock.Describe())
		}
	}
	return nil
}

// term campaigns once, leads until the lease is lost or ctx is done, and returns once the
// runnables it started have returned.
func (g *electedGroup) term(ctx context.Context) error {
	var (
		mu                    sync.Mutex
		leading, shuttingDown bool
		stopped               = make(chan struct{})
		errs                  []error
	)
	// The elector releases the lease when runCtx ends; runCtx ends after the runnables have
	// stopped, never before.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	stopWatch := context.AfterFunc(ctx, func() {
		mu.Lock()
		shuttingDown = true
		wasLeading := leading
		mu.Unlock()
		if wasLeading {
			<-stopped
		}
		cancelRun()
	})
	defer stopWatch()

	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            g.lock,
		LeaseDuration:   g.leaseDuration,
		RenewDeadline:   g.renewDeadline,
		RetryPeriod:     g.retryPeriod,
		ReleaseOnCancel: true,
		Name:            g.lock.Describe(),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				mu.Lock()
				if shuttingDown {
					mu.Unlock()
					return
				}
				leading = true
				mu.Unlock()
				defer close(stopped)
				g.log.Info("acquired the lease", "lease", g.lock.Describe(), "identity", g.lock.Identity())
				// The runnables stop when the lease is lost (lctx) or the process stops (ctx).
				rctx, cancel := context.WithCancel(lctx)
				defer cancel()
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				if err := runAll(rctx, g.runnables); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					// End the term (releasing the lease) and, through Start's error, the process.
					cancelRun()
				}
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return fmt.Errorf("configuring leader election: %w", err)
	}
	le.Run(runCtx)
	mu.Lock()
	wasLeading := leading
	mu.Unlock()
	if wasLeading {
		<-stopped
	}
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}

// runAll starts every runnable and waits for all of them to return. One that fails stops the
// others, and its error is returned: a controller that cannot run is a reason to stop the process,
// through the manager, not to lead without it.
func runAll(ctx context.Context, runnables []manager.Runnable) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(runnables))
	for _, r := range runnables {
		go func() {
			err := r.Start(ctx)
			if err != nil {
				cancel()
			}
			errc <- err
		}()
	}
	var errs []error
	for range runnables {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
