//! The query endpoints' rules: reading their arguments, bounding their
//! answers, paging histories.

use crate::index::Index;
use candid::{Nat, Principal};
use ic_stable_structures::Memory;
use nns_api::AccountIdentifier;
use nns_api::index::{
    Account, GetAccountIdentifierTransactionsArgs, GetAccountIdentifierTransactionsError,
    GetAccountIdentifierTransactionsResult, GetAccountTransactionsArgs, GetBlocksRequest,
    GetBlocksResponse,
};
use nns_api::ledger::MAX_BLOCKS_PER_RESPONSE;
use serde_bytes::ByteBuf;

/// What a user's query run as an update (an ingress message, which every
/// node executes) gets at most, as on the real index and ledger.
pub const MAX_RESULTS_PER_INGRESS_REPLICATED_QUERY: u64 = 50;

/// The most blocks or transactions one answer holds: the real index's
/// limit (the ledger's `max_blocks_per_request`); larger requests are cut
/// to it, as there.
pub fn max_results(caller: &Principal, replicated: bool) -> u64 {
    let self_authenticating = caller.as_slice().len() == 29 && caller.as_slice()[28] == 0x02;
    if self_authenticating && replicated {
        MAX_RESULTS_PER_INGRESS_REPLICATED_QUERY
    } else {
        MAX_BLOCKS_PER_RESPONSE
    }
}

pub fn parse_account_identifier(text: &str) -> Result<AccountIdentifier, String> {
    let invalid = |reason: String| format!("invalid account identifier {text:?}: {reason}");
    if text.len() != 64 {
        return Err(invalid(format!(
            "an account identifier in text is 64 hexadecimal digits, not {} characters",
            text.chars().count()
        )));
    }
    AccountIdentifier::from_hex_or_hash(text).map_err(|e| invalid(e.to_string()))
}

/// The ICP account identifier of an ICRC-1 account.
pub fn account_identifier_of(account: &Account) -> Result<AccountIdentifier, String> {
    let subaccount = match &account.subaccount {
        None => None,
        Some(bytes) => Some(
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| format!("a subaccount is 32 bytes, not {}", bytes.len()))?,
        ),
    };
    Ok(AccountIdentifier::new(&account.owner, subaccount.as_ref()))
}

fn error(message: String) -> GetAccountIdentifierTransactionsError {
    GetAccountIdentifierTransactionsError { message }
}

pub fn account_identifier_transactions<M: Memory>(
    index: &Index<M>,
    args: &GetAccountIdentifierTransactionsArgs,
    cap: u64,
) -> GetAccountIdentifierTransactionsResult {
    let account = parse_account_identifier(&args.account_identifier).map_err(error)?;
    let max_results = usize::try_from(args.max_results.min(cap)).expect("the cap fits");
    Ok(index.account_transactions(&account, args.start, max_results))
}

/// A number past `u64::MAX` means the same as `u64::MAX` here: no block
/// has so high an index, and every answer is capped far below.
fn saturating_u64(n: &Nat) -> u64 {
    u64::try_from(&n.0).unwrap_or(u64::MAX)
}

pub fn account_transactions<M: Memory>(
    index: &Index<M>,
    args: &GetAccountTransactionsArgs,
    cap: u64,
) -> GetAccountIdentifierTransactionsResult {
    let account = account_identifier_of(&args.account).map_err(error)?;
    let max_results =
        usize::try_from(saturating_u64(&args.max_results).min(cap)).expect("the cap fits");
    let start = args.start.as_ref().map(saturating_u64);
    Ok(index.account_transactions(&account, start, max_results))
}

