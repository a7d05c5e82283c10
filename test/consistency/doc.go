// Package consistency checks that what the repository says agrees with what it holds: code comments
// cite documents and sections that exist (docs/semantics.md, not a reference that lives elsewhere),
// PROJECT lists only controllers and webhooks that exist, and the README names only make targets and
// paths that exist. The one-source checks of defaults and excluded namespaces live beside their
// sources (pkg/defaulting, webhooks/policy).
//
// What this package must never do: import the code it checks (it reads files), or pass because a
// file it should read is missing.
package consistency
