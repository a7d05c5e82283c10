// Package netns runs code, opens sockets and writes sysctls inside named Linux network namespaces
// for the lab, and finds and removes the namespaces of a run by their name prefix.
//
// Everything that must happen "inside" a namespace (creating a listener or a dialling socket,
// writing /proc/sys/net) runs on a fresh goroutine whose OS thread is locked and switched into the
// namespace, then switched back: a socket stays in the namespace it was created in, so the caller
// may use it from any goroutine afterwards. A thread that cannot be switched back is never unlocked,
// so the Go runtime ends it instead of reusing it in the wrong namespace; the invariant this package
// keeps is that every unlocked thread of the process is in the namespace the process started in.
//
// # What this package must never do
//
// It never changes the namespace of an unlocked thread, never creates a namespace outside
// /run/netns, and never deletes a namespace whose name the caller did not give (Delete and the
// prefix helpers refuse names outside the lab's "pal-lab-" space).
package netns
