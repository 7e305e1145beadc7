//! The cycles-minting canister. This file holds only the endpoints; the
//! logic lives in the modules below, which unit-test without a runtime.

pub mod config;
pub mod state;

use config::Config;
use ic_cdk::{init, post_upgrade, query, trap};
use nns_api::cmc::CyclesCanisterInitPayload;

nns_api::embed_candid_metadata!(
    "../../../candid/cmc.did",
    b"(opt CyclesCanisterInitPayload)"
);

#[init]
fn init(payload: Option<CyclesCanisterInitPayload>) {
    state::set_config(Config::from_init(payload).unwrap_or_else(|e| trap(e)));
}

#[post_upgrade]
fn post_upgrade(payload: Option<CyclesCanisterInitPayload>) {
    // As the real CMC: an upgrade argument replaces the configuration.
    if payload.is_some() {
        state::set_config(Config::from_init(payload).unwrap_or_else(|e| trap(e)));
    }
}

#[query]
fn get_build_metadata() -> String {
    format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod candid_interface {
    use super::*;

    candid::export_service!();

    #[test]
    fn did_file_matches_the_code() {
        canister_common::assert_candid_interface(
            &__export_service(),
            include_str!("../../../candid/cmc.did"),
            CANDID_INIT_ARGS,
        );
    }
}
