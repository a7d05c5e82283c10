package engine

import "math/rand/v2"

// GenWorldForTest exposes the random world generator of the property tests (gen_test.go) to the
// external dataplane tests, which import pkg/render and so cannot live in this package.
func GenWorldForTest(seed uint64) (objs []any, flows []Flow) {
	w := genWorld(randChooser{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))})
	return w.objs, w.flows
}

// StoreForTest inserts one object of a generated world (candidates as SlotCandidate).
func StoreForTest(e *Engine, o any) error { return store(e, o) }

// GenWorldFromBytesForTest is GenWorldForTest driven by fuzz input bytes.
func GenWorldFromBytesForTest(data []byte) (objs []any, flows []Flow) {
	w := genWorld(&byteChooser{b: data})
	return w.objs, w.flows
}
