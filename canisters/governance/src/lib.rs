//! The NNS-style governance canister. This file holds only the endpoints;
//! the logic lives in the modules below, which unit-test without a runtime.

pub mod config;
pub mod neuron;
pub mod neuron_store;
pub mod state;

use config::Config;
use ic_cdk::{init, post_upgrade, query, trap};
use nns_api::governance::{GovernanceArg, NetworkEconomics};

nns_api::embed_candid_metadata!("../../../candid/governance.did", b"(GovernanceArg)");

#[init]
fn init(arg: GovernanceArg) {
    let mut config = Config::from_init(arg).unwrap_or_else(|e| trap(e));
    config
        .genesis_timestamp_seconds
        .get_or_insert(ic_cdk::api::time() / 1_000_000_000);
    state::set_config(config);
}

#[post_upgrade]
fn post_upgrade() {}

#[query]
fn get_network_economics_parameters() -> NetworkEconomics {
    state::read_config(|c| c.economics.clone())
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
            include_str!("../../../candid/governance.did"),
            CANDID_INIT_ARGS,
        );
    }
}