pub fn blocks<M: Memory>(
    index: &Index<M>,
    request: &GetBlocksRequest,
    cap: u64,
) -> GetBlocksResponse {
    let length = saturating_u64(&request.length).min(cap);
    GetBlocksResponse {
        blocks: index
            .encoded_blocks(saturating_u64(&request.start), length)
            .into_iter()
            .map(ByteBuf::from)
            .collect(),
        chain_length: index.num_blocks(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::{Chain, account, empty_index, owner};

    #[test]
    fn caps_answers_as_the_real_index() {
        let user = Principal::self_authenticating([7; 32]);
        let canister = nns_api::ids::LEDGER_CANISTER_ID;
        assert_eq!(max_results(&user, true), 50);
        assert_eq!(max_results(&user, false), 2_000);
        assert_eq!(max_results(&canister, true), 2_000);
        assert_eq!(max_results(&Principal::anonymous(), true), 2_000);
    }

    #[test]
    fn refuses_a_bad_account_identifier_with_a_clear_message() {
        let index = empty_index();
        let args = |text: &str| GetAccountIdentifierTransactionsArgs {
            max_results: 10,
            start: None,
            account_identifier: text.into(),
        };
        for (text, expected) in [
            ("abc", "64 hexadecimal digits"),
            (&"zz".repeat(32), "64 hexadecimal digits"),
            (&"00".repeat(32), "checksum"),
        ] {
            let message = account_identifier_transactions(&index, &args(text), 2_000)
                .unwrap_err()
                .message;
            assert!(
                message.contains("invalid account identifier") && message.contains(expected),
                "{text}: {message}"
            );
        }
        let good = account(1).to_hex();
        assert!(account_identifier_transactions(&index, &args(&good), 2_000).is_ok());
        assert!(
            account_identifier_transactions(&index, &args(&good.to_uppercase()), 2_000).is_ok()
        );
    }

    #[test]
    fn an_icrc1_account_is_its_account_identifier_and_its_subaccount_is_32_bytes() {
        let owner = Principal::from_slice(&[1, 2, 3]);
        let with = |subaccount: Option<Vec<u8>>| Account {
            owner,
            subaccount: subaccount.map(ByteBuf::from),
        };
        assert_eq!(
            account_identifier_of(&with(None)),
            Ok(AccountIdentifier::new(&owner, None))
        );
        assert_eq!(
            account_identifier_of(&with(Some(vec![0; 32]))),
            Ok(AccountIdentifier::new(&owner, None))
        );
        assert_eq!(
            account_identifier_of(&with(Some(vec![5; 32]))),
            Ok(AccountIdentifier::new(&owner, Some(&[5; 32])))
        );
        let index = empty_index();
        let args = GetAccountTransactionsArgs {
            account: with(Some(vec![1; 31])),
            start: None,
            max_results: Nat::from(10u8),
        };
        assert_eq!(
            account_transactions(&index, &args, 2_000)
                .unwrap_err()
                .message,
            "a subaccount is 32 bytes, not 31"
        );
    }

    #[test]
    fn pages_are_cut_to_the_cap_and_huge_numbers_saturate() {
        let mut chain = Chain::default();
        for _ in 0..5 {
            chain.mint(1, 100);
        }
        let mut index = empty_index();
        index.append_blocks(&chain.encoded()).unwrap();

        let page = |max_results: Nat, start: Option<Nat>, cap| {
            let args = GetAccountTransactionsArgs {
                account: Account {
                    owner: owner(1),
                    subaccount: None,
                },
                start,
                max_results,
            };
            account_transactions(&index, &args, cap)
                .unwrap()
                .transactions
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        };
        let huge = Nat::from(u128::MAX);
        assert_eq!(page(huge.clone(), None, 3), vec![4, 3, 2]);
        assert_eq!(
            page(huge.clone(), Some(huge.clone()), 2_000),
            vec![4, 3, 2, 1, 0]
        );
        assert_eq!(
            page(Nat::from(2u8), Some(Nat::from(3u8)), 2_000),
            vec![2, 1]
        );
        assert_eq!(page(Nat::from(0u8), None, 2_000), Vec::<u64>::new());

        let blocks =
            |start: Nat, length: Nat, cap| blocks(&index, &GetBlocksRequest { start, length }, cap);
        let all = blocks(Nat::from(0u8), huge.clone(), 2_000);
        assert_eq!(all.chain_length, 5);
        assert_eq!(all.blocks, chain.encoded());
        assert_eq!(
            blocks(Nat::from(1u8), huge.clone(), 2).blocks,
            chain.encoded()[1..3]
        );
        assert!(blocks(huge.clone(), huge, 2_000).blocks.is_empty());
    }
}
