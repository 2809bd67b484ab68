#!/usr/bin/env bash
# Builds the trellis-cni shim (agent/cni/shim/trellis-cni.c) into dist/bin/trellis-cni as a
# static, stripped binary: it runs on any node without a matching libc. Idempotent: does nothing
# when the binary is newer than its source and this script. The binary appears atomically, so a
# concurrent run never executes a half-written file.
set -euo pipefail
cd "$(dirname "$0")/.."
src=agent/cni/shim/trellis-cni.c
out=dist/bin/trellis-cni
if [[ -x $out && $out -nt $src && $out -nt scripts/build-cni-shim.sh ]]; then
  exit 0
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
"${CC:-gcc}" -std=c11 -O2 -static -s -Wall -Wextra -Werror -o "$tmp" "$src"
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
