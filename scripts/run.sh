#!/usr/bin/env bash
# The project's main command: builds the canisters, boots them on the local
# runtime at their NNS ids and reports the economy as the canisters answer it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "Building the canisters (wasm) and the simulator; the first build takes minutes" >&2
scripts/build-canisters.sh
# Built with cargo's progress shown, then run without its chatter.
cargo build --locked -p icp-economy --bin icp-economy
cargo run --locked --quiet -p icp-economy --bin icp-economy -- "$@"
