package engine

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkIndex verifies the shared sets against a from-scratch computation: every pod holds the
// interned set of exactly the generations selecting it, with the lists a full sort gives; every
// interned set is held by as many pods as its reference count says, and no other set is interned.
func checkIndex(t testing.TB, e *Engine) {
	t.Helper()
	// What a reader sees: the lists deferred by policy stores built (rlock).
	e.runlock(e.rlock())
	held := map[*appliedSet]int{}
	for _, ep := range e.pods {
		v := e.view(ep)
		var want []member
		for _, pe := range e.policies {
			if f := pe.flagsFor(v); f != 0 {
				want = append(want, member{pe: pe, ver: pe.ver, flags: f})
			}
		}
		slices.SortFunc(want, func(a, b member) int { return cmp.Compare(a.pe.id, b.pe.id) })
		if ep.set == nil {
			t.Fatalf("pod %s holds no set", ep.ref)
		}
		if !slices.Equal(ep.set.members, want) {
			t.Fatalf("pod %s: set members %v, want %v", ep.ref, ep.set.members, want)
		}
		fresh := &appliedSet{members: want}
		fresh.buildLists()
		if !sameLists(fresh.lists, ep.set.lists) {
			t.Fatalf("pod %s: lists differ from a fresh build", ep.ref)
		}
		if !sameBacking(ep.lists, ep.set.lists) || ep.candSame != ep.set.candSame || ep.candSame != fresh.candSame {
			t.Fatalf("pod %s: endpoint lists are not its set's", ep.ref)
		}
		held[ep.set]++
	}
	interned := 0
	for h, bucket := range e.sets {
		for _, s := range bucket {
			interned++
			if s.hash != h || s.hash != hashMembers(s.members) {
				t.Fatalf("set interned under the wrong hash")
			}
			if s.refs != held[s] || s.refs == 0 {
				t.Fatalf("set %v: refs %d, held by %d pods", s.members, s.refs, held[s])
			}
		}
	}
	if interned != len(held) {
		t.Fatalf("%d sets interned, %d held", interned, len(held))
	}
}

func sameLists(a, b [numModes][numDirections][]*compiled) bool {
	for m := range numModes {
		for d := range numDirections {
			if !slices.Equal(a[m][d], b[m][d]) {
				return false
			}
		}
	}
	return true
}

// sameBacking reports whether two list arrays are the same slices (not copies).
func sameBacking(a, b [numModes][numDirections][]*compiled) bool {
	for m := range numModes {
		for d := range numDirections {
			if len(a[m][d]) != len(b[m][d]) || len(a[m][d]) > 0 && &a[m][d][0] != &b[m][d][0] {
				return false
			}
		}
	}
	return true
}

// TestIndexConsistentUnderChurn applies random worlds with noise (inserts, overwrites,
// deletions, in random orders) and checks the shared sets after every step.
func TestIndexConsistentUnderChurn(t *testing.T) {
	for seed := range 60 {
		r := rand.New(rand.NewPCG(uint64(seed), 99))
		w := genWorld(randChooser{r})
		e := New()
		objs := append([]any(nil), w.objs...)
		for round := range 3 {
			r.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
			for i, o := range objs {
				if round == 1 && i%3 == 0 {
					remove(e, o)
				} else {
					_ = store(e, o)
				}
				checkIndex(t, e)
			}
		}
	}
}

// TestPodsShareLists: pods selected by the same policies share one set and one copy of the
// lists however many policies select them, and a policy change builds each new set once.
func TestPodsShareLists(t *testing.T) {
	e := New()
	for i := range 50 {
		apply(t, e, pod(fmt.Sprintf("ns%d", i%5), fmt.Sprintf("p%d", i), fmt.Sprintf("10.1.0.%d", i+1), map[string]string{"app": fmt.Sprint(i % 2)}))
	}
	for i := range 40 {
		apply(t, e, gnp(fmt.Sprintf("g%02d", i), sel("all()"), order(float64(i%7)), ingress(rl(Allow))))
	}
	if n := countSets(e); n != 1 {
		t.Fatalf("%d sets for 50 pods selected by the same 40 policies, want 1", n)
	}
	apply(t, e, gnp("app1", sel("app == '1'"), ingress(rl(Deny))))
	apply(t, e, np("ns0", "local", ingress(rl(Deny))))
	// Sets: app 0 outside ns0, app 1 outside ns0, app 0 in ns0, app 1 in ns0.
	if n := countSets(e); n != 4 {
		t.Fatalf("%d sets, want 4", n)
	}
	a, b := e.pods[EndpointRef{"ns1", "p1"}], e.pods[EndpointRef{"ns3", "p3"}]
	e.runlock(e.rlock())
	if a.set != b.set || &a.lists[EnforcedOnly][Ingress][0] != &b.lists[EnforcedOnly][Ingress][0] {
		t.Errorf("pods with the same policies do not share their lists")
	}
	if got := len(a.lists[EnforcedOnly][Ingress]); got != 41 {
		t.Errorf("list length %d, want 41", got)
	}
	checkIndex(t, e)
	for i := range 40 {
		e.DeletePolicy(PolicyKey{Kind: KindGlobalNetworkPolicy, Name: fmt.Sprintf("g%02d", i)}, SlotEnforced)
	}
	e.DeletePolicy(PolicyKey{Kind: KindGlobalNetworkPolicy, Name: "app1"}, SlotEnforced)
	for i := range 50 {
		if i%5 != 0 {
			e.DeletePod(fmt.Sprintf("ns%d", i%5), fmt.Sprintf("p%d", i))
		}
	}
	checkIndex(t, e)
	if n := countSets(e); n != 1 {
		t.Errorf("%d sets after deletions, want 1", n)
	}
}

func countSets(e *Engine) int {
	n := 0
	for _, b := range e.sets {
		n += len(b)
	}
	return n
}
