#!/bin/sh
# Run each cross-built vigil under qemu-user: `vigil -v`, then `vigil -t -f`
# on every example in conf/, which must exit 0. Proves the ELF, the ABI and
# std's syscalls on that architecture (not a router's kernel or its NICs).
# Each binary must also fit its size budget (packaging/cross/size-budget).
#
#   tests/cross.sh TARGET...      (after packaging/cross/build.sh TARGET...)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tdir=${CARGO_TARGET_DIR:-$root/target}
budget=$root/packaging/cross/size-budget
pass=0
fail=0

check() { # DESCRIPTION COMMAND...
    what=$1
    shift
    rc=0
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok   $what"
    else
        fail=$((fail + 1))
        echo "FAIL $what (exit $rc)"
        echo "$out" | sed 's/^/     /'
    fi
}

fits_budget() { # TARGET BINARY
    margin=$(awk '$1 == "margin-percent" { print $2 }' "$budget")
    line=$(awk -v t="$1" '$1 == t { print $2, $3 }' "$budget")
    if [ -z "$margin" ] || [ -z "$line" ]; then
        echo "no budget for $1 in $budget"
        return 1
    fi
    # shellcheck disable=SC2086 # line is "RECORDED GOAL": two words
    set -- "$1" "$2" $line "$margin"
    size=$(wc -c <"$2" | tr -d ' ')
    limit=$(($3 + $3 * $5 / 100))
    echo "$size bytes; recorded $3, limit $limit (+$5 %); goal $4 ($((size - $4)) to cut)"
    if [ "$size" -gt "$limit" ]; then
        echo "     grew more than $5 % over the recorded size: cut it, or record the new size in $budget and say why"
        return 1
    fi
}

for t in "$@"; do
    case "$t" in
    x86_64-*) qemu="" ;;
    aarch64-*) qemu="qemu-aarch64-static" ;;
    armv7-* | arm-*) qemu="qemu-arm-static" ;;
    mipsel-*) qemu="qemu-mipsel-static" ;;
    mips-*) qemu="qemu-mips-static" ;;
    *) echo "cross: no qemu for $t" >&2; exit 2 ;;
    esac
    bin=$tdir/$t/release/vigil
    if [ ! -f "$bin" ]; then
        fail=$((fail + 1))
        echo "FAIL $t: $bin not built (packaging/cross/build.sh $t)"
        continue
    fi
    if [ -n "$qemu" ] && ! command -v "$qemu" >/dev/null 2>&1; then
        echo "cross: $qemu missing (sh tests/deps.sh cross)" >&2
        exit 1
    fi
    if figures=$(fits_budget "$t" "$bin"); then
        pass=$((pass + 1))
        echo "ok   $t: size $figures"
    else
        fail=$((fail + 1))
        echo "FAIL $t: size $figures"
    fi
    check "$t: file says statically linked" sh -c "file -L '$bin' | grep -q 'statically linked\|static-pie linked'"
    check "$t: vigil -v" sh -c "$qemu '$bin' -v | grep -q '^vigil v'"
    for conf in "$root"/conf/*.conf; do
        check "$t: vigil -t -f conf/$(basename "$conf")" $qemu "$bin" -t -f "$conf"
    done
done
echo "cross: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
