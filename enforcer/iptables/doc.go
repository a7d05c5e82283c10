// Package iptables writes Palisade's iptables chains and keeps its hook in the built-in FORWARD
// chain. It owns every chain named with the PAL prefix and the rules it inserts elsewhere (marked
// with the comment "palisade-hook"); it must never declare, flush, edit or delete anything else.
//
// # One transaction per table
//
// A sync sends one `iptables-restore --noflush -w` per table (and family). Inside it, declaring a
// chain (":PAL-x - [0:0]") flushes it, so a changed chain is declared and its rules appended, and
// chains that did not change are simply not mentioned: --noflush leaves every chain the input does
// not name exactly as it was, which is what keeps kube-proxy's and the CNI's chains byte-identical.
// The kernel commits the transaction as a whole, so packets see either the old ruleset or the new
// one, never a chain half-written; and a bad rule fails the whole transaction, leaving the previous
// rules enforced (the error names the chain and rule from the line iptables-restore reports). One
// fork per table also matters for speed: programming rules one `iptables -A` at a time costs a fork
// and a full ruleset round trip per rule (see docs/benchmarks.md).
//
// # Hashes
//
// Every rule Palisade writes carries "PAL:<hash>" at the start of its comment (the rule's own,
// after its criteria, where it costs nothing to the packets the rule does not take), where the hash covers the chain's
// name, the rule and all rules before it (Felix's scheme). Reading `iptables-save` therefore tells,
// chain by chain, whether the kernel holds exactly what is desired without parsing rules back (the
// tools normalise rule text, so comparing text would fail). A chain whose list of hashes differs, for
// example because someone deleted one of its rules, is rewritten whole.
//
// # Adoption and memory
//
// The Applier remembers the hashes it last wrote and trusts them between resyncs, so an ordinary
// sync reads nothing and writes only changed chains. At start, on a periodic resync and after any
// failure it reads iptables-save instead: a restarted enforcer adopts the chains it finds and, when
// they already match, writes nothing at all; a rule deleted by hand is noticed and restored.
//
// # Removal
//
// Chains no longer desired are deleted (flushed, then -X, in the same transaction as the chains
// that stop referencing them) only when the caller asks, which the syncer does only after a
// complete sync. Cleanup removes every PAL chain and every hook rule, and refuses, naming it, when
// a rule Palisade did not create jumps into one of its chains.
//
// # Backends and the lock
//
// Rules go through the backend the node's other components use (nft or legacy), detected as
// kube-proxy's iptables-wrapper does: kubelet's hint chains if present, else the backend holding
// more rules (DetectBackend); a flag overrides it. The legacy tools serialise on /run/xtables.lock,
// which -w waits for; the nft tools accept -w and rely on the kernel's transactions.
//
// The hook (FORWARD -> PAL-FORWARD, first, exactly once) and rule counters go through
// github.com/coreos/go-iptables: single idempotent operations on a chain Palisade does not own,
// where a restore transaction would have to declare and so flush it.
package iptables
