# shellcheck shell=ash
# /etc/hotplug.d/keepalived/01-status: record each instance's and group's
# state where the OpenWrt keepalived package keeps it, so its rpcd status
# plugin and LuCI page read vigil's state unchanged:
#   /var/run/keepalived/<NAME>_<TYPE>/STATUS   MASTER, BACKUP, FAULT or STOP
#   /var/run/keepalived/<NAME>_<TYPE>/TIME     seconds since the epoch
# Sourced by hotplug-call with ACTION, TYPE and NAME in the environment.

case "$ACTION" in
NOTIFY_*) ;;
*) return 0 ;;
esac
[ -n "$NAME" ] && [ -n "$TYPE" ] || return 0

dir="/var/run/keepalived/${NAME}_${TYPE}"
mkdir -p "$dir"
echo "${ACTION#NOTIFY_}" >"$dir/STATUS"
date +%s >"$dir/TIME"
