//! The node-rewards canister: tells governance what each node provider
//! earned in a month, in XDR, for its monthly minting. Only governance may
//! ask, as on the NNS. The table (providers, their rewardable nodes and a
//! node's monthly reward) is the install argument, replaced by an upgrade
//! that carries one — governance upgrades it by proposal.

pub mod table;

use canister_common::Candid;
use ic_cdk::api::msg_caller;
use ic_cdk::{init, inspect_message, post_upgrade, query, trap, update};
use ic_stable_structures::{DefaultMemoryImpl, StableCell};
use nns_api::ids::GOVERNANCE_CANISTER_ID;
use nns_api::node_rewards::{
    GetNodeProvidersMonthlyXdrRewardsRequest, GetNodeProvidersMonthlyXdrRewardsResponse,
    NodeProvidersMonthlyXdrRewards, NodeRewardsArg, NodeRewardsTable,
};
use std::cell::RefCell;

nns_api::embed_candid_metadata!("../../../candid/node-rewards.did", b"(NodeRewardsArg)");

thread_local! {
    /// The whole state: one small table, rewritten on install and upgrade.
    static TABLE: RefCell<StableCell<Candid<NodeRewardsTable>, DefaultMemoryImpl>> =
        RefCell::new(StableCell::init(DefaultMemoryImpl::default(), Candid(NodeRewardsTable::default())));
}

fn set_table(arg: NodeRewardsArg, registry_version: u64) {
    let table = table::checked(arg.node_providers, registry_version).unwrap_or_else(|e| trap(e));
    TABLE.with_borrow_mut(|t| t.set(Candid(table)));
}

#[init]
fn init(arg: NodeRewardsArg) {
    set_table(arg, 1);
}

#[post_upgrade]
fn post_upgrade(arg: Option<NodeRewardsArg>) {
    if let Some(arg) = arg {
        let version = TABLE.with_borrow(|t| t.get().0.registry_version) + 1;
        set_table(arg, version);
    }
}

/// Ingress for governance's method is turned away before it runs: only
/// governance, a canister, may call it, so strangers cost nothing.
#[inspect_message]
fn inspect_message() {
    if ic_cdk::api::msg_method_name() != "get_node_providers_monthly_xdr_rewards" {
        ic_cdk::api::accept_message();
    }
}

/// Each known provider's reward for a month, in 10^-4 XDR. The version
/// asked for must be the table's own (no history is kept).
#[update]
fn get_node_providers_monthly_xdr_rewards(
    request: GetNodeProvidersMonthlyXdrRewardsRequest,
) -> GetNodeProvidersMonthlyXdrRewardsResponse {
    if msg_caller() != GOVERNANCE_CANISTER_ID {
        return error("only the NNS governance canister may call this method");
    }
    TABLE.with_borrow(|t| {
        let table = &t.get().0;
        match request.registry_version {
            Some(v) if v != table.registry_version => error(&format!(
                "registry version {v} is not known; the table's version is {}",
                table.registry_version
            )),
            _ => GetNodeProvidersMonthlyXdrRewardsResponse {
                rewards: Some(NodeProvidersMonthlyXdrRewards {
                    rewards: table::monthly_rewards(table),
                    registry_version: Some(table.registry_version),
                }),
                error: None,
            },
        }
    })
}

fn error(message: &str) -> GetNodeProvidersMonthlyXdrRewardsResponse {
    GetNodeProvidersMonthlyXdrRewardsResponse {
        rewards: None,
        error: Some(message.into()),
    }
}

/// The table, for anyone: who is rewarded for how many nodes.
#[query]
fn get_node_rewards_table() -> NodeRewardsTable {
    TABLE.with_borrow(|t| t.get().0.clone())
}

canister_common::candid_interface_test!("../../../candid/node-rewards.did");
