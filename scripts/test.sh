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

# One local network serves every test of a real client over HTTP: the Rust
# agent's (IC_NETWORK_URL tells them where it is) and the JavaScript ones.
step "start the local network (icp-economy-network)"
cargo build --locked -p icp-economy-network
log="$(mktemp)" network_log="$(mktemp)"
target/debug/icp-economy-network --port 0 --allow-time-control >"$network_log" 2>&1 &
network_pid=$!
stop_network() {
  if kill -0 "$network_pid" 2>/dev/null; then
    kill -INT "$network_pid"
    wait "$network_pid" || true
  fi
}
trap 'stop_network; rm -f "$log" "$network_log"' EXIT
for _ in $(seq 600); do
  grep -q '^root key: ' "$network_log" && break
  kill -0 "$network_pid" 2>/dev/null || { cat "$network_log"; exit 1; }
  sleep 0.1
done
IC_NETWORK_URL="$(sed -n 's/^url: //p' "$network_log")"
IC_NETWORK_ROOT_KEY="$(sed -n 's/^root key: //p' "$network_log")"
[[ -n "$IC_NETWORK_URL" && -n "$IC_NETWORK_ROOT_KEY" ]] || { cat "$network_log"; exit 1; }
export IC_NETWORK_URL IC_NETWORK_ROOT_KEY
echo "serving at $IC_NETWORK_URL"

# Each integration test has a `…::runtime` variant and a
# `…::pocket_ic_server` variant; the latter is #[ignore]d and runs only when
# POCKET_IC_BIN names a PocketIC server binary.
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

# The official JavaScript clients, on the same network.
step "node --test tests/js/local-network.test.mjs (JavaScript clients on the local network)"
node --test tests/js/local-network.test.mjs 2>&1 | tee -a "$log"
js_status=${PIPESTATUS[0]}
if ((status == 0)); then status=$js_status; fi
set -e
stop_network
end_stage

printf '\nseconds per stage:\n'
printf '%s\n' "${timings[@]}"
# One line for the whole run, summed over every test binary and the
# JavaScript tests (TAP counts); ignored tests (those that cannot run on
# this machine) count as skipped.
awk '/^test result:/ { p += $4; f += $6; s += $8 }
     /^# pass / { p += $3 } /^# fail / { f += $3 } /^# skipped / { s += $3 }
     END { printf "\nsummary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
