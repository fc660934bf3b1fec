#!/usr/bin/env bash
# Installs what registry-rca needs from Debian's packages. Idempotent; quiet when all is there.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   plus what the test suite drives (promtool, logrotate,
#                                    systemd-analyze, strace, yamllint, chromium) and clang
#                                    for fuzzing
set -euo pipefail

build_packages=(cmake g++ make pkg-config clang-format
  prometheus-cpp-dev libboost1.81-dev libre2-dev libspdlog-dev libyaml-cpp-dev libssl-dev
  libcrypt-dev nlohmann-json3-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsimdjson-dev)
test_packages=(prometheus prometheus-alertmanager logrotate python3 python3-yaml curl
  procps time psmisc openssl apache2-utils netcat-openbsd
  systemd strace yamllint python3-kubernetes
  clang libclang-rt-14-dev
  nginx
  chromium)  # headless, for the web UI's browser test

wanted=("${build_packages[@]}")
if [[ "${1:-}" == "--test" ]]; then wanted+=("${test_packages[@]}"); fi

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Services from these packages must not start on install (prometheus, alertmanager).
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
