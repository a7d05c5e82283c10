package engine

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Engine holds the model (pods, namespaces, service accounts, policies) and its index, and
// answers flow questions. The zero value is not usable; call New.
//
// Thread-safety: every method is safe for concurrent use. Writers (Upsert*/Delete*) take an
// exclusive lock and update the index incrementally before returning; readers (Evaluate*,
// queries) take a shared lock, so any number of readers run in parallel and always see the
// state between two writes, never half of one. Policy stores leave the sorted policy lists of the
// sets they create to the next reader (applied.go): the first reader after such writes takes the
// exclusive lock instead, builds them, and answers under it.
type Engine struct {
	mu sync.RWMutex

	pods            map[EndpointRef]*endpoint
	podsByNS        map[string]map[EndpointRef]*endpoint
	byIP            map[netip.Addr][]*endpoint
	namespaces      map[string]*nsRecord
	serviceAccounts map[EndpointRef]*saRecord

	policies       map[PolicyKey]*policyEntry
	nsPolicies     map[string]map[PolicyKey]*policyEntry
	globalPolicies map[PolicyKey]*policyEntry

	peers peerIndex

	slices   map[EndpointRef]*EndpointSlice
	services map[EndpointRef]*svcRecord

	// sets interns the appliedSets by hash (applied.go); nextEntryID numbers policy entries.
	sets        map[uint64][]*appliedSet
	nextEntryID uint64

	// scratch is the label view writers reuse (writeView), scratchMembers the member list.
	scratch        podView
	scratchMembers []member

	// listsPending says policy stores deferred the lists of pendingSets, which the endpoints in
	// pendingEps hold; the next reader builds them (applied.go, flushLists, rlock).
	listsPending bool
	pendingSets  []*appliedSet
	pendingEps   []*endpoint

	// podEpochs say when the pods of each namespace last changed, for ModelCache
	// (dataplane_cache.go).
	podEpochs podEpochs
}

// New returns an empty engine.
func New() *Engine {
	return &Engine{
		pods:            map[EndpointRef]*endpoint{},
		podsByNS:        map[string]map[EndpointRef]*endpoint{},
		byIP:            map[netip.Addr][]*endpoint{},
		namespaces:      map[string]*nsRecord{},
		serviceAccounts: map[EndpointRef]*saRecord{},
		policies:        map[PolicyKey]*policyEntry{},
		nsPolicies:      map[string]map[PolicyKey]*policyEntry{},
		globalPolicies:  map[PolicyKey]*policyEntry{},
		peers:           newPeerIndex(),
		slices:          map[EndpointRef]*EndpointSlice{},
		services:        map[EndpointRef]*svcRecord{},
		sets:            map[uint64][]*appliedSet{},
	}
}

// UpsertPod adds or replaces a pod. Only that pod is re-evaluated: against the policies of its
// namespace, the global policies, and the rule selectors that could match it.
func (e *Engine) UpsertPod(p Endpoint) error {
	if p.Namespace == "" || p.Name == "" {
		return fmt.Errorf("pod %q: namespace and name are required", p.Namespace+"/"+p.Name)
	}
	ips := make([]netip.Addr, 0, len(p.IPs))
	for i, ip := range p.IPs {
		if !ip.IsValid() {
			return fmt.Errorf("pod %s: IPs[%d] is not a valid address", p.Ref(), i)
		}
		ip = ip.Unmap().WithZone("")
		if !slices.Contains(ips, ip) {
			ips = append(ips, ip)
		}
	}
	p.IPs = ips
	p.Labels = maps.Clone(p.Labels)
	p.Ports = slices.Clone(p.Ports)

	e.mu.Lock()
	defer e.mu.Unlock()
	ref := p.Ref()
	ep := e.pods[ref]
	if ep == nil {
		ep = &endpoint{ref: ref}
		e.pods[ref] = ep
		m := e.podsByNS[ref.Namespace]
		if m == nil {
			m = map[EndpointRef]*endpoint{}
			e.podsByNS[ref.Namespace] = m
		}
		m[ref] = ep
	} else {
		e.removeIPs(ep)
	}
	ep.spec = p
	ep.labels = ownLabels(&p)
	_, ep.hasSALabel = ep.labels[LabelServiceAccount]
	e.addIPs(ep)
	e.refreshEndpoint(ep)
	return nil
}

// DeletePod removes a pod; unknown pods are ignored.
func (e *Engine) DeletePod(namespace, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := EndpointRef{Namespace: namespace, Name: name}
	ep := e.pods[ref]
	if ep == nil {
		return
	}
	e.removeIPs(ep)
	e.releaseSet(ep.set)
	e.podEpochs.touch(namespace)
	delete(e.pods, ref)
	delete(e.podsByNS[namespace], ref)
	if len(e.podsByNS[namespace]) == 0 {
		delete(e.podsByNS, namespace)
	}
}

