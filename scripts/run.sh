#!/usr/bin/env bash
# The project's main command. Until the local canister runtime exists it
# builds the canisters and reports what it produced.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/build-canisters.sh "$@"
echo
echo "Built modules are in target/canisters/ (deploy them with 'dfx deploy' or 'icp deploy', see README.md)."
