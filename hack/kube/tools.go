//go:build tools

// Package kube only records, for `go mod tidy`, the commands that
// hack/envtest-bins.sh builds from this module. It is never compiled: the
// tools build tag is never set.
package kube

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
