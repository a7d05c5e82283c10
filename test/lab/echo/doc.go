// Package echo is the lab pods' workload: it answers every TCP connection and UDP datagram on the
// listeners it is given with the bytes it received, so that a prober can tell an answered flow
// from a dropped one with real packets.
//
// The listeners are created by the caller, inside a pod's network namespace; echo only serves
// them. Every connection has a deadline, and Close ends every goroutine it started and waits for
// them.
//
// # What this package must never do
//
// It never opens a socket itself, never answers more than it received (no amplification), and
// never leaves a goroutine behind after Close.
package echo
