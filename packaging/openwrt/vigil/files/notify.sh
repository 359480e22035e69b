#!/bin/sh
# keepalived's notify interface -> OpenWrt hotplug, as the OpenWrt keepalived
# package does it: in keepalived.conf write
#     notify /usr/libexec/vigil/notify
# (in a vrrp_instance or vrrp_sync_group) and every transition runs the
# scripts in /etc/hotplug.d/keepalived/ with ACTION=NOTIFY_<STATE>,
# TYPE=INSTANCE|GROUP and NAME=<name>, the variables they already use.
# Arguments from the daemon: TYPE NAME STATE [PRIORITY].
[ $# -ge 3 ] || { echo "usage: $0 TYPE NAME STATE [PRIORITY]" >&2; exit 2; }
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	ACTION="NOTIFY_$3" TYPE="$1" NAME="$2" PRIORITY="${4:-}" \
	/sbin/hotplug-call keepalived
