// Package runner is the enforcer's bounded-frequency sync loop. Event handlers only call Request
// (mark dirty, never block, never touch the kernel); the runner coalesces requests into at most one
// sync per MinInterval, resyncs from the kernel at least every MaxInterval (which is what repairs
// drift, such as a Palisade rule deleted by hand), and retries a failed sync with exponential
// backoff, each retry a resync since a failure leaves the kernel's state unknown. A request is
// applied at most MinInterval after the previous sync started: a stream of events can delay a sync by
// no more than that, never postpone it indefinitely (there is no debounce that restarts on each event).
//
// When its context ends (SIGTERM) the runner simply stops: the rules stay as last written. This is
// fail static: an enforcer that stops or crashes keeps enforcing the last policy; it never opens
// traffic by removing rules. Removing them is `palisade-enforcer cleanup`'s job alone.
//
// The schedule is a pure function of times and outcomes (schedule.due), tested as a table; time
// comes from an injected k8s.io/utils/clock, never from the time package.
package runner
