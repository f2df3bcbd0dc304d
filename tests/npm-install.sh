#!/bin/sh
# Installs pinned npm packages under build/npm (the JavaScript references some
# tests compare against), skipping those already present. Idempotent.
# Usage: tests/npm-install.sh PKG@VER...   (run from the repository root;
# NPM_PREFIX overrides build/npm). Exits non-zero when node/npm are missing or
# an install fails; prints why on stderr.
set -e
prefix="${NPM_PREFIX:-build/npm}"
[ $# -gt 0 ] || { echo "usage: $0 PKG@VER..." >&2; exit 2; }
command -v node >/dev/null 2>&1 || { echo "npm-install: node not found (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "npm-install: npm not found (apt-get install npm)" >&2; exit 1; }
missing=""
for spec in "$@"; do
  # Package name without the version: the last '@' that is not the leading scope '@'.
  name="${spec%@*}"
  [ -z "$name" ] && name="$spec"
  want="${spec##*@}"
  [ "$name" = "$spec" ] && want=""
  pj="$prefix/node_modules/$name/package.json"
  if [ -f "$pj" ]; then
    have=$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$(pwd)/$pj" 2>/dev/null || true)
    [ -z "$want" ] || [ "$have" = "$want" ] && continue
  fi
  missing="$missing $spec"
done
[ -z "$missing" ] && exit 0
mkdir -p "$prefix"
# Saved (exact) to $prefix/package.json so a later install of another package
# keeps this one: npm prunes unlisted packages. The lock serialises concurrent
# installs (Criterion runs tests in parallel processes).
lock="$prefix/.install.lock"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$lock"
  flock 9
fi
echo "npm-install: installing$missing into $prefix" >&2
npm install --prefix "$prefix" --no-audit --no-fund --save-exact --loglevel=error $missing >&2
