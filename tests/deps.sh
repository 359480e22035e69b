#!/bin/sh
# Install what `make test` and `make demo` need on a fresh Debian machine,
# skipping whatever is already there. Safe to run again.
set -eu

need_apt=""
command -v ip >/dev/null 2>&1        || need_apt="$need_apt iproute2"
command -v keepalived >/dev/null 2>&1 || need_apt="$need_apt keepalived"
command -v tcpdump >/dev/null 2>&1   || need_apt="$need_apt tcpdump"
command -v tshark >/dev/null 2>&1    || need_apt="$need_apt tshark"
command -v ping >/dev/null 2>&1      || need_apt="$need_apt iputils-ping"
command -v shellcheck >/dev/null 2>&1 || need_apt="$need_apt shellcheck"
command -v file >/dev/null 2>&1      || need_apt="$need_apt file"
for extra in "$@"; do
    case "$extra" in
    qemu) command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt="$need_apt qemu-system-x86"; [ -x /bin/busybox ] || need_apt="$need_apt busybox-static" ;;
    esac
done

if [ -n "$need_apt" ]; then
    echo "deps: installing$need_apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # keepalived's package starts a service on install; we only want the binary.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need_apt >/dev/null
    rm -f /usr/sbin/policy-rc.d
fi

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    echo "deps: adding rustup target x86_64-unknown-linux-musl"
    rustup target add x86_64-unknown-linux-musl
fi
