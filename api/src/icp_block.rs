//! ICP ledger blocks and the two hashes the real ledger defines over them:
//! a block is encoded as the protobuf message `ic_ledger.pb.v1.Block` and
//! its hash is SHA-256 of those bytes (each block names its parent's); a
//! transaction's hash, the deduplication key, is SHA-256 of the transaction
//! in serde_cbor's packed form. `docs/icp-ledger-formats.md` has the
//! layouts. The ledger makes these blocks; the index canister and clients
//! read them back.

use crate::AccountIdentifier;
use crate::ledger::{CandidBlock, CandidOperation, CandidTransaction, TimeStamp, Tokens};
use crate::protobuf::{self, DecodeError, Reader, Value, Writer};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// What a block does to balances and allowances.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Mint {
        to: AccountIdentifier,
        amount: u64,
    },
    Burn {
        from: AccountIdentifier,
        spender: Option<AccountIdentifier>,
        amount: u64,
    },
    Transfer {
        from: AccountIdentifier,
        to: AccountIdentifier,
        spender: Option<AccountIdentifier>,
        amount: u64,
        fee: u64,
    },
    Approve {
        from: AccountIdentifier,
        spender: AccountIdentifier,
        allowance: u64,
        expected_allowance: Option<u64>,
        expires_at: Option<u64>,
        fee: u64,
    },
}

/// An operation with what the caller said about it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transaction {
    pub operation: Operation,
    /// The legacy numeric memo (0 for ICRC calls).
    pub memo: u64,
    /// The ICRC-1 memo, at most 32 bytes.
    pub icrc1_memo: Option<Vec<u8>>,
    pub created_at_time: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub parent_hash: Option<Hash>,
    pub transaction: Transaction,
    /// Ledger time (ns) when the block was made.
    pub timestamp: u64,
}

pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

// Field numbers of `ic_ledger.pb.v1`.
mod field {
    pub const BLOCK_PARENT_HASH: u32 = 1;
    pub const BLOCK_TIMESTAMP: u32 = 2;
    pub const BLOCK_TRANSACTION: u32 = 3;
    pub const TX_BURN: u32 = 1;
    pub const TX_MINT: u32 = 2;
    pub const TX_SEND: u32 = 3;
    pub const TX_MEMO: u32 = 4;
    pub const TX_CREATED_AT_TIME: u32 = 6;
    pub const TX_ICRC1_MEMO: u32 = 7;
    pub const SEND_FROM: u32 = 1;
    pub const SEND_TO: u32 = 2;
    pub const SEND_AMOUNT: u32 = 3;
    pub const SEND_MAX_FEE: u32 = 4;
    pub const SEND_APPROVE: u32 = 5;
    pub const SEND_TRANSFER_FROM: u32 = 6;
    pub const APPROVE_ALLOWANCE: u32 = 1;
    pub const APPROVE_EXPIRES_AT: u32 = 2;
    pub const APPROVE_EXPECTED_ALLOWANCE: u32 = 3;
    pub const TRANSFER_FROM_SPENDER: u32 = 1;
    pub const MINT_TO: u32 = 2;
    pub const MINT_AMOUNT: u32 = 3;
    pub const BURN_FROM: u32 = 1;
    pub const BURN_AMOUNT: u32 = 3;
    pub const BURN_SPENDER: u32 = 4;
}

impl Block {
    /// The protobuf `Block` bytes, as the real ledger encodes them.
    pub fn to_protobuf(&self) -> Vec<u8> {
        protobuf::encode(|w| {
            if let Some(parent) = &self.parent_hash {
                w.wrapped_bytes(field::BLOCK_PARENT_HASH, parent);
            }
            w.wrapped_uint64(field::BLOCK_TIMESTAMP, self.timestamp);
            w.message(field::BLOCK_TRANSACTION, |w| self.transaction.write(w));
        })
    }

    /// This block's hash, which the next block names as its parent.
    pub fn hash(&self) -> Hash {
        sha256(&self.to_protobuf())
    }

    /// Reads protobuf `Block` bytes. Account identifiers must be the 32-byte
    /// form (checksum and hash) this ledger writes.
    pub fn from_protobuf(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut parent_hash = None;
        let mut timestamp = 0;
        let mut transaction = None;
        let mut fields = Reader::new(bytes);
        while let Some((number, value)) = fields.next_field()? {
            match number {
                field::BLOCK_PARENT_HASH => {
                    let hash = value.wrapped_bytes()?;
                    parent_hash = Some(
                        hash.try_into()
                            .map_err(|_| DecodeError("a parent hash is 32 bytes".into()))?,
                    );
                }
                field::BLOCK_TIMESTAMP => timestamp = value.wrapped_u64()?,
                field::BLOCK_TRANSACTION => {
                    transaction = Some(Transaction::read(value.as_bytes()?)?);
                }
                _ => {}
            }
        }
        Ok(Self {
            parent_hash,
            transaction: transaction
                .ok_or_else(|| DecodeError("a block has a transaction".into()))?,
            timestamp,
        })
    }
}

