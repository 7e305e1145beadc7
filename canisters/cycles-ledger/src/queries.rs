//! The cycles ledger's read-only answers, over the ledger core: blocks as
//! ICRC-3 values, allowance listings, metadata.

use crate::config::Config;
use crate::state::CyclesLedger;
use candid::Nat;
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc3::blocks::GetBlocksRequest;
use icrc_ledger_types::icrc103::get_allowances::{Allowance, Allowances, GetAllowancesArgs};
use ledger_core::icrc::value::block_value;
use nns_api::cycles_ledger::{
    BlockWithId, DECIMALS, FEE, GetBlocksResult, MAX_MEMO_LENGTH, MAX_TAKE_ALLOWANCES, TOKEN_NAME,
    TOKEN_SYMBOL,
};

/// The logo the real cycles ledger advertises.
const TOKEN_LOGO: &str = include_str!("logo.txt");

/// The block ranges asked for, in order, with at most
/// `max_blocks_per_request` blocks over all of them; ranges that start
/// past the end or do not fit in 64 bits are skipped.
pub fn get_blocks(ledger: &CyclesLedger, ranges: &[GetBlocksRequest]) -> GetBlocksResult {
    let log_length = ledger.chain_length();
    let mut remaining = ledger.config().max_blocks_per_request;
    let mut blocks = vec![];
    for range in ranges {
        let (Ok(start), Ok(length)) = (
            u64::try_from(&range.start.0),
            u64::try_from(&range.length.0),
        ) else {
            continue;
        };
        if start >= log_length {
            continue;
        }
        let end = log_length.min(start.saturating_add(length.min(remaining)));
        for id in start..end {
            let block = ledger.block(id).expect("below the chain length");
            blocks.push(BlockWithId {
                id: Nat::from(id),
                block: block_value(&block).into(),
            });
        }
        remaining -= end - start;
    }
    GetBlocksResult {
        log_length: Nat::from(log_length),
        blocks,
        archived_blocks: vec![],
    }
}

/// ICRC-103: anyone may list anyone's allowances; the caller's own when no
/// account is named.
pub fn allowances(
    ledger: &CyclesLedger,
    caller_account: Account,
    args: GetAllowancesArgs,
    now: u64,
) -> Allowances {
    let from = args.from_account.unwrap_or(caller_account);
    let take = args
        .take
        .map_or(MAX_TAKE_ALLOWANCES, |n| {
            u64::try_from(&n.0).unwrap_or(MAX_TAKE_ALLOWANCES)
        })
        .min(MAX_TAKE_ALLOWANCES);
    ledger
        .allowances_of(&from, args.prev_spender.as_ref(), take as usize, now)
        .into_iter()
        .map(|(from_account, to_spender, allowance)| Allowance {
            from_account,
            to_spender,
            allowance: Nat::from(allowance.amount),
            expires_at: allowance.expires_at,
        })
        .collect()
}

pub fn metadata(config: &Config) -> Vec<(String, MetadataValue)> {
    let mut entries = vec![
        ("icrc1:decimals".into(), MetadataValue::Nat(DECIMALS.into())),
        ("icrc1:name".into(), MetadataValue::Text(TOKEN_NAME.into())),
        (
            "icrc1:symbol".into(),
            MetadataValue::Text(TOKEN_SYMBOL.into()),
        ),
        ("icrc1:fee".into(), MetadataValue::Nat(FEE.into())),
        (
            "icrc1:max_memo_length".into(),
            MetadataValue::Nat(MAX_MEMO_LENGTH.into()),
        ),
        (
            "dfn:max_blocks_per_request".into(),
            MetadataValue::Nat(config.max_blocks_per_request.into()),
        ),
        (
            "icrc1:logo".into(),
            MetadataValue::Text(TOKEN_LOGO.trim().into()),
        ),
    ];
    if let Some(index) = config.index_id {
        entries.push((
            "icrc106:index_principal".into(),
            MetadataValue::Text(index.to_text()),
        ));
        entries.push((
            "dfn:index_id".into(),
            MetadataValue::Blob(index.as_slice().to_vec().into()),
        ));
    }
    entries
}