// UpsertNamespace adds or replaces a namespace (adding kubernetes.io/metadata.name=<name>) and
// re-evaluates that namespace's pods.
func (e *Engine) UpsertNamespace(ns Namespace) error {
	if ns.Name == "" {
		return errors.New("namespace: name is required")
	}
	labels := maps.Clone(ns.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelMetadataName] = ns.Name
	e.mu.Lock()
	defer e.mu.Unlock()
	e.namespaces[ns.Name] = &nsRecord{name: ns.Name, labels: labels}
	e.refreshNamespacePods(ns.Name)
	return nil
}

// DeleteNamespace forgets a namespace's labels (its pods keep existing until deleted) and
// re-evaluates its pods.
func (e *Engine) DeleteNamespace(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.namespaces[name]; !ok {
		return
	}
	delete(e.namespaces, name)
	e.refreshNamespacePods(name)
}

func (e *Engine) refreshNamespacePods(ns string) {
	for _, ep := range e.podsByNS[ns] {
		e.refreshEndpoint(ep)
	}
}

// UpsertServiceAccount adds or replaces a service account and re-evaluates its pods.
func (e *Engine) UpsertServiceAccount(sa ServiceAccount) error {
	if sa.Namespace == "" || sa.Name == "" {
		return fmt.Errorf("service account %q: namespace and name are required", sa.Namespace+"/"+sa.Name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := EndpointRef{Namespace: sa.Namespace, Name: sa.Name}
	e.serviceAccounts[ref] = &saRecord{name: sa.Name, labels: maps.Clone(sa.Labels)}
	e.refreshServiceAccountPods(ref)
	return nil
}

// DeleteServiceAccount forgets a service account's labels and re-evaluates its pods.
func (e *Engine) DeleteServiceAccount(namespace, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := EndpointRef{Namespace: namespace, Name: name}
	if _, ok := e.serviceAccounts[ref]; !ok {
		return
	}
	delete(e.serviceAccounts, ref)
	e.refreshServiceAccountPods(ref)
}

func (e *Engine) refreshServiceAccountPods(sa EndpointRef) {
	for _, ep := range e.podsByNS[sa.Namespace] {
		if ep.spec.ServiceAccount == sa.Name {
			e.refreshEndpoint(ep)
		}
	}
}

// UpsertNetworkPolicy stores a Palisade NetworkPolicy as the given generation. A *NotStoredError
// means nothing was stored (no name or namespace, unknown slot). An *InvalidPolicyError means the
// generation is invalid (doc.go, "Invalid policies"): when the slot holds a valid generation it
// stays in force and the new one is rejected (LastValidKept); otherwise the new one is stored
// failing closed. The error names every problem.
func (e *Engine) UpsertNetworkPolicy(np *v1alpha1.NetworkPolicy, slot Slot) error {
	in, err := networkPolicyInput(np)
	if err != nil {
		return err
	}
	return e.upsert(in, slot)
}

// UpsertGlobalNetworkPolicy stores a Palisade GlobalNetworkPolicy as the given generation; errors
// as for UpsertNetworkPolicy.
func (e *Engine) UpsertGlobalNetworkPolicy(gnp *v1alpha1.GlobalNetworkPolicy, slot Slot) error {
	in, err := globalNetworkPolicyInput(gnp)
	if err != nil {
		return err
	}
	return e.upsert(in, slot)
}

// UpsertKubernetesNetworkPolicy stores a Kubernetes NetworkPolicy (converted as Calico does, see
// KubernetesNetworkPolicySpec) as the given generation; errors as for UpsertNetworkPolicy.
// Kubernetes policies have no rollout: callers normally store them as SlotEnforced.
func (e *Engine) UpsertKubernetesNetworkPolicy(knp *networkingv1.NetworkPolicy, slot Slot) error {
	if knp == nil {
		return notStored("Kubernetes NetworkPolicy", errors.New("nil object"))
	}
	if knp.Name == "" || knp.Namespace == "" {
		return notStored(fmt.Sprintf("Kubernetes NetworkPolicy %q", knp.Namespace+"/"+knp.Name), errors.New("metadata.name and metadata.namespace are required"))
	}
	return e.upsert(knpInput(knp), slot)
}

func (e *Engine) upsert(in *policyInput, slot Slot) error {
	if slot >= numSlots {
		return notStored("policy "+in.key.String(), fmt.Errorf("unknown slot %d", slot))
	}
	c, err := compileInput(in, slot)
	e.mu.Lock()
	defer e.mu.Unlock()
	var invalid *InvalidPolicyError
	if errors.As(err, &invalid) {
		if pe := e.policies[in.key]; pe != nil && pe.slots[slot] != nil && !pe.slots[slot].failClosed {
			// The last valid generation stays in force; the index is unchanged.
			invalid.LastValidKept = true
			pe.errs[slot] = invalid
			return invalid
		}
	}
	e.storePolicy(in.key, slot, c, err)
	return err
}

// DeletePolicy removes one generation of a policy; unknown keys are ignored.
func (e *Engine) DeletePolicy(key PolicyKey, slot Slot) {
	if slot >= numSlots {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.storePolicy(key, slot, nil, nil)
}

// PolicyState is what the engine did with the generations written to one slot of a policy, for a
// status writer (docs/semantics.md, "Invalid policies that reach the store").
type PolicyState struct {
	// Stored: a generation is in force in the slot and takes part in evaluations.
	Stored bool `json:"stored"`
	// FailsClosed: the generation in force is invalid (the policy never had a valid generation
	// in this slot); it denies every flow reaching it at its position, for the pods its subject
	// selector can be read to select (none when the selector itself is unreadable).
	FailsClosed bool `json:"failsClosed,omitempty"`
	// LastValidKept: the newest generation written was invalid and was rejected; the last valid
	// generation stays in force.
	LastValidKept bool `json:"lastValidKept,omitempty"`
	// Err is the newest generation's error when it was invalid (FailsClosed or LastValidKept): an
	// *InvalidPolicyError naming every problem. Nil when the newest generation is valid.
	Err error `json:"-"`
}

// PolicyState reports the state of one slot of a policy; the zero PolicyState for an unknown key
// or slot.
func (e *Engine) PolicyState(key PolicyKey, slot Slot) PolicyState {
	if slot >= numSlots {
		return PolicyState{}
	}
	defer e.runlock(e.rlock())
	pe := e.policies[key]
	if pe == nil || pe.slots[slot] == nil {
		return PolicyState{}
	}
	st := PolicyState{Stored: true, FailsClosed: pe.slots[slot].failClosed, Err: pe.errs[slot]}
	var invalid *InvalidPolicyError
	if errors.As(st.Err, &invalid) {
		st.LastValidKept = invalid.LastValidKept
	}
	return st
}

// PolicyError returns the error of the newest generation written to a slot: nil when it is valid
// or absent; an *InvalidPolicyError when it is invalid, whether it is in force failing closed or
// was rejected while the last valid generation stays in force (PolicyState tells which).
func (e *Engine) PolicyError(key PolicyKey, slot Slot) error {
	return e.PolicyState(key, slot).Err
}

// EndpointsForIP returns the pods holding ip, sorted by namespace/name (normally at most one).
// The first one is the pod whose policies apply to flows from/to ip.
func (e *Engine) EndpointsForIP(ip netip.Addr) []EndpointRef {
	defer e.runlock(e.rlock())
	var out []EndpointRef
	for _, ep := range e.byIP[ip.Unmap().WithZone("")] {
		out = append(out, ep.ref)
	}
	return out
}

// SelectedEndpoints returns the pods a stored generation of a policy applies to, sorted. It reads
// the index and costs one pass over the pods in the policy's scope.
func (e *Engine) SelectedEndpoints(key PolicyKey, slot Slot) []EndpointRef {
	defer e.runlock(e.rlock())
	pe := e.policies[key]
	if pe == nil || slot >= numSlots {
		return nil
	}
	var out []EndpointRef
	e.podsInScope(key, func(ep *endpoint) {
		if ep.set.flagsOf(pe)&(1<<slot) != 0 {
			out = append(out, ep.ref)
		}
	})
	slices.SortFunc(out, compareRefs)
	return out
}

// ApplicablePolicies returns the keys of the policies that apply to a pod in one direction under
// a chooser (a Mode or any Chooser), in evaluation order: the list a flow's evaluation walks.
func (e *Engine) ApplicablePolicies(ref EndpointRef, dir Direction, ch Chooser) []PolicyKey {
	if checkChooser(ch) != nil || dir >= numDirections {
		return nil
	}
	defer e.runlock(e.rlock())
	ep := e.pods[ref]
	if ep == nil {
		return nil
	}
	list := listFor(ep, ch, dir)
	out := make([]PolicyKey, 0, len(list))
	for _, c := range list {
		out = append(out, c.key)
	}
	return out
}
