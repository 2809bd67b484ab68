#!/bin/sh
# Init container of the DaemonSet: installs trellis-cni into the host's /opt/cni/bin and the
# conflist into /etc/cni/net.d. Each file is written to a temporary name in the same directory
# and renamed over the old one, so a kubelet or runtime reading concurrently sees either the old
# file or the new one, never half of one.
set -eu
BIN_SRC=${BIN_SRC:-/opt/trellis/dist/bin/trellis-cni}
BIN_DIR=${BIN_DIR:-/host/opt/cni/bin}
CONF_SRC=${CONF_SRC:-/etc/trellis/cni/${CONFLIST_NAME:-10-trellis.conflist}}
CONF_DIR=${CONF_DIR:-/host/etc/cni/net.d}

install_atomic() { # src dir name mode
  tmp="$2/.$3.tmp.$$"
  cp "$1" "$tmp"
  chmod "$4" "$tmp"
  mv -f "$tmp" "$2/$3"
}

mkdir -p "$BIN_DIR" "$CONF_DIR"
install_atomic "$BIN_SRC" "$BIN_DIR" trellis-cni 0755
install_atomic "$CONF_SRC" "$CONF_DIR" "$(basename "$CONF_SRC")" 0644
echo "installed $BIN_DIR/trellis-cni and $CONF_DIR/$(basename "$CONF_SRC")"
