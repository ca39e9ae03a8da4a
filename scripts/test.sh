#!/usr/bin/env bash
# Every test, unit and integration, against a real HAProxy. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
# Without root the tests that need a missing tool skip and say why (in CI they fail).
need_debian_packages haproxy:haproxy promtool:prometheus amtool:prometheus-alertmanager chromium:chromium openssl:openssl socat:socat podman:podman runc:runc debootstrap:debootstrap systemd-analyze:systemd || true
need_node_modules
npm run -s build
# The HAProxy versions besides the system's (test/versions.test.ts): Debian roots, kept outside the clone.
if [ "$(id -u)" = 0 ] && command -v debootstrap >/dev/null 2>&1; then
  bash scripts/haproxy-roots.sh bullseye trixie sid
else
  echo "nosrv: the HAProxy 2.2, 3.0 and 3.2 tests need Debian roots that only root can build (scripts/haproxy-roots.sh)" >&2
fi
exec node --test --test-reporter=spec dist/test/*.test.js dist/test/integration/*.test.js
