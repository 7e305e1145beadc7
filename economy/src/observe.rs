//! The state of the economy as the canisters answer it: every figure here
//! comes from a query to the ledger, the CMC or governance, or from the
//! runtime's own cycles counter, never from the simulator's bookkeeping.

use candid::{Nat, Principal};
use nns_api::cmc::IcpXdrConversionRateResponse;
use nns_api::ids::{
    CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
    LEDGER_CANISTER_ID,
};
use nns_harness::env::{TestEnv, query_candid};
use nns_harness::metrics_text as metrics;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub time_seconds: u64,
    /// `icrc1_total_supply`.
    pub supply_e8s: u64,
    /// The ledger's counters since genesis (`/metrics`).
    pub ledger_minted_e8s: u64,
    pub ledger_burned_e8s: u64,
    pub ledger_fees_e8s: u64,
    pub blocks: u64,
    /// The CMC's counters (`/metrics`, `total_cycles_minted`).
    pub cmc_icp_burned_e8s: u64,
    pub cmc_cycles_minted: u128,
    pub cmc_top_ups: u64,
    pub cmc_canisters_created: u64,
    /// The CMC's current rate (`get_icp_xdr_conversion_rate`).
    pub xdr_permyriad_per_icp: u64,
    /// Governance's totals (`/metrics`).
    pub neurons: u64,
    pub staked_e8s: u64,
    pub maturity_e8s: u64,
    pub staked_maturity_e8s: u64,
    pub proposals_adopted: u64,
    pub proposals_rejected: u64,
    pub proposals_executed: u64,
    pub proposals_failed: u64,
    /// The application canisters' cycles: what they hold, and what they
    /// burned (the runtime's counter; on a PocketIC server, which has none,
    /// what arrived less what is left).
    pub app_cycles_balance: u128,
    pub app_cycles_burned: u128,
    /// The cycles ledger: its supply (`icrc1_total_supply`), its blocks
    /// (`icrc3_get_blocks`' log length) and the cycles it holds.
    pub cycles_ledger_supply: u128,
    pub cycles_ledger_blocks: u64,
    pub cycles_ledger_cycles: u128,
    /// The cycles the CMC holds (what it minted for creations it paid from
    /// its balance stays there).
    pub cmc_cycles: u128,
    /// ICP the node providers' accounts hold (they only receive rewards).
    pub node_provider_e8s: u64,
    /// Governance's latest reward event (`get_latest_reward_event`): its
    /// round and what it gave the voters as maturity.
    pub reward_event_day: u64,
    pub reward_event_distributed_e8s: u64,
}

/// A counter as an exact integer: the canisters print them as integers
/// (mainnet's supply in e8s is above 2^53, so never through a float).
fn exact(metrics: &BTreeMap<String, String>, name: &str) -> u64 {
    let value = metrics
        .get(name)
        .unwrap_or_else(|| panic!("no metric {name}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{name} = {value} is not an exact count"))
}

