#!/usr/bin/env bash
# Runs every fuzz target of every Go module for FUZZ_TIME each (default 5s), FUZZ_PARALLEL targets
# at a time (default 2), each with one fuzzing worker, so the run is bounded in time and CPU:
# about (targets / FUZZ_PARALLEL) x FUZZ_TIME plus compilation. Fails on the first crasher found;
# the input is written under the package's testdata/fuzz, as go test does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_TIME=${FUZZ_TIME:-5s}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-2}

targets=$(mktemp)
trap 'rm -f "$targets"' EXIT
for mod in $(find . -name go.mod -not -path './hack/kube/*' -not -path './test/chart/*' -not -path './bin/*' -exec dirname {} \; | sort); do
	for pkg in $(cd "$mod" && go list ./...); do
		for f in $(cd "$mod" && go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			echo "$mod $pkg $f" >>"$targets"
		done
	done
done
n=$(wc -l <"$targets")
if [[ $n -eq 0 ]]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
echo "fuzzing $n targets for $FUZZ_TIME each, $FUZZ_PARALLEL at a time"
# shellcheck disable=SC2016 # expanded by the inner shell
xargs -P "$FUZZ_PARALLEL" -L 1 bash -c '
	cd "$0" && out=$(go test -run "^$" -fuzz "^$2\$" -fuzztime '"$FUZZ_TIME"' -parallel 1 "$1" 2>&1) \
		&& echo "ok   $1 $2" || { echo "FAIL $1 $2"; echo "$out"; exit 255; }' <"$targets"
