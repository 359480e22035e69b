#!/bin/sh
# Print the size of every built static binary, of each cargo feature's
# variant, and of Debian's keepalived with its shared libraries, as a
# markdown table for the README. For the router binaries also what they take
# in a firmware image: the growth of a squashfs compressed as OpenWrt's
# include/image.mk does (xz, 256 KiB blocks, its BCJ filter for x86 and arm;
# OpenWrt's own mksquashfs adds LZMA tuning this one lacks).
#
#   packaging/cross/size.sh TARGET...
#
# Binaries are looked up where build.sh leaves them; a target not built is
# listed as such. Feature variants are built for x86_64 (build.sh, the same
# size recipe) in target/size-variants/, with and without each feature.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tdir=${CARGO_TARGET_DIR:-$root/target}

bytes() { wc -c <"$1" | tr -d ' '; }
xz_bytes() { xz -9e -c "$1" | wc -c | tr -d ' '; }

command -v mksquashfs >/dev/null 2>&1 || { echo "size: no mksquashfs; run: sh tests/deps.sh size" >&2; exit 1; }
sq=$(mktemp -d)
trap 'rm -rf "$sq"' EXIT
squashfs() { # TREE XZ_OPTIONS...: bytes of its image
    tree=$1
    shift
    mksquashfs "$sq/$tree" "$sq/$tree.img" -comp xz -b 256K "$@" -noappend -no-xattrs -all-root -nopad -quiet >/dev/null
    bytes "$sq/$tree.img"
}
mkdir -p "$sq/empty/usr/sbin" "$sq/root/usr/sbin"
empty=$(squashfs empty)
squashfs_bytes() { # TARGET BINARY: what the binary adds to an image
    cp "$2" "$sq/root/usr/sbin/vigil"
    case "$1" in
    x86_64-*) image=$(squashfs root -Xbcj x86) ;;
    arm*) image=$(squashfs root -Xbcj arm) ;;
    *) image=$(squashfs root) ;;
    esac
    echo $((image - empty))
}

echo "| binary | bytes | xz -9e | in a squashfs |"
echo "|---|---:|---:|---:|"
for t in "$@"; do
    bin=$tdir/$t/release/vigil
    if [ -f "$bin" ]; then
        echo "| vigil $t | $(bytes "$bin") | $(xz_bytes "$bin") | $(squashfs_bytes "$t" "$bin") |"
    else
        echo "| vigil $t | not built | | |"
    fi
done

# Feature names: the keys of [features] except `default`.
features=$(awk '/^\[/{on = ($0 == "[features]"); next} on && /^[A-Za-z0-9_-]+ *=/{sub(/ *=.*/, ""); if ($0 != "default") print}' \
    "$root/Cargo.toml")
if [ -z "$features" ]; then
    echo "| (no cargo features in Cargo.toml) | | | |"
else
    for f in $features; do
        for variant in "without $f" "with $f"; do
            case $variant in
            without*) args="--no-default-features" ;;
            *) args="--no-default-features --features $f" ;;
            esac
            dir=$root/target/size-variants/$(echo "$variant" | tr ' ' -)
            # shellcheck disable=SC2086 # args is a word list
            CARGO_TARGET_DIR=$dir sh "$here/build.sh" $args -- x86_64-unknown-linux-musl >/dev/null 2>&1 ||
                { echo "| vigil x86_64, $variant | build failed | | |"; continue; }
            bin=$dir/x86_64-unknown-linux-musl/release/vigil
            echo "| vigil x86_64, $variant | $(bytes "$bin") | $(xz_bytes "$bin") | |"
        done
    done
fi

# Debian's keepalived: its binary plus every shared library it loads.
ka=$(command -v keepalived || echo /usr/sbin/keepalived)
if [ -x "$ka" ]; then
    total=$(bytes "$ka")
    libs=$(ldd "$ka" | awk '/=> \//{print $3} /^\t\//{print $1}')
    n=0
    for lib in $libs; do
        total=$((total + $(wc -c <"$lib")))
        n=$((n + 1))
    done
    ver=$("$ka" -v 2>&1 | head -n 1)
    echo "| $ver, x86_64 Debian (dynamic) | $(bytes "$ka") | $(xz_bytes "$ka") | |"
    echo "| keepalived + its $n shared libraries (ldd) | $total | | |"
else
    echo "| keepalived | not installed | | |"
fi
