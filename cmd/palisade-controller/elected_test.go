package main

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// leaseStore is one lease record in memory with a version, as a Lease has a resourceVersion.
type leaseStore struct {
	mu      sync.Mutex
	rec     *resourcelock.LeaderElectionRecord
	version int
}

func (s *leaseStore) holder() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return ""
	}
	return s.rec.HolderIdentity
}

// steal makes another replica the holder for an hour.
func (s *leaseStore) steal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := metav1.NewTime(time.Now())
	s.rec = &resourcelock.LeaderElectionRecord{HolderIdentity: "thief", LeaseDurationSeconds: 3600, AcquireTime: now, RenewTime: now}
	s.version++
}

// free deletes the record, as a thief that lets go would.
func (s *leaseStore) free() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec = nil
	s.version++
}

// memoryLock is a resourcelock.Interface over a leaseStore. Like the Lease lock, an update succeeds
// only over the version its holder last read.
type memoryLock struct {
	id    string
	store *leaseStore
	seen  int
}

func (l *memoryLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	l.seen = l.store.version
	if l.store.rec == nil {
		return nil, nil, apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "test")
	}
	r := *l.store.rec
	raw, err := json.Marshal(r)
	return &r, raw, err
}

func (l *memoryLock) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	if l.store.rec != nil {
		return errors.New("exists")
	}
	l.store.rec = &r
	l.store.version++
	l.seen = l.store.version
	return nil
}

func (l *memoryLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	if l.store.rec == nil {
		return errors.New("not found")
	}
	if l.seen != l.store.version {
		return errors.New("conflict")
	}
	l.store.rec = &r
	l.store.version++
	l.seen = l.store.version
	return nil
}

func (*memoryLock) RecordEvent(string) {}
func (l *memoryLock) Identity() string { return l.id }
func (*memoryLock) Describe() string   { return "memory/test" }

// termCounter is a runnable that counts its terms and whether one is running.
type termCounter struct {
	started, running atomic.Int32
}

func (c *termCounter) Start(ctx context.Context) error {
	c.started.Add(1)
	c.running.Add(1)
	defer c.running.Add(-1)
	<-ctx.Done()
	return nil
}

// Restartable: a termCounter can run in every term.
func (*termCounter) Restartable() {}

// oneShot is a runnable that, like a controller-runtime controller, cannot be started twice.
type oneShot struct{ running atomic.Int32 }

func (o *oneShot) Start(ctx context.Context) error {
	o.running.Add(1)
	defer o.running.Add(-1)
	<-ctx.Done()
	return nil
}

// A group holding a runnable that cannot be restarted does not campaign again when the lease is
// lost: the runnable stops, the group keeps running (admission goes on) and Healthz fails, so that
// the kubelet restarts the replica.
func TestElectedGroupWithOneShotRunnablesFailsHealthzOnLostLease(t *testing.T) {
	store := &leaseStore{}
	lock := &memoryLock{id: "replica-a", store: store}
	o := &oneShot{}
	g := &electedGroup{lock: lock, log: logr.Discard(),
		leaseDuration: time.Second, renewDeadline: 500 * time.Millisecond, retryPeriod: 100 * time.Millisecond}
	m := electedManager{group: g}
	if err := m.Add(o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Start(ctx) }()
	waitFor(t, "the group leads", func() bool { return store.holder() == "replica-a" && o.running.Load() == 1 })
	if err := g.Healthz(nil); err != nil {
		t.Fatalf("Healthz while leading: %v", err)
	}
	store.steal()
	waitFor(t, "Healthz fails after the lease is lost", func() bool { return errors.Is(g.Healthz(nil), errLeaseLost) })
	if o.running.Load() != 0 {
		t.Error("the runnable still runs after the lease was lost")
	}
	store.free()
	select {
	case err := <-done:
		t.Fatalf("the group stopped when the lease was lost: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if h := store.holder(); h == "replica-a" {
		t.Error("the group campaigned again with a runnable it cannot restart")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the group did not stop")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Losing the lease stops the elected runnables and nothing else; the group campaigns again and,
// once the lease is free, starts them anew. On shutdown it stops them before releasing the lease.
func TestElectedGroupSurvivesLosingTheLease(t *testing.T) {
	store := &leaseStore{}
	lock := &memoryLock{id: "replica-a", store: store}
	c := &termCounter{}
	g := &electedGroup{lock: lock, log: logr.Discard(),
		leaseDuration: time.Second, renewDeadline: 500 * time.Millisecond, retryPeriod: 100 * time.Millisecond}
	g.runnables = append(g.runnables, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Start(ctx) }()

	waitFor(t, "the group leads", func() bool { return store.holder() == "replica-a" && c.running.Load() == 1 })
	store.steal()
	waitFor(t, "the runnable stops after the lease is lost", func() bool { return c.running.Load() == 0 })
	select {
	case err := <-done:
		t.Fatalf("the group stopped when the lease was lost: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	store.free()
	waitFor(t, "the group leads again", func() bool { return store.holder() == "replica-a" && c.running.Load() == 1 })
	if n := c.started.Load(); n != 2 {
		t.Errorf("the runnable was started %d times; want 2 (once per term)", n)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the group did not stop")
	}
	if c.running.Load() != 0 {
		t.Error("the runnable still runs after the group stopped")
	}
	if h := store.holder(); h != "" {
		t.Errorf("after shutdown the lease is held by %q; want it released", h)
	}
}
