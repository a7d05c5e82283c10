// Package argocd holds no product code: this directory ships Argo CD's health check for Palisade's
// policies (health.lua), the argocd-cm settings that install it and ignore the webhook caBundle
// (argocd-cm.yaml), and the tests that hold the health check, kstatus and kubectl wait to the same
// reading of the same statuses. Nothing here may depend on a cluster.
package argocd
