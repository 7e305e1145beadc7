//! The neuron half of governance as plain Rust: every `manage_neuron`
//! command's checks and state changes, with time, caller and economics as
//! arguments and no canister calls.
//!
//! A command that moves ICP runs in three steps, and the endpoint awaits the
//! ledger between them:
//! 1. `begin_*` checks everything, locks the neurons it touches and commits
//!    the command's effect as if the ledger will succeed, returning a plan of
//!    the transfers to make;
//! 2. the endpoint makes the transfers;
//! 3. `undo_*` gives back exactly what a failed transfer did not move, and
//!    `unlock` releases the neurons.
//!
//! Committing before the await means a reply that never comes back (or a
//! trap after the ledger acted) can only leave the neuron holding *less*
//! than the ledger shows, never more, and a refresh repairs that.

use crate::economics::VotingPowerRules;
use crate::limits::{MAX_NUMBER_OF_NEURONS, NeuronCreationLimiter, too_many_neurons};
use crate::neuron::{
    Destination, DissolveState, INITIAL_NEURON_DISSOLVE_DELAY_SECONDS, MaturityDisbursement,
    NOT_AGING, Neuron, VISIBILITY_PRIVATE, VISIBILITY_PUBLIC, split_subaccount, staking_subaccount,
};
use crate::neuron_store::{NeuronStore, StoreError};
use crate::proposals::{ProposalMemories, Proposals};
use crate::rewards::Rewards;
use candid::Principal;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use nns_api::AccountIdentifier;
use nns_api::governance::{ErrorType, GovernanceError, KnownNeuronData, NetworkEconomics};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Index entries a run of unstaking reads at most, so that neurons passed
/// over (a command in flight, spawning) cannot hold up the others.
pub const UNSTAKE_ENTRIES_READ_PER_RUN: usize = 2_000;

/// The maturity modulation's bounds, in basis points, as the CMC's: spawns
/// and disbursements mint maturity × (1 + modulation), and their minimums
/// are checked against the worst case.
pub const MIN_MATURITY_MODULATION_BASIS_POINTS: i32 = -500;
pub const MAX_MATURITY_MODULATION_BASIS_POINTS: i32 = 500;
/// How often the modulation is read from the CMC.
pub const MATURITY_MODULATION_REFRESH_SECONDS: u64 = 24 * 60 * 60;

/// `maturity` × (1 + `basis_points` / 10 000), rounded down.
pub fn apply_maturity_modulation(maturity: u64, basis_points: i32) -> u64 {
    let factor = u128::try_from(10_000 + i64::from(basis_points)).unwrap_or(0);
    u64::try_from(u128::from(maturity) * factor / 10_000).unwrap_or(u64::MAX)
}

/// Follower-index entries one step of the stale-following sweep removes
/// at most (a B-tree removal each), whatever the neurons' following.
pub const STALE_FOLLOWING_ENTRIES_PER_STEP: usize = 10_000;

/// Proposals whose ballots make a neuron's `recent_ballots`.
pub const RECENT_BALLOTS_PROPOSALS: usize = 100;

/// Bounds of a known neuron's registration.
pub const MAX_KNOWN_NEURON_NAME_BYTES: usize = 200;
pub const MAX_KNOWN_NEURON_DESCRIPTION_BYTES: usize = 3_000;
pub const MAX_KNOWN_NEURON_LINKS: usize = 10;
pub const MAX_KNOWN_NEURON_LINK_BYTES: usize = 100;

/// The neuron id and data of a `RegisterKnownNeuron` request, both needed.
pub fn known_neuron_request(
    k: &nns_api::governance::KnownNeuron,
) -> Result<(u64, KnownNeuronData)> {
    let invalid = |m: &str| error(ErrorType::InvalidProposal, m);
    let id =
        k.id.ok_or_else(|| invalid("RegisterKnownNeuron needs a neuron id"))?
            .id;
    let data = k
        .known_neuron_data
        .clone()
        .ok_or_else(|| invalid("RegisterKnownNeuron needs the known neuron's data"))?;
    Ok((id, data))
}

/// Maturity can be disbursed from one ICP on, as on the NNS.
pub const MINIMUM_MATURITY_DISBURSEMENT_E8S: u64 = 100_000_000;
/// Maturity disbursed is minted a week later.
pub const MATURITY_DISBURSEMENT_DELAY_SECONDS: u64 = 7 * 24 * 60 * 60;
pub const MAX_MATURITY_DISBURSEMENTS_IN_PROGRESS: usize = 10;
/// The highest topic number a neuron may follow on (0 is the catch-all).
pub const MAX_TOPIC: i32 = 18;
/// Following on this topic decides who manages a neuron: controller only.
pub const TOPIC_NEURON_MANAGEMENT: i32 = 1;

pub type Result<T> = std::result::Result<T, GovernanceError>;

fn error(kind: ErrorType, message: impl Into<String>) -> GovernanceError {
    GovernanceError::new(kind, message)
}

impl From<StoreError> for GovernanceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchNeuron(id) => not_found(id),
            StoreError::NeuronExists(id) => {
                error(ErrorType::PreconditionFailed, format!("neuron {id} exists"))
            }
            StoreError::SubaccountInUse(id) => error(
                ErrorType::PreconditionFailed,
                format!("the subaccount is neuron {id}'s"),
            ),
        }
    }
}

fn locked(id: u64) -> GovernanceError {
    error(
        ErrorType::LedgerUpdateOngoing,
        format!("neuron {id} has a ledger operation in progress; retry when it is done"),
    )
}

fn not_found(id: u64) -> GovernanceError {
    error(ErrorType::NotFound, format!("no neuron {id}"))
}

/// One ledger transfer a command needs, from a neuron's subaccount (or,
/// for a mint, from the minting account).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub from_subaccount: Option<[u8; 32]>,
    pub to: AccountIdentifier,
    pub amount_e8s: u64,
    pub fee_e8s: u64,
}

/// What a claim or refresh needs read from the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceRead {
    /// The neuron refreshed; `None` for a claim, whose neuron is created
    /// (and counted against the limits on neurons) only once the balance
    /// read shows a stake, so that claims of empty accounts cost nothing.
    pub neuron_id: Option<u64>,
    pub subaccount: [u8; 32],
    /// The controller of the neuron a claim creates.
    pub controller: Principal,
}

impl BalanceRead {
    pub fn is_claim(&self) -> bool {
        self.neuron_id.is_none()
    }
}

/// Disburse: burn the fees, then pay out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisbursePlan {
    pub neuron_id: u64,
    pub burn_fees: Option<Transfer>,
    pub payout: Transfer,
    fees_taken: u64,
    stake_taken: u64,
}

/// Split: a new neuron funded from the parent's subaccount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitPlan {
    pub parent_id: u64,
    pub child_id: u64,
    pub transfer: Transfer,
    stake_taken: u64,
    maturity_taken: u64,
    staked_maturity_taken: u64,
    gang_base_taken: u64,
}

/// Merge: the source's fees burned, then its stake sent to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergePlan {
    pub source_id: u64,
    pub target_id: u64,
    pub burn_fees: Option<Transfer>,
    pub transfer: Option<Transfer>,
    /// What moved, so an undo takes back just that: rewards credited or
    /// fees refunded while the ledger was called stay where they went.
    moved: u64,
    burned: u64,
    fee: u64,
    maturity_moved: u64,
    staked_maturity_moved: u64,
    gang_base_moved: u64,
    /// Only commands change these, and the lock keeps commands out.
    source_before: (DissolveState, u64),
    target_before: (DissolveState, u64),
}

/// A mint that completes a spawn or a maturity disbursement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaturityMint {
    Spawn {
        neuron_id: u64,
        /// The maturity spawned; the mint is it modulated.
        maturity_e8s: u64,
        mint: Transfer,
    },
    Disbursement {
        neuron_id: u64,
        disbursement: MaturityDisbursement,
        mint: Transfer,
    },
}

pub struct Governance<M: Memory> {
    pub(crate) neurons: NeuronStore<M>,
    pub(crate) proposals: Proposals<M>,
    pub(crate) rewards: Rewards<M>,
    /// (due time, neuron id) of spawns and maturity disbursements to mint.
    due: StableBTreeMap<(u64, u64), (), M>,
    next_neuron_id: StableCell<u64, M>,
    /// Neurons with a ledger call in flight. On the heap: an upgrade needs
    /// the canister stopped, so no call is in flight across one.
    locked: BTreeSet<u64>,
    /// The governance canister's own id: neurons' subaccounts are its.
    canister_id: Principal,
    /// The allowance for creating neurons by claim and split.
    creations: NeuronCreationLimiter,
    /// Staking subaccounts with a claim's balance read in flight (on the
    /// heap, as `locked`): a second claim of one waits for the first.
    claiming: BTreeSet<[u8; 32]>,
    /// [`MAX_NUMBER_OF_NEURONS`], lowered by unit tests.
    max_neurons: u64,
    /// Canisters an `InstallCode` execution stopped and that have not been
    /// started again since; the proposal timer starts them. Stable, so that
    /// an upgrade of governance between the stop and the start loses none.
    to_restart: StableBTreeMap<Principal, (), M>,
    /// `InstallCode` executions in flight, by target: the timer leaves
    /// their targets alone (a start would undo their stop).
    installing: BTreeMap<Principal, u32>,
    /// Known neurons' names and descriptions, by neuron id: few, registered
    /// by proposal.
    known_neurons: StableBTreeMap<u64, canister_common::Candid<KnownNeuronData>, M>,
    /// The maturity modulation in basis points and when it was read from
    /// the CMC; `None` until the first read (0 applies meanwhile).
    maturity_modulation: StableCell<canister_common::Candid<Option<(i32, u64)>>, M>,
    /// Where the sweep clearing stale following goes on (on the heap: after
    /// an upgrade it starts over, which only repeats a few checks).
    sweep_cursor: u64,
}

