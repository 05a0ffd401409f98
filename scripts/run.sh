#!/bin/sh
# `make run`: a local cluster on loopback: a tracker and three nodes that
# find each other through it (no PEERS file), so replication and locking
# are visible at once.  The folders (RUN_DIR/tracker, RUN_DIR/n1..n3) are
# made on first use and kept.  Ctrl-C (or SIGINT/SIGTERM to this script)
# stops everything.
#
#   RUN_DIR    the folder (default: run/ in the checkout)
#   PORT_BASE  unset: the usual ports (tracker 5050 and 5051, node i FTP
#              212i, peer 4444i, HTTP 844i, S3 900i, WebDAV 808i).  Set:
#              the tracker on PORT_BASE and PORT_BASE+1, node i on
#              PORT_BASE+10i (FTP), +10i+1 (peer), +10i+2 (HTTP), +10i+3
#              (S3) and +10i+4 (WebDAV), so two checkouts run side by
#              side.
#   RUN_WAIT   seconds to wait for everything to answer (default 30)
#   SHOAL_BIN  the binary (default: build/shoal)
#
# The banner is printed only once every process answers; a process that
# exits first, or a deadline that passes, is reported (which one, why, the
# log line) and the script stops the rest and exits 1.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shoal=${SHOAL_BIN:-$top/build/shoal}
run=${RUN_DIR:-$top/run}
wait_s=${RUN_WAIT:-30}

