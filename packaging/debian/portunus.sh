#!/bin/sh
# The portunus command with the bundled Node runtime.
exec /usr/lib/portunus/node/bin/node /usr/lib/portunus/app/bin/portunus.js "$@"