pub struct Memories<M> {
    pub neurons: M,
    pub by_subaccount: M,
    pub by_principal: M,
    pub principal_counts: M,
    pub principal_counting: M,
    pub unstake: M,
    pub unstake_indexing: M,
    pub credited_maturity: M,
    pub due: M,
    pub next_neuron_id: M,
    pub proposals: ProposalMemories<M>,
    pub latest_reward_event: M,
    pub reward_distribution: M,
    pub to_restart: M,
    pub maturity_modulation: M,
    pub known_neurons: M,
}

impl<M: Memory> Governance<M> {
    pub fn init(memories: Memories<M>, canister_id: Principal) -> Self {
        Self {
            known_neurons: StableBTreeMap::init(memories.known_neurons),
            maturity_modulation: StableCell::init(
                memories.maturity_modulation,
                canister_common::Candid(None),
            ),
            neurons: NeuronStore::init(
                memories.neurons,
                memories.by_subaccount,
                memories.by_principal,
                memories.principal_counts,
                memories.principal_counting,
                (memories.unstake, memories.unstake_indexing),
                memories.credited_maturity,
            ),
            proposals: Proposals::init(memories.proposals),
            rewards: Rewards::init(memories.latest_reward_event, memories.reward_distribution),
            due: StableBTreeMap::init(memories.due),
            next_neuron_id: StableCell::init(memories.next_neuron_id, 1),
            locked: BTreeSet::new(),
            canister_id,
            creations: NeuronCreationLimiter::default(),
            claiming: BTreeSet::new(),
            max_neurons: MAX_NUMBER_OF_NEURONS,
            to_restart: StableBTreeMap::init(memories.to_restart),
            installing: BTreeMap::new(),
            sweep_cursor: 0,
        }
    }

    pub fn neurons(&self) -> &NeuronStore<M> {
        &self.neurons
    }

    /// The cut of "Mission 70", made once by the upgrade from the rules
    /// before it, in that one message (no command is in flight during an
    /// upgrade): every delay above `max_delay` comes down to it, and each
    /// neuron locked for eight years keeps its stake as its eight-year-gang
    /// bonus base. A read of each neuron (a proposal's snapshot, which
    /// also writes a ballot, costs about 7 k instructions a neuron: 3.7 B
    /// at the maximum of 500 000), far within the 300 B an upgrade may
    /// use. Returns the neurons changed.
    pub fn cut_dissolve_delays(&mut self, now: u64, max_delay: u64) -> Vec<u64> {
        let mut changed = vec![];
        for (id, mut neuron) in self.neurons.iter() {
            if crate::neuron::apply_max_dissolve_delay(&mut neuron, now, max_delay) {
                changed.push(id);
            }
        }
        for &id in &changed {
            let _ = self.neurons.update(id, |n| {
                crate::neuron::apply_max_dissolve_delay(n, now, max_delay)
            });
        }
        changed
    }

    /// One step of counting a neuron index written before the per-principal
    /// counts existed; `true` while some remains.
    pub fn count_neuron_index(&mut self) -> bool {
        self.neurons.count_some()
    }

    pub fn neuron(&self, id: u64) -> Result<Neuron> {
        self.neurons.get(id).ok_or_else(|| not_found(id))
    }

    pub fn is_locked(&self, id: u64) -> bool {
        self.locked.contains(&id)
    }

    pub fn unlock(&mut self, id: u64) {
        self.locked.remove(&id);
    }

    fn lock(&mut self, id: u64) -> Result<()> {
        if !self.locked.insert(id) {
            return Err(locked(id));
        }
        Ok(())
    }

    fn neuron_account(&self, subaccount: &[u8; 32]) -> AccountIdentifier {
        AccountIdentifier::new(&self.canister_id, Some(subaccount))
    }

    /// Governance is the ledger's minting account: transfers to it burn.
    fn minting_account(&self) -> AccountIdentifier {
        AccountIdentifier::new(&self.canister_id, None)
    }

    fn take_neuron_id(&mut self) -> u64 {
        let id = *self.next_neuron_id.get();
        self.next_neuron_id.set(id + 1);
        id
    }

    /// Admits one more neuron: refused at the maximum number of neurons
    /// and, for claims and splits (`rate_limited`), when the allowance for
    /// new neurons is used up. A claim or split that does not happen after
    /// all gives its place back with [`Self::forget_new_neuron`].
    fn admit_new_neuron(&mut self, rate_limited: bool, now: u64) -> Result<()> {
        if self.neurons.len() >= self.max_neurons {
            return Err(too_many_neurons(self.max_neurons));
        }
        if rate_limited {
            self.creations.take(now)?;
        }
        Ok(())
    }

    /// Inserts a neuron admitted (rate limited) by [`Self::admit_new_neuron`];
    /// if it cannot be, its place in the allowance is given back.
    fn insert_new_neuron(&mut self, neuron: Neuron) -> Result<()> {
        self.neurons.insert(neuron).map_err(|e| {
            self.creations.give_back();
            e.into()
        })
    }

    /// Inserts a neuron of the init argument ([`crate::genesis`]): not
    /// counted against the allowance for new neurons, and ids after it are
    /// new ones. Its followees are indexed by
    /// [`Self::index_genesis_following`] once all are in.
    pub(crate) fn insert_genesis_neuron(&mut self, neuron: Neuron) -> Result<()> {
        if self.neurons.len() >= self.max_neurons {
            return Err(too_many_neurons(self.max_neurons));
        }
        let next = neuron
            .id
            .checked_add(1)
            .ok_or_else(|| error(ErrorType::InvalidCommand, "neuron id u64::MAX is reserved"))?;
        if next > *self.next_neuron_id.get() {
            self.next_neuron_id.set(next);
        }
        self.neurons.insert(neuron)?;
        Ok(())
    }

    /// Indexes an inserted genesis neuron's followees, which must exist;
    /// `found` remembers the followees already found.
    pub(crate) fn index_genesis_following(
        &mut self,
        id: u64,
        followees: &BTreeMap<i32, Vec<u64>>,
        found: &mut std::collections::BTreeSet<u64>,
    ) -> Result<()> {
        for list in followees.values() {
            self.check_followees_with(list, |f| {
                found.contains(&f) || (self.neurons.contains(f) && found.insert(f))
            })?;
        }
        self.index_following(id, &BTreeMap::new(), followees);
        Ok(())
    }

    /// Removes a neuron whose claim or split did not happen, and gives its
    /// place in the allowance back.
    fn forget_new_neuron(&mut self, id: u64) {
        if let Ok(neuron) = self.neurons.remove(id) {
            // An index entry summarises its follower: none may outlive it.
            self.unindex_all_following(id, &neuron.followees);
            self.creations.give_back();
        }
        // Registered as known while its funding was in flight: no more.
        self.known_neurons.remove(&id);
    }

    /// Whether strangers see neuron `neuron` in full and may follow it:
    /// public by its own choice, or a known neuron (which always is, as on
    /// the NNS; deregistered, it is as it chose again).
    pub fn is_public(&self, neuron: &Neuron) -> bool {
        neuron.is_public() || self.known_neurons.contains_key(&neuron.id)
    }

    /// The neuron `caller` controls, unlocked.
    fn controlled(&self, caller: &Principal, id: u64) -> Result<Neuron> {
        let neuron = self.neuron(id)?;
        if !neuron.is_controller(caller) {
            return Err(error(
                ErrorType::NotAuthorized,
                format!("{caller} does not control neuron {id}"),
            ));
        }
        if self.is_locked(id) {
            return Err(locked(id));
        }
        Ok(neuron)
    }

    /// The neuron `caller` may vote and follow with (controller or hot key).
    fn voted_by(&self, caller: &Principal, id: u64) -> Result<Neuron> {
        let neuron = self.neuron(id)?;
        if !neuron.is_authorized_to_vote(caller) {
            return Err(error(
                ErrorType::NotAuthorized,
                format!("{caller} is neither the controller nor a hot key of neuron {id}"),
            ));
        }
        Ok(neuron)
    }

    /// Controller or hot key may read the full neuron.
    pub fn readable_by(&self, caller: &Principal, id: u64) -> Result<Neuron> {
        self.voted_by(caller, id)
    }

    // ----- canisters stopped to install code ----------------------------

    /// An `InstallCode` execution is about to stop `canister`: from now on
    /// it is to be started again, whatever happens to this execution.
    pub fn begin_install(&mut self, canister: Principal) {
        self.to_restart.insert(canister, ());
        *self.installing.entry(canister).or_default() += 1;
    }

    /// An `InstallCode` execution on `canister` is over; `started` if its
    /// own start of the canister succeeded.
    pub fn end_install(&mut self, canister: Principal, started: bool) {
        if let Some(n) = self.installing.get_mut(&canister) {
            *n -= 1;
            if *n == 0 {
                self.installing.remove(&canister);
            }
        }
        if started {
            self.restarted(canister);
        }
    }

