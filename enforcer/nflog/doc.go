// Package nflog reads the packets the enforcer's log rules send to an NFLOG group (iptables
// `-j NFLOG --nflog-group N --nflog-prefix P`) straight from nfnetlink_log over a netlink socket,
// and parses them into header summaries the policy engine can evaluate (engine.Flow) plus the
// rule's prefix and interfaces.
//
// Open binds one group in copy-packet mode with a small copy range (headers only), asks the
// kernel for per-group sequence numbers, and Run delivers Records on a bounded channel.
// ParseAttributes (the NFULA attributes of one message) and ParsePacket (IPv4/IPv6 with a bounded
// extension-header walk, TCP/UDP/UDPLite/SCTP ports, ICMP/ICMPv6 type and code) are pure and
// fuzzed.
//
// Drops are counted, never waited on: a full channel drops the sample (reason "consumer"), and
// the kernel's own losses when the socket overflows are counted from sequence-number gaps (or
// one per ENOBUFS before any sequence is known) under reason "kernel"; see Metrics.
//
// What this package must never do: block the kernel's log path (it never waits on the
// consumer), trust a length from the kernel or a packet (every length is checked against the
// bytes present, a lie is an error, never a panic), or program rules itself (the renderer and
// applier own the rules; this package only listens). Observation must never change a verdict.
package nflog
