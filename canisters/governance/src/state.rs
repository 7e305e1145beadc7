//! The governance canister's state, all in stable memory except the locks
//! of neurons with a ledger call in flight.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! ├── 0  CONFIG          StableConfig<Config>
//! ├── 1  NEURONS         StableBTreeMap<neuron id, Candid<Neuron>>
//! ├── 2  BY_SUBACCOUNT   StableBTreeMap<subaccount, neuron id>
//! ├── 3  BY_PRINCIPAL    StableBTreeMap<(principal, neuron id), ()>
//! ├── 4  DUE             StableBTreeMap<(due time, neuron id), ()>
//! ├── 5  NEXT_NEURON_ID  StableCell<u64>
//! ├── 6  PROPOSAL_BODIES StableBTreeMap<proposal id, Candid<ProposalBody>>
//! ├── 7  PROPOSAL_STATES StableBTreeMap<proposal id, ProposalState>
//! ├── 8  BALLOTS         StableBTreeMap<(proposal id, first neuron id), BallotPage>
//! ├── 9  FOLLOWERS       StableBTreeMap<followee ‖ topic ‖ follower, ()>
//! ├── 10 NEXT_PROPOSAL_ID StableCell<u64>
//! ├── 11 LATEST_REWARD_EVENT StableCell<Candid<RewardEvent>>
//! ├── 12 REWARD_DISTRIBUTION StableCell<Candid<Option<Distribution>>>
//! ├── 13 UNFINISHED_PROPOSALS StableBTreeMap<proposal id, ()>
//! ├── 14 UNSETTLED_PROPOSALS  StableBTreeMap<proposal id, ()>
//! ├── 15 PRINCIPAL_COUNTS     StableBTreeMap<principal, (listed, holding)>
//! ├── 16 PRINCIPAL_COUNTING   StableCell<cursor of counting BY_PRINCIPAL>
//! ├── 17 UNSTAKE              StableBTreeMap<(dissolved at, neuron id), ()>
//! ├── 18 UNSTAKE_INDEXING     StableCell<first neuron id not yet in UNSTAKE>
//! ├── 19 VOTE_CASCADES        StableBTreeMap<(proposal id, voter), next follow key>
//! ├── 20 TO_RESTART           StableBTreeMap<canister id, ()>
//! ├── 21 MATURITY_MODULATION  StableCell<Candid<Option<(basis points, read at)>>>
//! ├── 22 KNOWN_NEURONS        StableBTreeMap<neuron id, Candid<KnownNeuronData>>
//! ├── 23 SNS_WASMS            StableBTreeMap<SNS canister type, sha256 ‖ module>
//! ├── 24 DEPLOYED_SALES       StableBTreeMap<proposal id, Candid<DeployedSns>>
//! ├── 25 FUND_RESERVATIONS    StableBTreeMap<proposal id, Candid<fund::Reservation>>
//! ├── 26 NODE_PROVIDERS       StableBTreeMap<provider id, Candid<NodeProvider>>
//! ├── 27 NODE_PROVIDER_REWARDS StableBTreeMap<timestamp, Candid<MonthlyNodeProviderRewards>>
//! ├── 28 NODE_PROVIDER_REWARDS_OWED StableBTreeMap<(timestamp, index in the month), ()>
//! ├── 29 CREDITED_MATURITY    StableBTreeMap<first neuron id, CreditPage>
//! └── 30 PRUNED_PROPOSALS     StableCell<how the forgotten proposals ended>
//! ```

use crate::config::Config;
use crate::governance::{Governance, Memories};
use crate::proposals::ProposalMemories;
use candid::Principal;
use canister_common::{Candid, StableConfig};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableBTreeMap};
use nns_api::governance::sns::DeployedSns;
use nns_api::governance::{MonthlyNodeProviderRewards, NodeProvider, RewardNodeProvider};
use std::cell::RefCell;

