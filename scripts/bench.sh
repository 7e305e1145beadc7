#!/usr/bin/env bash
# Benchmarks of the runtime and the real canisters on it: one table of
# instructions per call, calls per second and sizes, compared with the
# committed baseline (exit 1 if an exact figure is more than 10 % worse).
# `scripts/bench.sh ledger` runs one group; `--save-baseline` writes the
# baseline; BENCH_ACCOUNTS=1000 makes the ledger run quicker.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/build-canisters.sh >/dev/null
cargo run --locked --quiet -p benchmarks --bin bench -- "$@"
