// Command imagebuild builds Palisade's container images offline, without Docker, as OCI image
// layouts (`make images` runs it):
//
//	imagebuild controller --binary bin/images/palisade-controller --version v0.1.0 --out bin/images/palisade-controller.oci
//	imagebuild enforcer   --binary bin/images/palisade-enforcer   --version v0.1.0 --out bin/images/palisade-enforcer.oci --deb-cache bin/images/debs
//
// What the images hold is package images; layers and layouts are package ociimage; the Debian
// packages of the enforcer are package debian. The creation time is SOURCE_DATE_EPOCH (or the
// epoch), never the clock, so building twice gives the same digests.
//
// It is a build tool under hack/, in a module of its own so that go-containerregistry stays out of
// Palisade's product module; product code must never import it.
package main
