// Package render turns one node's dataplane model (engine.NodeModel) into iptables rules and
// ipsets: first as typed values (Chain, Rule{Match, Action, Comment}, SetDef, grouped in one
// Program per IP family), then, only at the end, as iptables-restore and ipset restore text
// (Ruleset). It also holds a packet tracer over the typed rules (Program.Trace) and the
// structural checks the enforcer runs before applying (Program.Validate).
//
// # Design
//
// The renderer is a translator, not an evaluator. The engine's model already says which policy
// generations apply to each local pod in which order, what each rule matches and which addresses
// are in each set; the renderer decides nothing about order, tiers, Pass, Log or Deny, it only
// spells the model out in iptables' terms. Everything that is semantics lives in pkg/engine, so
// that the kernel, the engine's interpreter (Evaluate) and the tests' oracles can be held
// against each other: the property test in pkg/engine traces packets through the rendered rules
// of the engine's random worlds and demands Evaluate's verdict and Log hits for every flow.
//
// The shape follows Felix (felix/rules): a packet reaching PAL-FORWARD (the enforcer hooks it
// from FORWARD) is accepted at once when conntrack knows its flow (ESTABLISHED, RELATED: policy
// applies to the first packet of a flow only) and dropped when conntrack calls it INVALID. The
// policy marks are cleared, then two dispatch chains pick the local pod's chains by address:
// PAL-FROM-EP by source address to the pod's egress chain (PAL-FW-<hash>), PAL-TO-EP by
// destination address to its ingress chain (PAL-TW-<hash>). Dispatch uses goto, so an endpoint
// chain that returns comes back to PAL-FORWARD; beyond a fanout (16) the addresses are split by
// prefix into a tree of dispatch chains (PAL-FEP-/PAL-TEP-<hash of the prefix>), so a new flow
// walks a few dozen rules instead of one per local pod (Felix builds its tree by interface
// name). A pod-to-pod packet between two pods of the
// node goes through both; a packet between nodes goes through the egress side on the source's
// node and the ingress side on the destination's node. Only addresses for which the pod is the
// one whose policies apply are dispatched (the model's ModelEndpoint.IPs). An endpoint chain
// either drops the packet or returns with the accept mark set, so PAL-FORWARD ends by accepting
// marked packets; a packet neither from nor to a local pod is not marked and returns to FORWARD
// untouched (the issue's "traffic to or from addresses that are not pods is governed by the pod
// side only").
//
// Two mark bits carry decisions out of policy chains, as in Felix: accept (an Allow rule
// matched) and pass (a Pass rule matched). An endpoint chain clears both, then for each tier in
// the model's order clears pass and calls each of the tier's policies while pass is clear,
// returning as soon as accept is set; at the end of a tier whose default action is Deny it
// drops unless pass is set; after the last tier it sets accept (the Kubernetes pod's kns
// profile allows what no tier decided, and what was passed out of the last tier). A policy that
// fails closed is a DROP at its position, under the same "pass clear" condition. In a policy
// chain (PAL-PI-/PAL-PO-<hash of the generation>) each rule is its match followed by: for
// Allow and Pass, set the mark and RETURN; for Deny, DROP; for Log, NFLOG (group configurable,
// prefix "L<I|E><rule>|<policy>") and go on, so Log never decides. A policy with no rule for a
// family gets no chain and no call in that family: it can neither decide nor log.
//
// A rule whose criteria are one conjunction becomes one iptables rule. Some criteria are
// disjunctions iptables cannot write in one rule: a port list of more than 15 multiport slots,
// numeric and named ports together, or notICMP without a protocol (not ICMP, or ICMP of another
// type). These become a block: the scratch bits are cleared, each alternative sets a scratch
// bit (a following group requires the previous group's bit and sets the other one), and the
// action runs on the last bit, exactly Felix's match blocks. An Allow or Pass whose only
// disjunction is one such list needs no block: each alternative sets the verdict mark itself
// and one RETURN follows (setting a mark twice is setting it once; Deny and Log keep the block,
// which counts, logs or drops a packet once). When such alternatives share a set lookup (a
// source selector with "port 80 or the named port http"), the shared criteria are one rule that
// jumps to the rule's alternatives chain (PAL-AI-/PAL-AO-<hash of the generation and the rule's
// index>), which holds one rule per alternative without the shared criteria: a packet outside
// the set, the common case for a pod many policies select, pays one lookup per rule instead of
// one per alternative. notPorts and notNets lists are
// conjunctions and stay in one rule (several multiport matches, negated set matches). Several
// CIDRs become a hash:net set (a /0 is written as two /1 halves, which ipset can hold); one CIDR
// stays inline. Selectors are hash:ip sets of every matching pod's addresses cluster-wide;
// named ports and destination services hash:ip,port sets matched with dst,dst (src,src on the
// source side); source services hash:ip sets. Every set is shared by all the rules that use it,
// and a set appears in the output only when a rendered rule names it.
//
// Names are the fixed prefix PAL plus a stable hash of what the object stands for (a pod's
// namespace/name, a policy generation's ID, a set's model ID, itself derived from the selector
// package's unique IDs as Felix names "cali40s:..." sets), never of its content, so a changed
// policy keeps its chain and the enforcer can rewrite just the chains whose text changed. Chain
// names fit iptables' 28 characters, set names ipset's 31 (PAL4/PAL6 + ID). Every rule has a
// comment naming the policy and rule index (or the part of the skeleton it is), so that
// iptables-save explains itself. Rule text is written in the order iptables-save prints it
// (built-in criteria -s/-d/-p, the other modules, the comment, the target), so that the text the
// enforcer applied can be compared with what the kernel holds. The order is also the kernel's
// order of evaluation, which stops at the first criterion that fails: iptables-nft makes -s,
// -d, -p, -m mark and -m tcp/-m udp --dport/--sport native nft expressions but calls
// -m multiport, -m set, -m conntrack and -m comment through nft_compat, so a rule's single TCP
// or UDP port (range) is written with the tcp or udp match, port lists come before set lookups,
// and the comment (always true, but a call) comes last, where only the packets a rule takes pay
// for it.
//
// # Incremental rendering
//
// Render renders a whole node. Renderer (renderer.go) gives the same text while keeping the
// chains and sets of its last render: a policy generation's chain is reused while the model hands
// over the same generation (the engine's ModelCache shares its rule slices from build to build),
// an endpoint chain while its policy list and generations are the same, a set's text while its
// members are equal; what the last render did not use is dropped. The enforcer keeps one per node,
// so that a sync after one change renders about what the change touched.
//
// # What this package must never do
//
// It is a pure core: no exec, no kernel, no clock, no client, no logging. It must never re-derive
// policy semantics (ordering, tiers, Pass/Log/Deny, profiles) beyond what the model states, never
// render a rule that would allow more than the model says (a rule it cannot express is an error,
// not an omission), and its output must depend only on the model and the options.
package render
