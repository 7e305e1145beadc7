//! The install argument, decoded with its initial balances taken one at a
//! time: decoded whole, a million of them left a heap of 265 MB, which a
//! wasm heap never gives back and the runtime's heap journal scans after
//! every message. `decode` reads the argument without them; `take_initial_values`
//! decodes the kept bytes again, handing each balance over as soon as it
//! is decoded.

use candid::{CandidType, Deserialize, Reserved};
use canister_common::streamed::{Streamed, decode_streaming};
use icrc_ledger_types::icrc1::account::Account;
use nns_api::ledger::{Duration, FeatureFlags, InitArgs, LedgerArg, Tokens, UpgradeArgs};
use std::cell::RefCell;

thread_local! {
    /// The argument's bytes and whether it was a bare `InitArgs`, between
    /// `decode` and `take_initial_values`.
    static KEPT: RefCell<(Vec<u8>, bool)> = const { RefCell::new((Vec::new(), false)) };
}

/// `LedgerArg` less the initial balances, which are skipped.
#[derive(CandidType, Deserialize)]
enum WithoutValues {
    Init(InitWithoutValues),
    Upgrade(Option<UpgradeArgs>),
}

/// `InitArgs` less `initial_values`.
#[derive(CandidType, Deserialize)]
struct InitWithoutValues {
    minting_account: String,
    icrc1_minting_account: Option<Account>,
    transaction_window: Option<Duration>,
    transfer_fee: Option<Tokens>,
    token_symbol: Option<String>,
    token_name: Option<String>,
    feature_flags: Option<FeatureFlags>,
}

impl From<InitWithoutValues> for InitArgs {
    fn from(a: InitWithoutValues) -> Self {
        Self {
            minting_account: a.minting_account,
            icrc1_minting_account: a.icrc1_minting_account,
            initial_values: vec![],
            transaction_window: a.transaction_window,
            transfer_fee: a.transfer_fee,
            token_symbol: a.token_symbol,
            token_name: a.token_name,
            feature_flags: a.feature_flags,
        }
    }
}

type InitialValue = (String, Tokens);

#[derive(CandidType, Deserialize)]
enum OnlyValues {
    Init(Values),
    Upgrade(Reserved),
}

#[derive(CandidType, Deserialize)]
struct Values {
    initial_values: Streamed<InitialValue>,
}

/// As the real ledger: the argument is `LedgerArg`, or for older
/// deployment scripts a bare `InitArgs` record; its `initial_values` are
/// left empty, for `take_initial_values`.
pub fn decode(bytes: Vec<u8>) -> Result<LedgerArg, String> {
    let (arg, bare) = decode_without_values(&bytes)?;
    KEPT.with(|kept| *kept.borrow_mut() = (bytes, bare));
    Ok(arg)
}

fn decode_without_values(bytes: &[u8]) -> Result<(LedgerArg, bool), String> {
    match candid::decode_one::<WithoutValues>(bytes) {
        Ok(WithoutValues::Init(init)) => Ok((LedgerArg::Init(init.into()), false)),
        Ok(WithoutValues::Upgrade(upgrade)) => Ok((LedgerArg::Upgrade(upgrade), false)),
        Err(new_err) => candid::decode_one::<InitWithoutValues>(bytes)
            .map(|init| (LedgerArg::Init(init.into()), true))
            .map_err(|old_err| {
                format!(
                    "Unable to decode init argument.\nDecode as new init returned the error \
                     {new_err}\nDecode as old init returned the error {old_err}"
                )
            }),
    }
}

/// Decodes the initial balances of the argument `decode` kept, giving each
/// to `each` as it comes; the first error ends it. The bytes are dropped.
pub fn take_initial_values(
    each: impl FnMut(InitialValue) -> Result<(), String> + 'static,
) -> Result<(), String> {
    let (bytes, bare) = KEPT.with(|kept| std::mem::take(&mut *kept.borrow_mut()));
    for_each_initial_value(&bytes, bare, each)
}

fn for_each_initial_value(
    bytes: &[u8],
    bare: bool,
    each: impl FnMut(InitialValue) -> Result<(), String> + 'static,
) -> Result<(), String> {
    if bare {
        decode_streaming::<Values, InitialValue>(bytes, each).map(|_| ())
    } else {
        decode_streaming::<OnlyValues, InitialValue>(bytes, each).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn init_args(values: u64) -> InitArgs {
        InitArgs {
            minting_account: "ab".repeat(32),
            icrc1_minting_account: None,
            initial_values: (0..values)
                .map(|i| (format!("{i:064x}"), Tokens::from_e8s(i)))
                .collect(),
            transaction_window: None,
            transfer_fee: Some(Tokens::from_e8s(7)),
            token_symbol: Some("ICP".into()),
            token_name: None,
            feature_flags: Some(FeatureFlags { icrc2: true }),
        }
    }

    fn streamed(bytes: &[u8], bare: bool) -> Vec<InitialValue> {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let into = seen.clone();
        for_each_initial_value(bytes, bare, move |value| {
            into.borrow_mut().push(value);
            Ok(())
        })
        .unwrap();
        seen.take()
    }

    #[test]
    fn both_forms_decode_without_values_then_stream_them_in_order() {
        let full = init_args(4);
        let without = InitArgs {
            initial_values: vec![],
            ..full.clone()
        };
        for (bytes, bare) in [
            (
                candid::encode_one(LedgerArg::Init(full.clone())).unwrap(),
                false,
            ),
            (candid::encode_one(full.clone()).unwrap(), true),
        ] {
            assert_eq!(
                decode_without_values(&bytes).unwrap(),
                (LedgerArg::Init(without.clone()), bare)
            );
            assert_eq!(streamed(&bytes, bare), full.initial_values);
        }
    }

    #[test]
    fn an_upgrade_argument_has_no_values() {
        let bytes = candid::encode_one(LedgerArg::Upgrade(None)).unwrap();
        assert_eq!(
            decode_without_values(&bytes).unwrap(),
            (LedgerArg::Upgrade(None), false)
        );
        assert!(streamed(&bytes, false).is_empty());
    }

    #[test]
    fn what_is_neither_form_is_refused_naming_both() {
        let e = decode_without_values(&candid::encode_one(5u8).unwrap()).unwrap_err();
        assert!(e.contains("new init") && e.contains("old init"), "{e}");
    }
}
