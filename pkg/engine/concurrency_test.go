package engine

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConcurrentReadersAndWriter evaluates flows from several goroutines while one goroutine
// applies a random world; afterwards the engine must equal one built sequentially. Run it with
// -race to check the locking.
func TestConcurrentReadersAndWriter(t *testing.T) {
	for seed := range 20 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		w := genWorld(randChooser{r})
		e := New()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var v Verdict
				var c Comparison
				for i := g; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					f := w.flows[i%len(w.flows)]
					if err := e.EvaluateInto(&v, f, Mode(i%2)); err != nil {
						t.Error(err)
						return
					}
					if err := e.EvaluateBothInto(&c, f); err != nil {
						t.Error(err)
						return
					}
					_ = e.ApplicablePolicies(EndpointRef{"ns0", "p0"}, Ingress, EnforcedOnly)
					// A custom chooser reads the pods' shared sets to build lists on demand.
					if _, err := e.Allowed(f, ChooserFunc(func(ep EndpointRef, _ PolicyKey) Slot { return Slot(len(ep.Name) % 2) })); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for _, o := range w.objs {
			_ = store(e, o)
		}
		close(stop)
		wg.Wait()
		ref := New()
		for _, o := range w.objs {
			_ = store(ref, o)
		}
		if got, want := verdicts(t, e, w.flows), verdicts(t, ref, w.flows); got != want {
			t.Fatalf("seed %d: concurrent build differs\n%s\n%s", seed, got, want)
		}
	}
}
