//! The ICP economy, simulated on the real canisters, calibrated to
//! mainnet ([`calibration`]). Every action is a real canister call: holders
//! (cohorts, each standing for many of mainnet's) stake neurons, follow,
//! vote on proposals, earn daily rewards as maturity and disburse it;
//! accounts transfer ICP and buy NFTs; node providers are paid monthly by
//! governance itself; developers buy cycles with ICP through the CMC (which
//! burns it) for apps that serve their users ([`developers`]); projects
//! raise ICP in decentralization sales ([`sales`]). The amounts are
//! mainnet's (a 553 M ICP supply); only the number of holders is smaller.
//! The figures are read back from the canisters ([`observe`]) and checked
//! against each other ([`reconcile`]).

pub mod calibration;
pub mod developers;
pub mod holders;
pub mod observe;
pub mod reconcile;
pub mod report;
mod rng;
pub mod sales;
pub mod scenario;
pub mod sweep;

use calibration::START_SECONDS;
use candid::{Nat, Principal};
use developers::{App, AppKind};
use holders::{Holder, NeuronPlan};
use nns_api::AccountIdentifier;
use nns_api::governance::{GovernanceArg, Neuron, NodeProvider, staking_subaccount};
use nns_api::ids::{GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::node_rewards::NodeProviderNodes;
use nns_harness::env::{Backend, CallKind, TestEnv, call_one_as};
use nns_harness::{
    install_cmc, install_cycles_ledger, install_governance_with, install_index,
    install_ledger_with_accounts, install_node_rewards,
};
use observe::Snapshot;
use rng::Rng;
pub use scenario::Scenario;
use std::time::Duration;

pub const E8S_PER_ICP: u64 = 100_000_000;
const FEE_E8S: u64 = 10_000;
const DAY_SECONDS: u64 = 24 * 60 * 60;
/// What creating a canister costs on a 13-node subnet.
const CANISTER_CREATION_CYCLES: u128 = 500_000_000_000;
/// Catch-all following: every topic but neuron management, governance
/// (motions) and SNS & Neurons' Fund.
const TOPIC_ALL: i32 = 0;
const TOPIC_GOVERNANCE: i32 = 4;
const TOPIC_SNS_AND_NEURONS_FUND: i32 = 14;
/// The leader's neuron (standing for the known neurons most follow): 3 %
/// of the stake.
const LEADER_SHARE_OF_STAKE: f64 = 0.03;
/// The CMC's hourly limit on minting, raised from mainnet's 150 × 10^15
/// cycles: the run buys a day's cycles at four moments of the day, where
/// mainnet's developers spread them over it.
const SIMULATION_CYCLES_LIMIT_PER_HOUR: u128 = 1_000_000_000_000_000_000_000;

/// What the simulated users did, as counts: the workload, not the figures
/// the report is made of (those come from the canisters).
#[derive(Clone, Debug, Default)]
pub struct Activity {
    pub transfers: u64,
    pub transfers_refused_for_funds: u64,
    pub nft_sales: u64,
    pub batches: u64,
    pub batches_refused_frozen: u64,
    pub served_requests: u64,
    pub queries: u64,
    pub top_ups: u64,
    /// ICP developers bought from the market (the largest account) to pay
    /// for cycles.
    pub icp_bought_for_cycles_e8s: u64,
    /// ICP converted into cycles on the cycles ledger (`notify_mint_cycles`).
    pub cycles_mints: u64,
    pub proposals_made: u64,
    pub direct_votes: u64,
    pub maturity_disbursements: u64,
    /// Neurons whose following their holders confirmed.
    pub voting_power_refreshes: u64,
    pub neurons_disbursed: u64,
    /// Update calls the simulated users made.
    pub messages: u64,
}

/// What the main job reads of a neuron `list_neurons` shows in full: the
/// rest of the record (ballots, followees, hot keys, …) and the
/// `neuron_infos` beside it are skipped as they are decoded, as a client
/// declaring only the fields it uses does (`perf`: decoding the 1 000
/// whole neurons a simulated day reads, with their infos, was 3 % of the
/// day's time).
#[derive(candid::CandidType, serde::Deserialize, Clone, Debug)]
pub struct NeuronView {
    pub id: Option<nns_api::governance::NeuronId>,
    pub account: Vec<u8>,
    pub cached_neuron_stake_e8s: u64,
    pub neuron_fees_e8s: u64,
    pub dissolve_state: Option<nns_api::governance::DissolveState>,
    pub maturity_e8s_equivalent: u64,
    pub maturity_disbursements_in_progress: Option<Vec<nns_api::governance::MaturityDisbursement>>,
}

/// `list_neurons`' reply as [`NeuronView`]s.
#[derive(candid::CandidType, serde::Deserialize)]
struct ListedNeurons {
    full_neurons: Vec<NeuronView>,
}

pub struct Economy {
    pub env: TestEnv,
    pub scenario: Scenario,
    rng: Rng,
    /// The leader, then the account holders (who transfer and buy).
    pub(crate) users: Vec<Principal>,
    leader: Principal,
    leader_neuron: u64,
    pub(crate) holders: Vec<Holder>,
    pub(crate) apps: Vec<App>,
    pub node_providers: Vec<Principal>,
    pub activity: Activity,
    /// The `manage_neuron` replies received last (most repeat).
    manage_replies: nns_harness::candid_cache::Memo<nns_api::governance::ManageNeuronResponse>,
    /// The projects' decentralization sales, in the order proposed.
    pub sales: Vec<sales::ProjectSale>,
    pub sale_activity: sales::SaleActivity,
    /// (sale, buyer) of participations beyond what a sale took.
    sales_over_maximum: Vec<(Principal, Principal)>,
    /// The state when the run began, after the neurons were claimed.
    pub start: Snapshot,
    /// Replicated executions when the run began (runtime only).
    pub start_executions: Option<u64>,
    /// Instructions each canister had executed when the run began
    /// (runtime only), by name; the apps together.
    pub start_instructions: Vec<(&'static str, u64)>,
}

fn user(n: u32) -> Principal {
    let b = n.to_be_bytes();
    Principal::from_slice(&[0xec, b[0], b[1], b[2], b[3], 0x01])
}

/// The principal the reconciliation reads every neuron as: a hot key on
/// each (a hot key may read its neuron in full, and that is all it does
/// here), so that the neurons are read a listing page at a time.
pub(crate) fn auditor() -> Principal {
    Principal::from_slice(&[0xee, 0, 0, 0, 0, 0x01])
}

fn node_provider(n: u32) -> Principal {
    let b = n.to_be_bytes();
    Principal::from_slice(&[0xed, b[0], b[1], b[2], b[3], 0x01])
}

fn icp(e8s: u64) -> Nat {
    Nat::from(e8s)
}

/// Who holds what at the start: every e8 of the calibrated supply.
struct Allocation {
    leader_liquid_e8s: u64,
    neurons: Vec<NeuronPlan>,
    accounts: Vec<(Principal, u64)>,
    developers: Vec<(Principal, u64)>,
}

impl Allocation {
    fn new(scenario: &Scenario, rng: &mut Rng) -> Self {
        let c = &scenario.calibration;
        let supply = c.supply_icp * E8S_PER_ICP;
        let staked = (supply as f64 * c.staked_share) as u64;
        let leader_stake = (staked as f64 * LEADER_SHARE_OF_STAKE) as u64;
        let mut neurons = vec![NeuronPlan {
            owner: user(0),
            stake_e8s: leader_stake,
            delay_days: 730,
        }];
        // The other neurons, by bucket of dissolve delay, in proportion to
        // each bucket's stake; stakes vary within a bucket.
        let others = scenario.neurons as usize - 1;
        let mut next_owner = 1;
        let buckets = &c.delay_buckets;
        for (b, bucket) in buckets.iter().enumerate() {
            let count = if b + 1 == buckets.len() {
                others + 1 - neurons.len()
            } else {
                ((others as f64 * bucket.share).round() as usize).max(1)
            };
            let bucket_stake = ((staked - leader_stake) as f64 * bucket.share) as u64;
            let weights: Vec<u64> = (0..count).map(|_| rng.between(50, 150)).collect();
            let total: u64 = weights.iter().sum();
            for w in weights {
                neurons.push(NeuronPlan {
                    owner: user(next_owner),
                    stake_e8s: (u128::from(bucket_stake) * u128::from(w) / u128::from(total))
                        as u64,
                    delay_days: rng.between(bucket.min_days, bucket.max_days),
                });
                next_owner += 1;
            }
        }
        let staked_total: u64 = neurons.iter().map(|n| n.stake_e8s).sum();
        let liquid = supply - staked_total;
        // Developers hold what their apps' cycles cost for two years at the
        // run's demand, at most a tenth of the liquid ICP; beyond it they buy
        // on the market.
        let year_burn = c.burn_icp_per_year()
            * scenario.demand
            * (1.0 + scenario.demand_growth_percent_per_year / 100.0);
        let budget = ((2.0 * year_burn * E8S_PER_ICP as f64) as u64).min(liquid / 10);
        let per_developer = budget / u64::from(scenario.apps);
        let developers: Vec<(Principal, u64)> = (0..scenario.apps)
            .map(|d| (user(next_owner + d), per_developer.max(1_000 * E8S_PER_ICP)))
            .collect();
        next_owner += scenario.apps;
        let leader_liquid = 10_000 * E8S_PER_ICP;
        let left = liquid - developers.iter().map(|d| d.1).sum::<u64>() - leader_liquid;
        // Liquid ICP over the accounts, a few large and many small (a Zipf
        // law of exponent 0.9: an assumption).
        let weights: Vec<f64> = (0..scenario.accounts)
            .map(|i| 1.0 / f64::from(i + 1).powf(0.9))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut accounts: Vec<(Principal, u64)> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    user(next_owner + i as u32),
                    (left as f64 * w / total) as u64,
                )
            })
            .collect();
        // What rounding left goes to the largest account: the supply is
        // exactly the calibrated one.
        let allocated: u64 = accounts.iter().map(|a| a.1).sum();
        accounts[0].1 += left - allocated;
        Self {
            leader_liquid_e8s: leader_liquid,
            neurons,
            accounts,
            developers,
        }
    }

    fn ledger_balances(&self) -> Vec<(AccountIdentifier, u64)> {
        let staking = self.neurons.iter().map(|n| {
            let subaccount = staking_subaccount(&n.owner, 0);
            (
                AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, Some(&subaccount)),
                n.stake_e8s,
            )
        });
        let principals = self
            .accounts
            .iter()
            .chain(&self.developers)
            .copied()
            .chain([(user(0), self.leader_liquid_e8s)])
            .map(|(owner, e8s)| (AccountIdentifier::new(&owner, None), e8s));
        staking.chain(principals).collect()
    }
}

