#!/usr/bin/env bash
# Build the Portunus appliance disk image: Debian bookworm (mmdebstrap minbase) + systemd + the cloud
# kernel + the Portunus .deb, on an MBR disk with a FAT boot partition (syslinux) and an ext4 root that
# grows to the whole disk on first boot. Nothing is mounted: the file systems are written from folders
# (mkfs.ext4 -d, mtools), so it runs as root without loop devices and leaves nothing behind.
#
#   appliance/build-image.sh [--deb FILE] [--out DIR] [--formats raw,qcow2,vmdk,xz] [--flavour plain|cloud]
#
# Output: DIR/portunus-<flavour>.raw (+ .qcow2, .vmdk, .raw.xz as asked). Default DIR: appliance/out.
# Network: only the Debian mirror (and npm for the .deb's Node runtime, once). Downloaded packages are
# kept in $PORTUNUS_CACHE_DIR/apt so a rebuild downloads only what changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=$here/out
deb=
formats=raw,qcow2
flavour=plain
mirror=${PORTUNUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
  case $1 in
    --deb) deb=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --formats) formats=$2; shift 2 ;;
    --flavour) flavour=$2; shift 2 ;;
    *) echo "usage: $0 [--deb FILE] [--out DIR] [--formats raw,qcow2,vmdk,xz] [--flavour plain|cloud]" >&2; exit 2 ;;
  esac
done
case $flavour in plain|cloud) ;; *) echo "unknown flavour $flavour" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "$0: needs root (mmdebstrap root mode)" >&2; exit 1; }
cache=${PORTUNUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portunus-appliance}
mkdir -p "$out" "$cache/apt"
out=$(cd "$out" && pwd)
[ -n "$deb" ] || deb=$(bash "$repo/packaging/build-deb.sh" "$out")
deb=$(realpath "$deb")

work=$(mktemp -d "${TMPDIR:-/var/tmp}/portunus-image.XXXXXX")
# Never rm -rf through a mount a failed mmdebstrap may have left (it bind-mounts /dev, /proc, the .deb).
remove_work() {
  if findmnt -rn -o TARGET | grep -q "^$work/"; then
    echo "$0: leaving $work: something is still mounted in it" >&2
  else
    rm -rf "$work"
  fi
}
trap remove_work EXIT
rootdir=$work/root

packages=systemd,systemd-sysv,udev,dbus,kmod,linux-image-cloud-amd64,initramfs-tools,fdisk
[ "$flavour" = cloud ] && packages=$packages,cloud-init
root_uuid=$(cat /proc/sys/kernel/random/uuid)

# Keep the downloaded .debs between builds (mmdebstrap's documented sync-in/sync-out pattern).
# shellcheck disable=SC2016 # "$1" in the hooks is expanded by mmdebstrap, not here
mmdebstrap --mode=root --variant=minbase --format=directory \
  --include="$packages" --include="$deb" \
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --skip=download/empty \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $cache/apt /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $cache/apt" \
  --customize-hook="copy-in $here/rootfs/etc/systemd/network/80-dhcp.network /etc/systemd/network/" \
  --customize-hook="copy-in $here/rootfs/etc/systemd/system/portunus-growroot.service /etc/systemd/system/" \
  --customize-hook="copy-in $here/rootfs/usr/local/sbin/portunus-growroot /usr/local/sbin/" \
  --customize-hook="$here/customize.sh \"\$1\" $root_uuid $flavour" \
  bookworm "$rootdir" "$mirror"
rm -f "$cache"/apt/portunus_*.deb "$cache"/apt/lock
rm -rf "$cache/apt/partial"

# --- boot partition: kernel, initrd, syslinux ---
kernel=$(find "$rootdir/boot" -name 'vmlinuz-*' | sort | tail -1)
initrd=$(find "$rootdir/boot" -name 'initrd.img-*' | sort | tail -1)
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
  echo "no kernel or initrd in the image" >&2
  exit 1
fi
cat >"$work/syslinux.cfg" <<EOF
DEFAULT portunus
TIMEOUT 0
PROMPT 0
LABEL portunus
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=UUID=$root_uuid ro console=tty0 console=ttyS0,115200n8 net.ifnames=0
EOF
boot_mib=128
mkfs.vfat -C -n PORTBOOT "$work/boot.fat" $((boot_mib * 1024)) >/dev/null
mcopy -i "$work/boot.fat" "$kernel" ::vmlinuz
mcopy -i "$work/boot.fat" "$initrd" ::initrd.img
mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::syslinux.cfg
syslinux --install "$work/boot.fat"

# --- root file system, sized to its contents plus room for logs and growth before first boot ---
used_mib=$(du -sm "$rootdir" | cut -f1)
root_mib=$((used_mib * 13 / 10 + 256))
mkfs.ext4 -q -L portunus-root -U "$root_uuid" -d "$rootdir" "$work/root.ext4" "${root_mib}M"

# --- the disk: MBR, boot (FAT32 LBA, active) then root (Linux) ---
disk=$out/portunus-$flavour.raw
rm -f "$disk"
truncate -s $(((1 + boot_mib + root_mib + 1) * 1024 * 1024)) "$disk"
sfdisk -q "$disk" <<EOF
label: dos
start=1MiB, size=${boot_mib}MiB, type=c, bootable
start=$((1 + boot_mib))MiB, size=${root_mib}MiB, type=83
EOF
dd if="$work/boot.fat" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$disk" bs=1M seek=$((1 + boot_mib)) conv=notrunc,sparse status=none
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none

IFS=, read -ra want <<<"$formats"
for f in "${want[@]}"; do
  case $f in
    raw) ;;
    qcow2) qemu-img convert -O qcow2 "$disk" "${disk%.raw}.qcow2" ;;
    vmdk) qemu-img convert -O vmdk -o subformat=streamOptimized "$disk" "${disk%.raw}.vmdk" ;;
    xz) xz -T0 -6 -k -f "$disk" ;;
    *) echo "unknown format $f" >&2; exit 2 ;;
  esac
done
echo "$disk"
