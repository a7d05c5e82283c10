#!/usr/bin/env bash
# envtest-bins.sh builds the envtest control plane (etcd, kube-apiserver,
# kubectl) from Go modules into bin/k8s/<version>-<os>-<arch>, the store layout
# that `setup-envtest use -i --bin-dir bin` reads and KUBEBUILDER_ASSETS expects.
#
# Why build instead of `setup-envtest use`: there is no internet here, only the
# Go module proxy and Debian packages, so release tarballs cannot be fetched.
# The sources are pinned by the separate module in hack/kube (k8s.io/kubernetes
# plus its staging modules at the matching v0.x release, plus etcd server at the
# version kube-apiserver's etcd client is built against).
#
# etcd: Debian bookworm ships etcd 3.4.x, older than the 3.5 minimum that
# kube-apiserver 1.37 supports, so etcd is built from go.etcd.io/etcd/server/v3
# too. Set ETCD=/path/to/etcd to use an installed etcd (>= 3.5) instead.
#
# A second run is cheap: a stamp file records what the binaries were built from,
# and nothing is rebuilt while the stamp matches and the binaries report the
# expected versions.
#
# Output: progress on stderr; the assets directory alone on stdout's last line.
set -euo pipefail

KUBE_VERSION=1.37.1
# Bump RECIPE whenever the build flags below change, so stamps from older
# builds no longer match.
RECIPE=1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOD_DIR=$ROOT/hack/kube
BIN_DIR=${ENVTEST_BIN_DIR:-$ROOT/bin}

log() { printf 'envtest-bins: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH"
# hack/kube must never be resolved through a workspace of the main module.
export GOWORK=off
GOOS=$(go env GOOS)
GOARCH=$(go env GOARCH)
OUT=$BIN_DIR/k8s/$KUBE_VERSION-$GOOS-$GOARCH
STAMP=$OUT/.palisade-envtest-stamp

grep -Eq "^require k8s.io/kubernetes v$KUBE_VERSION\$|^[[:space:]]k8s.io/kubernetes v$KUBE_VERSION\$" "$MOD_DIR/go.mod" ||
	die "hack/kube/go.mod does not require k8s.io/kubernetes v$KUBE_VERSION; update KUBE_VERSION or the module"

# etcd_version prints the X.Y.Z an etcd binary reports, or nothing.
etcd_version() {
	"$1" --version 2>/dev/null | sed -n 's/^etcd Version: \([0-9][0-9.]*\).*/\1/p' | head -n1
}

# etcd_supported succeeds when version $1 is at least 3.5.
etcd_supported() {
	local major minor
	IFS=. read -r major minor _ <<<"$1"
	[[ -n $major && -n $minor ]] || return 1
	((major > 3 || (major == 3 && minor >= 5)))
}

if [[ -n ${ETCD:-} ]]; then
	[[ -x $ETCD ]] || die "ETCD=$ETCD is not an executable"
	ev=$(etcd_version "$ETCD")
	etcd_supported "$ev" || die "ETCD=$ETCD is etcd ${ev:-(unknown version)}; kube-apiserver $KUBE_VERSION needs etcd >= 3.5 (unset ETCD to build one)"
	etcd_src="file $ETCD $ev"
else
	etcd_src="module go.etcd.io/etcd/server/v3"
fi

sum() { sha256sum "$1" | cut -d' ' -f1; }
want_stamp=$(printf 'kubernetes v%s\nrecipe %s\nplatform %s/%s\ngo.mod %s\ngo.sum %s\netcd %s\n' \
	"$KUBE_VERSION" "$RECIPE" "$GOOS" "$GOARCH" "$(sum "$MOD_DIR/go.mod")" "$(sum "$MOD_DIR/go.sum")" "$etcd_src")

kubectl_version() {
	"$1" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n1
}

# fresh succeeds when $OUT already holds binaries built from the same inputs.
fresh() {
	[[ -f $STAMP && "$(cat "$STAMP")" == "$want_stamp" ]] || return 1
	local b
	for b in etcd kube-apiserver kubectl; do
		[[ -x $OUT/$b ]] || return 1
	done
	[[ "$("$OUT/kube-apiserver" --version 2>/dev/null)" == "Kubernetes v$KUBE_VERSION" ]] || return 1
	[[ "$(kubectl_version "$OUT/kubectl")" == "v$KUBE_VERSION" ]] || return 1
	etcd_supported "$(etcd_version "$OUT/etcd")" || return 1
}

mkdir -p "$BIN_DIR/k8s"
# Serialise concurrent runs (make -j, two terminals) on the same store.
exec 9>"$BIN_DIR/k8s/.envtest-bins.lock"
if command -v flock >/dev/null; then
	flock 9
fi

if fresh; then
	log "up to date: $OUT"
else
	start=$SECONDS
	tmp=$BIN_DIR/k8s/.build-$KUBE_VERSION-$GOOS-$GOARCH
	rm -rf "$tmp"
	mkdir -p "$tmp"
	trap 'rm -rf "$tmp"' EXIT

	# Version stamps the release build would set (hack/lib/version.sh upstream).
	# The module zip carries no git commit, so gitCommit stays empty and the
	# tree state is "archive", as for upstream builds from a source tarball; the
	# build date is the module's release time so builds are reproducible.
	build_date=$(cd "$MOD_DIR" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)
	IFS=. read -r kmajor kminor _ <<<"$KUBE_VERSION"
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=v$KUBE_VERSION"
		ldflags+=" -X $pkg.gitMajor=$kmajor"
		ldflags+=" -X $pkg.gitMinor=$kminor"
		ldflags+=" -X $pkg.gitCommit="
		ldflags+=" -X $pkg.gitTreeState=archive"
		ldflags+=" -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
	done

	pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
	[[ -n ${ETCD:-} ]] || pkgs+=(go.etcd.io/etcd/server/v3)
	log "building ${pkgs[*]} (several minutes with a cold Go build cache)"
	(cd "$MOD_DIR" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}")
	if [[ -n ${ETCD:-} ]]; then
		cp "$ETCD" "$tmp/etcd"
	else
		# go names the binary of a /v3 module path after the element before it.
		mv "$tmp/server" "$tmp/etcd"
	fi

	ev=$(etcd_version "$tmp/etcd")
	etcd_supported "$ev" || die "etcd ${ev:-(unknown version)} is older than 3.5, which kube-apiserver $KUBE_VERSION needs"
	got=$("$tmp/kube-apiserver" --version)
	[[ $got == "Kubernetes v$KUBE_VERSION" ]] || die "built kube-apiserver reports \"$got\", want \"Kubernetes v$KUBE_VERSION\""

	mkdir -p "$OUT"
	rm -f "$STAMP"
	for b in etcd kube-apiserver kubectl; do
		mv -f "$tmp/$b" "$OUT/$b"
	done
	printf '%s\n' "$want_stamp" >"$STAMP"
	log "built in $((SECONDS - start))s: etcd $ev, $got, kubectl $(kubectl_version "$OUT/kubectl")"
fi

log "export KUBEBUILDER_ASSETS=$OUT"
printf '%s\n' "$OUT"
