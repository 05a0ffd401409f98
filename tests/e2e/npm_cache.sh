#!/bin/sh
# npm_cache.sh DIR PACKAGE...: installs npm packages into DIR (a cache
# under build/ that later runs reuse) unless they are there already.
# Prints DIR/node_modules on success.
set -eu
dir=$1
shift
mkdir -p "$dir"
missing=
for p in "$@"; do
	[ -d "$dir/node_modules/$p" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	cd "$dir"
	[ -f package.json ] || echo '{"private": true}' >package.json
	# shellcheck disable=SC2086
	npm install --no-audit --no-fund --loglevel=error $missing >&2
fi
echo "$dir/node_modules"