case "$run" in
"~"/*) run="$HOME/${run#"~/"}" ;;
/*) ;;
*) run="$PWD/$run" ;;
esac
# Shown in the banner: relative to the checkout when it is inside it.
case "$run" in
"$top"/*) show=${run#"$top/"} ;;
*) show=$run ;;
esac

die() {
	echo "shoal: make run: $*" >&2
	exit 1
}

case "${PORT_BASE:-}" in
"")
	t_port=5050 t_http=5051
	ftp_port() { echo "212$1"; }
	peer_port() { echo "4444$1"; }
	http_port() { echo "844$1"; }
	s3_port() { echo "900$1"; }
	dav_port() { echo "808$1"; }
	;;
*[!0-9]*) die "PORT_BASE must be a number, not '$PORT_BASE'" ;;
*)
	[ "$PORT_BASE" -ge 1024 ] && [ "$PORT_BASE" -le 65500 ] ||
	    die "PORT_BASE must be from 1024 to 65500"
	t_port=$PORT_BASE t_http=$((PORT_BASE + 1))
	ftp_port() { echo $((PORT_BASE + 10 * $1)); }
	peer_port() { echo $((PORT_BASE + 10 * $1 + 1)); }
	http_port() { echo $((PORT_BASE + 10 * $1 + 2)); }
	s3_port() { echo $((PORT_BASE + 10 * $1 + 3)); }
	dav_port() { echo $((PORT_BASE + 10 * $1 + 4)); }
	;;
esac
case "$wait_s" in
"" | *[!0-9]*) die "RUN_WAIT must be a number of seconds" ;;
esac
[ -x "$shoal" ] || die "$shoal is missing: run 'make' first"

mkdir -p "$run" || die "cannot make $run"
if [ ! -d "$run/n1/.shoal" ]; then
	key=$("$shoal" init "$run/n1" | sed -n 's/^cluster key: //p')
	[ -n "$key" ] || die "shoal init $run/n1 failed"
	"$shoal" init "$run/n2" --join "$key" >/dev/null
	"$shoal" init "$run/n3" --join "$key" >/dev/null
fi
if [ ! -d "$run/tracker/.shoal" ]; then
	key=$(cat "$run/n1/.shoal/cluster_key")
	"$shoal" init "$run/tracker" --join "$key" >/dev/null
fi

# "name pid" per line, in start order.
procs=""
stop_all() {
	for p in $(echo "$procs" | awk 'NF { print $2 }'); do
		kill "$p" 2>/dev/null || true
	done
	for p in $(echo "$procs" | awk 'NF { print $2 }'); do
		wait "$p" 2>/dev/null || true
	done
	procs=""
}
stop() {
	trap - INT TERM EXIT
	stop_all
	echo "cluster stopped"
	exit 0
}
# A failure on the way up leaves nothing running.
trap 'stop_all' EXIT
trap stop INT TERM

"$shoal" tracker "$run/tracker" --listen "127.0.0.1:$t_port" \
    --http "127.0.0.1:$t_http" 2>"$run/tracker.log" &
procs="tracker $!"
for i in 1 2 3; do
	"$shoal" node "$run/n$i" --ftp "127.0.0.1:$(ftp_port $i)" \
	    --peer "127.0.0.1:$(peer_port $i)" \
	    --http "127.0.0.1:$(http_port $i)" \
	    --s3 "127.0.0.1:$(s3_port $i)" \
	    --dav "127.0.0.1:$(dav_port $i)" \
	    --tracker "127.0.0.1:$t_port" 2>"$run/n$i.log" &
	procs="$procs
n$i $!"
done

# The line of a log that says why a process stopped: its last error, else
# its last line.
why() {
	l=$(grep -E ' (error|fatal|crit)' "$1" | tail -n 1)
	[ -n "$l" ] || l=$(tail -n 1 "$1")
	[ -n "$l" ] || l="(nothing in the log)"
	echo "$l"
}

# Whether NAME answers on its ports.
answers() {
	case "$1" in
	tracker)
		curl -sf -o /dev/null --max-time 2 \
		    "http://127.0.0.1:$t_http/v1/nodes"
		;;
	n*)
		i=${1#n}
		grep -q ' serving ' "$run/$1.log" &&
		    curl -s -o /dev/null --max-time 2 \
		    "ftp://guest:guest@127.0.0.1:$(ftp_port "$i")/" &&
		    "$shoal" -C "$run/$1" status >/dev/null 2>&1
		;;
	esac
}

deadline=$(($(date +%s) + wait_s))
pending=$(echo "$procs" | awk 'NF { print $1 }')
while [ -n "$pending" ]; do
	left=""
	for name in $pending; do
		pid=$(echo "$procs" | awk -v n="$name" '$1 == n { print $2 }')
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null && rc=0 || rc=$?
			die "$name did not start (exit $rc): $(why \
			    "$run/$name.log") (log: $show/$name.log)"
		fi
		answers "$name" || left="$left $name"
	done
	pending=$left
	[ -z "$pending" ] && break
	if [ "$(date +%s)" -ge "$deadline" ]; then
		set -- $pending
		die "$1 does not answer after ${wait_s}s: $(why \
		    "$run/$1.log") (log: $show/$1.log)"
	fi
	sleep 0.2
done

sh=$shoal
case "$sh" in
"$top"/*) sh=${sh#"$top/"} ;;
esac
f1=$(ftp_port 1) f3=$(ftp_port 3) h1=$(http_port 1)
echo
echo "shoal: a tracker and three nodes on loopback (logs in $show/*.log)"
echo "  tracker  127.0.0.1:$t_port (nodes), http://127.0.0.1:$t_http/v1/nodes (JSON)"
for i in 1 2 3; do
	echo "  n$i  ftp://guest:guest@127.0.0.1:$(ftp_port $i)/" \
	    " HTTP API http://127.0.0.1:$(http_port $i)/v1/  folder $show/n$i"
done
cat <<MSG

Try:
  curl -T README.md ftp://guest:guest@127.0.0.1:$f1/   # upload to n1 ...
  curl ftp://guest:guest@127.0.0.1:$f3/                # ... and see it on n3
  $sh -C $show/n1 peers          # members and tracker
  $sh -C $show/n2 ls --all       # files and holders
  $sh -C $show/n1 lock /README.md   # then try writing it through n2
  curl -H "Authorization: Bearer \$(cat $show/n1/.shoal/api_token)" \\
      http://127.0.0.1:$h1/v1/status
Ctrl-C stops the cluster.
MSG
wait