    /// `canister` was started again: no longer to restart, unless another
    /// execution is about to stop it.
    pub fn restarted(&mut self, canister: Principal) {
        if !self.installing.contains_key(&canister) {
            self.to_restart.remove(&canister);
        }
    }

    /// The canisters left stopped, to start again (no execution in flight
    /// on them). Few: only `InstallCode` targets are ever in the set.
    pub fn to_restart(&self) -> Vec<Principal> {
        self.to_restart
            .keys()
            .filter(|c| !self.installing.contains_key(c))
            .collect()
    }

    // ----- claim and refresh -------------------------------------------

    /// Starts claiming the neuron staked by `controller` with `memo`, or
    /// refreshing it if it exists. A claim creates nothing yet: it refuses
    /// early what the limits on neurons would refuse now, and keeps a
    /// second claim of the same stake out until it is over.
    pub fn begin_claim_or_refresh(
        &mut self,
        controller: Principal,
        memo: u64,
        now: u64,
    ) -> Result<BalanceRead> {
        if controller == Principal::anonymous() {
            return Err(error(
                ErrorType::InvalidPrincipal,
                "the anonymous principal cannot control a neuron",
            ));
        }
        let subaccount = staking_subaccount(&controller, memo);
        if let Some(id) = self.neurons.id_by_subaccount(&subaccount) {
            return self.begin_refresh(id);
        }
        if self.claiming.contains(&subaccount) {
            return Err(error(
                ErrorType::LedgerUpdateOngoing,
                "a claim of this stake is in progress; retry when it is done",
            ));
        }
        if self.neurons.len() >= self.max_neurons {
            return Err(too_many_neurons(self.max_neurons));
        }
        self.creations.check(now)?;
        self.claiming.insert(subaccount);
        Ok(BalanceRead {
            neuron_id: None,
            subaccount,
            controller,
        })
    }

