#!/usr/bin/env bash
# The project's test command (CI runs exactly this): formatting, lints, the
# canister build, every test; ends with one summary line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "build canisters"
scripts/build-canisters.sh

step "cargo test --workspace"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One line for the whole run, summed over every test binary; ignored tests
# (those that cannot run on this machine) count as skipped.
awk '/^test result:/ { p += $4; f += $6; s += $8 }
     END { printf "\nsummary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
