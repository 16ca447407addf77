#!/usr/bin/env bash
# Installs the Debian packages that building the native addon needs, where they are missing:
# a C/C++ compiler, make, python3 (node-gyp), pkg-config, libcurl (OpenSSL flavour), jansson and OpenSSL
# headers, zstd (compressed sessions). Safe to run again: it only calls apt-get when something is missing.
# Usage: bash scripts/install-system-deps.sh [--with-tools]   (--with-tools adds valgrind and clang)
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in build-essential python3 pkg-config libcurl4-openssl-dev libjansson-dev libssl-dev libzstd-dev; do
  have_pkg "$p" || need+=("$p")
done
if [ "${1:-}" = "--with-tools" ]; then
  for p in valgrind clang libclang-rt-14-dev; do have_pkg "$p" || need+=("$p"); done
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system dependencies: all present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${need[*]}" >&2
  echo "This script knows Debian/Ubuntu (apt-get). Install the equivalents with your package manager:" >&2
  echo "  a C/C++ compiler, make, python3, pkg-config, libcurl (OpenSSL) and jansson development files." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Missing system packages: ${need[*]} (run this script as root, or install them yourself)" >&2
    exit 1
  fi
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
