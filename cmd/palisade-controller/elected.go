package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
// The group itself runs on every replica (NeedLeaderElection is false). Its runnables are started
// anew for every term, so each must be startable more than once. There are none yet: the rollout
// operator's controllers will be added here. On shutdown the runnables stop first, and only then
// is the lease released, so that no two leaders overlap.
type electedGroup struct {
	lock resourcelock.Interface
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's (and controller-runtime's)
	// defaults unless set.
	leaseDuration, renewDeadline, retryPeriod time.Duration
	runnables                                 []manager.Runnable
	log                                       logr.Logger
}

var _ manager.LeaderElectionRunnable = (*electedGroup)(nil)

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
		if ctx.Err() == nil {
			g.log.Info("lost the lease; the controllers that need it are stopped, admission goes on; campaigning again", "lease", g.lock.Describe())
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