const CONFIG_MEMORY_ID: MemoryId = MemoryId::new(0);
const NEURONS_MEMORY_ID: MemoryId = MemoryId::new(1);
const BY_SUBACCOUNT_MEMORY_ID: MemoryId = MemoryId::new(2);
const BY_PRINCIPAL_MEMORY_ID: MemoryId = MemoryId::new(3);
const DUE_MEMORY_ID: MemoryId = MemoryId::new(4);
const NEXT_NEURON_ID_MEMORY_ID: MemoryId = MemoryId::new(5);
const PROPOSAL_BODIES_MEMORY_ID: MemoryId = MemoryId::new(6);
const PROPOSAL_STATES_MEMORY_ID: MemoryId = MemoryId::new(7);
const BALLOTS_MEMORY_ID: MemoryId = MemoryId::new(8);
const FOLLOWERS_MEMORY_ID: MemoryId = MemoryId::new(9);
const NEXT_PROPOSAL_ID_MEMORY_ID: MemoryId = MemoryId::new(10);
const LATEST_REWARD_EVENT_MEMORY_ID: MemoryId = MemoryId::new(11);
const REWARD_DISTRIBUTION_MEMORY_ID: MemoryId = MemoryId::new(12);
const UNFINISHED_PROPOSALS_MEMORY_ID: MemoryId = MemoryId::new(13);
const UNSETTLED_PROPOSALS_MEMORY_ID: MemoryId = MemoryId::new(14);
const PRINCIPAL_COUNTS_MEMORY_ID: MemoryId = MemoryId::new(15);
const PRINCIPAL_COUNTING_MEMORY_ID: MemoryId = MemoryId::new(16);
const UNSTAKE_MEMORY_ID: MemoryId = MemoryId::new(17);
const UNSTAKE_INDEXING_MEMORY_ID: MemoryId = MemoryId::new(18);
const VOTE_CASCADES_MEMORY_ID: MemoryId = MemoryId::new(19);
const TO_RESTART_MEMORY_ID: MemoryId = MemoryId::new(20);
const MATURITY_MODULATION_MEMORY_ID: MemoryId = MemoryId::new(21);
const KNOWN_NEURONS_MEMORY_ID: MemoryId = MemoryId::new(22);
const SNS_WASMS_MEMORY_ID: MemoryId = MemoryId::new(23);
const DEPLOYED_SALES_MEMORY_ID: MemoryId = MemoryId::new(24);
const FUND_RESERVATIONS_MEMORY_ID: MemoryId = MemoryId::new(25);
const NODE_PROVIDERS_MEMORY_ID: MemoryId = MemoryId::new(26);
const NODE_PROVIDER_REWARDS_MEMORY_ID: MemoryId = MemoryId::new(27);
const NODE_PROVIDER_REWARDS_OWED_MEMORY_ID: MemoryId = MemoryId::new(28);
const CREDITED_MATURITY_MEMORY_ID: MemoryId = MemoryId::new(29);
const PRUNED_PROPOSALS_MEMORY_ID: MemoryId = MemoryId::new(30);

pub type Memory = VirtualMemory<DefaultMemoryImpl>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());

    static CONFIG: RefCell<StableConfig<Config, Memory>> =
        RefCell::new(StableConfig::init(memory(CONFIG_MEMORY_ID)));

    static GOVERNANCE: RefCell<Governance<Memory>> = RefCell::new(Governance::init(
        Memories {
            neurons: memory(NEURONS_MEMORY_ID),
            by_subaccount: memory(BY_SUBACCOUNT_MEMORY_ID),
            by_principal: memory(BY_PRINCIPAL_MEMORY_ID),
            principal_counts: memory(PRINCIPAL_COUNTS_MEMORY_ID),
            principal_counting: memory(PRINCIPAL_COUNTING_MEMORY_ID),
            unstake: memory(UNSTAKE_MEMORY_ID),
            unstake_indexing: memory(UNSTAKE_INDEXING_MEMORY_ID),
            credited_maturity: memory(CREDITED_MATURITY_MEMORY_ID),
            due: memory(DUE_MEMORY_ID),
            next_neuron_id: memory(NEXT_NEURON_ID_MEMORY_ID),
            proposals: ProposalMemories {
                bodies: memory(PROPOSAL_BODIES_MEMORY_ID),
                states: memory(PROPOSAL_STATES_MEMORY_ID),
                ballots: memory(BALLOTS_MEMORY_ID),
                followers: memory(FOLLOWERS_MEMORY_ID),
                next_proposal_id: memory(NEXT_PROPOSAL_ID_MEMORY_ID),
                unfinished: memory(UNFINISHED_PROPOSALS_MEMORY_ID),
                unsettled: memory(UNSETTLED_PROPOSALS_MEMORY_ID),
                cascades: memory(VOTE_CASCADES_MEMORY_ID),
                pruned: memory(PRUNED_PROPOSALS_MEMORY_ID),
            },
            latest_reward_event: memory(LATEST_REWARD_EVENT_MEMORY_ID),
            reward_distribution: memory(REWARD_DISTRIBUTION_MEMORY_ID),
            to_restart: memory(TO_RESTART_MEMORY_ID),
            maturity_modulation: memory(MATURITY_MODULATION_MEMORY_ID),
            known_neurons: memory(KNOWN_NEURONS_MEMORY_ID),
        },
        ic_cdk::api::canister_self(),
    ));
}