fn account(value: Value) -> Result<AccountIdentifier, DecodeError> {
    AccountIdentifier::from_slice(value.wrapped_bytes()?)
        .map_err(|e| DecodeError(format!("account identifier: {e}")))
}

fn missing(what: &str) -> DecodeError {
    DecodeError(format!("missing {what}"))
}

impl Transaction {
    fn write(&self, w: &mut Writer) {
        match &self.operation {
            Operation::Burn {
                from,
                spender,
                amount,
            } => {
                w.message(field::TX_BURN, |w| {
                    w.wrapped_bytes(field::BURN_FROM, from.as_bytes())
                        .wrapped_uint64(field::BURN_AMOUNT, *amount);
                    if let Some(spender) = spender {
                        w.wrapped_bytes(field::BURN_SPENDER, spender.as_bytes());
                    }
                });
            }
            Operation::Mint { to, amount } => {
                w.message(field::TX_MINT, |w| {
                    w.wrapped_bytes(field::MINT_TO, to.as_bytes())
                        .wrapped_uint64(field::MINT_AMOUNT, *amount);
                });
            }
            Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee,
            } => {
                w.message(field::TX_SEND, |w| {
                    w.wrapped_bytes(field::SEND_FROM, from.as_bytes())
                        .wrapped_bytes(field::SEND_TO, to.as_bytes())
                        .wrapped_uint64(field::SEND_AMOUNT, *amount)
                        .wrapped_uint64(field::SEND_MAX_FEE, *fee);
                    if let Some(spender) = spender {
                        w.message(field::SEND_TRANSFER_FROM, |w| {
                            w.wrapped_bytes(field::TRANSFER_FROM_SPENDER, spender.as_bytes());
                        });
                    }
                });
            }
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => {
                // An approval is a `Send` of nothing to the spender.
                w.message(field::TX_SEND, |w| {
                    w.wrapped_bytes(field::SEND_FROM, from.as_bytes())
                        .wrapped_bytes(field::SEND_TO, spender.as_bytes())
                        .wrapped_uint64(field::SEND_AMOUNT, 0)
                        .wrapped_uint64(field::SEND_MAX_FEE, *fee)
                        .message(field::SEND_APPROVE, |w| {
                            w.wrapped_uint64(field::APPROVE_ALLOWANCE, *allowance);
                            if let Some(expires_at) = expires_at {
                                w.wrapped_uint64(field::APPROVE_EXPIRES_AT, *expires_at);
                            }
                            if let Some(expected) = expected_allowance {
                                w.wrapped_uint64(field::APPROVE_EXPECTED_ALLOWANCE, *expected);
                            }
                        });
                });
            }
        }
        w.wrapped_uint64(field::TX_MEMO, self.memo);
        if let Some(time) = self.created_at_time {
            w.wrapped_uint64(field::TX_CREATED_AT_TIME, time);
        }
        if let Some(memo) = &self.icrc1_memo {
            w.wrapped_bytes(field::TX_ICRC1_MEMO, memo);
        }
    }

    fn read(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut operation = None;
        let mut memo = 0;
        let mut created_at_time = None;
        let mut icrc1_memo = None;
        let mut fields = Reader::new(bytes);
        while let Some((number, value)) = fields.next_field()? {
            match number {
                field::TX_BURN => operation = Some(read_burn(value.as_bytes()?)?),
                field::TX_MINT => operation = Some(read_mint(value.as_bytes()?)?),
                field::TX_SEND => operation = Some(read_send(value.as_bytes()?)?),
                field::TX_MEMO => memo = value.wrapped_u64()?,
                field::TX_CREATED_AT_TIME => created_at_time = Some(value.wrapped_u64()?),
                field::TX_ICRC1_MEMO => icrc1_memo = Some(value.wrapped_bytes()?.to_vec()),
                _ => {}
            }
        }
        Ok(Self {
            operation: operation.ok_or_else(|| missing("operation"))?,
            memo,
            icrc1_memo,
            created_at_time,
        })
    }

    /// The deduplication key: SHA-256 of the transaction in packed CBOR.
    pub fn hash(&self) -> Hash {
        sha256(&self.to_cbor())
    }

    /// serde_cbor's packed form of the real ledger's `Transaction`: structs
    /// are maps keyed by field index, an enum variant is a one-entry map
    /// from its index, newtypes are their content, and the fields the real
    /// type skips when `None` (a spender, the ICRC-1 memo) are left out.
    fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let c = &mut out;
        cbor_head(c, MAP, 3 + u64::from(self.icrc1_memo.is_some()));
        cbor_head(c, UINT, 0);
        cbor_head(c, MAP, 1);
        match &self.operation {
            Operation::Burn {
                from,
                spender,
                amount,
            } => {
                cbor_head(c, UINT, 0);
                cbor_head(c, MAP, 2 + u64::from(spender.is_some()));
                cbor_entry(c, 0, |c| cbor_account(c, from));
                cbor_entry(c, 1, |c| cbor_tokens(c, *amount));
                if let Some(spender) = spender {
                    cbor_entry(c, 2, |c| cbor_account(c, spender));
                }
            }
            Operation::Mint { to, amount } => {
                cbor_head(c, UINT, 1);
                cbor_head(c, MAP, 2);
                cbor_entry(c, 0, |c| cbor_account(c, to));
                cbor_entry(c, 1, |c| cbor_tokens(c, *amount));
            }
            Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee,
            } => {
                cbor_head(c, UINT, 2);
                cbor_head(c, MAP, 4 + u64::from(spender.is_some()));
                cbor_entry(c, 0, |c| cbor_account(c, from));
                cbor_entry(c, 1, |c| cbor_account(c, to));
                cbor_entry(c, 2, |c| cbor_tokens(c, *amount));
                cbor_entry(c, 3, |c| cbor_tokens(c, *fee));
                if let Some(spender) = spender {
                    cbor_entry(c, 4, |c| cbor_account(c, spender));
                }
            }
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => {
                cbor_head(c, UINT, 3);
                cbor_head(c, MAP, 6);
                cbor_entry(c, 0, |c| cbor_account(c, from));
                cbor_entry(c, 1, |c| cbor_account(c, spender));
                cbor_entry(c, 2, |c| cbor_tokens(c, *allowance));
                cbor_entry(c, 3, |c| cbor_option(c, *expected_allowance));
                cbor_entry(c, 4, |c| cbor_option(c, *expires_at));
                cbor_entry(c, 5, |c| cbor_tokens(c, *fee));
            }
        }
        cbor_entry(c, 1, |c| cbor_head(c, UINT, self.memo));
        cbor_entry(c, 2, |c| cbor_option(c, self.created_at_time));
        if let Some(memo) = &self.icrc1_memo {
            cbor_entry(c, 3, |c| {
                cbor_head(c, BYTES, memo.len() as u64);
                c.extend_from_slice(memo);
            });
        }
        out
    }
}

