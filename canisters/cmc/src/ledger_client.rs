//! The CMC's own call to the ledger: read a notified block. Burns and
//! refunds use the shared [`canister_common::ledger_client`].

use candid::Principal;
use canister_common::ledger_client::CallFailure;
use ic_cdk::call::Call;
use nns_api::ledger::{CandidBlock, GetBlocksArgs, QueryBlocksResponse};

pub use canister_common::ledger_client::transfer;

/// The block at `index`, or `None` if the chain is shorter.
pub async fn fetch_block(
    ledger: Principal,
    index: u64,
) -> Result<Option<CandidBlock>, CallFailure> {
    let response = Call::unbounded_wait(ledger, "query_blocks")
        .with_arg(GetBlocksArgs {
            start: index,
            length: 1,
        })
        .await
        .map_err(CallFailure::from_call)?;
    let blocks: QueryBlocksResponse = response
        .candid()
        .map_err(|e| CallFailure::undecodable(e, true))?;
    Ok(blocks
        .blocks
        .into_iter()
        .next()
        .filter(|_| blocks.first_block_index == index))
}