thread_local! {
    /// The modules sales are installed with (SNS-W's, kept here), the
    /// latest of each SNS canister type.
    static SNS_WASMS: RefCell<StableBTreeMap<u32, Vec<u8>, Memory>> =
        RefCell::new(StableBTreeMap::init(memory(SNS_WASMS_MEMORY_ID)));
    /// The sales `CreateServiceNervousSystem` proposals made, by proposal.
    static DEPLOYED_SALES: RefCell<StableBTreeMap<u64, Candid<DeployedSns>, Memory>> =
        RefCell::new(StableBTreeMap::init(memory(DEPLOYED_SALES_MEMORY_ID)));
}

thread_local! {
    /// What each sale's proposal drew from the Neurons' Fund, and its
    /// settlement.
    static FUND_RESERVATIONS: RefCell<StableBTreeMap<u64, Candid<crate::fund::Reservation>, Memory>> =
        RefCell::new(StableBTreeMap::init(memory(FUND_RESERVATIONS_MEMORY_ID)));
}

thread_local! {
    /// The node providers governance pays, by id.
    static NODE_PROVIDERS: RefCell<StableBTreeMap<Principal, Candid<NodeProvider>, Memory>> =
        RefCell::new(StableBTreeMap::init(memory(NODE_PROVIDERS_MEMORY_ID)));
    /// Every month's node-provider rewards, by timestamp.
    static NODE_PROVIDER_REWARDS: RefCell<StableBTreeMap<u64, Candid<MonthlyNodeProviderRewards>, Memory>> =
        RefCell::new(StableBTreeMap::init(memory(NODE_PROVIDER_REWARDS_MEMORY_ID)));
    /// The rewards of recorded months not yet paid: (month, position).
    static NODE_PROVIDER_REWARDS_OWED: RefCell<StableBTreeMap<(u64, u32), (), Memory>> =
        RefCell::new(StableBTreeMap::init(memory(NODE_PROVIDER_REWARDS_OWED_MEMORY_ID)));
}

/// The rewards owed, oldest first.
pub fn owed_node_provider_rewards() -> Vec<(u64, u32)> {
    NODE_PROVIDER_REWARDS_OWED.with_borrow(|m| m.keys().collect())
}

/// The reward at `index` of the month recorded at `timestamp`.
pub fn node_provider_reward(timestamp: u64, index: u32) -> Option<RewardNodeProvider> {
    NODE_PROVIDER_REWARDS
        .with_borrow(|m| m.get(&timestamp))
        .and_then(|month| month.0.rewards.get(index as usize).cloned())
}

/// The reward is paid (or will never be): no longer owed.
pub fn settle_node_provider_reward(timestamp: u64, index: u32) {
    NODE_PROVIDER_REWARDS_OWED.with_borrow_mut(|m| m.remove(&(timestamp, index)));
}

pub fn node_provider(id: &Principal) -> Option<NodeProvider> {
    NODE_PROVIDERS.with_borrow(|m| m.get(id)).map(|c| c.0)
}

pub fn node_providers() -> Vec<NodeProvider> {
    NODE_PROVIDERS.with_borrow(|m| m.iter().map(|entry| entry.value().0).collect())
}

pub fn node_provider_count() -> usize {
    NODE_PROVIDERS.with_borrow(|m| m.len() as usize)
}

pub fn put_node_provider(id: Principal, provider: NodeProvider) {
    NODE_PROVIDERS.with_borrow_mut(|m| m.insert(id, Candid(provider)));
}

pub fn remove_node_provider(id: &Principal) -> Option<NodeProvider> {
    NODE_PROVIDERS
        .with_borrow_mut(|m| m.remove(id))
        .map(|c| c.0)
}

