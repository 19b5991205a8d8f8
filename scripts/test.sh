#!/usr/bin/env bash
# Every test, from a bare Debian 12 machine: installs what is missing (apt packages, the Kafka
# broker's jars), builds the `ci` preset (Debug with ASan+UBSan, warnings as errors) and runs
# unit, integration and end-to-end tests; integration tests share one real local broker.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/kafka.sh fetch

cmake --preset ci
cmake --build --preset ci
ctest --preset ci "$@"
