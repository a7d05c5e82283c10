// Package assets locates the envtest control-plane binaries (etcd,
// kube-apiserver, kubectl) that integration tests and the demo run against.
//
// The binaries are built offline by `make envtest-bins` (hack/envtest-bins.sh)
// into <repo>/bin/k8s/<version>-<os>-<arch>, the layout setup-envtest uses; a
// KUBEBUILDER_ASSETS directory that holds all three takes precedence.
//
// This package must never download, build or skip: when the binaries are
// missing it returns an error that says how to install them, and tests that
// need them fail with that error (Require) so a missing install step is never
// mistaken for a passing run.
package assets
