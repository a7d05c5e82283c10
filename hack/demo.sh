#!/usr/bin/env bash
# demo.sh shows kubectl-palisade on the examples: lint (clean scenarios, broken policies, Calico
# policies and their conversion), trace of single flows (allowed and denied, with the explanation
# of every policy visited), and the connectivity matrix of two scenarios.
#
# It is run by `make demo-offline` after `make build`; run alone it builds bin/kubectl-palisade if missing.
# Every command's exit code is checked against what the demo expects, so the demo fails loudly if
# the tool's behaviour drifts from what it narrates.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
KP=${KP:-bin/kubectl-palisade}
if [[ ! -x $KP ]]; then
  echo "building $KP"
  go build -o "$KP" ./cmd/kubectl-palisade
fi

section() { printf '\n======== %s ========\n' "$*"; }
# say LINE...: narration, one comment line per argument.
say() {
  printf '\n'
  printf '# %s\n' "$@"
}

# expect CODE ARGS...: run kubectl-palisade ARGS, show the command, and fail the demo unless it
# exits with CODE.
expect() {
  local want=$1
  shift
  printf '$ kubectl palisade %s\n' "$*"
  local got=0
  "$KP" "$@" || got=$?
  if [[ $got != "$want" ]]; then
    echo "demo: expected exit code $want, got $got" >&2
    exit 1
  fi
}

# The scenario examples are the folders with a README verdict table; invalid/ and calico/ are
# lint and convert material.
scenarios=()
for dir in examples/*/; do
  [[ -f $dir/README.md ]] && scenarios+=(-f "${dir%/}")
done

section "lint"
say "Every scenario example is valid (warnings do not fail lint): exit 0."
expect 0 lint "${scenarios[@]}"

say "examples/invalid holds one mistake per file; lint names each field and exits 1."
expect 1 lint -f examples/invalid

say "Calico's projectcalico.org/v3 policies are not Palisade's API: lint points to convert..."
expect 1 lint -f examples/calico
say "...and the converted policy lints clean."
printf '$ kubectl palisade convert -f examples/calico/restrict-egress.yaml | kubectl palisade lint -f -\n'
"$KP" convert -f examples/calico/restrict-egress.yaml | "$KP" lint -f -

section "trace"
say "three-tier: the web tier may call the API on 8080. Both sides allow it: exit 0."
expect 0 trace -f examples/three-tier --from frontend/web --to backend/api --port 8080/TCP

say "three-tier: web may not talk to the database directly. Its own egress policy and the" \
  "database's ingress policy both refuse it: exit 1."
expect 1 trace -f examples/three-tier --from frontend/web --to database/postgres-0 --port 5432/TCP

say "default-deny: the global cluster-default-deny allows DNS over UDP only, so a TCP DNS query" \
  "from staging ends at the global policy's end of tier: exit 1."
expect 1 trace -f examples/default-deny --from staging/preview --to kube-system/coredns --port 53/TCP

say "cidr-egress: a verdict as JSON, for scripts; the Log rule that matched before the Deny" \
  "shows in logRules."
expect 1 trace -f examples/cidr-egress --from payments/checkout --to payments/ledger --port 8080/TCP -o json

section "matrix"
say "three-tier: who can reach whom on the ports the tiers use."
expect 0 matrix -f examples/three-tier --ports 80/TCP,8080/TCP,5432/TCP

say "default-deny: DNS over UDP and TCP, and the application port."
expect 0 matrix -f examples/default-deny --ports 53/UDP,53/TCP,8080/TCP

printf '\ndemo finished: every command exited as expected\n'
