#!/usr/bin/env bash
# The project's NNS on a local network: builds the canisters (installing
# what the build needs on a fresh machine), then serves them over the IC's
# HTTP interface until Ctrl-C. Arguments go to icp-economy-network, e.g.
#   scripts/network.sh --port 4943 --state-dir .network --allow-time-control
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/build-canisters.sh >/dev/null
exec cargo run --locked --release -p icp-economy-network -- "$@"
