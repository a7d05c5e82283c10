// Package benchload generates the load of the webhook latency benchmark: many clients, each on its
// own connection, creating Palisade NetworkPolicies. It is shared by the benchmark (which seeds the
// cluster with the same policies) and by cmd loadgen, which runs the clients in a process of their
// own so that their CPU does not share a Go scheduler with the webhook server being measured.
//
// It must never be imported outside the benchmark: it creates objects as fast as it can.
package benchload
