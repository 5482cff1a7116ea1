#!/usr/bin/env bash
# Installs every Debian package hoist needs to build, test, run the lab and the benchmarks.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache make pkg-config clang-format
  # libraries
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libyaml-cpp-dev libexpat1-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # peers used by the tests
  kubectl busybox openssh-server openssh-client tmux curl prometheus
  golang-go golang-github-vmware-govmomi-dev
  # OpenStack Identity and Image services for the openstack populator's tests (started by the tests)
  keystone glance
  # peers of the disk-copy benchmark (bench/README.md)
  nginx-light qemu-utils nbdkit libnbd-bin
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Keystone and Glance would otherwise ask for a database; the tests give them SQLite files of their own.
printf '%s\n' 'keystone keystone/configure_db boolean false' 'glance-common glance/configure_db boolean false' |
  $SUDO debconf-set-selections
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
