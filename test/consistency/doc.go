// Package consistency checks that what the repository says agrees with what it holds: code comments
// cite documents and sections that exist (docs/semantics.md, not a reference that lives elsewhere),
// PROJECT lists only controllers and webhooks that exist, and the README names only make targets and
// paths that exist. Every shell command of the fenced code blocks of README.md and docs/*.md is run
// or accounted for (TestDocCommandsAreRun): the offline kubectl palisade commands are run through
// kubectl with the built plugin and compared whole with golden files under testdata/doccommands
// (go test ./test/consistency -update rewrites them), the few that need an API server run against
// envtest, and the rest name the test, CI step or demo step that runs them. The one-source checks of defaults and excluded namespaces live beside their
// sources (pkg/defaulting, webhooks/policy).
//
// What this package must never do: import the code it checks (it reads files and runs the built
// binaries), or pass because a file it should read is missing.
package consistency
