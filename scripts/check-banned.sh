#!/bin/sh
# Fails if src/ calls a banned number parser (see src/base/banned.h):
# strto*, ato* or sscanf.  Run by `meson test` (and so by `make test`).
#
#   scripts/check-banned.sh [SRC_DIR]
set -eu

src=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
if [ ! -d "$src" ]; then
	echo "check-banned.sh: no directory $src" >&2
	exit 2
fi
# banned.h names them in its pragmas, without a call.
hits=$(grep -rnE '\b(strto[a-z]*|ato[ilfq]|atoll|v?sscanf)[[:space:]]*\(' \
    --include='*.c' --include='*.h' "$src" || true)
if [ -n "$hits" ]; then
	echo "$hits"
	echo "check-banned.sh: use the cursor parser in src/base/parse.h" >&2
	exit 1
fi
echo "check-banned.sh: no banned calls in $src"
