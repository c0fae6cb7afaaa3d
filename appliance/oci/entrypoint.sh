#!/bin/sh
# Entry point of the Portunus OCI image: settings come from PORTUNUS_<GROUP>_<KEY> variables. With no
# admin secret given, one is generated on the first start and kept in the state volume
# (/var/lib/portunus/admin_secret), never the Janus sample default.
set -eu
state=/var/lib/portunus
if [ -z "${PORTUNUS_GENERAL_ADMIN_SECRET:-}" ]; then
  if [ ! -s "$state/admin_secret" ]; then
    umask 077
    head -c 32 /dev/urandom | base64 | tr -d '=\n' | tr '+/' '-_' >"$state/admin_secret"
    echo "portunus: no admin secret given; generated one in $state/admin_secret" >&2
  fi
  PORTUNUS_GENERAL_ADMIN_SECRET=$(cat "$state/admin_secret")
  export PORTUNUS_GENERAL_ADMIN_SECRET
fi
exec /usr/lib/portunus/node/bin/node /usr/lib/portunus/app/bin/portunus.js --config-dir /etc/portunus "$@"
