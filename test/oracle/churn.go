package oracle

import (
	"fmt"
	"math/rand"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// The engine updates its index incrementally (a pod change re-evaluates that
// pod, a policy change that policy, a namespace change its pods). To exercise
// those paths, the scenario is not loaded in a fixed order: its objects
// arrive in a random interleaving, some first in a wrong version ("decoys",
// later corrected by the real object), plus a few objects that are deleted
// again. The final state is always exactly the scenario, so cyclonus's
// verdicts on the scenario still apply.

// op is one engine update, with a description for failure reports.
type op struct {
	desc string
	do   func(e *engine.Engine) error
}

// LoadChurned loads s into a new engine in an order (with decoys and
// deletions) drawn from r, and returns the engine and the operations applied.
func LoadChurned(s *Scenario, r *rand.Rand) (*Palisade, []string, error) {
	g := &generator{r: r, usedIPs: map[netip.Addr]bool{}}
	for _, p := range s.Pods {
		g.usedIPs[netip.MustParseAddr(p.Status.PodIP)] = true
		g.podIPs = append(g.podIPs, netip.MustParseAddr(p.Status.PodIP))
	}
	for _, ip := range s.Externals {
		g.usedIPs[netip.MustParseAddr(ip)] = true
	}
	var groups [][]op
	for _, ns := range s.Namespaces {
		var grp []op
		if g.chance(0.3) {
			decoy := g.namespace(ns.Name)
			decoy.Labels["decoy"] = "yes"
			grp = append(grp, upsertNamespace(decoy, "decoy "))
		}
		groups = append(groups, append(grp, upsertNamespace(ns, "")))
	}
	for _, p := range s.Pods {
		var grp []op
		if g.chance(0.3) {
			grp = append(grp, upsertPod(g.pod(p.Namespace, p.Name), "decoy "))
		}
		groups = append(groups, append(grp, upsertPod(p, "")))
	}
	for i, np := range s.Policies {
		var grp []op
		if g.chance(0.3) {
			decoy := g.policy(i)
			decoy.Namespace, decoy.Name = np.Namespace, np.Name
			grp = append(grp, upsertPolicy(decoy, "decoy "))
		}
		groups = append(groups, append(grp, upsertPolicy(np, "")))
	}
	// Transient objects: a pod and a policy that exist for a while.
	if g.chance(0.5) {
		p := g.pod(g.pick(namespaceNames), "transient")
		groups = append(groups, []op{upsertPod(p, "transient "), deletePod(p)})
	}
	if g.chance(0.5) {
		np := g.policy(99)
		np.Name = "transient"
		groups = append(groups, []op{upsertPolicy(np, "transient "), deletePolicy(np)})
	}
	e := engine.New()
	var log []string
	for len(groups) > 0 {
		i := r.Intn(len(groups))
		o := groups[i][0]
		if groups[i] = groups[i][1:]; len(groups[i]) == 0 {
			groups = append(groups[:i], groups[i+1:]...)
		}
		log = append(log, o.desc)
		if err := o.do(e); err != nil {
			return nil, log, fmt.Errorf("%s: %w", o.desc, err)
		}
	}
	return &Palisade{e: e}, log, nil
}

func upsertNamespace(ns *corev1.Namespace, kind string) op {
	return op{desc: fmt.Sprintf("upsert %snamespace %s %v", kind, ns.Name, ns.Labels), do: func(e *engine.Engine) error {
		n, err := engine.FromNamespace(ns)
		if err != nil {
			return err
		}
		return e.UpsertNamespace(n)
	}}
}

func upsertPod(p *corev1.Pod, kind string) op {
	return op{desc: fmt.Sprintf("upsert %spod %s/%s %s %v", kind, p.Namespace, p.Name, p.Status.PodIP, p.Labels), do: func(e *engine.Engine) error {
		ep, err := engine.FromPod(p)
		if err != nil {
			return err
		}
		return e.UpsertPod(ep)
	}}
}

func deletePod(p *corev1.Pod) op {
	return op{desc: fmt.Sprintf("delete pod %s/%s", p.Namespace, p.Name), do: func(e *engine.Engine) error {
		e.DeletePod(p.Namespace, p.Name)
		return nil
	}}
}

func upsertPolicy(np *networkingv1.NetworkPolicy, kind string) op {
	return op{desc: fmt.Sprintf("upsert %sNetworkPolicy %s/%s", kind, np.Namespace, np.Name), do: func(e *engine.Engine) error {
		return e.UpsertKubernetesNetworkPolicy(np, engine.SlotEnforced)
	}}
}

func deletePolicy(np *networkingv1.NetworkPolicy) op {
	return op{desc: fmt.Sprintf("delete NetworkPolicy %s/%s", np.Namespace, np.Name), do: func(e *engine.Engine) error {
		e.DeletePolicy(engine.PolicyKey{Kind: engine.KindKubernetesNetworkPolicy, Namespace: np.Namespace, Name: np.Name}, engine.SlotEnforced)
		return nil
	}}
}
