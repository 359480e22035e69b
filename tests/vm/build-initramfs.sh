#!/bin/bash
# Build a bootable test image: a stock Debian kernel (downloaded, never
# installed), its IPVS/veth/dummy/bridge/netlink_diag modules, busybox, ipvsadm
# and iproute2 (ip, ss), plus any static binaries given (they go to
# /usr/local/bin).
#
#   build-initramfs.sh BUILD_DIR [STATIC_BIN...]
#
# Produces BUILD_DIR/{vmlinux,vmlinuz,initrd.gz,kernel-version,kernel-config}.
# Downloads are cached in BUILD_DIR/debs and the extracted kernel in
# BUILD_DIR/kernel, so a second run only re-packs the rootfs (a few seconds).
#
# Environment: KERNEL_PKG (default: what linux-image-amd64 depends on, or the
# cached one when offline), EXTRA_MODULES (more module names; dependencies
# are resolved), BUSYBOX (default /bin/busybox, from busybox-static).
set -eu
export LC_ALL=C

die() { echo "build-initramfs: $*" >&2; exit 1; }
first() { echo "$1"; } # the first match of a glob (the pattern itself if none)
[ $# -ge 1 ] || die "usage: $0 BUILD_DIR [STATIC_BIN...]"
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
BUILD=$(cd "$1" && pwd)
shift
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
for b in "$@"; do [ -f "$b" ] || die "no such binary: $b"; done
# Two builds into one directory (parallel test runs) would trample each other.
exec 9>"$BUILD/.lock"
flock 9

# crc32c_generic first: libcrc32c has a softdep on the crc32c alias, and
# crc32c-intel needs SSE4.2, which the emulated CPU may lack.
MODULES="crc32c_generic nf_defrag_ipv4 nf_defrag_ipv6 libcrc32c nf_conntrack ip_vs
  ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
  ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh veth dummy bridge netlink_diag ${EXTRA_MODULES:-}"
GUEST_PKGS=(ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0)
DEBS=$BUILD/debs
mkdir -p "$DEBS"
export DEBIAN_FRONTEND=noninteractive

# --- which kernel -----------------------------------------------------------
resolve_kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}
KPKG=${KERNEL_PKG:-}
[ -n "$KPKG" ] || KPKG=$(resolve_kernel_pkg)
if [ -z "$KPKG" ]; then
    apt-get update -qq >/dev/null 2>&1 || true # a partial failure is harmless
    KPKG=$(resolve_kernel_pkg)
fi
if [ -z "$KPKG" ]; then
    # Offline: use the kernel we downloaded last time.
    cached=$(first "$DEBS"/linux-image-*.deb)
    [ -e "$cached" ] || die "cannot resolve the kernel package (set KERNEL_PKG)"
    KPKG=$(basename "$cached" | sed 's/_.*//')
fi

# --- download (cached) ------------------------------------------------------
fetch() {
    local p
    for p in "$@"; do
        ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 && continue
        echo "build-initramfs: downloading $p" >&2
        if ! (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$p" >/dev/null); then
            apt-get update -qq >/dev/null 2>&1 || true
            (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$p" >/dev/null) ||
                die "apt-get download $p failed"
        fi
    done
}
# A newer kernel ABI replaces the old one; do not keep 70 MB per version.
for old in "$DEBS"/linux-image-*.deb; do
    [ -e "$old" ] || continue
    case $(basename "$old") in "${KPKG}_"*) ;; *) rm -f "$old" ;; esac
done
fetch "$KPKG" "${GUEST_PKGS[@]}"
KDEB=$(first "$DEBS/${KPKG}_"*.deb)

# --- extract the kernel once per .deb ----------------------------------------
KROOT=$BUILD/kernel
if [ "$(cat "$KROOT/.from" 2>/dev/null)" != "$(basename "$KDEB")" ]; then
    echo "build-initramfs: extracting $(basename "$KDEB")" >&2
    rm -rf "$KROOT" "$BUILD/vmlinux"
    mkdir -p "$KROOT"
    dpkg-deb -x "$KDEB" "$KROOT"
    basename "$KDEB" >"$KROOT/.from"
fi
KVER=$(basename "$(first "$KROOT"/lib/modules/*)")
[ -d "$KROOT/lib/modules/$KVER" ] || die "no modules in $KDEB"
MODDIR=$KROOT/lib/modules/$KVER
echo "$KVER" >"$BUILD/kernel-version"
cp -p "$KROOT/boot/config-$KVER" "$BUILD/kernel-config"
cp -p "$KROOT/boot/vmlinuz-$KVER" "$BUILD/vmlinuz"

