// Package debian fetches Debian packages with the build machine's apt (`apt-cache depends` to
// resolve dependencies, `apt-get download` into a cache directory) and unpacks them with
// `dpkg-deb -x` into a directory, so that an image can carry them without a package manager.
//
// It runs apt only to read package lists and download .deb files: it must never install anything
// on the build machine or need root. Files already in the cache are not downloaded again, so a
// build with a warm cache works offline.
package debian