    pub fn begin_refresh(&mut self, id: u64) -> Result<BalanceRead> {
        let neuron = self.neuron(id)?;
        if neuron.is_spawning() {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("neuron {id} is spawning; its stake is minted when the spawn completes"),
            ));
        }
        self.lock(id)?;
        Ok(BalanceRead {
            neuron_id: Some(id),
            subaccount: neuron.subaccount,
            controller: neuron.controller,
        })
    }

    /// Releases what [`Self::begin_claim_or_refresh`] locked (idempotent).
    pub fn end_read(&mut self, read: &BalanceRead) {
        match read.neuron_id {
            Some(id) => self.unlock(id),
            None => {
                self.claiming.remove(&read.subaccount);
            }
        }
    }

    /// Takes the balance read from the ledger as the neuron's stake; a
    /// claim creates its neuron now, if the limits on neurons allow it (if
    /// not, the stake stays in its account for a later claim).
    pub fn finish_claim_or_refresh(
        &mut self,
        read: BalanceRead,
        balance_e8s: u64,
        economics: &NetworkEconomics,
        now: u64,
    ) -> Result<u64> {
        self.end_read(&read);
        let minimum = economics.neuron_minimum_stake_e8s;
        if balance_e8s < minimum {
            if let Some(id) = read.neuron_id {
                // The ledger is the truth: a stake it no longer holds must
                // not keep voting, even if what is left is too little for a
                // neuron.
                self.neurons.update(id, |n| {
                    n.cached_neuron_stake_e8s = n.cached_neuron_stake_e8s.min(balance_e8s);
                })?;
            }
            return Err(error(
                ErrorType::InsufficientFunds,
                format!(
                    "the staking account holds {balance_e8s} e8s; a neuron needs at least {minimum}"
                ),
            ));
        }
        let Some(id) = read.neuron_id else {
            return self.create_claimed_neuron(&read, balance_e8s, now);
        };
        self.neurons
            .update(id, |n| n.refresh_stake(balance_e8s, now))?;
        Ok(id)
    }

    fn create_claimed_neuron(
        &mut self,
        read: &BalanceRead,
        balance_e8s: u64,
        now: u64,
    ) -> Result<u64> {
        if let Some(id) = self.neurons.id_by_subaccount(&read.subaccount) {
            // Claimed meanwhile by other means: the balance read may be
            // older than that neuron's stake, so it is not applied.
            return Err(locked(id));
        }
        self.admit_new_neuron(true, now)?;
        let id = self.take_neuron_id();
        let mut neuron = Neuron::new(id, read.controller, read.subaccount, balance_e8s, now);
        neuron.dissolve_state =
            DissolveState::DissolveDelaySeconds(INITIAL_NEURON_DISSOLVE_DELAY_SECONDS);
        self.insert_new_neuron(neuron)?;
        Ok(id)
    }

    /// The balance could not be read: nothing changes.
    pub fn abort_claim_or_refresh(&mut self, read: BalanceRead) {
        self.end_read(&read);
    }

    // ----- commands without ledger calls --------------------------------

    pub fn configure(
        &mut self,
        caller: &Principal,
        id: u64,
        operation: nns_api::governance::Operation,
        economics: &NetworkEconomics,
        now: u64,
    ) -> Result<()> {
        use nns_api::governance::Operation;
        let max_delay = VotingPowerRules::of(economics).max_dissolve_delay_seconds;
        // Hot keys may remove themselves and, as on the NNS, take the neuron
        // into the Neurons' Fund or out of it.
        let hot_key_may = matches!(operation,
            Operation::RemoveHotKey(k) if k.hot_key_to_remove == Some(*caller))
            || matches!(
                operation,
                Operation::JoinCommunityFund {} | Operation::LeaveCommunityFund {}
            );
        let neuron = if hot_key_may {
            if self.is_locked(id) {
                return Err(locked(id));
            }
            self.voted_by(caller, id)?
        } else {
            self.controlled(caller, id)?
        };
        if neuron.is_spawning()
            && !matches!(
                operation,
                Operation::AddHotKey(_) | Operation::RemoveHotKey(_)
            )
        {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("neuron {id} is spawning"),
            ));
        }
        let mut changed = neuron.clone();
        let n = &mut changed;
        let result = match operation {
            Operation::IncreaseDissolveDelay(d) => n.increase_dissolve_delay(
                now,
                u64::from(d.additional_dissolve_delay_seconds),
                max_delay,
            ),
            Operation::SetDissolveTimestamp(t) => {
                n.set_dissolve_timestamp(now, t.dissolve_timestamp_seconds, max_delay)
            }
            Operation::StartDissolving {} => n.start_dissolving(now),
            Operation::StopDissolving {} => n.stop_dissolving(now),
            Operation::AddHotKey(k) => match k.new_hot_key {
                Some(key) => n.add_hot_key(key),
                None => Err(error(ErrorType::InvalidCommand, "no hot key given")),
            },
            Operation::RemoveHotKey(k) => match k.hot_key_to_remove {
                Some(key) => n.remove_hot_key(&key),
                None => Err(error(ErrorType::InvalidCommand, "no hot key given")),
            },
            Operation::ChangeAutoStakeMaturity(c) => {
                n.auto_stake_maturity = c.requested_setting_for_auto_stake_maturity;
                Ok(())
            }
            Operation::SetVisibility(v) => match v.visibility {
                Some(VISIBILITY_PRIVATE) if self.known_neurons.contains_key(&id) => Err(error(
                    ErrorType::PreconditionFailed,
                    format!("neuron {id} is a known neuron, and known neurons are always public"),
                )),
                Some(v @ (VISIBILITY_PRIVATE | VISIBILITY_PUBLIC)) => {
                    n.visibility = v;
                    Ok(())
                }
                other => Err(error(
                    ErrorType::InvalidCommand,
                    format!("visibility must be 1 (private) or 2 (public), not {other:?}"),
                )),
            },
            Operation::JoinCommunityFund {} => match n.joined_community_fund_timestamp_seconds {
                Some(_) => Err(error(
                    ErrorType::AlreadyJoinedCommunityFund,
                    format!("neuron {id} is already in the Neurons' Fund"),
                )),
                None => {
                    n.joined_community_fund_timestamp_seconds = Some(now);
                    Ok(())
                }
            },
            Operation::LeaveCommunityFund {} => match n.joined_community_fund_timestamp_seconds {
                None => Err(error(
                    ErrorType::NotInTheCommunityFund,
                    format!("neuron {id} is not in the Neurons' Fund"),
                )),
                Some(_) => {
                    n.joined_community_fund_timestamp_seconds = None;
                    Ok(())
                }
            },
        };
        // A refused change leaves the stored neuron untouched.
        result?;
        self.neurons.update(id, |n| *n = changed)?;
        Ok(())
    }

    pub fn follow(
        &mut self,
        caller: &Principal,
        id: u64,
        topic: i32,
        followees: Vec<u64>,
        now: u64,
    ) -> Result<()> {
        self.set_following(caller, id, vec![(topic, followees)], now)
    }

    /// `SetFollowing`: the followees of several topics at once, all checked
    /// before any is set (topics unique, each known, at most
    /// [`crate::neuron::MAX_FOLLOWEES_PER_TOPIC`] existing neurons each,
    /// none twice); an empty list stops following the topic. Confirms the
    /// neuron's following, so refreshes its voting power.
    pub fn set_following(
        &mut self,
        caller: &Principal,
        id: u64,
        topics: Vec<(i32, Vec<u64>)>,
        now: u64,
    ) -> Result<()> {
        // Neuron management decides who manages the neuron: controller only.
        if topics.iter().any(|(t, _)| *t == TOPIC_NEURON_MANAGEMENT) {
            self.controlled(caller, id)?;
        } else {
            self.voted_by(caller, id)?;
        }
        let mut seen = BTreeSet::new();
        for (topic, followees) in &topics {
            if !(0..=MAX_TOPIC).contains(topic) {
                return Err(error(
                    ErrorType::InvalidCommand,
                    format!("no topic {topic}"),
                ));
            }
            if !seen.insert(*topic) {
                return Err(error(
                    ErrorType::InvalidCommand,
                    format!("topic {topic} is listed twice"),
                ));
            }
            self.check_followees(followees)?;
        }
        let follower = self.neuron(id)?;
        for (topic, followees) in &topics {
            if *topic != TOPIC_NEURON_MANAGEMENT {
                let already = follower.followees.get(topic);
                self.check_private_followees(&follower, followees, already)?;
            }
        }
        let old = follower.followees.clone();
        let mut changed = follower;
        for (topic, followees) in &topics {
            changed.follow(*topic, followees.clone())?;
        }
        changed.voting_power_refreshed_timestamp_seconds = now;
        let new = changed.followees.clone();
        self.neurons.update(id, |n| *n = changed)?;
        self.index_following(id, &old, &new);
        Ok(())
    }

    /// As the NNS: a neuron newly followed (outside neuron management) is
    /// public, or has the follower's controller, or holds it as a hot key.
    fn check_private_followees(
        &self,
        follower: &Neuron,
        followees: &[u64],
        already: Option<&Vec<u64>>,
    ) -> Result<()> {
        let private: Vec<u64> = followees
            .iter()
            .filter(|f| already.is_none_or(|a| !a.contains(f)))
            .filter_map(|f| self.neurons.get(*f))
            .filter(|f| {
                !self.is_public(f)
                    && f.controller != follower.controller
                    && !f.hot_keys.contains(&follower.controller)
            })
            .map(|f| f.id)
            .collect();
        if private.is_empty() {
            return Ok(());
        }
        Err(error(
            ErrorType::PreconditionFailed,
            format!(
                "neurons {private:?} are private: a neuron you control can be followed once your principal {} is one of its hot keys or it is public",
                follower.controller
            ),
        ))
    }

    fn check_followees(&self, followees: &[u64]) -> Result<()> {
        self.check_followees_with(followees, |f| self.neurons.contains(f))
    }

    /// [`Self::check_followees`] with `exists` telling whether a neuron does.
    fn check_followees_with(
        &self,
        followees: &[u64],
        mut exists: impl FnMut(u64) -> bool,
    ) -> Result<()> {
        // The cap first: a long list costs nothing before it is refused.
        if followees.len() > crate::neuron::MAX_FOLLOWEES_PER_TOPIC {
            return Err(error(
                ErrorType::InvalidCommand,
                format!(
                    "at most {} followees per topic",
                    crate::neuron::MAX_FOLLOWEES_PER_TOPIC
                ),
            ));
        }
        if let Some(missing) = followees.iter().find(|f| !exists(**f)) {
            return Err(error(
                ErrorType::NotFound,
                format!("cannot follow neuron {missing}: there is no such neuron"),
            ));
        }
        let mut unique = followees.to_vec();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != followees.len() {
            return Err(error(
                ErrorType::InvalidCommand,
                "a followee is listed twice",
            ));
        }
        Ok(())
    }

    /// Enters a new neuron's followees (copied from its parent) in the
    /// follower index, so that it votes by following as its parent does.
    fn index_all_following(&mut self, id: u64, followees: &BTreeMap<i32, Vec<u64>>) {
        self.index_following(id, &BTreeMap::new(), followees);
    }

    /// Takes a removed neuron's followees out of the follower index.
    fn unindex_all_following(&mut self, id: u64, followees: &BTreeMap<i32, Vec<u64>>) {
        self.index_following(id, followees, &BTreeMap::new());
    }

    /// One step of the sweep that clears stale following, as the NNS: a
    /// neuron that has not refreshed its voting power for `expires_after`
    /// seconds (the reducing period plus the clearing period) loses its
    /// followees on every topic but neuron management. Looks at up to
    /// `limit` neurons from the sweep's cursor, going round. Returns the
    /// neurons cleared.
    pub fn clear_stale_following_some(
        &mut self,
        now: u64,
        expires_after: u64,
        limit: usize,
    ) -> Vec<u64> {
        let mut stale = vec![];
        let mut next = 0;
        // Index entries to remove: up to 18 topics × 15 followees a neuron.
        let mut entries = 0;
        for (k, (id, neuron)) in self.neurons.iter_from(self.sweep_cursor).enumerate() {
            if k == limit || entries >= STALE_FOLLOWING_ENTRIES_PER_STEP {
                next = id;
                break;
            }
            let idle = now.saturating_sub(neuron.voting_power_refreshed_timestamp_seconds);
            let follows = neuron
                .followees
                .keys()
                .any(|topic| *topic != TOPIC_NEURON_MANAGEMENT);
            if idle >= expires_after && follows && !self.locked.contains(&id) {
                entries += neuron.followees.values().map(Vec::len).sum::<usize>();
                stale.push((id, neuron.followees));
            }
        }
        self.sweep_cursor = next;
        let mut cleared = vec![];
        for (id, followees) in stale {
            let kept: BTreeMap<i32, Vec<u64>> = followees
                .iter()
                .filter(|(topic, _)| **topic == TOPIC_NEURON_MANAGEMENT)
                .map(|(topic, list)| (*topic, list.clone()))
                .collect();
            let _ = self.neurons.update(id, |n| {
                n.followees
                    .retain(|topic, _| *topic == TOPIC_NEURON_MANAGEMENT);
            });
            self.index_following(id, &followees, &kept);
            cleared.push(id);
        }
        cleared
    }

    pub fn refresh_voting_power(&mut self, caller: &Principal, id: u64, now: u64) -> Result<()> {
        self.voted_by(caller, id)?;
        self.neurons
            .update(id, |n| n.voting_power_refreshed_timestamp_seconds = now)?;
        Ok(())
    }

    /// Moves a percentage of the maturity into staked maturity. Returns the
    /// neuron's (maturity, staked maturity) after.
    pub fn stake_maturity(
        &mut self,
        caller: &Principal,
        id: u64,
        percentage: Option<u32>,
    ) -> Result<(u64, u64)> {
        let neuron = self.controlled(caller, id)?;
        not_spawning(&neuron)?;
        let amount = percentage_of(neuron.maturity_e8s_equivalent, percentage.unwrap_or(100))?;
        let after = self.neurons.update(id, |n| {
            n.maturity_e8s_equivalent -= amount;
            n.staked_maturity_e8s_equivalent += amount;
            (n.maturity_e8s_equivalent, n.staked_maturity_e8s_equivalent)
        })?;
        Ok(after)
    }

    /// Creates a spawning neuron holding a percentage of this one's
    /// maturity; its stake is minted when the spawn completes.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        &mut self,
        caller: &Principal,
        id: u64,
        spawn: nns_api::governance::Spawn,
        economics: &NetworkEconomics,
        now: u64,
    ) -> Result<u64> {
        let parent = self.controlled(caller, id)?;
        not_spawning(&parent)?;
        let amount = percentage_of(
            parent.maturity_e8s_equivalent,
            spawn.percentage_to_spawn.unwrap_or(100),
        )?;
        // As the NNS: enough even at the worst modulation.
        let worst = apply_maturity_modulation(amount, MIN_MATURITY_MODULATION_BASIS_POINTS);
        if worst < economics.neuron_minimum_stake_e8s {
            return Err(error(
                ErrorType::InsufficientFunds,
                format!(
                    "{amount} e8s of maturity cannot be spawned: at the worst maturity modulation ({MIN_MATURITY_MODULATION_BASIS_POINTS} basis points) it is {worst}, and a neuron needs at least {}",
                    economics.neuron_minimum_stake_e8s
                ),
            ));
        }
        let controller = spawn.new_controller.unwrap_or(parent.controller);
        if controller == Principal::anonymous() {
            return Err(error(
                ErrorType::InvalidPrincipal,
                "the anonymous principal cannot control a neuron",
            ));
        }
        // Spawning is not rate limited (as on the NNS), but counts.
        self.admit_new_neuron(false, now)?;
        let child_id = self.take_neuron_id();
        let nonce = spawn
            .nonce
            .unwrap_or_else(|| derived_nonce(id, child_id, now));
        let spawn_at = now + economics.neuron_spawn_dissolve_delay_seconds;
        let mut child = Neuron::new(
            child_id,
            controller,
            staking_subaccount(&controller, nonce),
            0,
            now,
        );
        child.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(spawn_at);
        child.aging_since_timestamp_seconds = NOT_AGING;
        child.maturity_e8s_equivalent = amount;
        child.spawn_at_timestamp_seconds = Some(spawn_at);
        child.followees = parent.followees.clone();
        child.hot_keys = parent.hot_keys.clone();
        self.neurons.insert(child)?;
        self.index_all_following(child_id, &parent.followees);
        self.neurons
            .update(id, |n| n.maturity_e8s_equivalent -= amount)?;
        self.due.insert((spawn_at, child_id), ());
        Ok(child_id)
    }

    /// Takes a percentage of the maturity out now, to be minted to
    /// `destination` a week later. Returns the amount.
    pub fn disburse_maturity(
        &mut self,
        caller: &Principal,
        id: u64,
        percentage: u32,
        destination: Option<Destination>,
        now: u64,
    ) -> Result<u64> {
        let neuron = self.controlled(caller, id)?;
        not_spawning(&neuron)?;
        if neuron.maturity_disbursements.len() >= MAX_MATURITY_DISBURSEMENTS_IN_PROGRESS {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!(
                    "neuron {id} already has {MAX_MATURITY_DISBURSEMENTS_IN_PROGRESS} maturity disbursements in progress"
                ),
            ));
        }
        let amount = percentage_of(neuron.maturity_e8s_equivalent, percentage)?;
        // As the NNS: enough even at the worst modulation.
        let worst = apply_maturity_modulation(amount, MIN_MATURITY_MODULATION_BASIS_POINTS);
        if worst < MINIMUM_MATURITY_DISBURSEMENT_E8S {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!(
                    "{amount} e8s is below the minimum maturity disbursement of {MINIMUM_MATURITY_DISBURSEMENT_E8S} at the worst maturity modulation ({MIN_MATURITY_MODULATION_BASIS_POINTS} basis points: {worst})"
                ),
            ));
        }
        let destination = destination.unwrap_or(Destination::Account {
            owner: *caller,
            subaccount: None,
        });
        if destination_account(&destination) == self.minting_account() {
            return Err(error(
                ErrorType::InvalidCommand,
                "maturity cannot be disbursed to the minting account",
            ));
        }
        let finalize_at = now + MATURITY_DISBURSEMENT_DELAY_SECONDS;
        // Written over the neuron read above (nothing changed it since).
        self.neurons.update_read(&neuron, |n| {
            n.maturity_e8s_equivalent -= amount;
            n.maturity_disbursements.push(MaturityDisbursement {
                amount_e8s: amount,
                destination,
                disbursed_at_seconds: now,
                finalize_at_seconds: finalize_at,
            });
        });
        self.due.insert((finalize_at, id), ());
        Ok(amount)
    }

    /// As on the NNS, the staked maturity of up to `limit` dissolved
    /// neurons becomes maturity again, which spawning and disbursing reach.
    /// Neurons passed over (a command in flight, spawning) do not count
    /// against `limit`; at most [`UNSTAKE_ENTRIES_READ_PER_RUN`] index
    /// entries are read. Returns the neurons changed.
    pub fn unstake_maturity_of_dissolved_neurons(&mut self, now: u64, limit: usize) -> Vec<u64> {
        let mut unstaked = vec![];
        for id in self
            .neurons
            .ready_to_unstake(now, UNSTAKE_ENTRIES_READ_PER_RUN.max(limit))
        {
            if unstaked.len() >= limit {
                break;
            }
            // A command in flight may still give back what it took.
            if self.is_locked(id) {
                continue;
            }
            let ready = self
                .neurons
                .get(id)
                .is_some_and(|n| n.is_dissolved(now) && !n.is_spawning());
            if !ready {
                continue;
            }
            let _ = self.neurons.update(id, |n| {
                n.maturity_e8s_equivalent += n.staked_maturity_e8s_equivalent;
                n.staked_maturity_e8s_equivalent = 0;
                unstaked.push(id);
            });
        }
        unstaked
    }

    /// One step of entering the neurons of an older store in the unstake
    /// index; `true` while some remain.
    pub fn index_unstake_some(&mut self) -> bool {
        self.neurons.index_unstake_some()
    }

    // ----- disburse -----------------------------------------------------

    /// Starts disbursing a dissolved neuron's stake (all of it unless
    /// `amount` says otherwise) to `to`, after burning its fees.
    pub fn begin_disburse(
        &mut self,
        caller: &Principal,
        id: u64,
        to: AccountIdentifier,
        amount: Option<u64>,
        fee: u64,
        now: u64,
    ) -> Result<DisbursePlan> {
        let neuron = self.controlled(caller, id)?;
        not_spawning(&neuron)?;
        if !neuron.is_dissolved(now) {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!(
                    "neuron {id} is not dissolved: {} s of dissolve delay remain",
                    neuron.dissolve_delay_seconds(now)
                ),
            ));
        }
        let fees = neuron.neuron_fees_e8s.min(neuron.cached_neuron_stake_e8s);
        let available = neuron.minted_stake_e8s();
        // As on the NNS, an amount asked for includes the fees owed.
        let amount = amount.map_or(available, |a| a.saturating_sub(fees));
        if amount > available {
            return Err(error(
                ErrorType::InsufficientFunds,
                format!("neuron {id} holds {available} e8s; cannot disburse {amount}"),
            ));
        }
        if amount <= fee {
            return Err(error(
                ErrorType::InsufficientFunds,
                format!(
                    "the amount to disburse ({amount} e8s) must exceed the transaction fee ({fee})"
                ),
            ));
        }
        let burn_fees = (fees > fee).then(|| Transfer {
            from_subaccount: Some(neuron.subaccount),
            to: self.minting_account(),
            amount_e8s: fees,
            fee_e8s: 0,
        });
        let payout = Transfer {
            from_subaccount: Some(neuron.subaccount),
            to,
            amount_e8s: amount - fee,
            fee_e8s: fee,
        };
        self.lock(id)?;
        self.neurons.update(id, |n| {
            n.cached_neuron_stake_e8s -= fees + amount;
            n.neuron_fees_e8s -= fees;
        })?;
        Ok(DisbursePlan {
            neuron_id: id,
            burn_fees,
            payout,
            fees_taken: fees,
            stake_taken: amount,
        })
    }

    /// The fees could not be burned: nothing moved, everything goes back.
    pub fn undo_disburse_burn(&mut self, plan: &DisbursePlan) {
        let _ = self.neurons.update(plan.neuron_id, |n| {
            n.cached_neuron_stake_e8s += plan.fees_taken + plan.stake_taken;
            n.neuron_fees_e8s += plan.fees_taken;
        });
    }

    /// The payout failed after the fees were burned: the stake goes back.
    pub fn undo_disburse_payout(&mut self, plan: &DisbursePlan) {
        let _ = self.neurons.update(plan.neuron_id, |n| {
            n.cached_neuron_stake_e8s += plan.stake_taken
        });
    }

    // ----- split ----------------------------------------------------------

    pub fn begin_split(
        &mut self,
        caller: &Principal,
        id: u64,
        amount: u64,
        memo: Option<u64>,
        economics: &NetworkEconomics,
        now: u64,
    ) -> Result<SplitPlan> {
        let parent = self.parent_of_new_neuron(caller, id, amount, economics)?;
        let fee = economics.transaction_fee_e8s;
        let available = parent.minted_stake_e8s();
        self.admit_new_neuron(true, now)?;
        let child_id = self.take_neuron_id();
        let subaccount = match memo {
            Some(memo) => split_subaccount(&parent.controller, memo),
            None => staking_subaccount(&parent.controller, derived_nonce(id, child_id, now)),
        };
        // Maturity and the eight-year-gang base go with the stake, in
        // proportion.
        let share = |of: u64| {
            u64::try_from(u128::from(of) * u128::from(amount) / u128::from(available))
                .expect("a fraction of a u64")
        };
        let maturity_taken = share(parent.maturity_e8s_equivalent);
        let staked_maturity_taken = share(parent.staked_maturity_e8s_equivalent);
        let gang_base_taken = share(parent.eight_year_gang_bonus_base_e8s);
        let mut child = Neuron::new(child_id, parent.controller, subaccount, amount - fee, now);
        child.dissolve_state = parent.dissolve_state;
        child.aging_since_timestamp_seconds = parent.aging_since_timestamp_seconds;
        child.hot_keys = parent.hot_keys.clone();
        child.followees = parent.followees.clone();
        child.auto_stake_maturity = parent.auto_stake_maturity;
        child.maturity_e8s_equivalent = maturity_taken;
        child.staked_maturity_e8s_equivalent = staked_maturity_taken;
        child.eight_year_gang_bonus_base_e8s = gang_base_taken;
        child.joined_community_fund_timestamp_seconds =
            parent.joined_community_fund_timestamp_seconds;
        child.visibility = parent.visibility;
        child.voting_power_refreshed_timestamp_seconds =
            parent.voting_power_refreshed_timestamp_seconds;
        self.fund_new_neuron(&parent, child, amount, fee)
    }

    /// Commits a split or `DisburseToNeuron` before its transfer: the new
    /// neuron in the store (with its followees indexed), both locked, and
    /// the parent without `amount` of stake nor the maturity, staked
    /// maturity and gang base the child took. [`Self::undo_split`] undoes it.
    fn fund_new_neuron(
        &mut self,
        parent: &Neuron,
        child: Neuron,
        amount: u64,
        fee: u64,
    ) -> Result<SplitPlan> {
        let (child_id, subaccount) = (child.id, child.subaccount);
        let maturity_taken = child.maturity_e8s_equivalent;
        let staked_maturity_taken = child.staked_maturity_e8s_equivalent;
        let gang_base_taken = child.eight_year_gang_bonus_base_e8s;
        let followees = child.followees.clone();
        self.insert_new_neuron(child)?;
        self.index_all_following(child_id, &followees);
        self.lock(parent.id)?;
        self.lock(child_id)?;
        self.neurons.update(parent.id, |n| {
            n.cached_neuron_stake_e8s -= amount;
            n.maturity_e8s_equivalent -= maturity_taken;
            n.staked_maturity_e8s_equivalent -= staked_maturity_taken;
            n.eight_year_gang_bonus_base_e8s -= gang_base_taken;
        })?;
        Ok(SplitPlan {
            parent_id: parent.id,
            child_id,
            transfer: Transfer {
                from_subaccount: Some(parent.subaccount),
                to: self.neuron_account(&subaccount),
                amount_e8s: amount - fee,
                fee_e8s: fee,
            },
            stake_taken: amount,
            maturity_taken,
            staked_maturity_taken,
            gang_base_taken,
        })
    }

    /// The checks a split and a `DisburseToNeuron` share: the caller
    /// controls the parent, which is not spawning, and `amount` makes a
    /// neuron of the minimum stake (plus the fee) and leaves the parent one.
    fn parent_of_new_neuron(
        &self,
        caller: &Principal,
        id: u64,
        amount: u64,
        economics: &NetworkEconomics,
    ) -> Result<Neuron> {
        let parent = self.controlled(caller, id)?;
        not_spawning(&parent)?;
        let minimum = economics.neuron_minimum_stake_e8s;
        let fee = economics.transaction_fee_e8s;
        if amount < minimum.saturating_add(fee) {
            return Err(error(
                ErrorType::InsufficientFunds,
                format!(
                    "a new neuron needs at least {} e8s (the minimum stake plus the fee)",
                    minimum + fee
                ),
            ));
        }
        let available = parent.minted_stake_e8s();
        if available.saturating_sub(amount) < minimum {
            return Err(error(
                ErrorType::InsufficientFunds,
                format!(
                    "neuron {id} would keep {} e8s, below the minimum stake {minimum}",
                    available.saturating_sub(amount)
                ),
            ));
        }
        Ok(parent)
    }

    /// `DisburseToNeuron`: part of a dissolved neuron's stake staked in a
    /// new neuron of `new_controller`, locked for the delay asked (capped at
    /// the maximum), as on the NNS. Controller only; both neurons keep at
    /// least the minimum stake. Undone by [`Self::undo_split`].
    pub fn begin_disburse_to_neuron(
        &mut self,
        caller: &Principal,
        id: u64,
        request: nns_api::governance::DisburseToNeuron,
        economics: &NetworkEconomics,
        now: u64,
    ) -> Result<SplitPlan> {
        let amount = request.amount_e8s;
        let parent = self.parent_of_new_neuron(caller, id, amount, economics)?;
        let fee = economics.transaction_fee_e8s;
        if !parent.is_dissolved(now) {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("neuron {id} has not been dissolved"),
            ));
        }
        let controller = request
            .new_controller
            .ok_or_else(|| error(ErrorType::InvalidCommand, "a new controller is needed"))?;
        if controller == Principal::anonymous() {
            return Err(error(
                ErrorType::InvalidPrincipal,
                "the anonymous principal cannot control a neuron",
            ));
        }
        let subaccount = staking_subaccount(&controller, request.nonce);
        if self.claiming.contains(&subaccount) {
            return Err(error(
                ErrorType::PreconditionFailed,
                "a claim of that subaccount is in progress",
            ));
        }
        if let Some(other) = self.neurons.id_by_subaccount(&subaccount) {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("the subaccount is neuron {other}'s"),
            ));
        }
        self.admit_new_neuron(true, now)?;
        let child_id = self.take_neuron_id();
        let max_delay = VotingPowerRules::of(economics).max_dissolve_delay_seconds;
        // No stake (so no voting power) until the ICP has moved, as on the
        // NNS: the parent is dissolved and votes with nothing meanwhile.
        let mut child = Neuron::new(child_id, controller, subaccount, 0, now);
        child.dissolve_state =
            DissolveState::DissolveDelaySeconds(request.dissolve_delay_seconds.min(max_delay));
        self.fund_new_neuron(&parent, child, amount, fee)
    }

    /// The `DisburseToNeuron` transfer landed: the new neuron holds it.
    pub fn finish_disburse_to_neuron(&mut self, plan: &SplitPlan) {
        let _ = self.neurons.update(plan.child_id, |n| {
            n.cached_neuron_stake_e8s = plan.transfer.amount_e8s;
        });
    }

    pub fn undo_split(&mut self, plan: &SplitPlan) {
        if let Ok(child) = self.neuron(plan.child_id) {
            self.unindex_all_following(plan.child_id, &child.followees);
        }
        self.forget_new_neuron(plan.child_id);
        let _ = self.neurons.update(plan.parent_id, |n| {
            n.cached_neuron_stake_e8s += plan.stake_taken;
            n.maturity_e8s_equivalent += plan.maturity_taken;
            n.staked_maturity_e8s_equivalent += plan.staked_maturity_taken;
            n.eight_year_gang_bonus_base_e8s += plan.gang_base_taken;
        });
    }

    // ----- merge ----------------------------------------------------------

    /// Starts merging `source_id` into `target_id`: the source's stake
    /// (its fees burned first when they exceed the ledger fee), maturity and
    /// staked maturity move to the target, which keeps the longer dissolve
    /// delay and the stake-weighted age of both.
    pub fn begin_merge(
        &mut self,
        caller: &Principal,
        target_id: u64,
        source_id: u64,
        fee: u64,
        now: u64,
    ) -> Result<MergePlan> {
        if source_id == target_id {
            return Err(error(
                ErrorType::InvalidCommand,
                "a neuron cannot be merged into itself",
            ));
        }
        let target = self.controlled(caller, target_id)?;
        let source = self.controlled(caller, source_id)?;
        for n in [&target, &source] {
            not_spawning(n)?;
            if !matches!(n.dissolve_state, DissolveState::DissolveDelaySeconds(d) if d > 0) {
                return Err(error(
                    ErrorType::RequiresNotDissolving,
                    format!(
                        "neuron {} is dissolving or dissolved; only locked neurons merge",
                        n.id
                    ),
                ));
            }
        }
        // As the NNS: members of the Neurons' Fund do not merge.
        if let Some(n) = [&source, &target]
            .into_iter()
            .find(|n| n.joined_community_fund_timestamp_seconds.is_some())
        {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("neuron {} is in the Neurons' Fund; leave it to merge", n.id),
            ));
        }
        // A proposer's reject cost is pending until its proposal is
        // decided: merging would burn it as fees, as the NNS refuses to.
        if let Some(n) = [&source, &target]
            .into_iter()
            .find(|n| self.proposes_an_open_proposal(n.id))
        {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!(
                    "neuron {} is involved in an open proposal; merge once it is decided",
                    n.id
                ),
            ));
        }
        if target.followees.get(&TOPIC_NEURON_MANAGEMENT)
            != source.followees.get(&TOPIC_NEURON_MANAGEMENT)
        {
            return Err(error(
                ErrorType::PreconditionFailed,
                "the neurons follow different neurons on neuron management",
            ));
        }
        let burned = if source.neuron_fees_e8s > fee {
            source.neuron_fees_e8s.min(source.cached_neuron_stake_e8s)
        } else {
            0
        };
        let burn_fees = (burned > 0).then(|| Transfer {
            from_subaccount: Some(source.subaccount),
            to: self.minting_account(),
            amount_e8s: burned,
            fee_e8s: 0,
        });
        let moved = source.minted_stake_e8s().saturating_sub(fee);
        let transfer = (moved > 0).then(|| Transfer {
            from_subaccount: Some(source.subaccount),
            to: self.neuron_account(&target.subaccount),
            amount_e8s: moved,
            fee_e8s: fee,
        });
        self.lock(target_id)?;
        self.lock(source_id)?;
        let delay = target
            .dissolve_delay_seconds(now)
            .max(source.dissolve_delay_seconds(now));
        let age = combined_age(
            target.cached_neuron_stake_e8s,
            target.age_seconds(now),
            moved,
            source.age_seconds(now),
        );
        self.neurons.update(target_id, |n| {
            n.cached_neuron_stake_e8s += moved;
            n.maturity_e8s_equivalent += source.maturity_e8s_equivalent;
            n.staked_maturity_e8s_equivalent += source.staked_maturity_e8s_equivalent;
            n.eight_year_gang_bonus_base_e8s += source.eight_year_gang_bonus_base_e8s;
            n.dissolve_state = DissolveState::DissolveDelaySeconds(delay);
            n.aging_since_timestamp_seconds = now - age;
        })?;
        self.neurons.update(source_id, |n| {
            n.cached_neuron_stake_e8s -= burned;
            n.neuron_fees_e8s -= burned;
            if moved > 0 {
                n.cached_neuron_stake_e8s -= moved + fee;
                // The source gave its stake away; its age went with it.
                n.aging_since_timestamp_seconds = now;
            }
            n.maturity_e8s_equivalent = 0;
            n.staked_maturity_e8s_equivalent = 0;
            n.eight_year_gang_bonus_base_e8s = 0;
        })?;
        Ok(MergePlan {
            source_id,
            target_id,
            burn_fees,
            transfer,
            moved,
            burned,
            fee,
            maturity_moved: source.maturity_e8s_equivalent,
            staked_maturity_moved: source.staked_maturity_e8s_equivalent,
            gang_base_moved: source.eight_year_gang_bonus_base_e8s,
            source_before: (source.dissolve_state, source.aging_since_timestamp_seconds),
            target_before: (target.dissolve_state, target.aging_since_timestamp_seconds),
        })
    }

    /// Whether neuron `id` made a proposal not decided yet.
    fn proposes_an_open_proposal(&self, id: u64) -> bool {
        self.proposals.unfinished().into_iter().any(|p| {
            self.proposals
                .state(p)
                .is_some_and(|state| state.proposer == id && !state.is_decided())
        })
    }

    /// Nothing moved on the ledger: both neurons are as before, but for
    /// what other messages credited or charged them in the meantime.
    pub fn undo_merge(&mut self, plan: &MergePlan) {
        let _ = self.neurons.update(plan.target_id, |n| {
            n.cached_neuron_stake_e8s -= plan.moved;
            n.maturity_e8s_equivalent -= plan.maturity_moved;
            n.staked_maturity_e8s_equivalent -= plan.staked_maturity_moved;
            n.eight_year_gang_bonus_base_e8s -= plan.gang_base_moved;
            (n.dissolve_state, n.aging_since_timestamp_seconds) = plan.target_before;
        });
        let _ = self.neurons.update(plan.source_id, |n| {
            n.cached_neuron_stake_e8s += plan.burned;
            n.neuron_fees_e8s += plan.burned;
            if plan.moved > 0 {
                n.cached_neuron_stake_e8s += plan.moved + plan.fee;
            }
            n.maturity_e8s_equivalent += plan.maturity_moved;
            n.staked_maturity_e8s_equivalent += plan.staked_maturity_moved;
            n.eight_year_gang_bonus_base_e8s += plan.gang_base_moved;
            (n.dissolve_state, n.aging_since_timestamp_seconds) = plan.source_before;
        });
    }

    /// The fees were burned but the stake did not move: both neurons are as
    /// before, except that the source no longer owes (nor holds) its fees.
    pub fn undo_merge_transfer(&mut self, plan: &MergePlan) {
        self.undo_merge(plan);
        if let Some(burn) = plan.burn_fees {
            let _ = self.neurons.update(plan.source_id, |n| {
                n.cached_neuron_stake_e8s -= burn.amount_e8s;
                n.neuron_fees_e8s -= burn.amount_e8s;
            });
        }
    }

    // ----- spawns and maturity disbursements coming due ------------------

    /// Takes the next mint due at `now`, committing it (and it alone) as
    /// done and locking its neuron; `undo_maturity_mint` reverts it if the
    /// mint fails. Each mint is taken just before it is sent, so a run cut
    /// short leaves the others due. Locked neurons are left for a later
    /// round. A disbursement to the minting account (which the ledger
    /// refuses to mint to) is finalised by giving the maturity back.
    pub fn take_next_due_mint(&mut self, now: u64) -> Option<MaturityMint> {
        loop {
            let key = self
                .due
                .keys_range(..=(now, u64::MAX))
                .find(|(_, id)| !self.locked.contains(id))?;
            let id = key.1;
            let Some(neuron) = self.neurons.get(id) else {
                self.due.remove(&key);
                continue;
            };
            let modulation = self.maturity_modulation_basis_points();
            if neuron.spawn_at_timestamp_seconds.is_some_and(|t| t <= now) {
                let maturity = neuron.maturity_e8s_equivalent;
                let amount = apply_maturity_modulation(maturity, modulation);
                let more = self.neurons.update_read(&neuron, |n| {
                    n.cached_neuron_stake_e8s += amount;
                    n.maturity_e8s_equivalent = 0;
                    n.spawn_at_timestamp_seconds = None;
                    has_due_mint(n, now)
                });
                self.done_with_due(key, more);
                self.locked.insert(id);
                return Some(MaturityMint::Spawn {
                    neuron_id: id,
                    maturity_e8s: maturity,
                    mint: Transfer {
                        from_subaccount: None,
                        to: self.neuron_account(&neuron.subaccount),
                        amount_e8s: amount,
                        fee_e8s: 0,
                    },
                });
            }
            let Some(at) = neuron
                .maturity_disbursements
                .iter()
                .position(|d| d.finalize_at_seconds <= now)
            else {
                self.due.remove(&key);
                continue;
            };
            let disbursement = neuron.maturity_disbursements[at];
            let to = destination_account(&disbursement.destination);
            let to_minting_account = to == self.minting_account();
            let more = self.neurons.update_read(&neuron, |n| {
                n.maturity_disbursements.remove(at);
                if to_minting_account {
                    n.maturity_e8s_equivalent += disbursement.amount_e8s;
                }
                has_due_mint(n, now)
            });
            self.done_with_due(key, more);
            if to_minting_account {
                continue;
            }
            self.locked.insert(id);
            return Some(MaturityMint::Disbursement {
                neuron_id: id,
                disbursement,
                mint: Transfer {
                    from_subaccount: None,
                    to,
                    amount_e8s: apply_maturity_modulation(disbursement.amount_e8s, modulation),
                    fee_e8s: 0,
                },
            });
        }
    }

    /// Drops a due entry once its neuron has nothing `more` due.
    fn done_with_due(&mut self, key: (u64, u64), more: bool) {
        if !more {
            self.due.remove(&key);
        }
    }

    /// A due mint failed: the neuron is as before and the mint is retried.
    pub fn undo_maturity_mint(&mut self, mint: &MaturityMint, retry_at: u64) {
        match *mint {
            MaturityMint::Spawn {
                neuron_id,
                maturity_e8s,
                mint,
            } => {
                // Added to what was credited meanwhile (rewards).
                let _ = self.neurons.update(neuron_id, |n| {
                    n.cached_neuron_stake_e8s -= mint.amount_e8s;
                    n.maturity_e8s_equivalent += maturity_e8s;
                    n.spawn_at_timestamp_seconds = Some(retry_at);
                });
                self.due.insert((retry_at, neuron_id), ());
            }
            MaturityMint::Disbursement {
                neuron_id,
                disbursement,
                ..
            } => {
                let _ = self.neurons.update(neuron_id, |n| {
                    n.maturity_disbursements.insert(0, disbursement);
                });
                self.due.insert((retry_at, neuron_id), ());
            }
        }
    }

    /// The maturity modulation spawns and disbursements are minted with:
    /// the CMC's last answer, 0 before the first.
    pub fn maturity_modulation_basis_points(&self) -> i32 {
        self.maturity_modulation.get().0.map_or(0, |(bp, _)| bp)
    }

    /// Whether the modulation is due to be read from the CMC again.
    pub fn maturity_modulation_due(&self, now: u64) -> bool {
        self.maturity_modulation
            .get()
            .0
            .is_none_or(|(_, at)| now >= at.saturating_add(MATURITY_MODULATION_REFRESH_SECONDS))
    }

    /// Records the CMC's answer, kept within the bounds.
    pub fn set_maturity_modulation(&mut self, basis_points: i32, now: u64) {
        let bp = basis_points.clamp(
            MIN_MATURITY_MODULATION_BASIS_POINTS,
            MAX_MATURITY_MODULATION_BASIS_POINTS,
        );
        self.maturity_modulation
            .set(canister_common::Candid(Some((bp, now))));
    }

    /// The [`RECENT_BALLOTS_PROPOSALS`] latest proposals, newest first:
    /// where neurons' `recent_ballots` are read (once per listing).
    pub fn recent_proposals(&self) -> Vec<u64> {
        self.proposals
            .states
            .keys()
            .rev()
            .take(RECENT_BALLOTS_PROPOSALS)
            .collect()
    }

    /// Neuron `id`'s votes among `recent` proposals: its `recent_ballots`
    /// (the NNS keeps a neuron's last 100 votes; here they are read from
    /// the proposals' ballots, a bounded number of lookups per neuron).
    /// A listing passes one `cursor` for its neurons, in ascending order:
    /// neighbouring ids share ballot pages, which are then read once.
    pub fn recent_ballots(
        &self,
        id: u64,
        recent: &[u64],
        cursor: &mut crate::ballots::PageCursor,
    ) -> Vec<nns_api::governance::BallotInfo> {
        recent
            .iter()
            .filter_map(|&proposal| {
                let ballot = self.proposals.ballots.get_near(cursor, proposal, id)?;
                (ballot.vote != nns_api::governance::Vote::Unspecified as i32).then_some(
                    nns_api::governance::BallotInfo {
                        vote: ballot.vote,
                        proposal_id: Some(nns_api::governance::ProposalId { id: proposal }),
                    },
                )
            })
            .collect()
    }

    /// The name and description of neuron `id`, if it is a known neuron.
    pub fn known_neuron(&self, id: u64) -> Option<KnownNeuronData> {
        self.known_neurons.get(&id).map(|c| c.0)
    }

    /// The neurons of the Neurons' Fund with maturity to give.
    pub fn neurons_fund_members(&self) -> Vec<crate::fund::Member> {
        self.neurons
            .iter()
            // A neuron with a ledger call in flight (a split, a merge) may
            // yet have its maturity given back or taken: it sits this out.
            .filter(|(id, n)| {
                n.joined_community_fund_timestamp_seconds.is_some()
                    && n.maturity_e8s_equivalent > 0
                    && !self.locked.contains(id)
            })
            .map(|(id, n)| crate::fund::Member {
                id,
                controller: n.controller,
                hotkeys: n
                    .hot_keys
                    .iter()
                    .take(crate::fund::MAX_HOTKEYS)
                    .copied()
                    .collect(),
                maturity_e8s: n.maturity_e8s_equivalent,
            })
            .collect()
    }

    /// Takes each portion out of its neuron's maturity (a portion is at
    /// most a tenth of the Fund's maturity apportioned by maturity, so
    /// never more than the neuron has; checked all the same).
    pub fn draw_from_neurons_fund(&mut self, portions: &[crate::fund::Portion]) -> Result<()> {
        for p in portions {
            let maturity = self.neuron(p.member.id)?.maturity_e8s_equivalent;
            if maturity < p.amount_e8s {
                return Err(GovernanceError::new(
                    ErrorType::PreconditionFailed,
                    format!("neuron {} no longer has the maturity drawn", p.member.id),
                ));
            }
        }
        for p in portions {
            let _ = self.neurons.update(p.member.id, |n| {
                n.maturity_e8s_equivalent -= p.amount_e8s;
            });
        }
        Ok(())
    }

    /// Gives maturity back to Fund neurons (those that still exist).
    pub fn refund_neurons_fund(&mut self, refunds: &[(u64, u64)]) {
        for (id, amount) in refunds {
            let _ = self.neurons.update(*id, |n| {
                n.maturity_e8s_equivalent = n.maturity_e8s_equivalent.saturating_add(*amount);
            });
        }
    }

    /// Every known neuron, by id.
    pub fn known_neurons(&self) -> Vec<(u64, KnownNeuronData)> {
        self.known_neurons
            .iter()
            .map(|e| (*e.key(), e.value().0))
            .collect()
    }

    /// Checks a `RegisterKnownNeuron` proposal, at submission and again at
    /// execution: the neuron exists, the name is 1 to
    /// [`MAX_KNOWN_NEURON_NAME_BYTES`] bytes and no other known neuron's,
    /// the description and links within their bounds.
    pub fn check_known_neuron(&self, id: u64, data: &KnownNeuronData) -> Result<()> {
        let invalid = |message: String| error(ErrorType::InvalidProposal, message);
        self.neuron(id)?;
        if data.name.is_empty() || data.name.len() > MAX_KNOWN_NEURON_NAME_BYTES {
            return Err(invalid(format!(
                "a known neuron's name has 1 to {MAX_KNOWN_NEURON_NAME_BYTES} bytes"
            )));
        }
        if data
            .description
            .as_ref()
            .is_some_and(|d| d.len() > MAX_KNOWN_NEURON_DESCRIPTION_BYTES)
        {
            return Err(invalid(format!(
                "a known neuron's description has at most {MAX_KNOWN_NEURON_DESCRIPTION_BYTES} bytes"
            )));
        }
        let links = data.links.as_deref().unwrap_or_default();
        let is_url = |l: &String| l.starts_with("https://") || l.starts_with("http://");
        if links.len() > MAX_KNOWN_NEURON_LINKS
            || links
                .iter()
                .any(|l| l.len() > MAX_KNOWN_NEURON_LINK_BYTES || !is_url(l))
        {
            return Err(invalid(format!(
                "a known neuron has at most {MAX_KNOWN_NEURON_LINKS} links, each an http(s) URL of at most {MAX_KNOWN_NEURON_LINK_BYTES} bytes"
            )));
        }
        if let Some(other) = self
            .known_neurons
            .iter()
            .find(|e| *e.key() != id && e.value().0.name == data.name)
        {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("the name {:?} is neuron {}'s", data.name, other.key()),
            ));
        }
        Ok(())
    }

    /// Registers (or renames) a known neuron, public while it is known.
    pub fn register_known_neuron(&mut self, id: u64, data: KnownNeuronData) -> Result<()> {
        self.check_known_neuron(id, &data)?;
        self.known_neurons.insert(id, canister_common::Candid(data));
        Ok(())
    }

    /// Removes a known neuron's name; the neuron is as public as it chose.
    pub fn deregister_known_neuron(&mut self, id: u64) -> Result<()> {
        self.known_neurons.remove(&id).map(|_| ()).ok_or_else(|| {
            error(
                ErrorType::PreconditionFailed,
                format!("neuron {id} is not a known neuron"),
            )
        })
    }

    /// When the next mint is due, if any.
    pub fn next_due(&self) -> Option<u64> {
        self.due.first_key_value().map(|((t, _), _)| t)
    }
}

