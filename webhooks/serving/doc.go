// Package serving is Palisade's webhook server: controller-runtime's webhook.Server, registration
// and metrics included, served by an http.Server whose every read is bounded.
//
// controller-runtime's server gives a client 32 seconds to send its headers and, once they are in,
// as long as it likes for the body, and it cannot be configured otherwise. A webhook pod reachable
// by anything in the cluster must not be held open that way: each stalled request keeps a goroutine,
// its buffers and whatever the handler allocated. Here every request has a deadline for its headers
// and one for the whole request, the body is capped, idle connections are closed, and shutdown
// drains in-flight requests for a bounded time (the Deployment's terminationGracePeriodSeconds is
// longer; cmd/palisade-controller checks it).
//
// What this package must never do: read a request body of unbounded size or for an unbounded time,
// or allocate for a body more than has arrived (handlers read what arrives, docs/benchmarks.md
// records what stalled connections cost).
package serving