impl Economy {
    /// The NNS on `backend`, wired as on mainnet (governance mints and
    /// controls the ledger, the CMC and the node-rewards canister), holding
    /// the calibrated supply, with the scenario's neurons and node
    /// providers in governance's init argument (as mainnet's genesis
    /// neurons were), the sales' modules added by proposal and the apps
    /// created.
    pub fn boot(backend: Backend, scenario: Scenario) -> Result<Self, String> {
        scenario.validate()?;
        let mut rng = Rng::new(scenario.seed);
        let mut env = TestEnv::new(backend);
        env.set_time(nns_harness::env::Time::from_nanos_since_unix_epoch(
            START_SECONDS * 1_000_000_000,
        ));
        let c = scenario.calibration.clone();
        let allocation = Allocation::new(&scenario, &mut rng);
        install_ledger_with_accounts(&mut env, allocation.ledger_balances());
        // Wallets read histories from the index, which follows the ledger.
        install_index(&mut env, LEDGER_CANISTER_ID, None);
        // The neurons and node providers exist from the start, as mainnet's
        // genesis neurons did: governance's init argument carries them,
        // their stakes already on the ledger.
        let direct = (c.direct_voter_share * 100.0).round() as u64;
        let (neurons, holders): (Vec<Neuron>, Vec<Holder>) = allocation
            .neurons
            .iter()
            .enumerate()
            .map(|(i, plan)| plan.genesis(i, direct, &mut rng, START_SECONDS))
            .unzip();
        let providers: Vec<Principal> = (0..scenario.node_providers).map(node_provider).collect();
        install_governance_with(
            &mut env,
            GovernanceArg {
                genesis_timestamp_seconds: Some(c.genesis_seconds),
                node_providers: Some(
                    providers
                        .iter()
                        .map(|&id| NodeProvider {
                            id: Some(id),
                            reward_account: None,
                        })
                        .collect(),
                ),
                neurons: Some(neurons),
                ..Default::default()
            },
        );
        install_cmc(
            &mut env,
            c.xdr_permyriad_per_icp,
            Some(SIMULATION_CYCLES_LIMIT_PER_HOUR),
        );
        install_cycles_ledger(&mut env, []);
        install_node_rewards(&mut env, node_rewards_table(&c, &providers));
        env.charge_application_canisters();

        let users: Vec<Principal> = std::iter::once(user(0))
            .chain(allocation.accounts.iter().map(|a| a.0))
            .collect();
        let mut holders = holders.into_iter();
        let leader = holders.next().ok_or("no leader neuron")?;
        let mut economy = Self {
            env,
            scenario,
            rng,
            users,
            leader: leader.owner,
            leader_neuron: leader.neuron,
            holders: holders.collect(),
            apps: vec![],
            node_providers: providers,
            activity: Activity::default(),
            manage_replies: Default::default(),
            sales: vec![],
            sale_activity: sales::SaleActivity::default(),
            sales_over_maximum: vec![],
            start: Snapshot::default(),
            start_executions: None,
            start_instructions: vec![],
        };
        if economy.scenario.sales {
            economy.add_sale_modules()?;
        }
        economy.settle();
        for (d, &(developer, _)) in allocation.developers.iter().enumerate() {
            let via_cycles_ledger = d % 2 == 1;
            let canister = economy.create_app(developer, via_cycles_ledger)?;
            economy.apps.push(App {
                developer,
                canister,
                kind: AppKind::of(d),
                via_cycles_ledger,
            });
        }
        economy.settle();
        economy.start = economy.snapshot();
        economy.start_executions = economy.env.executions();
        economy.start_instructions = economy.instructions_by_canister();
        Ok(economy)
    }

