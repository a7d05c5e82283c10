// Package chart tests the Helm chart in charts/palisade: lint, rendering, the values schema, a
// server-side dry run of every rendered object, agreement of its RBAC and webhook rules with
// config/, a real install and upgrade into an envtest API server, and the commands of
// docs/install.md run as written (helm, a tool of go.mod, and the envtest kubectl).
//
// It is a module of its own so that Helm's dependencies stay out of Palisade's product module. It
// holds tests only; it must never be imported.
package chart
