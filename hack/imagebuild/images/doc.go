// Package images says what Palisade's two container images are made of and builds them as OCI
// image layouts (package ociimage):
//
//   - palisade-controller: the static binary on an empty base, run as the numeric non-root user
//     65532 (distroless' nonroot), with /etc/passwd and /etc/group naming it and a /tmp;
//   - palisade-enforcer: the binary plus iptables (nf_tables backend), ipset, conntrack and their
//     shared libraries, from the build machine's Debian packages (package debian), run as root:
//     iptables needs uid 0 with the capabilities NET_ADMIN and NET_RAW, which the DaemonSet grants
//     (the image cannot).
//
// The Dockerfile at the repository root builds the same two images for users with Docker (its test
// checks that users, entrypoints and targets agree with this package). It must never read the
// clock: the creation time is given (SOURCE_DATE_EPOCH), so the same inputs give the same digests.
package images
