// Package chartrun installs Palisade's Helm chart (charts/palisade) into a lab (package lab) and
// runs what the chart installed the way a cluster would: the controller Deployment's replicas and
// one enforcer per node of the DaemonSet, from the built binaries, with the containers' args, env,
// mounts and security context read back from the API server.
//
// The lab has no kubelet, no Service network, no DNS and no cert-manager; this package plays their
// parts, and nothing else:
//
//   - kubelet (Pod): it copies each program into the lab's directory (the "image"), starts it with
//     the container's args and env ($(VAR) expanded; the downward API fields and limits.memory
//     the chart uses filled), as the user and group of the container's security context (the
//     image's user when it names none; runAsNonRoot checked), inside a node's network namespace
//     (the enforcer's, hostNetwork, and the controller's: a pod's own namespace would only isolate
//     its ports), probes its readiness and liveness endpoints there, and keeps each Secret volume
//     in step with its Secret (a directory of files, rewritten when the Secret changes, as the
//     kubelet refreshes a mounted Secret);
//   - Service network: the webhook Service is a loopback listener of the lab process forwarding
//     each connection to a running controller replica's webhook port. A Helm post-renderer
//     (PointWebhooks) replaces each webhook's clientConfig.service by the URL
//     https://SERVICE.NAMESPACE.svc:PORT/PATH, a name the serving certificate covers, which the
//     lab's kube-apiserver resolves to 127.0.0.1 from the /etc/hosts of its own mount namespace
//     (lab.Options.APIServerHosts); the machine's /etc/hosts is not touched;
//   - cert-manager (only when the chart is installed in its cert-manager mode): stub CRDs for
//     Issuer and Certificate, and the Certificate's Secret filled with a serving certificate of a
//     CA made for the run, which the post-renderer puts into the caBundle as cainjector would. In
//     the chart's default mode (self) the controller issues, rotates and injects its certificate
//     itself, as on a cluster.
//
// Substitutions in the argument vectors, and only these: the image's program path replaced by
// the copied binary, an added --kubeconfig (the in-cluster config has no service account token
// here; the file is the node's kubeconfig, readable by the container's user), and a volume's mount
// path in a flag replaced by the directory this package keeps in step with the volume.
//
// Not reproduced: capabilities (the enforcer runs as root with all of them, not only NET_ADMIN and
// NET_RAW), seccomp, read-only root file systems, CPU requests and the kernel's enforcement of the
// memory limit (GOMEMLIMIT is set from it as the chart asks, and Pod.PeakRSS lets a caller check the
// process stayed under it), pod hostnames, and restarts on their own (a process that exits stays
// exited until Release.Restart).
package chartrun
