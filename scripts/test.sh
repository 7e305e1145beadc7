#!/usr/bin/env bash
# The project's test command (CI runs exactly this): formatting, lints, the
# canister build, every test; ends with one summary line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Each stage's wall time is printed at the end, beside the summary.
timings=()
stage="" stage_start=$SECONDS
end_stage() {
  if [[ -n "$stage" ]]; then timings+=("$(printf '%5d s  %s' $((SECONDS - stage_start)) "$stage")"); fi
}
step() {
  end_stage
  stage="$*" stage_start=$SECONDS
  printf '\n==> %s\n' "$*"
}

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "build canisters"
scripts/build-canisters.sh

# JavaScript packages the tests read (the ICP ledger's .proto files), exactly
# as tests/js/package-lock.json pins them.
step "npm ci (tests/js)"
npm ci --prefix tests/js --no-audit --no-fund

# Each integration test has a `…::runtime` variant and a
# `…::pocket_ic_server` variant; the latter is #[ignore]d and runs only when
# POCKET_IC_BIN names a PocketIC server binary.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
if [[ -n "${POCKET_IC_BIN:-}" ]]; then
  step "cargo test --workspace (PocketIC server: $POCKET_IC_BIN)"
  cargo test --locked --workspace -- --skip pocket_ic_server 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # The server tests, and no other ignored test.
  cargo test --locked --workspace -- --ignored pocket_ic_server 2>&1 | tee -a "$log"
  server_status=${PIPESTATUS[0]}
  if ((status == 0)); then status=$server_status; fi
else
  step "cargo test --workspace (PocketIC server tests skipped: POCKET_IC_BIN is not set)"
  cargo test --locked --workspace 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
fi
set -e
end_stage

printf '\nseconds per stage:\n'
printf '%s\n' "${timings[@]}"
# One line for the whole run, summed over every test binary; ignored tests
# (those that cannot run on this machine) count as skipped.
awk '/^test result:/ { p += $4; f += $6; s += $8 }
     END { printf "\nsummary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