# The uncompressed kernel boots through QEMU's PVH entry, about 3 s faster
# under TCG than the bzImage. Debian compresses it with xz.
if [ ! -s "$BUILD/vmlinux" ] || [ "$BUILD/vmlinuz" -nt "$BUILD/vmlinux" ]; then
    off=$(grep -obUaP '\xfd7zXZ\x00' "$BUILD/vmlinuz" | head -n 1 | cut -d: -f1)
    [ -n "$off" ] || die "no xz payload in vmlinuz"
    tail -c +$((off + 1)) "$BUILD/vmlinuz" | xz -dc >"$BUILD/vmlinux.tmp" 2>/dev/null || true
    [ "$(head -c 4 "$BUILD/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
        die "vmlinux extraction failed"
    mv "$BUILD/vmlinux.tmp" "$BUILD/vmlinux"
fi

# --- guest userland packages (cached) ----------------------------------------
GROOT=$BUILD/guest-pkgs
stamp=""
for p in "${GUEST_PKGS[@]}"; do stamp="$stamp $(basename "$(first "$DEBS/${p}_"*.deb)")"; done
if [ "$(cat "$GROOT/.from" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$GROOT"
    mkdir -p "$GROOT"
    for p in "${GUEST_PKGS[@]}"; do dpkg-deb -x "$(first "$DEBS/${p}_"*.deb)" "$GROOT"; done
    echo "$stamp" >"$GROOT/.from"
fi

# --- rootfs -------------------------------------------------------------------
ROOT=$BUILD/rootfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,proc,sys,dev,run,tmp,var,test,lib/modules/"$KVER"}
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
    [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done
ln -sfn /run "$ROOT/var/run"
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
install -m 755 "$HERE/init" "$ROOT/init"

# Copy a dynamic binary and the libraries ldd finds for it (the host and the
# guest are both Debian bookworm, so the host's glibc fits).
copy_dynamic() { # SRC DEST_IN_ROOT [LD_LIBRARY_PATH]
    rm -f "$ROOT/$2"
    cp "$1" "$ROOT/$2"
    LD_LIBRARY_PATH=${3:-} ldd "$1" | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
        local dest=$ROOT/$lib
        case $lib in "$GROOT"/*) dest=$ROOT/${lib#"$GROOT"} ;; esac
        mkdir -p "$(dirname "$dest")"
        [ -e "$dest" ] || cp -L "$lib" "$dest"
    done
}
GLIBS=$(find "$GROOT" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' ':')
copy_dynamic "$GROOT/sbin/ipvsadm" /usr/sbin/ipvsadm "$GLIBS"
IP=$(command -v ip) || die "iproute2's ip not found on the host"
copy_dynamic "$IP" /sbin/ip # busybox has an `ip` applet too: call /sbin/ip by path
# ss reads sockets' buffers back from the kernel (sock_diag; netlink_diag
# for netlink sockets).
SS=$(command -v ss) || die "iproute2's ss not found on the host"
copy_dynamic "$SS" /usr/bin/ss

for b in "$@"; do install -m 755 "$b" "$ROOT/usr/local/bin/$(basename "$b")"; done

# --- modules, dependencies first -----------------------------------------------
INDEX=$KROOT/.modules-index # "name relative/path.ko" lines, names with _ not -
if [ ! -s "$INDEX" ]; then
    (cd "$MODDIR" && find kernel -name '*.ko*') |
        awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/-/, "_", n); print n, $0 }' >"$INDEX"
fi
ORDER=$ROOT/etc/vm-modules
: >"$ORDER"
added=" "
add_module() {
    local m rel src dest d
    m=$(echo "$1" | tr - _)
    case $added in *" $m "*) return ;; esac
    rel=$(awk -v m="$m" '$1 == m {print $2; exit}' "$INDEX")
    [ -n "$rel" ] || die "module $m not found in $KVER"
    src=$MODDIR/$rel
    dest=$ROOT/lib/modules/$KVER/${rel%.xz}
    dest=${dest%.zst}
    dest=${dest%.gz}
    mkdir -p "$(dirname "$dest")"
    # busybox insmod uses init_module, so store the modules uncompressed.
    case $src in
    *.xz) xz -dc "$src" >"$dest" ;;
    *.zst) zstd -qdc "$src" >"$dest" ;;
    *.gz) gzip -dc "$src" >"$dest" ;;
    *) cp "$src" "$dest" ;;
    esac
    added="$added$m "
    for d in $(tr '\0' '\n' <"$dest" | sed -n 's/^depends=//p' | head -n 1 | tr , ' '); do
        add_module "$d"
    done
    echo "$m ${dest#"$ROOT/lib/modules/$KVER/"}" >>"$ORDER"
}
for m in $MODULES; do add_module "$m"; done
# For the kernel's request_module (scheduler autoload, `modprobe ip_vs`).
"$BUSYBOX" depmod -b "$ROOT" "$KVER"

(cd "$ROOT" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -6 >"$BUILD/initrd.gz.tmp"
mv "$BUILD/initrd.gz.tmp" "$BUILD/initrd.gz"
echo "build-initramfs: $BUILD/initrd.gz ($(du -h "$BUILD/initrd.gz" | cut -f1)), kernel $KVER," \
    "$(wc -l <"$ORDER") modules" >&2
