//! A project's token ledger: an ICRC-1/2/3 ledger on the shared ledger
//! core, installed with the arguments of DFINITY's ICRC-1 ledger (what an
//! SNS ledger is). The NNS installs one for each decentralization sale:
//! the sale's tokens (to the sale's own account, from which it releases
//! them to buyers) and the project's treasury are minted at install; the
//! minting account is a subaccount of the sale, so that no one else can
//! mint. Every block stays in the canister: no archives.

pub mod config;
pub mod state;

use candid::Nat;
use config::Config;
use ic_cdk::api::time;
use ic_cdk::{init, post_upgrade, query, trap};
use icrc_ledger_types::icrc3::archive::{GetArchivesArgs, GetArchivesResult};
use icrc_ledger_types::icrc3::blocks::{BlockWithId, GetBlocksRequest, GetBlocksResult};
use ledger_core::icrc::service::SupportedStandard;
use nns_api::token_ledger::LedgerArg;

nns_api::embed_candid_metadata!("../../../candid/token-ledger.did", b"(LedgerArg)");

#[init]
fn init(arg: LedgerArg) {
    let LedgerArg::Init(args) = arg else {
        trap(
            "Cannot initialize the canister with an Upgrade argument. Please provide an Init argument.",
        );
    };
    let (config, balances) = Config::from_init(&args).unwrap_or_else(|e| trap(e));
    state::mutate(|l| l.install(config, &balances, time()))
        .unwrap_or_else(|e| trap(format!("Failed to mint initial balance: {e}")));
    certify_tip();
}

#[post_upgrade]
fn post_upgrade(arg: Option<LedgerArg>) {
    state::read(|l| l.check_layout()).unwrap_or_else(|e| trap(e));
    match arg {
        None | Some(LedgerArg::Upgrade(None)) => {}
        Some(LedgerArg::Upgrade(Some(upgrade))) => {
            let mut config = state::read(|l| l.config().clone());
            config.apply_upgrade(upgrade).unwrap_or_else(|e| trap(e));
            state::mutate(|l| l.update_config(|c| *c = config));
        }
        Some(LedgerArg::Init(_)) => trap(
            "Cannot upgrade the canister with an Init argument. Please provide an Upgrade argument.",
        ),
    }
    certify_tip();
}

ledger_core::icrc_endpoints! {
    ledger: state::TokenLedger,
    config: Config,
    read: state::read,
    mutate: state::mutate,
}

#[query]
fn icrc3_get_blocks(ranges: Vec<GetBlocksRequest>) -> GetBlocksResult {
    let (log_length, blocks) = state::read(|l| ledger_core::icrc::service::blocks(l, &ranges));
    GetBlocksResult {
        log_length: Nat::from(log_length),
        blocks: blocks
            .into_iter()
            .map(|(id, block)| BlockWithId {
                id: Nat::from(id),
                block,
            })
            .collect(),
        archived_blocks: vec![],
    }
}

/// Every block stays in the ledger: there are no archives.
#[query]
fn icrc3_get_archives(_: GetArchivesArgs) -> GetArchivesResult {
    vec![]
}

#[query]
fn icrc10_supported_standards() -> Vec<SupportedStandard> {
    state::read(|l| ledger_core::icrc::service::supported_standards(l.config()))
}

/// The ledger serves from its install on (DFINITY's answers false while
/// it migrates its memory after an upgrade; this one never does).
#[query]
fn is_ledger_ready() -> bool {
    true
}

#[cfg(test)]
canister_common::candid_interface_test!("../../../candid/token-ledger.did");
