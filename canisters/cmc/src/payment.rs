//! Reading a payment out of a ledger block, and what its memo asks for.

use nns_api::cmc::{MEMO_CREATE_CANISTER, MEMO_MINT_CYCLES, MEMO_TOP_UP};
use nns_api::ledger::{CandidBlock, CandidOperation};
use nns_api::{AccountIdentifier, Subaccount};

/// The memos of the real CMC's operations: a payment with another one is
/// refunded; one of these, notified to the wrong endpoint, is refused.
pub const MEANINGFUL_MEMOS: [u64; 3] = [MEMO_CREATE_CANISTER, MEMO_TOP_UP, MEMO_MINT_CYCLES];

/// An ICP transfer into one of the CMC's subaccounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub from: AccountIdentifier,
    pub amount_e8s: u64,
    /// The fee the payer paid: the ledger's fee at the time.
    pub fee_e8s: u64,
    /// As the real CMC reads it: the legacy memo unless it is 0, else an
    /// 8-byte little-endian ICRC-1 memo, else 0 (which means nothing).
    pub memo: u64,
}

/// The payment in `block` if it is a transfer to `expected_to` (the CMC's
/// account with `expected_subaccount`); otherwise why the block cannot pay
/// for this request, in the real CMC's words.
pub fn read(
    block: &CandidBlock,
    expected_to: &AccountIdentifier,
    expected_subaccount: &Subaccount,
) -> Result<Payment, String> {
    let tx = &block.transaction;
    let Some(CandidOperation::Transfer {
        from,
        to,
        amount,
        fee,
        ..
    }) = &tx.operation
    else {
        return Err("Notification transaction must be of type Transfer".into());
    };
    if to != expected_to {
        let subaccount: String = expected_subaccount
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        return Err(format!(
            "Destination account in the block ({to}) different than in the notification ({subaccount})"
        ));
    }
    let icrc1_memo = || {
        let bytes = tx.icrc1_memo.as_ref()?;
        <[u8; 8]>::try_from(bytes.as_slice())
            .ok()
            .map(u64::from_le_bytes)
    };
    let memo = match tx.memo {
        0 => icrc1_memo().unwrap_or(0),
        memo => memo,
    };
    Ok(Payment {
        from: *from,
        amount_e8s: amount.e8s,
        fee_e8s: fee.e8s,
        memo,
    })
}

fn intent(memo: u64) -> String {
    match memo {
        MEMO_CREATE_CANISTER => "CreateCanister".into(),
        MEMO_TOP_UP => "TopUp".into(),
        MEMO_MINT_CYCLES => "MintCycles".into(),
        other => format!("unrecognized: Memo({other})"),
    }
}

/// Whether a payment with `memo` was made for the operation of `expected`;
/// if not, the real CMC's `InvalidTransaction` text.
pub fn check_memo(memo: u64, expected: u64) -> Result<(), String> {
    if memo == expected {
        return Ok(());
    }
    Err(format!(
        "The memo ({} ({memo})) in the transaction does not match the expected memo ({} \
         ({expected})) for the operation.",
        intent(memo),
        intent(expected)
    ))
}

/// Why a payment whose memo is none of [`MEANINGFUL_MEMOS`] is refunded,
/// in the real CMC's words.
pub fn not_meaningful_reason(memo: u64) -> String {
    format!(
        "Memo ({memo:#08X}) in the incoming ICP transfer does not correspond to any of the \
         operations that the Cycles Minting canister offers."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use nns_api::ledger::{CandidTransaction, TimeStamp, Tokens};
    use serde_bytes::ByteBuf;

    fn account(n: u8) -> AccountIdentifier {
        AccountIdentifier::new(&Principal::from_slice(&[n]), None)
    }

    fn block(operation: CandidOperation, memo: u64, icrc1_memo: Option<Vec<u8>>) -> CandidBlock {
        CandidBlock {
            parent_hash: None,
            transaction: CandidTransaction {
                memo,
                icrc1_memo: icrc1_memo.map(ByteBuf::from),
                operation: Some(operation),
                created_at_time: TimeStamp { timestamp_nanos: 0 },
            },
            timestamp: TimeStamp { timestamp_nanos: 0 },
        }
    }

    fn transfer_to(to: AccountIdentifier) -> CandidOperation {
        CandidOperation::Transfer {
            from: account(1),
            to,
            amount: Tokens::from_e8s(500),
            fee: Tokens::from_e8s(10),
            spender: None,
        }
    }

    fn subaccount(n: u8) -> Subaccount {
        [n; 32]
    }

    #[test]
    fn reads_memos_as_the_real_cmc() {
        let read = |memo, icrc1_memo: Option<Vec<u8>>| {
            let block = block(transfer_to(account(2)), memo, icrc1_memo);
            super::read(&block, &account(2), &subaccount(2)).unwrap()
        };
        assert_eq!(read(MEMO_TOP_UP, None).memo, MEMO_TOP_UP);
        let icrc1 = read(0, Some(MEMO_TOP_UP.to_le_bytes().to_vec()));
        assert_eq!(icrc1.memo, MEMO_TOP_UP);
        assert_eq!((icrc1.amount_e8s, icrc1.fee_e8s), (500, 10));
        // An ICRC-1 memo of another length means nothing; a nonzero legacy
        // memo takes precedence.
        assert_eq!(read(0, Some(vec![1, 2, 3])).memo, 0);
        assert_eq!(read(7, Some(MEMO_TOP_UP.to_le_bytes().to_vec())).memo, 7);
    }

    #[test]
    fn refuses_other_destinations_and_operations() {
        let elsewhere = block(transfer_to(account(3)), MEMO_TOP_UP, None);
        let refused = read(&elsewhere, &account(2), &subaccount(2)).unwrap_err();
        assert!(
            refused.starts_with("Destination account in the block")
                && refused.ends_with(&format!("({})", "02".repeat(32))),
            "{refused}"
        );
        let mint = CandidOperation::Mint {
            to: account(2),
            amount: Tokens::from_e8s(5),
        };
        assert_eq!(
            read(&block(mint, MEMO_TOP_UP, None), &account(2), &subaccount(2)),
            Err("Notification transaction must be of type Transfer".into())
        );
    }

    #[test]
    fn names_the_operations_memos_ask_for() {
        assert_eq!(check_memo(MEMO_TOP_UP, MEMO_TOP_UP), Ok(()));
        assert_eq!(
            check_memo(MEMO_TOP_UP, MEMO_CREATE_CANISTER),
            Err(
                "The memo (TopUp (1347768404)) in the transaction does not match the expected \
                 memo (CreateCanister (1095062083)) for the operation."
                    .into()
            )
        );
        assert!(
            check_memo(42, MEMO_TOP_UP)
                .unwrap_err()
                .contains("unrecognized: Memo(42) (42)")
        );
        assert_eq!(
            not_meaningful_reason(42),
            "Memo (0x00002A) in the incoming ICP transfer does not correspond to any of the \
             operations that the Cycles Minting canister offers."
        );
        assert!(!MEANINGFUL_MEMOS.contains(&0));
    }
}
