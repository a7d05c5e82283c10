// Package manifest reads Kubernetes-style manifests from files, directories and stdin into typed
// objects, remembering where each object came from.
//
// It serves every offline consumer of manifests: the CLI's lint and convert commands and the engine's
// model builders behind trace and matrix. They all need the same three things: the same split of a
// file into documents, the same strict decoding (a misspelt field must never be silently dropped,
// because a dropped peer restriction widens an Allow), and a precise position (file, document
// index, field path, line) for every problem.
//
// # Reading
//
// Load and LoadLenient take paths: a file (read whatever its extension), a directory (its files
// ending in .yaml, .yml or .json in lexical order; subdirectories only with Options.Recursive, as
// kubectl -R, else named in a note; hidden directories skipped) or
// "-" for the given stdin reader. Every form kubectl reads is read whole: the text is decoded by its
// byte order mark (UTF-8, UTF-16 and UTF-32, either byte order; without a BOM it must be UTF-8), split
// into documents on "---" marker lines and after "..." document-end lines, and a document that
// starts with "{" is read as a stream of JSON objects (as `jq -c` writes them, or pretty-printed one
// after another), each its own document. What cannot be read whole is refused, never partly read.
// Documents holding only whitespace and comments are skipped and not counted, so Source.Index is the 0-based position of the document among the non-empty
// documents of its file. A List document (kind "List" or any kind ending in "List" with an items
// field) is expanded: each item keeps the list's Source.Index and gets Source.Item.
//
// YAML is converted to JSON exactly as kubectl does (sigs.k8s.io/yaml, YAML 1.1 scalars, duplicate
// keys rejected), then decoded by apiVersion and kind:
//
//   - policy.palisade.dev/v1alpha1 NetworkPolicy and GlobalNetworkPolicy;
//   - networking.k8s.io/v1 NetworkPolicy; v1 Pod, Namespace, ServiceAccount and Service; discovery.k8s.io/v1 EndpointSlice;
//   - projectcalico.org documents are kept undecoded (ClassCalico) for the convert command;
//   - an object that could carry policy and is not understood (a kind named like a network policy,
//     any kind of policy.networking.k8s.io, a kind of networking.k8s.io other than its policy-free
//     ones, another version of a decoded kind, a List inside a List) is a fatal *Error: skipping it
//     would drop a policy from every verdict;
//   - anything else is kept undecoded (ClassOther) and otherwise ignored.
//
// Decoding is strict: an unknown field, a value of the wrong type, an unknown Palisade kind or
// version makes the document invalid, with an error naming the field path and its line.
//
// # Errors
//
// A path that cannot be read, YAML that does not parse, and a document without apiVersion or kind
// are fatal: both loaders return an *Error naming the file, the document index and the line.
// A document that parses but does not decode is fatal for Load and recorded in Document.Err by
// LoadLenient, so that lint can report every problem in one run. With Options.KeepGoing, a
// document that does not parse is recorded in Set.Problems and the next one is read. Inputs are
// capped (Options.MaxBytes, all paths together), so an endless input fails instead of exhausting
// memory. A file found by walking a directory whose first document is not a Kubernetes object at
// all is skipped with a note in Set.Notes.
//
// # What this package must never do
//
// It never validates policy semantics (pkg/validation does), never applies defaults, never talks to
// a cluster, and never panics on any input bytes (a fuzz target holds it to that). It does not
// change what was written: objects are returned exactly as decoded.
package manifest
