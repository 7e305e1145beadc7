//! The well-known canister ids of the NNS canisters this system implements.

use candid::Principal;

/// Builds the id of the `index`-th canister of the NNS subnet's range
/// (an opaque id: 8-byte big-endian index, then the `0x01 0x01` suffix).
const fn nns_canister_id(index: u8) -> Principal {
    Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, index, 1, 1])
}

/// `rrkah-fqaaa-aaaaa-aaaaq-cai`
pub const GOVERNANCE_CANISTER_ID: Principal = nns_canister_id(1);
/// `ryjl3-tyaaa-aaaaa-aaaba-cai`
pub const LEDGER_CANISTER_ID: Principal = nns_canister_id(2);
/// `r7inp-6aaaa-aaaaa-aaabq-cai`
pub const ROOT_CANISTER_ID: Principal = nns_canister_id(3);
/// `rkp4c-7iaaa-aaaaa-aaaca-cai`
pub const CYCLES_MINTING_CANISTER_ID: Principal = nns_canister_id(4);
/// `qhbym-qaaaa-aaaaa-aaafq-cai`: the ICP index canister.
pub const INDEX_CANISTER_ID: Principal = nns_canister_id(11);
/// `sgymv-uiaaa-aaaaa-aaaia-cai`: the node-rewards canister, which tells
/// governance what each node provider earned in a month.
pub const NODE_REWARDS_CANISTER_ID: Principal = nns_canister_id(16);
/// `um5iw-rqaaa-aaaaq-qaaba-cai`: the cycles ledger, on mainnet in the
/// range of the Internet Identity subnet (`0x02100000`–`0x021FFFFF`).
pub const CYCLES_LEDGER_CANISTER_ID: Principal =
    Principal::from_slice(&[0, 0, 0, 0, 2, 16, 0, 2, 1, 1]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ids_match_their_text_form() {
        for (id, text) in [
            (GOVERNANCE_CANISTER_ID, "rrkah-fqaaa-aaaaa-aaaaq-cai"),
            (LEDGER_CANISTER_ID, "ryjl3-tyaaa-aaaaa-aaaba-cai"),
            (ROOT_CANISTER_ID, "r7inp-6aaaa-aaaaa-aaabq-cai"),
            (CYCLES_MINTING_CANISTER_ID, "rkp4c-7iaaa-aaaaa-aaaca-cai"),
            (INDEX_CANISTER_ID, "qhbym-qaaaa-aaaaa-aaafq-cai"),
            (NODE_REWARDS_CANISTER_ID, "sgymv-uiaaa-aaaaa-aaaia-cai"),
            (CYCLES_LEDGER_CANISTER_ID, "um5iw-rqaaa-aaaaq-qaaba-cai"),
        ] {
            assert_eq!(id.to_text(), text);
            assert_eq!(Principal::from_text(text).unwrap(), id);
        }
    }
}
