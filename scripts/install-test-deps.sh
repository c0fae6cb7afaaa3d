#!/usr/bin/env bash
# Debian packages the tests use, listed one area a file in scripts/apt-deps/*.txt ('#' starts a comment).
# Installs only what is missing; needs root (CI and dev machines are).
set -euo pipefail
cd "$(dirname "$0")"
mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' apt-deps/*.txt | grep -v '^$' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test dependencies: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "need root to apt-get install ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
