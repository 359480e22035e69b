#!/bin/sh
# Where the bytes of the router build go: the size recipe of build.sh with
# the symbols kept, then `nm --size-sort` grouped by crate, by vigil module,
# and the largest functions, as markdown for the README ("Sizes").
#
#   packaging/cross/breakdown.sh [TARGET] [TOP]   (default x86_64 musl, 20)
#   BREAKDOWN_NO_BUILD=1 ... counts the last build again.
#
# Sizes are of symbols in .text and .rodata as nm reports them; the
# stripped binary also holds headers, relocation-free data and padding, so
# the sums fall short of its size by that much.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${1:-x86_64-unknown-linux-musl}
top=${2:-20}
dir=${CARGO_TARGET_DIR:-$root/target}/size-breakdown
[ -n "${BREAKDOWN_NO_BUILD:-}" ] || CARGO_TARGET_DIR=$dir SIZE_BREAKDOWN=1 sh "$here/build.sh" "$target" >&2
bin=$dir/$target/release/vigil
syms=$dir/symbols.txt
# size, type, demangled name (without the hash suffix).
nm -S --size-sort -C -t d "$bin" | awk '{ size = $2 + 0; $1 = $2 = ""; sub(/^  /, ""); print size "\t" $0 }' \
    | sed 's/::h[0-9a-f]\{16\}$//' >"$syms"
total=$(awk -F'\t' '{ s += $1 } END { print s }' "$syms")
echo "Symbols: $total bytes in $(wc -l <"$syms") symbols ($target, $(wc -c <"$bin") bytes unstripped)."
echo
# The crate of a symbol: its first path segment, looking inside <...> of
# trait impls (`<vigil::x::Y as core::fmt::Debug>::fmt` is vigil's).
# C++ return types (libunwind's `bool ...`) are dropped, and impls on
# primitives (`<str>::`, `<f64 as core::...>`) count as core's.
# shellcheck disable=SC2016 # an awk program: its $2 is awk's, not the shell's
crate_of='{ n = $2; sub(/^[A-Za-z] /, "", n); sub(/^(bool|void|int|unsigned|char|long|size_t) /, "", n);
  sub(/^</, "", n); sub(/^&(mut )?/, "", n); sub(/^\[/, "", n);
  if (n ~ /^(str|u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize|f32|f64|char|bool)[]> ;]/) n = "core::" n;
  split(n, p, "::"); c = (n ~ /::/) ? p[1] : "(C, libc, linker)"; }'
echo "| crate | bytes | share |"
echo "|---|---:|---:|"
awk -F'\t' "$crate_of"' { s[c] += $1 } END { for (c in s) printf "%d\t%s\n", s[c], c }' "$syms" | sort -rn | head -12 \
    | awk -F'\t' -v t="$total" '{ printf "| %s | %d | %.1f %% |\n", $2, $1, 100 * $1 / t }'
echo
echo "| vigil module | bytes |"
echo "|---|---:|"
awk -F'\t' '{ n = $2; sub(/^[A-Za-z] /, "", n); sub(/^</, "", n); if (n !~ /^vigil::/) next;
  split(n, p, "::"); m = p[1] "::" p[2]; s[m] += $1 } END { for (m in s) printf "%d\t%s\n", s[m], m }' "$syms" \
    | sort -rn | head -16 | awk -F'\t' '{ printf "| %s | %d |\n", $2, $1 }'
echo
echo "| largest symbols | bytes |"
echo "|---|---:|"
sort -rn "$syms" | head -"$top" | awk -F'\t' '{ n = $2; sub(/^[A-Za-z] /, "", n); gsub(/\|/, "\\|", n);
  if (length(n) > 90) n = substr(n, 1, 87) "..."; printf "| `%s` | %d |\n", n, $1 }'
