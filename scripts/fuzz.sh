#!/bin/sh
# Runs every libFuzzer harness in BUILD_DIR/fuzz for SECONDS seconds each.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS
#
# Each harness fuzzes a writable copy of its seeds from fuzz/corpus/<name>
# in a temporary directory, so the corpus in the repository only changes
# when someone copies a new seed in on purpose.  A crash, timeout or leak
# leaves its input in BUILD_DIR/fuzz/<harness>-crash-* (or -timeout-*,
# -leak-*) and its log in BUILD_DIR/fuzz/<harness>.log.  One summary line
# per harness; the exit status is non-zero if any harness failed.
set -eu

usage() {
	echo "usage: scripts/fuzz.sh BUILD_DIR SECONDS" >&2
	exit 2
}

[ $# -eq 2 ] || usage
build=$1
secs=$2
case "$secs" in
'' | *[!0-9]*) usage ;;
esac
[ "$secs" -gt 0 ] || usage

root=$(cd "$(dirname "$0")/.." && pwd)
outdir=$build/fuzz
if [ ! -d "$outdir" ]; then
	echo "fuzz.sh: no $outdir; configure with -Dfuzz=true and build" >&2
	exit 2
fi

# UBSan reports and continues by default; a finding must stop the run.
# The harnesses are built with -fno-sanitize-recover too: this covers a
# build that was not.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shoal-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

found=0
failed=0
for bin in "$outdir"/fuzz_*; do
	# Meson puts object directories (fuzz_x.p) beside the binaries.
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		continue
	fi
	found=$((found + 1))
	h=$(basename "$bin")
	name=${h#fuzz_}
	corpus=$tmp/$name
	log=$outdir/$h.log
	mkdir -p "$corpus"
	if [ -d "$root/fuzz/corpus/$name" ]; then
		cp -R "$root/fuzz/corpus/$name/." "$corpus/"
	else
		echo "fuzz.sh: $h has no fuzz/corpus/$name; starting empty" >&2
	fi
	seeds=$(find "$corpus" -type f | wc -l)

	rc=0
	"$bin" -max_total_time="$secs" -max_len=8192 -print_final_stats=1 \
	    -artifact_prefix="$outdir/$h-" "$corpus" >"$log" 2>&1 || rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	final=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "$h: ok, ${runs:-?} runs in ${secs}s," \
		    "corpus $seeds -> $final"
	else
		failed=$((failed + 1))
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" |
		    tail -n 1)
		echo "$h: FAILED (exit $rc) after ${runs:-?} runs," \
		    "input ${art:-not saved}, log $log"
	fi
done

if [ "$found" -eq 0 ]; then
	echo "fuzz.sh: no fuzz_* harness in $outdir" >&2
	exit 2
fi
[ "$failed" -eq 0 ]
