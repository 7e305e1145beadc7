#!/usr/bin/env bash
# Benchmarks of the real canisters on the local runtime: prints instructions
# per call, calls per second and sizes. `scripts/bench.sh ledger` runs one
# group; BENCH_ACCOUNTS=1000 makes the ledger run quicker.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/build-canisters.sh >/dev/null
cargo run --locked --quiet -p integration-tests --bin bench -- "$@"
