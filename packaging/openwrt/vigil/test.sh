#!/bin/sh
# openwrt/packages CI: run on the target after installing the package.
# $1 is the package name, $2 its version (the part before -rN is vigil's).
set -e
case "$1" in
vigil)
	vigil -v 2>&1 | grep -F "${2%%-*}"
	vigil -t -f /etc/keepalived/keepalived.conf
	;;
esac
