# Shared by scripts/test.sh and scripts/demo.sh: install what nosrv needs, or say what is missing.

# need_debian_packages COMMAND:PACKAGE ...  installs the packages whose command is missing (as
# root), else names them; with CI=true a missing tool is a failure, never a skip.
need_debian_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "nosrv: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    return 0
  fi
  echo "nosrv: missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  if [ "${CI:-}" = true ]; then exit 1; fi
  return 1
}

# need_node_modules: npm ci when node_modules is missing or older than the lock file.
need_node_modules() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund >&2
  fi
}