impl MaturityMint {
    pub fn neuron_id(&self) -> u64 {
        match self {
            Self::Spawn { neuron_id, .. } | Self::Disbursement { neuron_id, .. } => *neuron_id,
        }
    }

    pub fn transfer(&self) -> Transfer {
        match self {
            Self::Spawn { mint, .. } | Self::Disbursement { mint, .. } => *mint,
        }
    }
}

/// Whether `neuron` has a spawn or a maturity disbursement to mint by `now`.
fn has_due_mint(neuron: &Neuron, now: u64) -> bool {
    neuron.spawn_at_timestamp_seconds.is_some_and(|t| t <= now)
        || neuron
            .maturity_disbursements
            .iter()
            .any(|d| d.finalize_at_seconds <= now)
}

pub fn destination_account(destination: &Destination) -> AccountIdentifier {
    match destination {
        Destination::Account { owner, subaccount } => {
            AccountIdentifier::new(owner, subaccount.as_ref())
        }
        Destination::AccountIdentifier(bytes) => AccountIdentifier::from_stored_bytes(*bytes),
    }
}

fn not_spawning(neuron: &Neuron) -> Result<()> {
    if neuron.is_spawning() {
        return Err(error(
            ErrorType::PreconditionFailed,
            format!("neuron {} is spawning", neuron.id),
        ));
    }
    Ok(())
}