fn read_burn(bytes: &[u8]) -> Result<Operation, DecodeError> {
    let (mut from, mut amount, mut spender) = (None, 0, None);
    let mut fields = Reader::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            field::BURN_FROM => from = Some(account(value)?),
            field::BURN_AMOUNT => amount = value.wrapped_u64()?,
            field::BURN_SPENDER => spender = Some(account(value)?),
            _ => {}
        }
    }
    Ok(Operation::Burn {
        from: from.ok_or_else(|| missing("burn.from"))?,
        spender,
        amount,
    })
}

fn read_mint(bytes: &[u8]) -> Result<Operation, DecodeError> {
    let (mut to, mut amount) = (None, 0);
    let mut fields = Reader::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            field::MINT_TO => to = Some(account(value)?),
            field::MINT_AMOUNT => amount = value.wrapped_u64()?,
            _ => {}
        }
    }
    Ok(Operation::Mint {
        to: to.ok_or_else(|| missing("mint.to"))?,
        amount,
    })
}

/// What a `Send` extends a transfer with.
enum Extension {
    Approve {
        allowance: u64,
        expires_at: Option<u64>,
        expected_allowance: Option<u64>,
    },
    TransferFrom {
        spender: AccountIdentifier,
    },
}

fn read_send(bytes: &[u8]) -> Result<Operation, DecodeError> {
    let (mut from, mut to, mut amount, mut fee, mut extension) = (None, None, 0, 0, None);
    let mut fields = Reader::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            field::SEND_FROM => from = Some(account(value)?),
            field::SEND_TO => to = Some(account(value)?),
            field::SEND_AMOUNT => amount = value.wrapped_u64()?,
            field::SEND_MAX_FEE => fee = value.wrapped_u64()?,
            field::SEND_APPROVE => extension = Some(read_approve(value.as_bytes()?)?),
            field::SEND_TRANSFER_FROM => {
                let mut spender = None;
                let mut inner = Reader::new(value.as_bytes()?);
                while let Some((number, value)) = inner.next_field()? {
                    if number == field::TRANSFER_FROM_SPENDER {
                        spender = Some(account(value)?);
                    }
                }
                extension = Some(Extension::TransferFrom {
                    spender: spender.ok_or_else(|| missing("transfer_from.spender"))?,
                });
            }
            _ => {}
        }
    }
    let from = from.ok_or_else(|| missing("send.from"))?;
    let to = to.ok_or_else(|| missing("send.to"))?;
    Ok(match extension {
        Some(Extension::Approve {
            allowance,
            expires_at,
            expected_allowance,
        }) => Operation::Approve {
            from,
            spender: to,
            allowance,
            expected_allowance,
            expires_at,
            fee,
        },
        Some(Extension::TransferFrom { spender }) => Operation::Transfer {
            from,
            to,
            spender: Some(spender),
            amount,
            fee,
        },
        None => Operation::Transfer {
            from,
            to,
            spender: None,
            amount,
            fee,
        },
    })
}

