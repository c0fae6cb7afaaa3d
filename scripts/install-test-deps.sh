#!/usr/bin/env bash
# Debian packages the tests use. Installs only what is missing; needs root (CI and dev machines are).
set -euo pipefail
# chromium: the browser of the e2e tests (test/helpers/browser.ts drives /usr/bin/chromium with playwright-core);
# fonts-dejavu-core: readable text in its headless screenshots.
pkgs=(janus janus-tools curl chromium fonts-dejavu-core)
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
