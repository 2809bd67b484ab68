#!/usr/bin/env bash
# Installs what Trellis needs on a fresh Debian 12 machine (run as root), then builds.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(iproute2 iptables ipset conntrack iputils-ping tcpdump procps psmisc
      gcc libc6-dev bird2 frr gobgpd exabgp containernetworking-plugins podman runc busybox-static)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "ensure-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  echo "ensure-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends keeps daemons' optional extras out; no service is enabled or started
  # here (the routing daemons run only inside the namespaces our tests and lab create).
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.trellis-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
npx tsc -p tsconfig.json
bash scripts/build-cni-shim.sh
