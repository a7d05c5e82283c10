// Package imagetest checks the images `make images` builds, end to end: it runs `make images`
// twice into a temporary directory, reads each OCI layout's config (entrypoint, user, labels),
// extracts the file system, runs each binary's --version inside a chroot of it (the controller as
// its non-root user, which proves the binary static and the empty base enough), runs the
// enforcer's iptables, ipset and conntrack there (which proves their libraries are in the image),
// and compares the digests of the two builds.
//
// It needs root (chroot) and apt, so `make test` leaves it out and `make test-e2e` runs it
// (`make test-images` alone). Every command it runs is bounded by a timeout. It holds tests only.
package imagetest
