//! Fast Candid decoding of `icrc1_balance_of`'s argument (see
//! `canister_common::fast_candid`; its reply is `fast_candid::encode_nat64`):
//! the general decoder and encoder took about a fifth of the query's
//! instructions, more than its balance lookup. The tests check the decoder against the general one.

use candid::Principal;
use canister_common::fast_candid::{KnownHeader, Reader, decode_one};
use nns_api::index::Account;
use serde_bytes::ByteBuf;

static ACCOUNT_ARG: KnownHeader = KnownHeader::new();

fn sample_account() -> Account {
    Account {
        owner: Principal::anonymous(),
        subaccount: None,
    }
}

/// Computes the known header at install and upgrade (queries discard what
/// they compute).
pub fn prepare() {
    ACCOUNT_ARG.prepare(|| (sample_account(),));
}

/// The values of an account (fields in Candid's order: by hash).
fn read_account(r: &mut Reader) -> Option<Account> {
    // owner, subaccount
    let owner = r.principal()?;
    let subaccount = r.opt(|r| r.blob().map(|b| ByteBuf::from(b.to_vec())))?;
    Some(Account { owner, subaccount })
}

pub fn decode_account(message: Vec<u8>) -> Account {
    decode_one(&message, &ACCOUNT_ARG, sample_account, read_account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use canister_common::fast_candid::assert_fast_decoder as check;

    #[test]
    fn accounts_decode_like_the_general_decoder() {
        for subaccount in [None, Some(vec![]), Some(vec![7; 32]), Some(vec![1; 40])] {
            let account = Account {
                owner: Principal::from_slice(&[3; 29]),
                subaccount: subaccount.map(ByteBuf::from),
            };
            // The fast reader itself reads it (not the general decoder
            // after it gave up).
            let bytes = candid::encode_one(&account).unwrap();
            let mut values = ACCOUNT_ARG.values(|| (sample_account(),), &bytes).unwrap();
            assert_eq!(read_account(&mut values), Some(account.clone()));
            assert!(values.is_empty());
            check(account, decode_account, &ACCOUNT_ARG, sample_account);
        }
    }

    #[test]
    fn a_message_with_another_header_takes_the_general_decoder() {
        let account = Account {
            owner: Principal::from_slice(&[3; 29]),
            subaccount: Some(ByteBuf::from(vec![9; 32])),
        };
        let two_arguments = candid::encode_args((account.clone(), 5u8)).unwrap();
        assert!(
            ACCOUNT_ARG
                .values(|| (sample_account(),), &two_arguments)
                .is_none()
        );
        assert_eq!(decode_account(two_arguments), account);
    }
}
