#!/bin/sh
# `make run`: a node serving ./run/node on 127.0.0.1:2121, in the
# foreground until Ctrl-C.  The folder is made on first use and kept.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/run/node"
port="${SHOAL_FTP_PORT:-2121}"
[ -d "$dir/.shoal" ] || "$top/build/shoal" init "$dir"
cat <<MSG

shoal node serving $dir
  FTP:   ftp://guest:guest@127.0.0.1:$port/   (explicit FTPS: AUTH TLS)
  try:   curl -T README.md ftp://guest:guest@127.0.0.1:$port/
         lftp -u guest,guest 127.0.0.1:$port
  Ctrl-C stops it.

MSG
exec "$top/build/shoal" node "$dir" --ftp "127.0.0.1:$port"
