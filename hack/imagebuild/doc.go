// Command imagebuild builds Palisade's container images offline, without Docker, as OCI image
// layouts (github.com/google/go-containerregistry):
//
//	imagebuild controller --binary bin/images/palisade-controller --version v0.1.0 --out bin/images/palisade-controller
//	imagebuild enforcer   --binary bin/images/palisade-enforcer   --version v0.1.0 --out bin/images/palisade-enforcer
//
// The controller image is its static binary on an empty base with a numeric non-root user. The
// enforcer image is its binary plus iptables, ipset, conntrack and their libraries, fetched with
// `apt-get download` from the build machine's Debian sources and unpacked with `dpkg-deb -x`.
// Layers are reproducible: fixed modification times and owners, sorted entries, and a creation time
// from SOURCE_DATE_EPOCH (or the epoch), so building twice gives the same digests.
//
// It is a build tool under hack/, in a module of its own so that go-containerregistry stays out of
// Palisade's product module; product code must never import it. The Dockerfile at the repository
// root builds the same two images for users with Docker.
package main