fn read_approve(bytes: &[u8]) -> Result<Extension, DecodeError> {
    let (mut allowance, mut expires_at, mut expected_allowance) = (0, None, None);
    let mut fields = Reader::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            field::APPROVE_ALLOWANCE => allowance = value.wrapped_u64()?,
            field::APPROVE_EXPIRES_AT => expires_at = Some(value.wrapped_u64()?),
            field::APPROVE_EXPECTED_ALLOWANCE => expected_allowance = Some(value.wrapped_u64()?),
            _ => {}
        }
    }
    Ok(Extension::Approve {
        allowance,
        expires_at,
        expected_allowance,
    })
}

// CBOR major types.
const UINT: u8 = 0;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const MAP: u8 = 5;
const NULL: u8 = 0xf6;

/// A CBOR head in its shortest form, as serde_cbor writes it.
fn cbor_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let major = major << 5;
    match value {
        0..=23 => out.push(major | value as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, value as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(value as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(value as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

fn cbor_entry(out: &mut Vec<u8>, key: u64, value: impl FnOnce(&mut Vec<u8>)) {
    cbor_head(out, UINT, key);
    value(out);
}

/// An account identifier serializes as its 64-digit lowercase hex text.
fn cbor_account(out: &mut Vec<u8>, account: &AccountIdentifier) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    cbor_head(out, TEXT, 64);
    for byte in account.as_bytes() {
        out.push(DIGITS[usize::from(byte >> 4)]);
        out.push(DIGITS[usize::from(byte & 0xf)]);
    }
}

/// `Tokens { e8s }` and `TimeStamp { timestamp_nanos }`: one-field structs.
fn cbor_tokens(out: &mut Vec<u8>, value: u64) {
    cbor_head(out, MAP, 1);
    cbor_entry(out, 0, |out| cbor_head(out, UINT, value));
}

fn cbor_option(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        Some(value) => cbor_tokens(out, value),
        None => out.push(NULL),
    }
}

impl From<Block> for CandidBlock {
    /// A block as `query_blocks` shows it.
    fn from(block: Block) -> Self {
        let tx = block.transaction;
        let tokens = Tokens::from_e8s;
        let operation = match tx.operation {
            Operation::Mint { to, amount } => CandidOperation::Mint {
                to,
                amount: tokens(amount),
            },
            Operation::Burn {
                from,
                spender,
                amount,
            } => CandidOperation::Burn {
                from,
                spender,
                amount: tokens(amount),
            },
            Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee,
            } => CandidOperation::Transfer {
                from,
                to,
                amount: tokens(amount),
                fee: tokens(fee),
                spender: spender.map(|s| serde_bytes::ByteBuf::from(s.as_bytes().to_vec())),
            },
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => CandidOperation::Approve {
                from,
                spender,
                allowance_e8s: candid::Int::from(allowance),
                allowance: tokens(allowance),
                fee: tokens(fee),
                expires_at: expires_at.map(|t| TimeStamp { timestamp_nanos: t }),
                expected_allowance: expected_allowance.map(tokens),
            },
        };
        CandidBlock {
            parent_hash: block
                .parent_hash
                .map(|h| serde_bytes::ByteBuf::from(h.to_vec())),
            transaction: CandidTransaction {
                memo: tx.memo,
                icrc1_memo: tx.icrc1_memo.map(serde_bytes::ByteBuf::from),
                operation: Some(operation),
                // The legacy type has no "absent": like the real ledger, show
                // the block's time.
                created_at_time: TimeStamp {
                    timestamp_nanos: tx.created_at_time.unwrap_or(block.timestamp),
                },
            },
            timestamp: TimeStamp {
                timestamp_nanos: block.timestamp,
            },
        }
    }
}

#[cfg(test)]
mod tests;
