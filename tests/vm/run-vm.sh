#!/bin/bash
# Boot the image from build-initramfs.sh in QEMU and run a test payload.
#
#   run-vm.sh [options] [--add DIR]... [--bin FILE]... BUILD_DIR
#
#   --add DIR      copy DIR's contents to /test in the guest (repeatable); the
#                  guest's init runs /test/run and reports its exit code
#   --bin FILE     copy FILE to /usr/local/bin in the guest (repeatable)
#   --log FILE     console log (default BUILD_DIR/console.log)
#   --timeout S    kill the VM after S seconds (default 300)
#   --mem MB --smp N --machine M   (defaults 512, 1, pc)
#   --tcg | --kvm  force the accelerator (default: KVM only if the CPU has vmx/svm)
#   --bzimage      boot vmlinuz instead of the uncompressed vmlinux (slower)
#   --append ARGS  extra kernel command line
#   --quiet        do not copy the console log to stdout afterwards
#
# The payload travels as a second cpio appended to initrd.gz; the kernel
# unpacks both, so a new payload needs no image rebuild. There is no NIC
# (-nodefaults): nothing leaves the VM.
#
# Exit code: the payload's, 124 on timeout, 125 if the guest printed no result.
set -eu
export LC_ALL=C

die() { echo "run-vm: $*" >&2; exit 2; }
adds=()
bins=()
log=""
timeout_s=300
mem=512
smp=1
machine=pc
accel=auto
kernel_file=vmlinux
append=""
quiet=0
while [ $# -gt 1 ]; do
    case $1 in
    --add) adds+=("$2"); shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --log) log=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --machine) machine=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --tcg) accel=tcg; shift ;;
    --kvm) accel=kvm; shift ;;
    --bzimage) kernel_file=vmlinuz; shift ;;
    --quiet) quiet=1; shift ;;
    *) die "unknown option $1" ;;
    esac
done
[ $# -eq 1 ] || die "usage: $0 [options] [--add DIR]... BUILD_DIR"
BUILD=$1
if [ ! -f "$BUILD/initrd.gz" ] || [ ! -f "$BUILD/$kernel_file" ]; then
    die "$BUILD: run build-initramfs.sh first"
fi
BUSYBOX=${BUSYBOX:-/bin/busybox}
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
[ -n "$log" ] || log=$BUILD/console.log

# /dev/kvm can exist without working (nested PVM): require vmx/svm as well.
if [ "$accel" = auto ]; then
    accel=tcg
    if [ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo; then accel=kvm; fi
fi
if [ "$accel" = kvm ]; then cpu=(-accel kvm -cpu host); else cpu=(-accel tcg -cpu max); fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
initrd=$BUILD/initrd.gz
if [ ${#adds[@]} -gt 0 ] || [ ${#bins[@]} -gt 0 ]; then
    mkdir -p "$work/root/test" "$work/root/usr/local/bin"
    for d in "${adds[@]}"; do
        [ -d "$d" ] || die "--add $d: not a directory"
        cp -a "$d/." "$work/root/test/"
    done
    for b in "${bins[@]}"; do
        [ -f "$b" ] || die "--bin $b: no such file"
        install -m 755 "$b" "$work/root/usr/local/bin/"
    done
    (cd "$work/root" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -1 >"$work/payload.gz"
    cat "$BUILD/initrd.gz" "$work/payload.gz" >"$work/initrd.gz"
    initrd=$work/initrd.gz
fi

mkdir -p "$(dirname "$log")"
rc=0
timeout "$timeout_s" qemu-system-x86_64 "${cpu[@]}" -machine "$machine" -m "$mem" -smp "$smp" \
    -nodefaults -no-user-config -display none -no-reboot -serial stdio \
    -kernel "$BUILD/$kernel_file" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=-1 $append" </dev/null >"$log" 2>&1 || rc=$?
[ "$quiet" = 1 ] || cat "$log"
if [ "$rc" = 124 ]; then
    echo "run-vm: timed out after ${timeout_s}s" >&2
    exit 124
fi
marker=$(tr -d '\r' <"$log" | sed -n 's/^VMTEST-RESULT rc=\([0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$marker" ]; then
    echo "run-vm: no VMTEST-RESULT in $log (qemu exit $rc)" >&2
    exit 125
fi
exit "$marker"
