# shellcheck shell=ash
# /etc/hotplug.d/keepalived/90-user: a user hook, like the keepalived
# package's. /etc/keepalived.user runs with ACTION, TYPE, NAME (and PRIORITY)
# set, e.g. to restart a service on NOTIFY_MASTER.

# shellcheck disable=SC1091 # the user's file
[ -f /etc/keepalived.user ] && . /etc/keepalived.user
return 0
