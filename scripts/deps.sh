#!/bin/sh
# Installs the Debian packages rlc needs when any is missing. Usage: deps.sh build|test
set -e
need="gcc make pkg-config libopenblas-openmp-dev libjansson-dev libyaml-dev libpcre2-dev libutf8proc-dev libgomp1"
if [ "${1:-build}" = test ]; then
  need="$need libcriterion-dev python3-torch python3-numpy python3-jinja2"
  # Chat-template references run on node; a node from elsewhere (nodesource
  # bundles npm) is kept rather than replaced by Debian's.
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need="$need nodejs npm"
fi
missing=""
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
