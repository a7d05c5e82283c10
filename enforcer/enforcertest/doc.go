// Package enforcertest gives the enforcer's kernel tests a network namespace of their own, named
// with a per-run prefix and always removed, and checks that the tools the tests need are installed
// (a test without them fails, saying how to install them). It must never touch the machine's root
// network namespace.
package enforcertest
