//! The ICP ledger canister. This file holds only the endpoints; the logic
//! lives in the modules below, which unit-test without a canister runtime.

pub mod config;
pub mod state;

use config::Config;
use ic_cdk::{init, post_upgrade, query, trap};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;
use nns_api::ledger::{
    DECIMALS, Decimals, LedgerArg, Name, Symbol, TransferFee, TransferFeeArg, tokens_to_nat,
};

nns_api::embed_candid_metadata!("../../../candid/ledger.did", b"(LedgerArg)");

#[init]
fn init(arg: LedgerArg) {
    match arg {
        LedgerArg::Init(args) => {
            state::set_config(Config::from_init(args).unwrap_or_else(|e| trap(e)))
        }
        LedgerArg::Upgrade(_) => trap("installing the ledger needs the Init variant"),
    }
}

#[post_upgrade]
fn post_upgrade(arg: Option<LedgerArg>) {
    match arg {
        None | Some(LedgerArg::Upgrade(None)) => {}
        Some(LedgerArg::Upgrade(Some(args))) => state::mutate_config(|c| c.apply_upgrade(args)),
        Some(LedgerArg::Init(_)) => {
            trap("upgrading the ledger takes the Upgrade variant, not Init")
        }
    }
}

#[query]
fn symbol() -> Symbol {
    Symbol {
        symbol: state::read_config(|c| c.token_symbol.clone()),
    }
}

#[query]
fn name() -> Name {
    Name {
        name: state::read_config(|c| c.token_name.clone()),
    }
}

#[query]
fn decimals() -> Decimals {
    Decimals {
        decimals: DECIMALS.into(),
    }
}

#[query]
fn transfer_fee(_: TransferFeeArg) -> TransferFee {
    TransferFee {
        transfer_fee: state::read_config(|c| c.transfer_fee),
    }
}

#[query]
fn icrc1_name() -> String {
    state::read_config(|c| c.token_name.clone())
}

#[query]
fn icrc1_symbol() -> String {
    state::read_config(|c| c.token_symbol.clone())
}

#[query]
fn icrc1_decimals() -> u8 {
    DECIMALS
}

#[query]
fn icrc1_fee() -> candid::Nat {
    state::read_config(|c| tokens_to_nat(c.transfer_fee))
}

#[query]
fn icrc1_minting_account() -> Option<Account> {
    state::read_config(|c| c.icrc1_minting_account)
}

#[query]
fn icrc1_metadata() -> Vec<(String, MetadataValue)> {
    state::read_config(|c| {
        vec![
            (
                "icrc1:name".into(),
                MetadataValue::Text(c.token_name.clone()),
            ),
            (
                "icrc1:symbol".into(),
                MetadataValue::Text(c.token_symbol.clone()),
            ),
            ("icrc1:decimals".into(), MetadataValue::Nat(DECIMALS.into())),
            (
                "icrc1:fee".into(),
                MetadataValue::Nat(tokens_to_nat(c.transfer_fee)),
            ),
        ]
    })
}

#[cfg(test)]
mod candid_interface {
    use super::*;

    candid::export_service!();

    #[test]
    fn did_file_matches_the_code() {
        canister_common::assert_candid_interface(
            &__export_service(),
            include_str!("../../../candid/ledger.did"),
            CANDID_INIT_ARGS,
        );
    }
}
