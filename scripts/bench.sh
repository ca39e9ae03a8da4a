#!/usr/bin/env bash
# npm run bench: HAProxy and Debian's Go exporter are its peers; installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_debian_packages haproxy:haproxy prometheus-haproxy-exporter:prometheus-haproxy-exporter
need_node_modules
npm run -s build
if [ -n "${BENCH_SOAK:-}" ]; then exec node dist/bench/soak.js; fi
exec node dist/bench/bench.js
