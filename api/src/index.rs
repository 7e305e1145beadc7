//! Types of the ICP index canister's interface (`candid/index.did`, the real
//! index's `rs/ledger_suite/icp/index/index.did`): accounts as 64-hex-digit
//! account identifiers, transactions as the index shows them.

use crate::icp_block::{self, Block};
use crate::ledger::{TimeStamp, Tokens};
use candid::{CandidType, Deserialize, Nat, Principal};
use serde_bytes::ByteBuf;

/// How often the real index asks the ledger for new blocks when it is idle.
pub const DEFAULT_RETRIEVE_BLOCKS_FROM_LEDGER_INTERVAL_SECONDS: u64 = 1;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArg {
    pub ledger_id: Principal,
    pub retrieve_blocks_from_ledger_interval_seconds: Option<u64>,
}

/// What an upgrade changes; `None` keeps the current value.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeArg {
    pub ledger_id: Option<Principal>,
    pub retrieve_blocks_from_ledger_interval_seconds: Option<u64>,
}

/// The install argument: `Init` on install, `Upgrade` (or nothing) on upgrade.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum IndexArg {
    Init(InitArg),
    Upgrade(UpgradeArg),
}

/// An ICRC-1 account. The subaccount is kept as bytes so that a wrong length
/// gets the index's error rather than a decoding failure.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub owner: Principal,
    pub subaccount: Option<ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetAccountIdentifierTransactionsArgs {
    pub max_results: u64,
    /// The newest block index *not* to return: the page holds the account's
    /// transactions before it, newest first (from the newest when `None`).
    pub start: Option<u64>,
    /// 64 hexadecimal digits.
    pub account_identifier: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetAccountTransactionsArgs {
    pub account: Account,
    pub start: Option<Nat>,
    pub max_results: Nat,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetAccountIdentifierTransactionsError {
    pub message: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetAccountIdentifierTransactionsResponse {
    pub balance: u64,
    pub transactions: Vec<TransactionWithId>,
    /// The account's first block, so that a client knows when it has paged
    /// through the whole history.
    pub oldest_tx_id: Option<u64>,
}

pub type GetAccountIdentifierTransactionsResult =
    Result<GetAccountIdentifierTransactionsResponse, GetAccountIdentifierTransactionsError>;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetBlocksRequest {
    pub start: Nat,
    pub length: Nat,
}

/// Blocks in the ledger's protobuf encoding, as `query_encoded_blocks`
/// serves them.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetBlocksResponse {
    pub blocks: Vec<ByteBuf>,
    pub chain_length: u64,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub num_blocks_synced: u64,
}

/// An operation with its accounts as 64-hex-digit account identifiers.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    Approve {
        fee: Tokens,
        from: String,
        allowance: Tokens,
        expires_at: Option<TimeStamp>,
        spender: String,
        expected_allowance: Option<Tokens>,
    },
    Burn {
        from: String,
        amount: Tokens,
        spender: Option<String>,
    },
    Mint {
        to: String,
        amount: Tokens,
    },
    Transfer {
        to: String,
        fee: Tokens,
        from: String,
        amount: Tokens,
        spender: Option<String>,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub memo: u64,
    pub icrc1_memo: Option<ByteBuf>,
    pub operation: Operation,
    pub created_at_time: Option<TimeStamp>,
    /// When the ledger made the block.
    pub timestamp: Option<TimeStamp>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransactionWithId {
    /// The block index.
    pub id: u64,
    pub transaction: Transaction,
}

fn tokens(e8s: u64) -> Tokens {
    Tokens::from_e8s(e8s)
}

fn time(timestamp_nanos: u64) -> TimeStamp {
    TimeStamp { timestamp_nanos }
}

impl From<&icp_block::Operation> for Operation {
    fn from(operation: &icp_block::Operation) -> Self {
        match operation {
            icp_block::Operation::Mint { to, amount } => Self::Mint {
                to: to.to_hex(),
                amount: tokens(*amount),
            },
            icp_block::Operation::Burn {
                from,
                spender,
                amount,
            } => Self::Burn {
                from: from.to_hex(),
                amount: tokens(*amount),
                spender: spender.map(|s| s.to_hex()),
            },
            icp_block::Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee,
            } => Self::Transfer {
                to: to.to_hex(),
                fee: tokens(*fee),
                from: from.to_hex(),
                amount: tokens(*amount),
                spender: spender.map(|s| s.to_hex()),
            },
            icp_block::Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => Self::Approve {
                fee: tokens(*fee),
                from: from.to_hex(),
                allowance: tokens(*allowance),
                expires_at: expires_at.map(time),
                spender: spender.to_hex(),
                expected_allowance: expected_allowance.map(tokens),
            },
        }
    }
}

/// A block as the index shows it: the block's time as `timestamp`, the
/// caller's `created_at_time` as given.
impl From<&Block> for Transaction {
    fn from(block: &Block) -> Self {
        let tx = &block.transaction;
        Self {
            memo: tx.memo,
            icrc1_memo: tx.icrc1_memo.clone().map(ByteBuf::from),
            operation: Operation::from(&tx.operation),
            created_at_time: tx.created_at_time.map(time),
            timestamp: Some(time(block.timestamp)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccountIdentifier;
    use crate::icp_block::Transaction as BlockTransaction;

    fn account(n: u8) -> AccountIdentifier {
        AccountIdentifier::new(&Principal::from_slice(&[n]), None)
    }

    #[test]
    fn a_block_shows_its_time_and_the_callers_fields_with_text_accounts() {
        let block = Block {
            parent_hash: None,
            transaction: BlockTransaction {
                operation: icp_block::Operation::Transfer {
                    from: account(1),
                    to: account(2),
                    spender: Some(account(3)),
                    amount: 5,
                    fee: 10_000,
                },
                memo: 7,
                icrc1_memo: Some(vec![1, 2]),
                created_at_time: Some(42),
            },
            timestamp: 99,
        };
        assert_eq!(
            Transaction::from(&block),
            Transaction {
                memo: 7,
                icrc1_memo: Some(ByteBuf::from(vec![1, 2])),
                operation: Operation::Transfer {
                    to: account(2).to_hex(),
                    fee: tokens(10_000),
                    from: account(1).to_hex(),
                    amount: tokens(5),
                    spender: Some(account(3).to_hex()),
                },
                created_at_time: Some(time(42)),
                timestamp: Some(time(99)),
            }
        );
    }

    #[test]
    fn approvals_keep_their_optional_fields() {
        let approve = icp_block::Operation::Approve {
            from: account(1),
            spender: account(2),
            allowance: 100,
            expected_allowance: Some(3),
            expires_at: None,
            fee: 10_000,
        };
        assert_eq!(
            Operation::from(&approve),
            Operation::Approve {
                fee: tokens(10_000),
                from: account(1).to_hex(),
                allowance: tokens(100),
                expires_at: None,
                spender: account(2).to_hex(),
                expected_allowance: Some(tokens(3)),
            }
        );
    }
}