/// Records a month, with the positions of the rewards to pay as owed.
pub fn record_node_provider_rewards(month: MonthlyNodeProviderRewards, owed: &[u32]) {
    let timestamp = month.timestamp;
    NODE_PROVIDER_REWARDS.with_borrow_mut(|m| m.insert(timestamp, Candid(month)));
    NODE_PROVIDER_REWARDS_OWED.with_borrow_mut(|m| {
        for &index in owed {
            m.insert((timestamp, index), ());
        }
    });
}

pub fn most_recent_node_provider_rewards() -> Option<MonthlyNodeProviderRewards> {
    NODE_PROVIDER_REWARDS.with_borrow(|m| m.last_key_value().map(|(_, c)| c.0))
}

/// The months within `filter`, newest first, bounded.
pub fn list_node_provider_rewards(
    filter: Option<nns_api::governance::DateRangeFilter>,
) -> Vec<MonthlyNodeProviderRewards> {
    NODE_PROVIDER_REWARDS.with_borrow(|m| {
        let months: Vec<MonthlyNodeProviderRewards> = {
            let start = filter.and_then(|f| f.start_timestamp_seconds).unwrap_or(0);
            let end = filter
                .and_then(|f| f.end_timestamp_seconds)
                .unwrap_or(u64::MAX);
            if start > end {
                return vec![];
            }
            // Only the newest that can be answered are read.
            m.range(start..=end)
                .rev()
                .take(crate::node_providers::MAX_LIST_NODE_PROVIDER_REWARDS_RESULTS)
                .map(|entry| entry.value().0)
                .collect()
        };
        crate::node_providers::within(months.iter().rev(), filter)
    })
}

pub fn fund_reservation(proposal_id: u64) -> Option<crate::fund::Reservation> {
    FUND_RESERVATIONS
        .with_borrow(|m| m.get(&proposal_id))
        .map(|c| c.0)
}

pub fn set_fund_reservation(proposal_id: u64, reservation: crate::fund::Reservation) {
    FUND_RESERVATIONS.with_borrow_mut(|m| m.insert(proposal_id, Candid(reservation)));
}

/// The sale `proposal_id` made, if any.
pub fn deployed_sale(proposal_id: u64) -> Option<DeployedSns> {
    DEPLOYED_SALES
        .with_borrow(|m| m.get(&proposal_id))
        .map(|c| c.0)
}

/// Keeps `wasm` (whose SHA-256 is `hash`) as the module of `canister_type`.
pub fn add_sns_wasm(canister_type: i32, hash: [u8; 32], wasm: &[u8]) {
    let mut value = hash.to_vec();
    value.extend_from_slice(wasm);
    SNS_WASMS.with_borrow_mut(|m| m.insert(canister_type as u32, value));
}

/// The module of `canister_type`, if one was added, with its SHA-256.
pub fn sns_wasm(canister_type: i32) -> Option<([u8; 32], Vec<u8>)> {
    SNS_WASMS
        .with_borrow(|m| m.get(&(canister_type as u32)))
        .map(|mut value| {
            let wasm = value.split_off(32);
            (value.try_into().expect("32 bytes"), wasm)
        })
}

pub fn record_sale(proposal_id: u64, sale: DeployedSns) {
    DEPLOYED_SALES.with_borrow_mut(|m| m.insert(proposal_id, Candid(sale)));
}

/// The sales made, in proposal order.
pub fn deployed_sales() -> Vec<DeployedSns> {
    DEPLOYED_SALES.with_borrow(|m| m.iter().map(|entry| entry.value().0).collect())
}

fn memory(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with(|m| m.get(id))
}

pub fn set_config(config: Config) {
    CONFIG.with(|c| c.borrow_mut().set(config));
}

pub fn update_config(f: impl FnOnce(&mut Config)) {
    CONFIG.with(|c| {
        let mut config = c.borrow().get().clone();
        f(&mut config);
        c.borrow_mut().set(config);
    });
}

pub fn read_config<R>(f: impl FnOnce(&Config) -> R) -> R {
    CONFIG.with(|c| f(c.borrow().get()))
}

pub fn read<R>(f: impl FnOnce(&Governance<Memory>) -> R) -> R {
    GOVERNANCE.with(|g| f(&g.borrow()))
}

pub fn mutate<R>(f: impl FnOnce(&mut Governance<Memory>) -> R) -> R {
    GOVERNANCE.with(|g| f(&mut g.borrow_mut()))
}
