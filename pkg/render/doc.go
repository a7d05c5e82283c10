// Package render turns one node's dataplane model (engine.NodeModel) into iptables rules and
// ipsets: first as typed values (Chain, Rule{Match, Action, Comment}, SetDef), then, only at the
// end, as iptables-restore and ipset restore text (Ruleset).
package render
