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

# One local network serves every test of a real client over HTTP. icp-cli
# starts it, with the project's launcher, in the example project
# (examples/counter); the Rust agent's tests (IC_NETWORK_URL tells them where
# it is), the JavaScript clients, icp-cli's own commands and Candid UI in
# Chromium all run against it. icp-cli keeps its identities under a HOME of
# its own, so the machine's are left alone.
step "start the local network (icp network start, with icp-economy-launcher)"
cargo build --locked -p icp-economy-network
scripts/ensure-chromium.sh || echo "no Chromium: the Candid UI test will be skipped"
export CHROMIUM_BIN="$(command -v chromium || true)"
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export ICP_BIN="$ROOT/tests/js/node_modules/@icp-sdk/icp-cli-linux-x64/bin/icp"
export ICP_TEST_HOME="$(mktemp -d)"
export DO_NOT_TRACK=1 ICP_ECONOMY_ALLOW_TIME_CONTROL=1
export ICP_CLI_NETWORK_LAUNCHER_PATH="$ROOT/target/debug/icp-economy-launcher"
icp() { HOME="$ICP_TEST_HOME" "$ICP_BIN" "$@"; }
log="$(mktemp)"
stop_network() {
  # Whatever the tests (or an aborted earlier run) left: the example's
  # network and the repository's are stopped (a no-op when not running).
  (cd examples/counter && icp network stop >/dev/null 2>&1) || true
  icp network stop >/dev/null 2>&1 || true
}
trap 'stop_network; rm -rf "$log" "$ICP_TEST_HOME"' EXIT
for name in alice bob; do icp identity new "$name" --storage plaintext -q >/dev/null; done
icp identity default alice
stop_network
(cd examples/counter && icp network start -d) || {
  cat examples/counter/.icp/cache/networks/local/network-launcher/stderr.log >&2 || true
  exit 1
}
status_json="$(cd examples/counter && icp network status --json)"
port="$(node -p 'new URL(JSON.parse(process.argv[1]).api_url).port' "$status_json")"
IC_NETWORK_URL="http://127.0.0.1:$port"
IC_NETWORK_ROOT_KEY="$(node -p 'JSON.parse(process.argv[1]).root_key' "$status_json")"
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

# Candid UI in Chromium, the official JavaScript clients and icp-cli
# (deploy, tokens, cycles; it stops the network last), on the same network,
# in this order: the JavaScript clients' test moves the network's time a
# week ahead, and Candid UI's agent refuses certificates dated that far
# from the browser's clock.
step "node --test tests/js (Candid UI in Chromium, JavaScript clients, icp-cli)"
js_status=0
for file in candid-ui local-network icp-cli; do
  node --test --test-reporter=tap "tests/js/$file.test.mjs" 2>&1 | tee -a "$log"
  file_status=${PIPESTATUS[0]}
  if ((js_status == 0)); then js_status=$file_status; fi
done
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
