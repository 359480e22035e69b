#!/bin/sh
# Build an initramfs in which busybox init runs vigil as a respawned service:
# the smallest complete system for vigil, e.g. a router's recovery image or
# a test VM. Boot it with any kernel that has the drivers built in or in BASE.
#
#   packaging/initramfs/build.sh OUT.cpio.gz VIGIL [KEEPALIVED_CONF]
#
# VIGIL must be static (make static). Environment:
#   BUSYBOX        a static busybox (default /bin/busybox, Debian busybox-static)
#   BASE           an initramfs to layer onto, e.g. one holding kernel modules
#                  (its userland stays; busybox's applet links are not added)
#   OVERLAY        a directory copied over the root last, e.g. etc/rc.local
#   INITTAB_EXTRA  lines appended to /etc/inittab
#
# The image: /init is busybox init; /etc/inittab runs /etc/init.d/rcS
# (pseudo filesystems, syslogd, lo up, /etc/rc.local), then keeps
#   /usr/sbin/vigil -n -l -f /etc/keepalived/keepalived.conf
# running: when it exits or is killed, init starts it again a second later.
set -eu
die() { echo "initramfs: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: $0 OUT.cpio.gz VIGIL [KEEPALIVED_CONF]"
out=$1
vigil=$2
conf=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
[ -f "$vigil" ] || die "no such file: $vigil"
file -L "$vigil" | grep -q 'statically linked\|static-pie linked' || die "$vigil is not static (make static)"
file -L "$BUSYBOX" | grep -q 'statically linked\|static-pie linked' || die "$BUSYBOX is not static"
[ -z "$conf" ] || [ -f "$conf" ] || die "no such file: $conf"
[ -z "${BASE:-}" ] || [ -f "$BASE" ] || die "no such file: $BASE"
[ -z "${OVERLAY:-}" ] || [ -d "$OVERLAY" ] || die "not a directory: $OVERLAY"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc/init.d" \
    "$root/etc/keepalived" "$root/dev" "$root/proc" "$root/sys" "$root/run" "$root/tmp" "$root/var/log" "$root/root"
ln -s /run "$root/var/run"
# The kernel opens /dev/console for init before anything mounts devtmpfs.
mknod -m 600 "$root/dev/console" c 5 1 || die "mknod /dev/console (needs root)"

cp "$BUSYBOX" "$root/bin/busybox"
ln -s /bin/busybox "$root/init"
ln -s /bin/busybox "$root/sbin/init"
if [ -z "${BASE:-}" ]; then
    for applet in $("$BUSYBOX" --list-full); do
        [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
    done
fi

install -m 755 "$vigil" "$root/usr/sbin/vigil"
# Under this name vigil is keepalived, for scripts that call keepalived.
ln -s vigil "$root/usr/sbin/keepalived"
if [ -n "$conf" ]; then
    install -m 644 "$conf" "$root/etc/keepalived/keepalived.conf"
else
    install -m 644 "$here/keepalived.conf" "$root/etc/keepalived/keepalived.conf"
fi
install -m 755 "$here/rcS" "$root/etc/init.d/rcS"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

cat >"$root/etc/inittab" <<'INITTAB'
# busybox init (no runlevels): rcS once, then vigil supervised.
::sysinit:/etc/init.d/rcS
# Foreground (-n) so init tracks vigil's own pid; -l copies the log to the console.
::respawn:/usr/sbin/vigil -n -l -f /etc/keepalived/keepalived.conf
::askfirst:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
INITTAB
if [ -n "${INITTAB_EXTRA:-}" ]; then
    printf '%s\n' "$INITTAB_EXTRA" >>"$root/etc/inittab"
fi
[ -z "${OVERLAY:-}" ] || cp -a "$OVERLAY/." "$root/"

(cd "$root" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -9 >"$work/ours.gz"
if [ -n "${BASE:-}" ]; then
    # Concatenated archives: the kernel unpacks both, the later one wins.
    cat "$BASE" "$work/ours.gz" >"$out.tmp"
else
    cp "$work/ours.gz" "$out.tmp"
fi
mv "$out.tmp" "$out"
echo "initramfs: $out: $(wc -c <"$out") bytes (vigil $(wc -c <"$vigil"), busybox $(wc -c <"$BUSYBOX"))" >&2
