#!/usr/bin/env bash
# The slower release build and its checks, run by hand (not by npm test):
#   - the .deb (xz), the plain image as raw, qcow2, vmdk and raw.xz, the cloud-init image as qcow2;
#   - the OCI image, built without a Docker engine: mmdebstrap -> umoci -> skopeo (OCI and
#     docker-archive tarballs), running as the unprivileged user portunus;
#   - checks: the OCI image under runc answers /janus/info; the cloud image booted in qemu with a NoCloud
#     (cidata) drive whose user-data sets the NAT 1:1 address reports it in /janus/info; a werift peer on
#     this host runs an EchoTest call with the plain image through 1:1 forwarded UDP ports, using the
#     address the appliance advertises (appliance/checks/webrtc-echo.ts).
#
#   appliance/release.sh [--out DIR] [--no-check] [--steps deb,plain,cloud,oci,check-oci,check-cloud,check-webrtc]
#
# --steps runs only those steps, reusing what earlier runs left in DIR (default: all of them).
# Timings of each step are printed; appliance/README.md has the measured ones.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=$here/out/release
check=1
steps=deb,plain,cloud,oci,check-oci,check-cloud,check-webrtc
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --no-check) check=0; shift ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--no-check] [--steps LIST]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
need=()
for tool in umoci skopeo runc; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
work=$(mktemp -d "${TMPDIR:-/var/tmp}/portunus-release.XXXXXX")
qemu_pid_file=$work/qemu.pid
cleanup() {
  if [ -s "$qemu_pid_file" ]; then kill "$(cat "$qemu_pid_file")" 2>/dev/null || true; fi
  runc delete --force "portunus-release-$$" >/dev/null 2>&1 || true
  # Never rm -rf through a mount a failed mmdebstrap may have left (it bind-mounts /dev, /proc, the .deb).
  if findmnt -rn -o TARGET | grep -q "^$work/"; then
    echo "$0: leaving $work: something is still mounted in it" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

want() { [[ ",$steps," == *",$1,"* ]]; }
step() { printf '\n== %s\n' "$*"; SECONDS=0; }
took() { printf '   (%d s)\n' "$SECONDS"; }

deb=$out/portunus_${version}_amd64.deb
if want deb; then
  step ".deb"
  deb=$(bash "$repo/packaging/build-deb.sh" "$out")
  took
fi
if want plain; then
  step "plain image: raw, qcow2, vmdk, raw.xz"
  bash "$here/build-image.sh" --deb "$deb" --out "$out" --formats raw,qcow2,vmdk,xz
  took
fi
if want cloud; then
  step "cloud-init image: qcow2"
  bash "$here/build-image.sh" --deb "$deb" --out "$out" --formats qcow2 --flavour cloud
  rm -f "$out/portunus-cloud.raw"
  took
fi

oci=$work/oci
if want oci || want check-oci; then
step "OCI image (mmdebstrap -> umoci -> skopeo)"
ociroot=$work/ociroot
# shellcheck disable=SC2016 # "$1" in the hooks is expanded by mmdebstrap, not here
mmdebstrap --mode=root --variant=minbase --format=directory \
  --include="$deb" --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --customize-hook="copy-in $here/oci/entrypoint.sh /usr/lib/portunus/" \
  --customize-hook='chmod 0755 "$1"/usr/lib/portunus/entrypoint.sh' \
  --customize-hook='mkdir -p "$1"/var/lib/portunus && chroot "$1" chown portunus:portunus /var/lib/portunus' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/usr/share/man/* "$1"/usr/share/doc/*/changelog*' \
  bookworm "$ociroot" "${PORTUNUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
umoci init --layout "$oci"
umoci new --image "$oci:portunus"
umoci insert --image "$oci:portunus" "$ociroot" /
umoci config --image "$oci:portunus" \
  --author "Portunus developers" \
  --config.user portunus \
  --config.entrypoint /usr/lib/portunus/entrypoint.sh \
  --config.workingdir /var/lib/portunus \
  --config.volume /var/lib/portunus \
  --config.stopsignal SIGTERM \
  --config.exposedports 8088/tcp --config.exposedports 8188/tcp --config.exposedports 7088/tcp \
  --config.label org.opencontainers.image.title=portunus \
  --config.label "org.opencontainers.image.version=$version"
umoci gc --layout "$oci"
rm -f "$out/portunus-oci.tar" "$out/portunus-docker.tar" # skopeo does not overwrite an archive
skopeo copy --quiet "oci:$oci:portunus" "oci-archive:$out/portunus-oci.tar:portunus:$version"
skopeo copy --quiet "oci:$oci:portunus" "docker-archive:$out/portunus-docker.tar:portunus:$version"
took
fi

ls -la "$out"
[ "$check" = 1 ] || exit 0

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_info() { # URL SECONDS -> prints the info JSON
  local i
  for ((i = 0; i < $2; i++)); do
    if curl -sf -m 5 "$1" 2>/dev/null; then return 0; fi
    sleep 1
  done
  return 1
}

if want check-oci; then
step "check: the OCI image under runc answers /janus/info"
bundle=$work/bundle
umoci unpack --image "$oci:portunus" "$bundle" >/dev/null
port=$(free_port)
# Host network (no network namespace) so the loopback test can reach it; the port is ours.
node -e '
  const fs = require("fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f, "utf8"));
  c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== "network");
  // umoci turns VOLUME into a root-owned tmpfs; give it to the image user, as podman and docker do.
  for (const m of c.mounts) if (m.destination === "/var/lib/portunus") m.options.push("uid=" + c.process.user.uid, "gid=" + c.process.user.gid, "mode=0750");
  c.process.terminal = false;
  c.process.env.push("PORTUNUS_HTTP_IP=127.0.0.1", "PORTUNUS_HTTP_PORT=" + process.argv[2], "PORTUNUS_WEBSOCKETS_WS=false",
    "PORTUNUS_HTTP_ADMIN_HTTP=false", "PORTUNUS_NAT_NAT_1_1_MAPPING=192.0.2.44", "PORTUNUS_NAT_ICE_ENFORCE_LIST=lo");
  fs.writeFileSync(f, JSON.stringify(c));' "$bundle/config.json" "$port"
runc run --detach --bundle "$bundle" --pid-file "$work/runc.pid" "portunus-release-$$" >"$work/runc.log" 2>&1
if info=$(wait_info "http://127.0.0.1:$port/janus/info" 120) && grep -q '"public-ip": "192.0.2.44"' <<<"$info"; then
  echo "   OCI image answers /janus/info as user $(runc exec "portunus-release-$$" id -un) in $SECONDS s"
else
  echo "OCI check failed" >&2
  cat "$work/runc.log" >&2
  exit 1
fi
runc kill "portunus-release-$$" KILL || true
runc delete --force "portunus-release-$$" || true
took
fi

if want check-cloud; then
step "check: the cloud-init image takes its NAT 1:1 address from NoCloud user-data"
cidata=$work/cidata.img
printf 'instance-id: portunus-release\nlocal-hostname: portunus\n' >"$work/meta-data"
cat >"$work/user-data" <<'EOF'
#cloud-config
write_files:
  - path: /etc/default/portunus
    permissions: '0600'
    content: |
      PORTUNUS_NAT_NAT_1_1_MAPPING=198.51.100.20
EOF
mkfs.vfat -C -n CIDATA "$cidata" 1024 >/dev/null
mcopy -i "$cidata" "$work/meta-data" ::meta-data
mcopy -i "$cidata" "$work/user-data" ::user-data
cp "$out/portunus-cloud.qcow2" "$work/cloud.qcow2"
port=$(free_port)
qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -display none -monitor none -daemonize \
  -serial "file:$work/cloud-serial.log" -pidfile "$qemu_pid_file" \
  -drive "file=$work/cloud.qcow2,if=virtio,format=qcow2" -drive "file=$cidata,if=virtio,format=raw,readonly=on" \
  -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:8088" -device virtio-net-pci,netdev=n0
if info=$(wait_info "http://127.0.0.1:$port/janus/info" 900) && grep -q '"public-ip": "198.51.100.20"' <<<"$info"; then
  echo "   cloud image ready with the user-data address in $SECONDS s"
else
  echo "cloud-init check failed; serial log:" >&2
  cat "$work/cloud-serial.log" >&2
  exit 1
fi
kill "$(cat "$qemu_pid_file")"
took
fi

if want check-webrtc; then
step "check: WebRTC EchoTest with the plain image through 1:1 forwarded UDP ports"
# qemu's user network stands in for a cloud's 1:1 NAT: each media port is forwarded to the same port,
# and the appliance advertises the NAT's outside address (here the host's 127.0.0.1). restrict=on
# would drop the guest's UDP answers, so this check runs without it; the guest contacts nothing.
drive=$work/portunus-drive.img
printf 'NAT_1_1_MAPPING=127.0.0.1\nRTP_PORT_RANGE=21000-21009\n' >"$work/portunus.env"
mkfs.vfat -C -n PORTUNUS "$drive" 1024 >/dev/null
mcopy -i "$drive" "$work/portunus.env" ::portunus.env
cp "$out/portunus-plain.qcow2" "$work/plain.qcow2"
port=$(free_port)
fwd=""
for p in $(seq 21000 21009); do fwd="$fwd,hostfwd=udp:127.0.0.1:$p-:$p"; done
qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -display none -monitor none -daemonize \
  -serial "file:$work/plain-serial.log" -pidfile "$qemu_pid_file" \
  -drive "file=$work/plain.qcow2,if=virtio,format=qcow2" -drive "file=$drive,if=virtio,format=raw,readonly=on" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:8088$fwd" -device virtio-net-pci,netdev=n0
if wait_info "http://127.0.0.1:$port/janus/info" 900 >/dev/null \
  && (cd "$repo" && npx tsx appliance/checks/webrtc-echo.ts "http://127.0.0.1:$port/janus" 127.0.0.1); then
  echo "   EchoTest call through the NAT forwards worked"
else
  echo "WebRTC check failed; serial log:" >&2
  cat "$work/plain-serial.log" >&2
  exit 1
fi
kill "$(cat "$qemu_pid_file")"
took
fi
echo "release checks passed"
