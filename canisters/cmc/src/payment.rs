//! Reading a payment out of a ledger block.

use nns_api::AccountIdentifier;
use nns_api::ledger::{CandidBlock, CandidOperation};

/// An ICP transfer into one of the CMC's subaccounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub from: AccountIdentifier,
    pub amount_e8s: u64,
    /// The fee the payer paid: the ledger's fee at the time.
    pub fee_e8s: u64,
    /// The legacy memo, or an 8-byte little-endian ICRC-1 memo.
    pub memo: Option<u64>,
}

/// The payment in `block` if it is a transfer to `expected_to`; otherwise
/// why the block cannot pay for anything here.
pub fn read(block: &CandidBlock, expected_to: &AccountIdentifier) -> Result<Payment, String> {
    let tx = &block.transaction;
    let Some(CandidOperation::Transfer {
        from,
        to,
        amount,
        fee,
        ..
    }) = &tx.operation
    else {
        return Err("the block is not a transfer".into());
    };
    if to != expected_to {
        return Err(format!(
            "the transfer went to {to}, not to this canister's account {expected_to} for this request"
        ));
    }
    let memo = match &tx.icrc1_memo {
        Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
            .ok()
            .map(u64::from_le_bytes),
        None => Some(tx.memo),
    };
    Ok(Payment {
        from: *from,
        amount_e8s: amount.e8s,
        fee_e8s: fee.e8s,
        memo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use nns_api::cmc::MEMO_TOP_UP;
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

    #[test]
    fn reads_legacy_and_icrc1_memos() {
        let legacy = read(
            &block(transfer_to(account(2)), MEMO_TOP_UP, None),
            &account(2),
        );
        assert_eq!(legacy.unwrap().memo, Some(MEMO_TOP_UP));
        let icrc1 = block(
            transfer_to(account(2)),
            0,
            Some(MEMO_TOP_UP.to_le_bytes().to_vec()),
        );
        let payment = read(&icrc1, &account(2)).unwrap();
        assert_eq!(payment.memo, Some(MEMO_TOP_UP));
        assert_eq!((payment.amount_e8s, payment.fee_e8s), (500, 10));
        let odd = block(transfer_to(account(2)), 0, Some(vec![1, 2, 3]));
        assert_eq!(read(&odd, &account(2)).unwrap().memo, None);
    }

    #[test]
    fn refuses_other_destinations_and_operations() {
        assert!(
            read(
                &block(transfer_to(account(3)), MEMO_TOP_UP, None),
                &account(2)
            )
            .is_err()
        );
        let mint = CandidOperation::Mint {
            to: account(2),
            amount: Tokens::from_e8s(5),
        };
        assert!(read(&block(mint, MEMO_TOP_UP, None), &account(2)).is_err());
    }
}
