#!/usr/bin/env bash
# Debian packages Rehabit benefits from. Missing ones are installed when we are
# root (or have passwordless sudo) and apt-get exists; otherwise we say what is
# missing and carry on: the app runs without them, only slower or untested.
set -u
wanted=(libharfbuzz-subset0 poppler-utils chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 postgresql-client wrk)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Not a Debian system: please install the equivalents of: ${missing[*]}" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "Please install: sudo apt-get install ${missing[*]}" >&2
    exit 0
  fi
fi
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
  || echo "Could not install ${missing[*]}; continuing without them." >&2
exit 0
