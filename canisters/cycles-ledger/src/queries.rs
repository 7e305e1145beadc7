//! The cycles ledger's blocks in its own Candid types (the ICRC-3 shapes
//! under the names of the real cycles ledger's interface).

use crate::state::CyclesLedger;
use candid::Nat;
use icrc_ledger_types::icrc3::blocks::GetBlocksRequest;
use nns_api::cycles_ledger::{BlockWithId, GetBlocksResult};

pub fn get_blocks(ledger: &CyclesLedger, ranges: &[GetBlocksRequest]) -> GetBlocksResult {
    let (log_length, blocks) = ledger_core::icrc::service::blocks(ledger, ranges);
    GetBlocksResult {
        log_length: Nat::from(log_length),
        blocks: blocks
            .into_iter()
            .map(|(id, block)| BlockWithId {
                id: Nat::from(id),
                block: block.into(),
            })
            .collect(),
        archived_blocks: vec![],
    }
}
