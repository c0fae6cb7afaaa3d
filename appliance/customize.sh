#!/usr/bin/env bash
# mmdebstrap customize hook for the appliance: runs on the build host with the image's root folder.
#   customize.sh ROOT ROOT_UUID FLAVOUR
set -euo pipefail
root=$1
uuid=$2
flavour=$3

echo "UUID=$uuid / ext4 defaults,errors=remount-ro 0 1" >"$root/etc/fstab"
echo portunus >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 portunus\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
chmod 0755 "$root/usr/local/sbin/portunus-growroot"

chroot "$root" systemctl enable systemd-networkd.service portunus-growroot.service portunus-firstboot.service portunus.service >/dev/null 2>&1
# Each machine made from the image gets its own machine-id (an empty file means "first boot").
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# No root password: the console login is locked; manage the gateway through its Admin API.
chroot "$root" passwd -l root >/dev/null

if [ "$flavour" = cloud ]; then
  # cloud-init reads NoCloud (a cidata drive) and the usual cloud metadata services; its user-data
  # may write /etc/default/portunus (see appliance/README.md).
  printf 'datasource_list: [ NoCloud, ConfigDrive, Ec2, GCE, Azure, OpenStack, None ]\n' \
    >"$root/etc/cloud/cloud.cfg.d/90-portunus.cfg"
  # Start after cloud-init has written its files (write_files runs in cloud-init.service).
  for unit in portunus.service portunus-firstboot.service; do
    mkdir -p "$root/etc/systemd/system/$unit.d"
    printf '[Unit]\nAfter=cloud-init.service cloud-config.service\n' >"$root/etc/systemd/system/$unit.d/cloud-init.conf"
  done
fi

# Shrink: no package cache, no package lists, no docs beyond copyright.
rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* "$root"/usr/share/info/*
find "$root/usr/share/doc" -type f ! -name copyright ! -path '*/portunus/*' -delete
