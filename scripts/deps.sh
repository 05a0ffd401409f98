#!/bin/sh
# Installs the Debian packages shoal needs to build, test and benchmark.
# Quick when everything is present: it asks dpkg first and only calls apt
# for what is missing.  As a non-root user it prints the command instead.
set -eu

PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
libtsan2 clang-format libevent-dev libssl-dev libsqlite3-dev sqlite3 libinih-dev
libcrypt-dev libcmocka-dev libjansson-dev libpq-dev libedit-dev libexpat1-dev
zlib1g-dev faketime
python3-pytest curl lftp openssl procps iproute2 postgresql
rclone awscli s3cmd restic python3-boto3 litmus davfs2"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "shoal needs these Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null
