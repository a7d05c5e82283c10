// Package probe measures a connectivity matrix with real packets and compares matrices.
//
// For every ordered pair of distinct endpoints and every port it opens the socket inside the
// source's network namespace and tries the flow: a TCP connection whose echo comes back, a UDP
// datagram answered by the destination's echo server, or an ICMP echo request answered by the
// destination's kernel. A flow is allowed when the answer arrives within the timeout. Probes run
// in parallel, at most Options.Parallel at a time, and each sends a bounded number of packets.
//
// The output is exactly the JSON of `kubectl palisade matrix -o json`, so that measured and
// computed matrices can be compared by a script; Diff compares them in Go.
//
// # What this package must never do
//
// It never reports a flow allowed without an answer from the destination, never sends to an
// address outside the endpoints it was given, and never probes without a deadline.
package probe
