// Package ociimage assembles container images from in-memory file trees and writes them as OCI
// image layouts with github.com/google/go-containerregistry, reproducibly: entries sorted by path,
// every time set to the one given creation time, owners numeric, so that the same inputs always
// give the same digests.
//
// It knows nothing of Palisade's images (package images says what goes in them) and must never
// read the clock, the network or anything of the build machine but the files it is handed.
package ociimage
