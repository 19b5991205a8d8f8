#!/usr/bin/env bash
# Installs the Debian 12 packages that Canvoy's build, tests and demo need.
# Idempotent: installs only what is missing, and runs `apt-get update` only then.
# docs/dependencies.md says what uses each package and why.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git python3
  # C++ libraries
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
  libprotobuf-dev protobuf-compiler
  librdkafka-dev librocksdb-dev libssl-dev libzstd-dev zlib1g-dev
  libcsv-dev libgtest-dev libgmock-dev libbenchmark-dev
  libspdlog-dev prometheus-cpp-dev
  # test oracle for the DBC decoder
  python3-canmatrix
  # the local Kafka broker (scripts/kafka.sh)
  default-jdk-headless maven curl
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: nothing missing (${#packages[@]} packages already installed)"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi
# env, not export: sudo would drop an exported variable.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq)
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: installed ${missing[*]}"