fn percentage_of(amount: u64, percentage: u32) -> Result<u64> {
    if !(1..=100).contains(&percentage) {
        return Err(error(
            ErrorType::InvalidCommand,
            format!("the percentage must be between 1 and 100, not {percentage}"),
        ));
    }
    Ok(u64::try_from(u128::from(amount) * u128::from(percentage) / 100).expect("at most amount"))
}

/// The age of two stakes put together, so that stake × age is kept.
pub fn combined_age(stake_a: u64, age_a: u64, stake_b: u64, age_b: u64) -> u64 {
    let total = u128::from(stake_a) + u128::from(stake_b);
    if total == 0 {
        return age_a.max(age_b);
    }
    let weighted =
        u128::from(stake_a) * u128::from(age_a) + u128::from(stake_b) * u128::from(age_b);
    u64::try_from(weighted / total).expect("between the two ages")
}

/// A nonce for a neuron governance creates (split, spawn) when the caller
/// gives none: unpredictable enough not to meet a nonce a user stakes with.
fn derived_nonce(parent_id: u64, child_id: u64, now: u64) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(b"derived-neuron-nonce");
    for part in [parent_id, child_id, now] {
        hasher.update(part.to_be_bytes());
    }
    u64::from_be_bytes(hasher.finalize()[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
impl Governance<ic_stable_structures::VectorMemory> {
    /// Governance in heap memory, for unit tests.
    pub(crate) fn for_tests() -> Self {
        let m = ic_stable_structures::VectorMemory::default;
        Governance::init(
            Memories {
                neurons: m(),
                by_subaccount: m(),
                by_principal: m(),
                principal_counts: m(),
                principal_counting: m(),
                unstake: m(),
                unstake_indexing: m(),
                credited_maturity: m(),
                due: m(),
                next_neuron_id: m(),
                proposals: ProposalMemories {
                    bodies: m(),
                    states: m(),
                    ballots: m(),
                    followers: m(),
                    next_proposal_id: m(),
                    unfinished: m(),
                    unsettled: m(),
                    cascades: m(),
                    pruned: m(),
                },
                latest_reward_event: m(),
                reward_distribution: m(),
                to_restart: m(),
                maturity_modulation: m(),
                known_neurons: m(),
            },
            Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1]),
        )
    }

    /// The id the next new neuron gets, for unit tests.
    pub(crate) fn next_neuron_id_for_tests(&self) -> u64 {
        *self.next_neuron_id.get()
    }

    /// Lowers the maximum number of neurons, for unit tests.
    pub(crate) fn set_max_neurons_for_tests(&mut self, max: u64) {
        self.max_neurons = max;
    }

    /// Inserts a neuron as it would be after a claim, for unit tests.
    pub(crate) fn insert_for_tests(&mut self, neuron: Neuron) {
        self.neurons.insert(neuron).expect("a new neuron");
    }

    /// Neurons 1..=n created at `now`, each controlled by
    /// [`test_owner`]`(id)` and locked a year (so they vote), with `stakes`.
    pub(crate) fn with_voting_neurons(stakes: &[u64], now: u64) -> Self {
        let mut g = Self::for_tests();
        for (i, &stake) in stakes.iter().enumerate() {
            let id = i as u64 + 1;
            let mut subaccount = [0; 32];
            subaccount[..8].copy_from_slice(&id.to_be_bytes());
            let mut n = Neuron::new(id, test_owner(id), subaccount, stake, now);
            n.dissolve_state = DissolveState::DissolveDelaySeconds(crate::neuron::ONE_YEAR_SECONDS);
            // Public, so that the tests' neurons may follow one another.
            n.visibility = crate::neuron::VISIBILITY_PUBLIC;
            g.insert_for_tests(n);
        }
        g
    }
}

/// The controller of test neuron `id`.
#[cfg(test)]
pub(crate) fn test_owner(id: u64) -> Principal {
    Principal::from_slice(&id.to_be_bytes())
}

#[cfg(test)]
mod tests;
