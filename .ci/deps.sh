#!/bin/sh
# Install what twofold needs to build and test on Debian 12, or print the
# exact apt-get line when not root.  Used by `make deps`, `make demo`,
# `make check` (through tests/deps) and .ci/run.
PKGS="build-essential pkg-config libsodium-dev libssl-dev libzstd-dev libcurl4-openssl-dev clang libclang-rt-14-dev llvm attr acl diffutils coreutils"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "twofold needs these Debian packages; install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null
