#!/usr/bin/env bash
# Installs the Debian packages Palisade's tests use, only those that are missing, so that a re-run on a
# prepared machine costs nothing and asks no registry.
# (etcd is not among them: Debian 12 ships 3.4, older than kube-apiserver 1.37 supports, so
# hack/envtest-bins.sh builds 3.7 from the Go module proxy instead.)
#   iptables, ipset, iproute2: the node enforcer's dataplane tests run them in network namespaces
set -euo pipefail

packages=(iptables ipset iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing Debian packages: ${missing[*]}; install them with: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
