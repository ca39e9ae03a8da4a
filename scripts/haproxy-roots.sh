#!/usr/bin/env bash
# The Debian roots whose HAProxy the version matrix runs (test/versions.test.ts): built once with
# debootstrap from the mirror this machine's apt uses, kept outside the clone, and built again only
# when the suite's HAProxy version changes. Usage: scripts/haproxy-roots.sh SUITE...
set -euo pipefail
roots="${NOSRV_HAPROXY_ROOTS:-${XDG_CACHE_HOME:-$HOME/.cache}/nosrv-test/haproxy-roots}"
mkdir -p "$roots"
mirror() {
  { awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true; } | grep . ||
    awk '/^deb / { print $2; exit }' /etc/apt/sources.list
}
for suite in "$@"; do
  root="$roots/$suite"
  if [ -x "$root/usr/sbin/haproxy" ]; then
    # Offline, the root stays as it is; online, it is kept while its HAProxy is the suite's.
    chroot "$root" apt-get update -qq >/dev/null 2>&1 || continue
    installed=$(chroot "$root" dpkg-query -W -f '${Version}' haproxy)
    candidate=$(chroot "$root" apt-cache policy haproxy | awk '/Candidate:/ { print $2 }')
    [ "$installed" = "$candidate" ] && continue
    echo "nosrv: HAProxy in $suite moved from $installed to $candidate: building its root again" >&2
  fi
  echo "nosrv: building a Debian $suite root with its HAProxy in $root" >&2
  rm -rf "$root.tmp"
  debootstrap --variant=minbase --include=haproxy "$suite" "$root.tmp" "$(mirror)" >/dev/null
  rm -rf "$root"
  mv "$root.tmp" "$root"
done
