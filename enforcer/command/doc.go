// Package command runs the dataplane's command-line tools (iptables-restore, iptables-save, ipset)
// behind a small Executor interface, so the appliers can be tested with a fake that records and
// parses what they send, and pointed at a network namespace ("ip netns exec NAME ...") without
// knowing it. It owns nothing else: it never builds rules and never decides what to run.
package command
