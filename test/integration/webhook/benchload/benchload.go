package benchload

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// RoundLabel marks the policies a Round creates with the round's tag, so that they can be deleted
// before the next round and every round sees the same store.
const RoundLabel = "bench.palisade.dev/round"

// Namespace is the namespace client i writes to, out of n: bench-0 … bench-(n-1).
func Namespace(i, n int) string { return fmt.Sprintf("bench-%d", i%n) }

// Policy is a realistic policy: a selector that matches seeded pods (app == 'web-N', N < 5), an
// ingress rule on the named port "http" and an egress rule allowing DNS, so that every cluster check
// runs and none warns.
func Policy(ns, name string, order float64, app int) *v1alpha1.NetworkPolicy {
	p := &v1alpha1.NetworkPolicy{ObjectMeta: metaOf(ns, name)}
	p.Spec.Order = ptr.To(order)
	p.Spec.Selector = fmt.Sprintf("app == 'web-%d'", app%5)
	p.Spec.Ingress = []v1alpha1.Rule{{
		Action:      v1alpha1.Allow,
		Protocol:    ptr.To(v1alpha1.ProtocolFromString("TCP")),
		Source:      v1alpha1.EntityRule{Selector: "app starts with 'web'"},
		Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromString("http")}},
	}}
	p.Spec.Egress = []v1alpha1.Rule{{
		Action:      v1alpha1.Allow,
		Protocol:    ptr.To(v1alpha1.ProtocolFromString("UDP")),
		Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromInt(53)}},
	}}
	return p
}

// Round has every client create perClient policies into its namespace (out of namespaces), all
// clients at once, and returns every request's latency. With an interval, each client starts its
// requests that far apart, offset by its index so that arrivals spread evenly over the interval;
// with none, back to back. Names are "<tag>-c<client>-<n>"; orders are distinct, so no two of
// these policies tie. Every body is encoded before the first request is timed.
func Round(clients []*Client, namespaces int, tag string, perClient int, interval time.Duration) ([]time.Duration, error) {
	bodies := make([][][]byte, len(clients))
	for i := range clients {
		bodies[i] = make([][]byte, perClient)
		for j := range perClient {
			p := Policy(Namespace(i, namespaces), fmt.Sprintf("%s-c%03d-%03d", tag, i, j), float64(i*1000+j), i+j)
			p.Labels = map[string]string{RoundLabel: tag}
			b, err := Encode(p)
			if err != nil {
				return nil, err
			}
			bodies[i][j] = b
		}
	}
	var (
		mu    sync.Mutex
		lats  = make([]time.Duration, 0, len(clients)*perClient)
		first error
		wg    sync.WaitGroup
	)
	begin := time.Now().Add(50 * time.Millisecond)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := Namespace(i, namespaces)
			offset := interval * time.Duration(i) / time.Duration(len(clients))
			for j := range perClient {
				time.Sleep(time.Until(begin.Add(offset + interval*time.Duration(j))))
				t := time.Now()
				err := c.Create(ns, bodies[i][j])
				d := time.Since(t)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("client %d, create %d: %w", i, j, err)
				}
				lats = append(lats, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lats, first
}