    /// Timers and calls in flight run out (proposals adopted just now
    /// execute).
    fn settle(&mut self) {
        for _ in 0..4 {
            self.env.tick();
        }
    }

    /// Instructions executed so far by each NNS canister and by the apps
    /// together, as the runtime counts them (empty on a PocketIC server).
    pub fn instructions_by_canister(&mut self) -> Vec<(&'static str, u64)> {
        use nns_api::ids::{
            CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, INDEX_CANISTER_ID,
        };
        let nns = [
            ("governance", GOVERNANCE_CANISTER_ID),
            ("ledger", LEDGER_CANISTER_ID),
            ("index", INDEX_CANISTER_ID),
            ("cmc", CYCLES_MINTING_CANISTER_ID),
            ("cycles ledger", CYCLES_LEDGER_CANISTER_ID),
        ];
        let mut out = vec![];
        for (name, id) in nns {
            match self.env.instructions(id) {
                Some(n) => out.push((name, n)),
                None => return vec![],
            }
        }
        let apps = self.app_canisters();
        let apps: u64 = apps
            .iter()
            .filter_map(|&app| self.env.instructions(app))
            .sum();
        out.push(("apps", apps));
        out
    }

    pub fn app_canisters(&self) -> Vec<Principal> {
        self.apps.iter().map(|a| a.canister).collect()
    }

