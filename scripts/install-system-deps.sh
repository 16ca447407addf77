#!/usr/bin/env bash
# Installs the Debian packages that building the native addon needs, where they are missing:
# a C/C++ compiler, make, python3 (node-gyp), pkg-config, libcurl (OpenSSL flavour), jansson and OpenSSL
# headers, zstd (compressed sessions). Safe to run again: it only calls apt-get when something is missing.
# Usage: bash scripts/install-system-deps.sh [--with-tools] [--prebuild]
#   --with-tools  adds valgrind and clang, and everything --prebuild adds
#   --prebuild    what making the prebuilt binaries (npm pack) and test/portable.test.js need: the
#                 arm64 cross toolchain and OpenSSL's arm64 headers (dpkg's arm64 architecture is
#                 enabled for them), dpkg-dev (dpkg-source), debootstrap and qemu-user-static
set -euo pipefail

with_tools=0
prebuild=0
for arg in "$@"; do
  case "$arg" in
    --with-tools) with_tools=1; prebuild=1 ;;
    --prebuild) prebuild=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in build-essential python3 pkg-config libcurl4-openssl-dev libjansson-dev libssl-dev libzstd-dev; do
  have_pkg "$p" || need+=("$p")
done
if [ "$with_tools" = 1 ]; then
  for p in valgrind clang libclang-rt-14-dev; do have_pkg "$p" || need+=("$p"); done
fi
add_arm64=0
if [ "$prebuild" = 1 ]; then
  for p in dpkg-dev patch curl debootstrap qemu-user-static crossbuild-essential-arm64 libssl-dev:arm64; do
    have_pkg "$p" || need+=("$p")
  done
  if command -v dpkg >/dev/null 2>&1 && ! dpkg --print-foreign-architectures | grep -qx arm64; then add_arm64=1; fi
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
if [ "$add_arm64" = 1 ]; then
  echo "enabling dpkg's arm64 architecture (for libssl-dev:arm64)"
  $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
