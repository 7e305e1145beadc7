#!/usr/bin/env bash
# The project's main command: builds the canisters, boots them on the local
# runtime at their NNS ids and reports the economy as the canisters answer it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/build-canisters.sh
cargo run --locked --quiet -p integration-tests --bin economy -- "$@"
