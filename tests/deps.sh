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
command -v openssl >/dev/null 2>&1   || need_apt="$need_apt openssl"
command -v nft >/dev/null 2>&1       || need_apt="$need_apt nftables"
command -v systemd-analyze >/dev/null 2>&1 || need_apt="$need_apt systemd"
# promtool checks the metrics output (tests/metrics_netns.rs).
command -v promtool >/dev/null 2>&1  || need_apt="$need_apt prometheus"
for extra in "$@"; do
    case "$extra" in
    qemu) command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt="$need_apt qemu-system-x86"; [ -x /bin/busybox ] || need_apt="$need_apt busybox-static" ;;
    cross) command -v qemu-mipsel-static >/dev/null 2>&1 || need_apt="$need_apt qemu-user-static" ;;
    fuzz) command -v c++ >/dev/null 2>&1 || need_apt="$need_apt g++" ;;
    size) command -v mksquashfs >/dev/null 2>&1 || need_apt="$need_apt squashfs-tools" ;;
    esac
done

if [ -n "$need_apt" ]; then
    echo "deps: installing$need_apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # keepalived's and prometheus's packages start services on install; we only want the binaries.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need_apt >/dev/null
    rm -f /usr/sbin/policy-rc.d
fi

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    echo "deps: adding rustup target x86_64-unknown-linux-musl"
    rustup target add x86_64-unknown-linux-musl
fi

# `deps.sh static` / `deps.sh cross`: std's source for -Zbuild-std (the size
# build), the prebuilt aarch64 musl std, and zig as the C toolchain and linker
# for the targets that have no prebuilt std here (armv7, mips). zig comes from
# PyPI (ziglang) into a venv under target/, so nothing system-wide changes.
for extra in "$@"; do
    case "$extra" in
    static | cross)
        if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
            echo "deps: adding rustup component rust-src"
            rustup component add rust-src
        fi
        ;;
    esac
    if [ "$extra" = cross ]; then
        if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-musl; then
            echo "deps: adding rustup target aarch64-unknown-linux-musl"
            rustup target add aarch64-unknown-linux-musl
        fi
        tools=${CROSS_TOOLS:-target/cross-tools}
        if ! "$tools/venv/bin/python" -m ziglang version >/dev/null 2>&1; then
            echo "deps: installing ziglang into $tools/venv"
            python3 -m venv "$tools/venv"
            "$tools/venv/bin/pip" install -q "ziglang==${ZIGLANG_VERSION:-0.17.0}"
        fi
    fi
done

# `deps.sh fuzz`: a nightly toolchain and cargo-fuzz for `make fuzz` / `make fuzz-smoke`.
for extra in "$@"; do
    if [ "$extra" = fuzz ]; then
        if ! rustup toolchain list | grep -q '^nightly'; then
            echo "deps: installing the nightly toolchain"
            rustup toolchain install nightly --profile minimal
        fi
        if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
            echo "deps: installing cargo-fuzz"
            cargo install cargo-fuzz --locked
        fi
    fi
done
