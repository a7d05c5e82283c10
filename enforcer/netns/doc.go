// Package netns runs a function with the calling goroutine's OS thread switched into a named
// network namespace (/run/netns/NAME), the way CNI plugins do: the thread is locked, entered, and
// switched back afterwards. Commands started from inside the function (go-iptables forks iptables)
// inherit the namespace. It exists so `palisade-enforcer --netns` and the tests can program a
// namespace other than the process's own; in a node's pod the name is empty and nothing is switched.
//
// It must never leave a thread in the wrong namespace: if switching back fails, the thread stays
// locked and dies with the goroutine instead of serving other goroutines.
package netns
