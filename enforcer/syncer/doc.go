// Package syncer makes one node's kernel hold the desired dataplane, in the one order that never
// leaves a rule pointing at nothing: create and update ipsets first, then write the iptables chains
// that reference them (one transaction per table), then keep the FORWARD hook first, and only then
// destroy the chains and sets no longer desired.
//
// Nothing is removed before the first complete sync: a starting enforcer first writes the whole
// desired state over whatever it adopted, and prunes in a second pass of that same sync. A failed
// step returns its error (wrapped with the step's name) and leaves everything written so far in
// place; the runner retries. The syncer never reads the API server and never decides what the rules
// are: the desired state comes from a DesiredState function (the renderer).
package syncer
