#!/bin/sh
# Build vigil as small static musl binaries: what goes on a router.
#
#   packaging/cross/build.sh [CARGO_ARGS...] -- TARGET...
#   packaging/cross/build.sh TARGET...
#
# Every target gets the same size recipe, passed as Cargo environment so that
# [profile.release] in Cargo.toml stays the distribution-friendly one:
#   opt-level z, fat LTO, one codegen unit, panic=abort, stripped, and std
#   rebuilt (-Zbuild-std) without its default `backtrace` feature, which is
#   only symbolisation code that a stripped binary cannot use (about -45 %),
#   and with `optimize_for_size` (smaller sorts and formatting, -6 %).
#   No unwind tables (nothing unwinds with panic=abort and no backtraces,
#   -13 %) and no position-independent code (a static binary is never
#   relocated, -3 %).
# -Zbuild-std runs on the stable toolchain with RUSTC_BOOTSTRAP=1 and needs
# the rust-src component (tests/deps.sh static). Panic messages and their
# source lines are kept: the panic hook logs them (30 KB). With
# `--cfg vigil_no_unwinder` vigil defines the few libunwind entry points std
# names, so libunwind (useless without unwind tables) is not linked: -6 %
# (src/main.rs; not on armv7, whose EHABI objects need it). On mips the
# .pdr section LLVM writes and strip keeps is removed: -10 %. The source
# paths that panic locations carry are shortened to /rust/... for std and
# /crates/... for dependencies (they named this machine's home directory):
# -0.5 %, and a binary that does not depend on where it was built.
#
# Linkers: x86_64 and aarch64 use rust-lld with the musl crt/libc that rustup's
# rust-std ships. armv7 and mips have no downloadable rust-std here (armv7) or
# none at all (mips, tier 3), so zig cc (PyPI ziglang, tests/deps.sh cross)
# supplies a soft-float musl and links. The binary lands where Cargo puts it:
# ${CARGO_TARGET_DIR:-target}/TARGET/release/vigil.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${CROSS_TOOLS:-$root/target/cross-tools}

cargo_args=""
case " $* " in
*" -- "*)
    while [ "$1" != -- ]; do cargo_args="$cargo_args $1"; shift; done
    shift
    ;;
esac
[ $# -ge 1 ] || { echo "usage: $0 [CARGO_ARGS... --] TARGET..." >&2; exit 2; }

export RUSTC_BOOTSTRAP=1
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_PANIC=abort
# SIZE_BREAKDOWN=1 (packaging/cross/breakdown.sh) keeps the symbols to count.
export CARGO_PROFILE_RELEASE_STRIP=symbols
[ -z "${SIZE_BREAKDOWN:-}" ] || export CARGO_PROFILE_RELEASE_STRIP=none
export CARGO_PROFILE_RELEASE_DEBUG=false
export ZIG_PYTHON="$tools/venv/bin/python"
export ZIG_GLOBAL_CACHE_DIR="$tools/zig-cache"
export ZIG_LOCAL_CACHE_DIR="$tools/zig-cache"
# The zig cache is shared by targets: one cargo invocation per target below.
sysroot=$(rustc --print sysroot)
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src
remap="--remap-path-prefix=$sysroot/lib/rustlib/src/rust=/rust --remap-path-prefix=$registry=/crates"

for target in "$@"; do
    zig=""
    cc_zig=""
    case "$target" in
    x86_64-unknown-linux-musl) cc_zig=x86_64-linux-musl ;;
    aarch64-unknown-linux-musl) cc_zig=aarch64-linux-musl ;;
    armv7-unknown-linux-musleabihf) zig=arm-linux-musleabihf cc_zig=$zig ;;
    mipsel-unknown-linux-musl) zig=mipsel-linux-musleabi cc_zig=$zig ;;
    mips-unknown-linux-musl) zig=mips-linux-musleabi cc_zig=$zig ;;
    *) echo "build: unsupported target $target" >&2; exit 2 ;;
    esac
    var=$(echo "$target" | tr 'a-z-' 'A-Z_')
    flags="-Crelocation-model=static -Cforce-unwind-tables=no --cfg vigil_no_unwinder $remap"
    if [ -z "$zig" ]; then
        linker=rust-lld
    else
        [ -x "$ZIG_PYTHON" ] || { echo "build: no zig; run: sh tests/deps.sh cross" >&2; exit 1; }
        linker=$here/zigcc
        # Tier-3 musl targets default to dynamic; rustc's own crt objects
        # exist only for targets with a prebuilt std, so zig provides them.
        flags="$flags -Ctarget-feature=+crt-static -Clink-self-contained=no"
    fi
    # Thumb-2 (16/32-bit instructions; every ARMv7-A core runs it) instead
    # of A32: -27 %. rustc calls the feature unstable and says so once.
    case "$target" in armv7-*) flags="$flags -Ctarget-feature=+thumb-mode" ;; esac
    # C code in dependencies (ring, for the ssl feature) is compiled by zig
    # too when it is installed: Debian has no musl cross compilers.
    ctarget=$(echo "$target" | tr - _)
    ccenv=""
    [ ! -x "$ZIG_PYTHON" ] || ccenv="CC_${ctarget}=$here/zigcc AR_${ctarget}=ar"
    start=$(date +%s)
    # shellcheck disable=SC2086 # ccenv and cargo_args are word lists
    env "CARGO_TARGET_${var}_LINKER=$linker" "CARGO_TARGET_${var}_RUSTFLAGS=$flags" ZIGCC_TARGET="$cc_zig" $ccenv \
        "${CARGO:-cargo}" build --release --locked --bin vigil --target "$target" $cargo_args \
        -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
    bin=${CARGO_TARGET_DIR:-$root/target}/$target/release/vigil
    case "$target" in
    mips*)
        # LLVM gives every MIPS function a .pdr entry (procedure descriptors
        # for debuggers, never loaded) that stripping keeps: 143 KB of the
        # file. rust-objcopy (llvm-objcopy) ships with every rustup toolchain;
        # it finds its libLLVM in the sysroot's lib.
        objcopy=$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-objcopy
        LD_LIBRARY_PATH=$sysroot/lib "$objcopy" --remove-section=.pdr "$bin"
        ;;
    esac
    echo "build: $target: $(wc -c <"$bin") bytes in $(($(date +%s) - start)) s: $bin"
done
