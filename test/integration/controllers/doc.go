// Package controllersintegration tests the rollout operator (controllers/) against a real
// kube-apiserver (envtest) with a fake clock: status writes, revisions, requeue times, control
// annotations, node reports, many policies; and benchmarks reconcile throughput against plain status
// patches. There is no kube-controller-manager in envtest, so garbage collection of revisions is
// checked through their owner references, not by watching them go.
package controllersintegration
