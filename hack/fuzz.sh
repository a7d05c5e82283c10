#!/usr/bin/env bash
# Runs every fuzz target of every Go module for FUZZ_TIME each (default 5s), FUZZ_PARALLEL targets
# at a time (default 2), each with one fuzzing worker, so the run is bounded in time and CPU:
# about (targets / FUZZ_PARALLEL) x FUZZ_TIME plus compilation. Fails on the first crasher found;
# the input is written under the package's testdata/fuzz, as go test does.
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context deadline exceeded" when
# -fuzztime runs out while a worker is mid-call (go.dev/issue/75804, fixed in Go 1.27): under the
# load of two shared CPUs it failed CI once with no input written. Such a run is classified as a
# deadline race, not a finding: the target is fuzzed once more, and if the race repeats, its
# corpus (seeds and testdata/fuzz) is replayed, which must pass. Anything else that fails (a
# written input, a panic, a t.Fatal message, a build error) fails at once.
#
#   hack/fuzz.sh              fuzz every target
#   hack/fuzz.sh --classify   read a `go test -fuzz` log on stdin, print crash, deadline-race or ok
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# classify reads a go test -fuzz log on stdin and prints what it shows: "ok" (it passed),
# "deadline-race" (it failed with nothing but the coordinator's deadline error) or "crash".
classify() {
	local log
	log=$(cat)
	if ! grep -q -- '^--- FAIL' <<<"$log" && ! grep -q '^FAIL' <<<"$log" && ! grep -q '^panic:' <<<"$log"; then
		echo ok
		return
	fi
	# The race's whole failure report is the FAIL line and one message line; any other line of a
	# failure (a written input, a panic, the target's own message) makes it a finding.
	local report
	report=$(sed -n '/^--- FAIL/,$p' <<<"$log" | grep -v -e '^--- FAIL' -e '^FAIL' -e '^exit status' -e '^[[:space:]]*$' || true)
	if [[ "$(sed 's/^[[:space:]]*//' <<<"$report")" == "context deadline exceeded" ]] \
		&& ! grep -q -e 'Failing input written to' -e '^panic:' <<<"$log"; then
		echo deadline-race
		return
	fi
	echo crash
}

if [[ "${1:-}" == --classify ]]; then
	classify
	exit 0
fi

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
export FUZZ_TIME
fuzz_sh=$(pwd)/hack/fuzz.sh
export fuzz_sh
# shellcheck disable=SC2016 # expanded by the inner shell
xargs -P "$FUZZ_PARALLEL" -L 1 bash -c '
	cd "$0"
	for try in 1 2; do
		out=$(go test -run "^$" -fuzz "^$2\$" -fuzztime "$FUZZ_TIME" -parallel 1 "$1" 2>&1) && { echo "ok   $1 $2"; exit 0; }
		verdict=$("$fuzz_sh" --classify <<<"$out")
		if [[ $verdict != deadline-race ]]; then
			echo "FAIL $1 $2"; echo "$out"; exit 255
		fi
		echo "note $1 $2: fuzzing stopped by the fuzztime deadline race (go.dev/issue/75804), try $try"
	done
	if replay=$(go test -run "^$2\$" -count 1 "$1" 2>&1); then
		echo "ok   $1 $2 (corpus replayed after the deadline race)"
	else
		echo "FAIL $1 $2 (corpus replay)"; echo "$replay"; exit 255
	fi' <"$targets"