    fn random_account_holder(&mut self) -> Principal {
        let n = self.users.len() as u64;
        self.users[self.rng.between(1, n - 1) as usize]
    }

    /// The accounts of every neuron, as governance reports them.
    /// Every neuron of the run, in full, read as the auditor with
    /// `list_neurons`, a page of ids at a time.
    pub fn neurons(&mut self) -> Result<Vec<NeuronView>, String> {
        let ids: Vec<u64> = std::iter::once(self.leader_neuron)
            .chain(self.holders.iter().map(|h| h.neuron))
            .collect();
        self.neurons_by_id(ids)
    }

    /// Neurons `ids` in full, by ascending id, read as the auditor with
    /// `list_neurons`, a page at a time: neighbouring neurons share their
    /// ballot pages, which a listing reads once.
    pub(crate) fn neurons_by_id(&mut self, mut ids: Vec<u64>) -> Result<Vec<NeuronView>, String> {
        /// `list_neurons`' largest page.
        const PAGE: usize = 500;
        ids.sort_unstable();
        let mut neurons = Vec::with_capacity(ids.len());
        for page in ids.chunks(PAGE) {
            let request = nns_api::governance::ListNeurons {
                neuron_ids: page.to_vec(),
                include_neurons_readable_by_caller: false,
                include_empty_neurons_readable_by_caller: Some(true),
                include_public_neurons_in_full_neurons: None,
                page_number: None,
                page_size: Some(PAGE as u64),
                neuron_subaccounts: None,
            };
            let listed: ListedNeurons = call_one_as(
                &mut self.env,
                CallKind::Query,
                GOVERNANCE_CANISTER_ID,
                auditor(),
                "list_neurons",
                &request,
            )
            .map_err(|e| format!("list_neurons: {e}"))?;
            if listed.full_neurons.len() != page.len() {
                return Err(format!(
                    "list_neurons showed the auditor {} of {} neurons in full",
                    listed.full_neurons.len(),
                    page.len()
                ));
            }
            neurons.extend(listed.full_neurons);
        }
        Ok(neurons)
    }

