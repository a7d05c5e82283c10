// Package engine is Palisade's policy engine: it answers "is this flow allowed, and why" exactly
// as Calico's Felix (for Palisade NetworkPolicy / GlobalNetworkPolicy, which are Calico v3
// policies) and upstream Kubernetes (for networking.k8s.io/v1 NetworkPolicy, converted the way
// Calico converts it) would. The webhook (impact warnings), the CLI (trace, matrix), the enforcer
// (shadow evaluation of candidates), the rollout operator and the end-to-end tests all use it.
// The specification is docs/semantics.md sections 1.7, 5, 6 and 7.
//
// # API
//
//	e := engine.New()
//	ep, err := engine.FromPod(pod)            // also FromNamespace, FromServiceAccount
//	e.UpsertPod(ep); e.UpsertNamespace(ns); e.UpsertServiceAccount(sa)
//	e.UpsertEndpointSlice(s)                  // FromEndpointSlice; for services rules
//	e.UpsertNetworkPolicy(np, engine.SlotEnforced)        // or SlotCandidate
//	e.UpsertGlobalNetworkPolicy(gnp, engine.SlotCandidate)
//	e.UpsertKubernetesNetworkPolicy(knp, engine.SlotEnforced)
//	e.DeletePod / DeleteNamespace / DeleteServiceAccount / DeleteEndpointSlice / DeletePolicy(key, slot)
//
//	v, err := e.Evaluate(engine.Flow{Src, Dst, Protocol, SrcPort, DstPort, ICMP}, engine.EnforcedOnly)
//	e.EvaluateInto(&v, flow, chooser)  // reuses v's slices
//	c, err := e.EvaluateBoth(flow)     // EnforcedOnly and CandidatesAsEnforced under one lock
//	e.EvaluateBothInto(&c, flow)       // reuses c's slices; c.WouldDeny() for shadow counting
//	ok, err := e.Allowed(flow, chooser) // no trace
//
// The chooser (a Chooser) picks each policy's generation per endpoint: the Modes EnforcedOnly
// and CandidatesAsEnforced, a Canary{key: {pod: true}} (the candidate on a canary slice), or any
// ChooserFunc.
//
// Queries: PolicyState(key, slot), PolicyError(key, slot), SelectedEndpoints(key, slot),
// ApplicablePolicies(pod, dir, chooser), EndpointsForIP(ip). KubernetesNetworkPolicySpec(knp)
// shows the Calico spec a Kubernetes policy is evaluated as (pkg/knp's translation, FormCalico).
//
// A Verdict is JSON-serialisable with stable names: {"allowed", "egress", "ingress"}; each
// direction has "endpoint" (null when the address is not a known pod), "allowed", "decision"
// ({"reason", "tier", "policy", "ruleIndex", "action"}) and "policies" (every policy visited, in
// order: "policy" {kind, namespace, name}, "tier", "order" (absent = no order), "generation",
// "outcome" Allow|Deny|Pass|NoRuleMatched|Invalid, "ruleIndex", "logRules", "error"). Pointer
// fields of a Verdict point to engine-owned immutable values: read them, never write through
// them.
//
// # Generations and modes
//
// Each policy key holds up to two generations: SlotEnforced (what the dataplane enforces) and
// SlotCandidate (the generation under rollout). EnforcedOnly evaluates enforced generations only;
// CandidatesAsEnforced evaluates each policy's candidate where it has one and its enforced
// generation otherwise ("would this flow be denied if the candidates were enforced?"). A new
// policy in Audit has only a candidate, so it is absent from EnforcedOnly. Both modes are
// precomputed per pod; when no policy selecting a pod has a candidate, the two lists are shared
// and EvaluateBoth evaluates that side once.
//
// The two modes are the ready-made Choosers. A Chooser decides per (endpoint, policy): SlotEnforced
// means the enforced generation, SlotCandidate the candidate where there is one, else the
// enforced generation. Canary enforces a policy's candidate on a set of endpoints only (a Staged
// rollout's canary slice) and the enforced generation elsewhere. The lists of a chooser that is
// not a Mode are computed per evaluation from the pod's applicable policies (one sort).
//
// # Semantics in one paragraph
//
// A flow is allowed iff its egress side (policies of the pod holding the source address) and its
// ingress side (policies of the pod holding the destination address) both allow; an address that
// is not a known pod has no policy and allows. Per side: the policies selecting the pod and
// governing the direction are sorted by tier, then order (absent = +Inf), then the byte-wise
// comparison of name + "/" + namespace + "/" + kind (so "a-b" and "a.b" sort before "a", a GNP
// before an NP of the same name, a KNP before an NP of the same name and order). Rules run in
// order; Log is recorded and never decides; Allow and Deny decide; Pass skips to the next tier; a
// policy with no matching rule hands over to the next policy. A tier that applied and did not
// decide denies (its default action; the built-in kube-admin and kube-baseline tiers pass). A pod
// selected by no policy in a direction, or whose every tier passed, is allowed by its kns
// profile. Established/related packets are not modelled: they are always allowed.
//
// Selectors are evaluated on Felix's label view (labels.go): the pod's labels, the Calico labels
// projectcalico.org/{namespace,orchestrator,serviceaccount}, and the labels inherited from the
// namespace (pcns.*) and service account (pcsa.*). namespaceSelector and serviceAccounts.selector
// are evaluated on the namespace / service-account labels through those inherited keys rather
// than by rewriting selector text. The one corner of Calico's textual rewriting not reproduced:
// Calico replaces the text "all()" (and, in rule namespace selectors, "global()") even inside
// string literals, so a namespaceSelector like `a == "all()"` means something else in Felix. The
// GNP serviceAccountSelector rewrite of all() to has(projectcalico.org/serviceaccount) is
// reproduced for pods without that label (service-account names of 63+ characters).
//
// Services: destination.services matches (dstIP, protocol, dstPort) against the addresses x
// ports of the Service's EndpointSlices (UpsertEndpointSlice), source.services the source address
// only, as Felix does. An empty services.namespace in a namespaced policy means the policy's
// namespace, as the API documents (Felix would look up "/<name>" and match nothing; docs/semantics.md
// §9.1). When a rule side has a positive selector, its notSelector is folded into it as Felix
// does ((pos) && !(neg) per endpoint), which matters only for addresses shared by several pods.
//
// Not modelled: host endpoints, network sets, HTTP and domains (rejected by validation; fail
// closed here), Tier resources (the built-in tiers are known; any other tier sorts after them
// with default action Deny, as Felix treats a missing tier). An address held by several pods is
// evaluated with the policies of the first by namespace/name.
//
// # Invalid policies that reach the store
//
// The engine does not depend on pkg/validation, and never panics on input. When a policy has
// anything it cannot interpret (an unparseable selector, CIDR, port or protocol, an unknown
// action or type, a numeric port without a port protocol, icmp without an ICMP protocol, a
// combined global(), a service without a name, or a global one without a namespace, http,
// domains; for a Kubernetes policy, whatever pkg/knp reports, such as an empty peer, a protocol
// other than TCP/UDP/SCTP or a label value outside Kubernetes' syntax), the Upsert call returns an
// *InvalidPolicyError naming every problem, and one rule decides what is in force
// (docs/semantics.md, "Invalid policies that reach the store"):
//
//   - When the slot already holds a valid generation of the policy, that last valid generation
//     stays in force; the invalid one is rejected (InvalidPolicyError.LastValidKept).
//   - Otherwise the invalid generation is stored and fails CLOSED: it keeps its position and
//     denies every flow that reaches it in the directions it governs (both when its types are
//     unreadable), for the pods its subject selector can be read to select. An unparseable
//     subject selector (selector, namespaceSelector, serviceAccountSelector, a Kubernetes
//     podSelector) selects no pod: a typo must not cut off a whole namespace, such as
//     kube-system, which the webhook does not validate.
//
// PolicyState(key, slot) says which case applies, for a status writer. Neither case ever allows a
// flow that the generation in force before the write denied, nor one that a valid reading of a
// new policy's readable parts would deny at the pods it selects. (Felix instead drops an invalid
// policy, which can open traffic; Palisade rejects invalid objects at admission, so this path
// only matters when the webhook was down or skipped the namespace.) Since what is in force
// depends on the last valid generation written, a key's history matters; the order in which
// different objects are inserted does not.
//
// An object that cannot be stored at all (nil, no name or namespace, an unknown slot) is refused
// with a *NotStoredError and leaves the engine unchanged: a caller must not present a verdict as
// covering it.
//
// # Indexing and cost
//
// Pods are looked up by IP. Each pod holds, per mode and direction, the sorted list of policy
// generations that apply to it, and one bit per rule-peer selector it is a member of. Evaluating
// a flow therefore costs two map lookups plus the rules of the policies that apply to the two
// pods; policies that select neither pod cost nothing. Peer selectors are matched by a bit test,
// nets by a binary search in a merged prefix set. Updates are incremental: a pod change
// re-evaluates that pod against the policies and peer selectors of its namespace and the global
// ones; a policy change re-evaluates that policy against the pods of its scope (its namespace, or
// every pod for a global policy); a namespace or service-account label change re-evaluates the
// pods that inherit from it.
//
// The lists are immutable and shared (applied.go): pods selected by exactly the same policy
// generations hold one interned set and one copy of its lists. A policy change moves each pod in
// its scope from its set to the set "the same with this policy's new generations", built once
// per distinct old set by one binary-search insertion into a copy of the old lists, so loading P
// policies over N pods costs O(P × N) selector evaluations plus O(P × distinct sets × list
// length) copying, never a sort per pod per policy. The result does not depend on the order
// objects are inserted in.
//
// # Thread-safety
//
// An Engine is safe for concurrent use: writers hold an exclusive lock for the duration of one
// incremental update, readers a shared lock. Compiled policies and the per-pod lists are immutable
// once stored: a writer replaces them, never edits them in place.
//
// # What this package must never do
//
// It is a pure core: no clients, no I/O, no clock, no logging, no global mutable state. It must
// never panic on any input, never open traffic because of input it cannot interpret, and never
// let the insertion order of different objects change a verdict.
package engine
