//! The cycles ledger's own operations over the ledger core, without the
//! calls they make: a deposit mints what a call brought, a withdrawal or a
//! creation burns before its call, and a failed call is refunded. The
//! rules and their order are the real cycles ledger's (a failed call
//! costs a second fee; a spender's allowance is restored for a third).

use crate::state::Cycles;
use ic_stable_structures::Memory;
use icrc_ledger_types::icrc1::account::Account;
use ledger_core::ledger::SupplyChange;
use ledger_core::{ApproveRequest, Ledger, TxError};
use nns_api::cycles_ledger::FEE;

/// The memo of a refund after a failed withdrawal, and of an allowance
/// given back.
pub const PENALIZE_MEMO: [u8; 32] = [0xff; 32];
/// The memo of a creation's burn.
pub const CREATE_CANISTER_MEMO: [u8; 32] = [0xfe; 32];
/// The memo of a refund after a failed creation.
pub const REFUND_MEMO: [u8; 32] = [0xfd; 32];

/// A withdrawal's memo names the receiver: a CBOR array holding its
/// principal's bytes, as the real ledger writes it.
pub fn withdraw_memo(receiver: &candid::Principal) -> Vec<u8> {
    let bytes = receiver.as_slice();
    let mut memo = vec![0x81];
    if bytes.len() < 24 {
        memo.push(0x40 | bytes.len() as u8);
    } else {
        memo.extend_from_slice(&[0x58, bytes.len() as u8]);
    }
    memo.extend_from_slice(bytes);
    memo
}

/// Mints the attached cycles less the fee to `to`; returns the block and
/// the new balance. The refusals are the real ledger's traps.
pub fn deposit<D: Memory>(
    ledger: &mut Ledger<Cycles, D>,
    to: Account,
    memo: Option<Vec<u8>>,
    attached: u128,
    now: u64,
) -> Result<(u64, u128), String> {
    if attached < FEE {
        return Err(format!(
            "The requested amount {attached} to be deposited is less than the cycles ledger fee: {FEE}"
        ));
    }
    if attached == FEE {
        return Err(format!(
            "Cannot deposit 0 cycles (amount: {attached}, cycles ledger fee: {FEE})"
        ));
    }
    let mint = SupplyChange {
        account: to,
        spender: None,
        amount: attached - FEE,
        memo,
        created_at_time: None,
        recorded_fee: Some(FEE),
    };
    let block = ledger.mint(mint, now).map_err(|e| format!("{e:?}"))?;
    Ok((block, ledger.balance(&to)))
}

/// A burn paid before a call: who pays, who spends, how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Burn {
    pub from: Account,
    /// The caller of a `_from` method.
    pub spender: Option<Account>,
    pub amount: u128,
    pub memo: Vec<u8>,
    pub created_at_time: Option<u64>,
}

/// What a refund needs to know about the burn it undoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burned {
    pub block: u64,
    /// The spender's allowance's expiry before the burn used it.
    pub allowance_expiry: Option<u64>,
}

/// Burns `amount` and the fee: the block is written and the balance
/// debited before the call that delivers the cycles.
pub fn burn<D: Memory>(
    ledger: &mut Ledger<Cycles, D>,
    burn: Burn,
    now: u64,
) -> Result<Burned, TxError<u128>> {
    let allowance_expiry = burn
        .spender
        .and_then(|spender| ledger.allowance(&burn.from, &spender, now).expires_at);
    let change = SupplyChange {
        account: burn.from,
        spender: burn.spender,
        amount: burn.amount,
        memo: Some(burn.memo),
        created_at_time: burn.created_at_time,
        recorded_fee: None,
    };
    let block = ledger.burn(change, now)?;
    Ok(Burned {
        block,
        allowance_expiry,
    })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refund {
    pub refund_block: Option<u64>,
    pub approval_refund_block: Option<u64>,
}

/// After a failed call: mints back what came back less a fee and, when a
/// spender paid through an allowance that is still valid and the refund
/// exceeds another fee, restores the refund less that fee to the allowance
/// (the approval's fee is the owner's, as any approval's).
pub fn refund<D: Memory>(
    ledger: &mut Ledger<Cycles, D>,
    burn: &Burn,
    burned: Burned,
    returned: u128,
    memo: [u8; 32],
    now: u64,
) -> Refund {
    let refunded = returned.saturating_sub(FEE);
    if refunded == 0 {
        return Refund::default();
    }
    let mint = SupplyChange {
        account: burn.from,
        spender: None,
        amount: refunded,
        memo: Some(memo.to_vec()),
        created_at_time: None,
        recorded_fee: Some(0),
    };
    let refund_block = ledger
        .mint(mint, now)
        .unwrap_or_else(|e| panic!("refunding {refunded} cycles failed: {e:?}"));
    let spender = burn.spender.filter(|s| *s != burn.from);
    let still_valid = burned.allowance_expiry.is_none_or(|expiry| now < expiry);
    let approval_refund_block = match spender {
        Some(spender) if refunded > FEE && still_valid => {
            let current = ledger.allowance(&burn.from, &spender, now);
            let approve = ApproveRequest {
                from: burn.from,
                spender,
                allowance: current.amount.saturating_add(refunded - FEE),
                expected_allowance: None,
                expires_at: current.expires_at.or(burned.allowance_expiry),
                fee: None,
                memo: Some(PENALIZE_MEMO.to_vec()),
                created_at_time: None,
            };
            Some(
                ledger
                    .approve(approve, now)
                    .unwrap_or_else(|e| panic!("restoring the allowance failed: {e:?}")),
            )
        }
        _ => None,
    };
    Refund {
        refund_block: Some(refund_block),
        approval_refund_block,
    }
}

#[cfg(test)]
mod tests;
