#!/bin/sh
# `make run`: a local cluster of three nodes on loopback, in ./run/n1..n3,
# so replication is visible at once.  The folders are made on first use and
# kept.  Ctrl-C stops all three.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shoal="$top/build/shoal"
run="$top/run"
mkdir -p "$run"

if [ ! -d "$run/n1/.shoal" ]; then
	key=$("$shoal" init "$run/n1" | sed -n 's/^cluster key: //p')
	"$shoal" init "$run/n2" --join "$key" >/dev/null
	"$shoal" init "$run/n3" --join "$key" >/dev/null
	echo "127.0.0.1:44441" > "$run/n2/.shoal/peers"
	echo "127.0.0.1:44441" > "$run/n3/.shoal/peers"
fi

pids=""
stop() {
	trap - INT TERM
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait
	echo "cluster stopped"
	exit 0
}
trap stop INT TERM

for i in 1 2 3; do
	"$shoal" node "$run/n$i" --ftp "127.0.0.1:212$i" \
	    --peer "127.0.0.1:4444$i" --http "127.0.0.1:844$i" \
	    2>"$run/n$i.log" &
	pids="$pids $!"
done

cat <<MSG

shoal: three nodes on loopback (logs in run/n1.log .. run/n3.log)
  n1  ftp://guest:guest@127.0.0.1:2121/   folder run/n1
  n2  ftp://guest:guest@127.0.0.1:2122/   folder run/n2
  n3  ftp://guest:guest@127.0.0.1:2123/   folder run/n3

  curl -T README.md ftp://guest:guest@127.0.0.1:2121/   # upload to n1 ...
  curl ftp://guest:guest@127.0.0.1:2123/                # ... and see it on n3
  build/shoal -C run/n1 peers                           # members, best first
  build/shoal -C run/n1 status

Ctrl-C stops the cluster.
MSG
wait