    pub fn snapshot(&mut self) -> Snapshot {
        let apps = self.app_canisters();
        let providers = self.node_providers.clone();
        Snapshot::take(&mut self.env, &apps, &providers)
    }

    /// One simulated day: the users act, and the apps serve a quarter of
    /// the day's demand at a time while the day passes on the timers.
    pub fn run_day(&mut self, day: u32) -> Result<Snapshot, String> {
        self.transfers()?;
        self.nft_sales()?;
        self.propose_and_vote(day)?;
        if self.scenario.sales {
            self.sales_day(day)?;
        }
        self.neuron_upkeep(day)?;
        self.confirm_following(day)?;
        // A day in four steps, so that timers (deciding and executing
        // proposals, rewards, maturity, node providers) run as they come
        // due and the apps' cycles are bought across the day.
        for _ in 0..4 {
            self.serve_quarter(day)?;
            self.env.advance_time(Duration::from_secs(DAY_SECONDS / 4));
            self.env.tick();
            self.env.tick();
        }
        // The day's figures once the CMC runs (it may be mid-upgrade).
        self.snapshot_rate();
        Ok(self.snapshot())
    }

    /// The day's transfers between random accounts, of up to a tenth of
    /// what the sender holds.
    fn transfers(&mut self) -> Result<(), String> {
        for _ in 0..self.scenario.transfers_per_day {
            let from = self.random_account_holder();
            let to = self.random_account_holder();
            if from == to {
                continue;
            }
            let amount = self.rng.between(1, 50 * E8S_PER_ICP);
            if self.pay(from, to, amount)? {
                self.activity.transfers += 1;
            }
        }
        Ok(())
    }
}

/// The node-rewards canister's table: mainnet's nodes spread over the
/// providers, each node earning the calibrated monthly reward.
fn node_rewards_table(
    c: &calibration::Calibration,
    providers: &[Principal],
) -> Vec<NodeProviderNodes> {
    let n = providers.len() as u32;
    providers
        .iter()
        .enumerate()
        .map(|(i, &provider)| NodeProviderNodes {
            node_provider: provider,
            rewardable_nodes: c.nodes / n + u32::from((i as u32) < c.nodes % n),
            xdr_permyriad_per_node_per_month: c.xdr_permyriad_per_node_per_month(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocation_holds_the_calibrated_supply_and_stake() {
        for scenario in [Scenario::small(), Scenario::mainnet()] {
            let a = Allocation::new(&scenario, &mut Rng::new(1));
            let c = &scenario.calibration;
            let total: u64 = a.ledger_balances().iter().map(|b| b.1).sum();
            assert_eq!(total, c.supply_icp * E8S_PER_ICP);
            assert_eq!(a.neurons.len(), scenario.neurons as usize);
            let staked: u64 = a.neurons.iter().map(|n| n.stake_e8s).sum();
            let share = staked as f64 / total as f64;
            assert!((share - c.staked_share).abs() < 0.001, "{share}");
            assert!(a.neurons.iter().all(|n| n.stake_e8s >= E8S_PER_ICP));
            assert!(a.neurons.iter().all(|n| (14..=730).contains(&n.delay_days)));
            assert_eq!(a.accounts.len(), scenario.accounts as usize);
        }
    }

    #[test]
    fn the_node_rewards_table_holds_every_node() {
        let c = calibration::Calibration::mainnet();
        let providers: Vec<Principal> = (0..7).map(node_provider).collect();
        let table = node_rewards_table(&c, &providers);
        assert_eq!(
            table.iter().map(|p| p.rewardable_nodes).sum::<u32>(),
            c.nodes
        );
    }
}
