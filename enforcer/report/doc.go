// Package report turns the enforcer's observation log into NodeReports: it reads the records of
// the observation NFLOG group (enforcer/nflog), decodes each into a sample (the flow, the side of
// it the node observed and why it was logged, from the rule's prefix), drops repeats of one
// connection, evaluates the rest with the shadow-evaluation Observer (enforcer/observe) and
// writes what was counted, per policy, into this node's NodeReport with server-side apply.
//
// The prefixes (rendered by pkg/render) are "SI|<ns>/<pod>" and "SE|<ns>/<pod>" — the first
// packet of a new connection of a pod with a shadowed candidate, at its ingress (the pod is the
// destination) or egress (the pod is the source) — and "DI|<policy>" / "DE|<policy>" — a packet
// an enforced policy is about to drop. Counting rules:
//   - a node counts only the direction it logged (the side whose pod it owns), so the sum of all
//     nodes' reports counts each new connection once per direction, and a flow between two pods
//     of one node (logged at the egress of one and the ingress of the other) is counted once on
//     each side, never twice on one;
//   - repeats of one connection in one direction (TCP SYN retransmissions, unanswered UDP or ICMP
//     that conntrack still calls NEW: the same 5-tuple) are counted once while seen within the
//     dedupe window, in a cache of bounded size;
//   - a drop sample and a shadow sample of the same connection and direction are one sample: the
//     first to arrive is evaluated (both views of that direction), the other is a repeat, so a
//     denial is never counted twice.
//
// What this package must never do: block the kernel's log path (the reader drops and counts when
// the pipeline is slow), influence a verdict, put addresses or ports in metric labels, grow
// memory with traffic, or write anything but this node's NodeReports.
package report