impl Snapshot {
    pub fn take(env: &mut TestEnv, apps: &[Principal], node_providers: &[Principal]) -> Self {
        let mut node_provider_e8s = 0u64;
        for &provider in node_providers {
            let (balance,): (Nat,) = query_candid(
                env,
                LEDGER_CANISTER_ID,
                "icrc1_balance_of",
                (icrc_ledger_types::icrc1::account::Account::from(provider),),
            )
            .expect("a balance");
            node_provider_e8s += u64::try_from(balance.0).expect("fits in 64 bits");
        }
        let (reward_event,): (nns_api::governance::RewardEvent,) =
            query_candid(env, GOVERNANCE_CANISTER_ID, "get_latest_reward_event", ())
                .expect("the latest reward event");
        let (supply,): (Nat,) =
            query_candid(env, LEDGER_CANISTER_ID, "icrc1_total_supply", ()).expect("supply");
        let (cycles_minted,): (Nat,) =
            query_candid(env, CYCLES_MINTING_CANISTER_ID, "total_cycles_minted", ())
                .expect("total_cycles_minted");
        let (rate,): (IcpXdrConversionRateResponse,) = query_candid(
            env,
            CYCLES_MINTING_CANISTER_ID,
            "get_icp_xdr_conversion_rate",
            (),
        )
        .expect("rate");
        let ledger = metrics(env, LEDGER_CANISTER_ID);
        let cmc = metrics(env, CYCLES_MINTING_CANISTER_ID);
        let governance = metrics(env, GOVERNANCE_CANISTER_ID);
        let cmc_cycles_minted = u128::try_from(cycles_minted.0).expect("fits in 128 bits");
        let (cycles_supply,): (Nat,) =
            query_candid(env, CYCLES_LEDGER_CANISTER_ID, "icrc1_total_supply", ())
                .expect("the cycles ledger's supply");
        let cycles_ledger_supply = u128::try_from(cycles_supply.0).expect("fits in 128 bits");
        let no_blocks = vec![icrc_ledger_types::icrc3::blocks::GetBlocksRequest {
            start: Nat::from(0u8),
            length: Nat::from(0u8),
        }];
        let (log,): (nns_api::cycles_ledger::GetBlocksResult,) = query_candid(
            env,
            CYCLES_LEDGER_CANISTER_ID,
            "icrc3_get_blocks",
            (no_blocks,),
        )
        .expect("the cycles ledger's log");
        let app_cycles_balance: u128 = apps.iter().map(|&app| env.cycle_balance(app)).sum();
        let app_cycles_burned = apps
            .iter()
            .map(|&app| env.cycles_burned(app))
            .sum::<Option<u128>>()
            // The server counts no burns: what was minted and is neither in
            // an app nor on the cycles ledger (its fees aside).
            .unwrap_or_else(|| {
                cmc_cycles_minted.saturating_sub(app_cycles_balance + cycles_ledger_supply)
            });
        Self {
            time_seconds: env.get_time().as_nanos_since_unix_epoch() / 1_000_000_000,
            supply_e8s: u64::try_from(supply.0).expect("supply fits in 64 bits"),
            ledger_minted_e8s: exact(&ledger, "ledger_minted_e8s"),
            ledger_burned_e8s: exact(&ledger, "ledger_burned_e8s"),
            ledger_fees_e8s: exact(&ledger, "ledger_fees_burned_e8s"),
            blocks: exact(&ledger, "ledger_blocks"),
            cmc_icp_burned_e8s: exact(&cmc, "cmc_icp_burned_e8s"),
            cmc_cycles_minted,
            cmc_top_ups: exact(&cmc, "cmc_top_ups"),
            cmc_canisters_created: exact(&cmc, "cmc_canisters_created"),
            xdr_permyriad_per_icp: rate.data.xdr_permyriad_per_icp,
            neurons: exact(&governance, "governance_neurons"),
            staked_e8s: exact(&governance, "governance_staked_e8s"),
            maturity_e8s: exact(&governance, "governance_maturity_e8s"),
            staked_maturity_e8s: exact(&governance, "governance_staked_maturity_e8s"),
            proposals_adopted: exact(&governance, "governance_adopted_proposals"),
            proposals_rejected: exact(&governance, "governance_rejected_proposals"),
            proposals_executed: exact(&governance, "governance_executed_proposals"),
            proposals_failed: exact(&governance, "governance_failed_proposals"),
            app_cycles_balance,
            app_cycles_burned,
            cycles_ledger_supply,
            cycles_ledger_blocks: u64::try_from(log.log_length.0).expect("fits in 64 bits"),
            cycles_ledger_cycles: env.cycle_balance(CYCLES_LEDGER_CANISTER_ID),
            cmc_cycles: env.cycle_balance(CYCLES_MINTING_CANISTER_ID),
            node_provider_e8s,
            reward_event_day: reward_event.day_after_genesis,
            reward_event_distributed_e8s: reward_event.distributed_e8s_equivalent,
        }
    }
}
