#!/usr/bin/env bash
# Runs nosrv against a real HAProxy: yours when flags name it (npm run demo -- --haproxy.socket=...),
# else a bundled demo HAProxy with a few broken backends. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_node_modules
npm run -s build
if [ $# -gt 0 ] || [ -n "${NOSRV_HAPROXY_SOCKET:-}${NOSRV_HAPROXY_STATS_URL:-}" ]; then
  exec dist/src/main.js "$@"
fi
need_debian_packages haproxy:haproxy socat:socat prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager
exec node dist/scripts/demo.js
