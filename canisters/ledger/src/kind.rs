//! The ICP ledger as a kind of the shared ledger core: accounts are account
//! identifiers (32 bytes, their own keys), amounts are e8s in 64 bits,
//! blocks are the real ledger's protobuf blocks and a transaction is
//! deduplicated by the hash of what its block records.

use crate::block::StoredBlock;
use crate::config::Config;
use ledger_core::{Hash, LedgerKind, Operation};
use nns_api::AccountIdentifier;
use nns_api::icp_block::{self, Block, Transaction};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icp;

/// An ICP transaction's two memos: the legacy number and the ICRC-1 bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memos {
    pub memo: u64,
    pub icrc1_memo: Option<Vec<u8>>,
}

impl Memos {
    pub fn icrc1(memo: Option<Vec<u8>>) -> Self {
        Self {
            memo: 0,
            icrc1_memo: memo,
        }
    }
}

impl LedgerKind for Icp {
    type Account = AccountIdentifier;
    type Key = [u8; 32];
    type PairKey = [u8; 64];
    type ExpiryKey = [u8; 72];
    type Amount = u64;
    type Memo = Memos;
    type Transaction = Transaction;
    type Block = Block;
    type StoredBlock = StoredBlock;
    type Config = Config;

    /// An account identifier hides its owner: a listing runs over it alone.
    const OWNER_PREFIX: usize = 32;
    const OWNER_SPENDER_BURN_REFUSED: bool = true;

    fn key(account: &AccountIdentifier) -> [u8; 32] {
        *account.as_bytes()
    }

    fn account(key: &[u8; 32]) -> AccountIdentifier {
        AccountIdentifier::from_stored_bytes(*key)
    }

    /// Account identifiers are hashes: their bytes after the checksum
    /// spread well.
    fn cache_place(key: &[u8; 32]) -> u64 {
        u64::from_le_bytes(key[4..12].try_into().expect("8 bytes"))
    }

    fn minting_account(config: &Config) -> Option<AccountIdentifier> {
        Some(config.minting_account)
    }

    fn fee(config: &Config) -> u64 {
        config.transfer_fee.e8s
    }

    fn transaction_window_nanos(config: &Config) -> u64 {
        config.transaction_window_nanos
    }

    fn icrc2_enabled(config: &Config) -> bool {
        config.icrc2_enabled
    }

    fn memo_len(memo: &Memos) -> usize {
        memo.icrc1_memo.as_ref().map_or(0, Vec::len)
    }

    /// The block records the effective fee, never the requested one.
    fn transaction(
        operation: Operation<AccountIdentifier, u64>,
        memo: Memos,
        created_at_time: Option<u64>,
        _requested_fee: Option<u64>,
    ) -> Transaction {
        Transaction {
            operation: to_icp(operation),
            memo: memo.memo,
            icrc1_memo: memo.icrc1_memo,
            created_at_time,
        }
    }

    fn operation(tx: &Transaction) -> Operation<AccountIdentifier, u64> {
        from_icp(&tx.operation)
    }

    fn created_at_time(tx: &Transaction) -> Option<u64> {
        tx.created_at_time
    }

    fn transaction_hash(tx: &Transaction) -> Hash {
        tx.hash()
    }

    fn block(parent_hash: Option<Hash>, transaction: Transaction, timestamp: u64) -> Block {
        Block {
            parent_hash,
            transaction,
            timestamp,
        }
    }

    fn block_transaction(block: &Block) -> &Transaction {
        &block.transaction
    }

    fn block_timestamp(block: &Block) -> u64 {
        block.timestamp
    }

    fn set_parent_hash(block: &mut Block, parent_hash: Hash) {
        block.parent_hash = Some(parent_hash);
    }

    fn block_hash(block: &Block) -> Hash {
        block.hash()
    }

    fn store(block: Block) -> StoredBlock {
        StoredBlock(block)
    }

    fn load(stored: StoredBlock) -> Block {
        stored.0
    }
}

fn to_icp(operation: Operation<AccountIdentifier, u64>) -> icp_block::Operation {
    match operation {
        Operation::Mint { to, amount } => icp_block::Operation::Mint { to, amount },
        Operation::Burn {
            from,
            spender,
            amount,
            fee,
        } => {
            // The ICP ledger burns only by transfers to the minting
            // account, which pay no fee; its blocks have no place for one.
            assert_eq!(fee, 0, "ICP burns carry no fee");
            icp_block::Operation::Burn {
                from,
                spender,
                amount,
            }
        }
        Operation::Transfer {
            from,
            to,
            spender,
            amount,
            fee,
        } => icp_block::Operation::Transfer {
            from,
            to,
            spender,
            amount,
            fee,
        },
        Operation::Approve {
            from,
            spender,
            allowance,
            expected_allowance,
            expires_at,
            fee,
        } => icp_block::Operation::Approve {
            from,
            spender,
            allowance,
            expected_allowance,
            expires_at,
            fee,
        },
    }
}

fn from_icp(operation: &icp_block::Operation) -> Operation<AccountIdentifier, u64> {
    match *operation {
        icp_block::Operation::Mint { to, amount } => Operation::Mint { to, amount },
        icp_block::Operation::Burn {
            from,
            spender,
            amount,
        } => Operation::Burn {
            from,
            spender,
            amount,
            fee: 0,
        },
        icp_block::Operation::Transfer {
            from,
            to,
            spender,
            amount,
            fee,
        } => Operation::Transfer {
            from,
            to,
            spender,
            amount,
            fee,
        },
        icp_block::Operation::Approve {
            from,
            spender,
            allowance,
            expected_allowance,
            expires_at,
            fee,
        } => Operation::Approve {
            from,
            spender,
            allowance,
            expected_allowance,
            expires_at,
            fee,
        },
    }
}
