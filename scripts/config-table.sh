#!/bin/sh
# The configuration table in README.md is the output of `shoal config
# --markdown` (the key table in src/base/cfg.c), between two marker lines.
#
#   scripts/config-table.sh SHOAL README.md          rewrite the table
#   scripts/config-table.sh --check SHOAL README.md  fail if it has drifted
set -eu

check=no
if [ "${1:-}" = "--check" ]; then
	check=yes
	shift
fi
shoal=$1
readme=$2
begin='<!-- config keys: scripts/config-table.sh writes this table from src/base/cfg.c -->'
end='<!-- end of config keys -->'

grep -qxF "$begin" "$readme" && grep -qxF "$end" "$readme" || {
	echo "$readme: the config table's marker lines are missing" >&2
	exit 1
}
table=$(mktemp)
new=$(mktemp)
trap 'rm -f "$table" "$new"' EXIT
"$shoal" config --markdown >"$table"
awk -v b="$begin" -v e="$end" -v t="$table" '
	$0 == b { print; while ((getline l < t) > 0) print l; skip = 1; next }
	$0 == e { skip = 0 }
	!skip { print }' "$readme" >"$new"

if [ "$check" = yes ]; then
	if ! cmp -s "$readme" "$new"; then
		echo "$readme: the configuration table differs from src/base/cfg.c;" \
		    "run scripts/config-table.sh build/shoal README.md" >&2
		diff -u "$readme" "$new" >&2 || true
		exit 1
	fi
	exit 0
fi
cat "$new" >"$readme"
