#!/bin/sh
# `make run`: a local cluster on loopback: a tracker in ./run/tracker and
# three nodes in ./run/n1..n3 that find each other through it (no PEERS
# file), so replication and locking are visible at once.  The folders are
# made on first use and kept.  Ctrl-C stops everything.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shoal="$top/build/shoal"
run="$top/run"
mkdir -p "$run"

if [ ! -d "$run/n1/.shoal" ]; then
	key=$("$shoal" init "$run/n1" | sed -n 's/^cluster key: //p')
	"$shoal" init "$run/n2" --join "$key" >/dev/null
	"$shoal" init "$run/n3" --join "$key" >/dev/null
fi
if [ ! -d "$run/tracker/.shoal" ]; then
	key=$(cat "$run/n1/.shoal/cluster_key")
	"$shoal" init "$run/tracker" --join "$key" >/dev/null
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

"$shoal" tracker "$run/tracker" --listen 127.0.0.1:5050 \
    --http 127.0.0.1:5051 2>"$run/tracker.log" &
pids="$pids $!"
for i in 1 2 3; do
	"$shoal" node "$run/n$i" --ftp "127.0.0.1:212$i" \
	    --peer "127.0.0.1:4444$i" --http "127.0.0.1:844$i" \
	    --tracker 127.0.0.1:5050 2>"$run/n$i.log" &
	pids="$pids $!"
done

cat <<MSG

shoal: a tracker and three nodes on loopback (logs in run/*.log)
  tracker  127.0.0.1:5050, JSON on http://127.0.0.1:5051/v1/nodes
  n1  ftp://guest:guest@127.0.0.1:2121/   folder run/n1
  n2  ftp://guest:guest@127.0.0.1:2122/   folder run/n2
  n3  ftp://guest:guest@127.0.0.1:2123/   folder run/n3

  curl -T README.md ftp://guest:guest@127.0.0.1:2121/   # upload to n1 ...
  curl ftp://guest:guest@127.0.0.1:2123/                # ... and see it on n3
  build/shoal -C run/n1 peers                           # members and tracker
  build/shoal -C run/n1 ls --all                        # files and holders
  build/shoal -C run/n1 lock /README.md                 # then try writing
                                                        # it through n2
Ctrl-C stops the cluster.
MSG
wait
