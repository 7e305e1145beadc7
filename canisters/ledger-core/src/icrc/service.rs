//! What every ICRC ledger canister answers, as plain functions over the
//! core: the token's description, block ranges, allowance listings. The
//! endpoints (`icrc_endpoints!`) call these; a ledger's configuration
//! describes its token through [`IcrcToken`].

use super::value::block_value;
use super::{Icrc, IcrcConfig};
use crate::Ledger;
use candid::{CandidType, Deserialize, Nat, Principal};
use ic_stable_structures::Memory;
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc3::blocks::GetBlocksRequest;
use icrc_ledger_types::icrc103::get_allowances::{Allowance, Allowances, GetAllowancesArgs};

pub const ICRC1_URL: &str =
    "https://github.com/dfinity/ICRC-1/blob/main/standards/ICRC-1/README.md";
pub const ICRC2_URL: &str =
    "https://github.com/dfinity/ICRC-1/blob/main/standards/ICRC-2/README.md";
pub const ICRC3_URL: &str =
    "https://github.com/dfinity/ICRC-1/blob/main/standards/ICRC-3/README.md";
pub const ICRC10_URL: &str = "https://github.com/dfinity/ICRC/tree/main/ICRCs/ICRC-10";
pub const ICRC103_URL: &str = "https://github.com/dfinity/ICRC/tree/main/ICRCs/ICRC-103";
pub const ICRC106_URL: &str = "https://github.com/dfinity/ICRC/pull/106";

/// A ledger's token as its canister describes it.
pub trait IcrcToken: IcrcConfig {
    fn token_name(&self) -> String;
    fn token_symbol(&self) -> String;
    fn decimals(&self) -> u8;
    /// `icrc1_metadata`: the standard entries and the ledger's own.
    fn metadata(&self) -> Vec<(String, MetadataValue)>;
    fn index_principal(&self) -> Option<Principal>;
    fn max_blocks_per_request(&self) -> u64;
    /// The most allowances one ICRC-103 listing returns.
    fn max_take_allowances(&self) -> u64;
    /// The standards `icrc1_supported_standards` lists (name, URL).
    fn supported_standards(&self) -> Vec<(&'static str, &'static str)>;
    /// The `GenericError` code for an account whose owner may not take part
    /// in transactions (the cycles ledger refuses the management canister).
    fn refused_owner(&self, _owner: &Principal) -> Option<u64> {
        None
    }
}

/// A name and URL in `icrc1_supported_standards`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SupportedStandard {
    pub name: String,
    pub url: String,
}

pub fn supported_standards<C: IcrcToken>(config: &C) -> Vec<SupportedStandard> {
    config
        .supported_standards()
        .into_iter()
        .map(|(name, url)| SupportedStandard {
            name: name.into(),
            url: url.into(),
        })
        .collect()
}

/// The standard metadata entries every ICRC ledger lists first.
pub fn standard_metadata<C: IcrcToken>(config: &C) -> Vec<(String, MetadataValue)> {
    vec![
        (
            "icrc1:decimals".into(),
            MetadataValue::Nat(config.decimals().into()),
        ),
        (
            "icrc1:name".into(),
            MetadataValue::Text(config.token_name()),
        ),
        (
            "icrc1:symbol".into(),
            MetadataValue::Text(config.token_symbol()),
        ),
        (
            "icrc1:fee".into(),
            MetadataValue::Nat(super::errors::nat(config.fee())),
        ),
        (
            "icrc1:max_memo_length".into(),
            MetadataValue::Nat((crate::MAX_MEMO_BYTES as u64).into()),
        ),
    ]
}

/// The blocks of the ranges asked for, in order, at most
/// `max_blocks_per_request` over all of them; ranges that start past the
/// end or do not fit in 64 bits are skipped. Returns the log length too.
pub fn blocks<C: IcrcToken, M: Memory>(
    ledger: &Ledger<Icrc<C>, M>,
    ranges: &[GetBlocksRequest],
) -> (u64, Vec<(u64, ICRC3Value)>) {
    let log_length = ledger.chain_length();
    let mut remaining = ledger.config().max_blocks_per_request();
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
            blocks.push((id, block_value(&block)));
        }
        remaining -= end - start;
    }
    (log_length, blocks)
}

/// ICRC-103: anyone may list anyone's allowances; the caller's own when no
/// account is named.
pub fn allowances<C: IcrcToken, M: Memory>(
    ledger: &Ledger<Icrc<C>, M>,
    caller_account: Account,
    args: GetAllowancesArgs,
    now: u64,
) -> Allowances {
    let max_take = ledger.config().max_take_allowances();
    let from = args.from_account.unwrap_or(caller_account);
    let take = args
        .take
        .map_or(max_take, |n| u64::try_from(&n.0).unwrap_or(max_take))
        .min(max_take);
    ledger
        .allowances_of(&from, args.prev_spender.as_ref(), take as usize, now)
        .into_iter()
        .map(|(from_account, to_spender, allowance)| Allowance {
            from_account,
            to_spender,
            allowance: super::errors::nat(allowance.amount),
            expires_at: allowance.expires_at,
        })
        .collect()
}

/// The first account among `accounts` whose owner the ledger refuses, as
/// a `GenericError`'s code and message.
pub fn refused_owner<C: IcrcToken>(
    config: &C,
    accounts: &[&Account],
    what: &str,
) -> Option<(Nat, String)> {
    accounts.iter().find_map(|a| {
        config.refused_owner(&a.owner).map(|code| {
            (
                Nat::from(code),
                format!("Owner of the account {a} cannot be part of {what}"),
            )
        })
    })
}
