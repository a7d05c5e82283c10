// Package desired defines the dataplane state the enforcer programs: iptables tables of chains whose
// rules are iptables-restore text, and ipsets with their members. It is the contract between the
// renderer (pkg/render, which produces a Ruleset from the engine's model) and the appliers
// (enforcer/iptables, enforcer/ipsets), which make the kernel hold it.
//
// Every object Palisade owns is named with the prefix "PAL" (PAL-FORWARD, PAL-PI-..., sets PAL4...):
// that prefix is how the appliers tell their own chains and sets from everybody else's, so a Ruleset
// that names anything else is rejected by Validate rather than programmed. The package is pure: it holds data and checks it, and must never
// run a command or read the kernel.
package desired
