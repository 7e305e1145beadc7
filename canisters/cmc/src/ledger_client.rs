//! The CMC's calls to the ledger: read a block, burn, refund.

use candid::Principal;
use ic_cdk::call::{Call, CallErrorExt};
use nns_api::AccountIdentifier;
use nns_api::ledger::{
    CandidBlock, GetBlocksArgs, Memo, QueryBlocksResponse, Tokens, TransferArgs, TransferError,
};

/// A call that did not produce the ledger's answer. `clean` means the
/// ledger certainly did nothing (the IC's clean reject), so retrying is safe.
#[derive(Debug)]
pub struct CallFailure {
    pub clean: bool,
    pub message: String,
}

fn failure(e: impl CallErrorExt + std::fmt::Display) -> CallFailure {
    CallFailure {
        clean: e.is_clean_reject(),
        message: e.to_string(),
    }
}

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
        .map_err(failure)?;
    let blocks: QueryBlocksResponse = response.candid().map_err(|e| CallFailure {
        clean: true,
        message: e.to_string(),
    })?;
    Ok(blocks
        .blocks
        .into_iter()
        .next()
        .filter(|_| blocks.first_block_index == index))
}

/// A legacy transfer out of one of the CMC's subaccounts. The memo (the
/// notified block's index) keeps transfers for different blocks distinct.
pub async fn transfer(
    ledger: Principal,
    from_subaccount: [u8; 32],
    to: AccountIdentifier,
    amount_e8s: u64,
    fee_e8s: u64,
    memo: u64,
) -> Result<Result<u64, TransferError>, CallFailure> {
    let args = TransferArgs {
        memo: Memo(memo),
        amount: Tokens::from_e8s(amount_e8s),
        fee: Tokens::from_e8s(fee_e8s),
        from_subaccount: Some(from_subaccount),
        to,
        created_at_time: None,
    };
    let response = Call::unbounded_wait(ledger, "transfer")
        .with_arg(args)
        .await
        .map_err(failure)?;
    response.candid().map_err(|e| CallFailure {
        clean: false,
        message: e.to_string(),
    })
}

/// The ledger's transfer fee.
pub async fn transfer_fee(ledger: Principal) -> Result<u64, CallFailure> {
    let response = Call::unbounded_wait(ledger, "transfer_fee")
        .with_arg(nns_api::ledger::TransferFeeArg {})
        .await
        .map_err(failure)?;
    let fee: nns_api::ledger::TransferFee = response.candid().map_err(|e| CallFailure {
        clean: true,
        message: e.to_string(),
    })?;
    Ok(fee.transfer_fee.e8s)
}
