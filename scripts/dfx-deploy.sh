#!/usr/bin/env bash
# Deploys the system on dfx's local network and leaves it usable at once:
#
#   1. `dfx deploy` builds every canister and installs it at its well-known
#      id with dfx.json's init argument; the ledger's gives the anonymous
#      principal, which Candid UI calls as, 1 000 000 ICP;
#   2. governance becomes a controller of the ledger, the CMC, the index and
#      the cycles ledger, as on the NNS;
#   3. the deploying identity receives 10 000 ICP from the anonymous
#      principal, so it can transfer, stake neurons and vote from the
#      command line.
#
# tests/tests/integration/dfx_deployment.rs performs the same steps on the
# project's runtime and checks the result.
#
#   scripts/dfx-deploy.sh            # on the local network (`dfx start` first)
#   scripts/dfx-deploy.sh <network>  # another local network named in dfx.json
set -euo pipefail
cd "$(dirname "$0")/.."

network="${1:-local}"
if [ "$network" = ic ]; then
  echo "on mainnet the NNS canisters are mainnet's own: dfx.json names their ids as remote" >&2
  exit 2
fi
command -v dfx >/dev/null || { echo "dfx is not installed" >&2; exit 2; }

GOVERNANCE=rrkah-fqaaa-aaaaa-aaaaq-cai
GOVERNED=(ledger cmc index cycles-ledger)
# 10 000 ICP, in e8s.
IDENTITY_ICP_E8S=1_000_000_000_000

dfx deploy --network "$network"
for canister in "${GOVERNED[@]}"; do
  dfx canister update-settings --network "$network" "$canister" --add-controller "$GOVERNANCE"
done
me="$(dfx identity get-principal)"
dfx canister call --network "$network" --identity anonymous ledger icrc1_transfer \
  "(record { to = record { owner = principal \"$me\"; subaccount = null }; amount = $IDENTITY_ICP_E8S : nat; fee = null; memo = null; from_subaccount = null; created_at_time = null })"
echo "deployed; $me holds 10 000 ICP, the anonymous principal the rest of 1 000 000"
