//! Proposals as plain Rust: submission with a snapshot of ballots, votes
//! and their cascade through following, wait-for-quiet, and the decision.
//! Executing an adopted proposal needs calls to other canisters and is the
//! endpoints' job; this module says what to execute and records how it went.
//!
//! A proposal is kept in three parts so that a vote touches only small,
//! fixed-size records: its body (the proposal as submitted, written once),
//! its state (tally, deadline, outcome) and one ballot per eligible neuron.

use crate::ballots::{BallotRecord, Ballots, PageCache};
use crate::economics::{MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS, VotingPowerRules};
use crate::follow_index::{FollowEntry, specific_topics};
use crate::governance::{Governance, MAX_TOPIC, TOPIC_NEURON_MANAGEMENT};
use crate::limits::cascade_may_continue;
use canister_common::Candid;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, Storable};
use nns_api::governance::{
    Action, ErrorType, GovernanceError, NetworkEconomics, Proposal, Tally, Topic, Vote,
    nns_function,
};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub type Result<T> = std::result::Result<T, GovernanceError>;

pub const ONE_DAY_SECONDS: u64 = 24 * 60 * 60;
pub const VOTING_PERIOD_SECONDS: u64 = 4 * ONE_DAY_SECONDS;
/// Exchange-rate proposals are decided within half a day.
pub const SHORT_VOTING_PERIOD_SECONDS: u64 = ONE_DAY_SECONDS / 2;
/// Wait-for-quiet's W, 2 days as on the NNS: each flip of the outcome
/// moves the deadline so that it can end at most twice this past the
/// initial one (a 4-day proposal runs 8 days at most).
pub const WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS: u64 = 2 * ONE_DAY_SECONDS;
/// At the deadline, yes must also be at least 3 % of the total.
pub const MIN_YES_PERCENT_AT_DEADLINE: u128 = 3;

fn error(kind: ErrorType, message: impl Into<String>) -> GovernanceError {
    GovernanceError::new(kind, message)
}

/// The mutable part of a proposal, in a fixed-size encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProposalState {
    pub proposer: u64,
    pub topic: i32,
    pub created_seconds: u64,
    pub initial_voting_period_seconds: u64,
    pub deadline_seconds: u64,
    pub yes: u64,
    pub no: u64,
    pub total: u64,
    pub tally_seconds: u64,
    pub total_potential_voting_power: u64,
    pub reject_cost_e8s: u64,
    /// 0 while open.
    pub decided_seconds: u64,
    pub adopted: bool,
    /// Execution has begun: set, and persisted, before its first await, so
    /// that nothing (a vote, the timer, an upgrade) starts it again.
    pub execution_started: bool,
    pub executed_seconds: u64,
    pub failed_seconds: u64,
    /// The reward round that settled it; 0 until then.
    pub reward_event_round: u64,
}

const STATE_FIELDS: usize = 14;
const STATE_BYTES: usize = STATE_FIELDS * 8 + 4 + 1;
/// Set in every state written since `execution_started` is stored.
const FLAGS_WITH_EXECUTION_STARTED: u8 = 4;

impl Storable for ProposalState {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        let mut out = Vec::with_capacity(STATE_BYTES);
        for v in [
            self.proposer,
            self.created_seconds,
            self.initial_voting_period_seconds,
            self.deadline_seconds,
            self.yes,
            self.no,
            self.total,
            self.tally_seconds,
            self.total_potential_voting_power,
            self.reject_cost_e8s,
            self.decided_seconds,
            self.executed_seconds,
            self.failed_seconds,
            self.reward_event_round,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.topic.to_le_bytes());
        // One byte of flags; a state written before `execution_started`
        // existed holds 0 or 1, as `adopted` alone, and lacks
        // `FLAGS_WITH_EXECUTION_STARTED`.
        out.push(
            u8::from(self.adopted)
                | (u8::from(self.execution_started) << 1)
                | FLAGS_WITH_EXECUTION_STARTED,
        );
        Cow::Owned(out)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8"));
        let at = STATE_FIELDS * 8;
        let flags = bytes[at + 4];
        Self {
            proposer: u(0),
            created_seconds: u(1),
            initial_voting_period_seconds: u(2),
            deadline_seconds: u(3),
            yes: u(4),
            no: u(5),
            total: u(6),
            tally_seconds: u(7),
            total_potential_voting_power: u(8),
            reject_cost_e8s: u(9),
            decided_seconds: u(10),
            executed_seconds: u(11),
            failed_seconds: u(12),
            reward_event_round: u(13),
            topic: i32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")),
            adopted: flags & 1 != 0,
            // The code before the flag kept "executing" on the heap only:
            // an adopted proposal it wrote may have been executing when the
            // canister was upgraded, so it counts as begun and is never
            // begun again (the first post-upgrade fails it if unfinished).
            execution_started: flags & 2 != 0
                || (flags & FLAGS_WITH_EXECUTION_STARTED == 0 && flags & 1 != 0),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: STATE_BYTES as u32,
        is_fixed_size: true,
    };
}

impl ProposalState {
    /// Adds a ballot's voting power to the tally of its vote.
    fn count(&mut self, vote: Vote, voting_power: u64) {
        match vote {
            Vote::Yes => self.yes += voting_power,
            Vote::No => self.no += voting_power,
            Vote::Unspecified => {}
        }
    }

    pub fn tally(&self) -> Tally {
        Tally {
            yes: self.yes,
            no: self.no,
            total: self.total,
            timestamp_seconds: self.tally_seconds,
        }
    }

    pub fn is_decided(&self) -> bool {
        self.decided_seconds != 0
    }

    /// Decided, and executed or failed if adopted: nothing left to do.
    pub fn is_finished(&self) -> bool {
        self.is_decided()
            && (!self.adopted || self.executed_seconds != 0 || self.failed_seconds != 0)
    }

    /// Whether the outcome, as things stand, is adoption.
    fn yes_leads(&self) -> bool {
        self.yes > self.no
    }

    /// The decision the tally forces before the deadline: adopt when yes
    /// has more than half of the total, reject when no has at least half.
    fn early_decision(&self) -> Option<bool> {
        let (yes, no, total) = (
            u128::from(self.yes),
            u128::from(self.no),
            u128::from(self.total),
        );
        if 2 * yes > total {
            Some(true)
        } else if 2 * no >= total {
            Some(false)
        } else {
            None
        }
    }

    /// The decision at the deadline: adopt iff yes beats no and has at
    /// least 3 % of the total.
    fn decision_at_deadline(&self) -> bool {
        self.yes > self.no
            && u128::from(self.yes) * 100 >= u128::from(self.total) * MIN_YES_PERCENT_AT_DEADLINE
    }

    /// Wait-for-quiet: when a vote flips the outcome, the deadline moves to
    /// `now + W + (voting period − elapsed) / 2`, never earlier than it was.
    fn wait_for_quiet(&mut self, before: &ProposalState, now: u64) {
        if self.is_decided()
            || self.early_decision().is_some()
            || now > self.deadline_seconds
            || before.yes_leads() == self.yes_leads()
        {
            return;
        }
        let elapsed = now.saturating_sub(self.created_seconds);
        let margin = (WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS
            + self.initial_voting_period_seconds / 2)
            .saturating_sub(elapsed / 2);
        self.deadline_seconds = self.deadline_seconds.max(now + margin);
    }
}

/// The body of a proposal: written when it is made (and once more if its
/// execution fails, to record why).
#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProposalBody {
    pub proposal: Proposal,
    pub failure_reason: Option<GovernanceError>,
    /// The module and argument of an `InstallCode` proposal, which the
    /// proposal itself shows only by their hashes.
    pub install: Option<(serde_bytes::ByteBuf, serde_bytes::ByteBuf)>,
}

pub struct ProposalMemories<M> {
    pub bodies: M,
    pub states: M,
    pub ballots: M,
    pub followers: M,
    pub next_proposal_id: M,
    pub unfinished: M,
    pub unsettled: M,
    pub cascades: M,
    pub pruned: M,
}

/// How the proposals forgotten by pruning ended, so that the counts of
/// proposals adopted, rejected, executed and failed stay cumulative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrunedOutcomes {
    pub adopted: u64,
    pub rejected: u64,
    pub executed: u64,
    pub failed: u64,
}

impl PrunedOutcomes {
    fn count(&mut self, state: &ProposalState) {
        if state.adopted {
            self.adopted += 1;
        } else {
            self.rejected += 1;
        }
        self.executed += u64::from(state.executed_seconds != 0);
        self.failed += u64::from(state.failed_seconds != 0);
    }
}

impl Storable for PrunedOutcomes {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        let mut out = Vec::with_capacity(32);
        for v in [self.adopted, self.rejected, self.executed, self.failed] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        Cow::Owned(out)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8"));
        Self {
            adopted: u(0),
            rejected: u(1),
            executed: u(2),
            failed: u(3),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: 32,
        is_fixed_size: true,
    };
}

/// A follow relation, keyed so that a neuron's followers on a topic are one
/// range: followee ‖ topic ‖ follower, big-endian.
pub type FollowKey = [u8; 20];

pub fn follow_key(followee: u64, topic: i32, follower: u64) -> FollowKey {
    let mut key = [0; 20];
    key[..8].copy_from_slice(&followee.to_be_bytes());
    key[8..12].copy_from_slice(&(topic as u32).to_be_bytes());
    key[12..].copy_from_slice(&follower.to_be_bytes());
    key
}

fn followee_of(key: &FollowKey) -> u64 {
    u64::from_be_bytes(key[..8].try_into().expect("8 bytes"))
}

fn topic_of_key(key: &FollowKey) -> i32 {
    u32::from_be_bytes(key[8..12].try_into().expect("4 bytes")) as i32
}

fn follower_of(key: &FollowKey) -> u64 {
    u64::from_be_bytes(key[12..].try_into().expect("8 bytes"))
}

/// Whether following on the catch-all topic (0) decides votes on `topic`:
/// not on neuron management, governance (motions) and SNS & Neurons' Fund
/// proposals, as on the NNS, where a neuron must follow on those topics
/// explicitly.
pub fn catch_all_applies_to(topic: i32) -> bool {
    topic != TOPIC_NEURON_MANAGEMENT
        && topic != Topic::Governance as i32
        && topic != Topic::SnsAndCommunityFund as i32
}

/// Where checking the followers of a neuron that voted on a proposal of
/// `topic` starts: its catch-all followers (topic 0) where they count,
/// then those of the topic itself.
fn first_follower_key(voter: u64, topic: i32) -> FollowKey {
    if catch_all_applies_to(topic) {
        follow_key(voter, 0, 0)
    } else {
        follow_key(voter, topic, 0)
    }
}

/// Which neurons are followed at all, answered from one index read for a
/// run of ascending ids: the read finds the next followed neuron, and
/// every id before it is not followed. Followees are few (mainnet's
/// neurons follow a few hundred known neurons), so a cascade through
/// 100 000 followers, visited in id order, reads the index a handful of
/// times instead of once per follower (a B-tree descent each).
#[derive(Default)]
struct FollowedScan {
    /// The last read: from this id on, the first followed neuron (`None`:
    /// no followed neuron from there on).
    read: Option<(u64, Option<u64>)>,
}

impl FollowedScan {
    fn is_followed<M: Memory>(
        &mut self,
        followers: &StableBTreeMap<FollowKey, FollowEntry, M>,
        neuron: u64,
    ) -> bool {
        let answers = |(from, next): (u64, Option<u64>)| {
            from <= neuron && next.is_none_or(|next| neuron <= next)
        };
        let (_, next) = match self.read.filter(|r| answers(*r)) {
            Some(read) => read,
            None => {
                let next = followers
                    .keys_range(follow_key(neuron, 0, 0)..)
                    .next()
                    .map(|key| followee_of(&key));
                *self.read.insert((neuron, next))
            }
        };
        next == Some(neuron)
    }
}

/// Follow-index keys read at once while checking followers.
const FOLLOWERS_PER_READ: usize = 256;

/// Entries of a forgotten proposal's cascade removed per message.
const CASCADE_ENTRIES_DROPPED_PER_MESSAGE: usize = 10_000;

pub struct Proposals<M: Memory> {
    pub bodies: StableBTreeMap<u64, Candid<ProposalBody>, M>,
    pub states: StableBTreeMap<u64, ProposalState, M>,
    pub ballots: Ballots<M>,
    pub followers: StableBTreeMap<FollowKey, FollowEntry, M>,
    next_proposal_id: StableCell<u64, M>,
    /// Proposals to decide or execute: what the timer looks at.
    unfinished: StableBTreeMap<u64, (), M>,
    /// Proposals whose voters are not rewarded yet.
    unsettled: StableBTreeMap<u64, (), M>,
    /// Vote cascades left for a later message: (proposal, neuron that
    /// voted) → the first follow-index key of it not yet checked.
    cascades: StableBTreeMap<(u64, u64), FollowKey, M>,
    pruned: StableCell<PrunedOutcomes, M>,
}

impl<M: Memory> Proposals<M> {
    pub fn init(m: ProposalMemories<M>) -> Self {
        Self {
            bodies: StableBTreeMap::init(m.bodies),
            states: StableBTreeMap::init(m.states),
            ballots: Ballots::init(m.ballots),
            followers: StableBTreeMap::init(m.followers),
            next_proposal_id: StableCell::init(m.next_proposal_id, 1),
            unfinished: StableBTreeMap::init(m.unfinished),
            unsettled: StableBTreeMap::init(m.unsettled),
            cascades: StableBTreeMap::init(m.cascades),
            pruned: StableCell::init(m.pruned, PrunedOutcomes::default()),
        }
    }

    /// Whether votes that follow a vote on `proposal` remain to be cast.
    pub fn cascade_pending(&self, proposal: u64) -> bool {
        self.cascades
            .keys_range((proposal, 0)..=(proposal, u64::MAX))
            .next()
            .is_some()
    }

    /// A proposal with a cascade left, if any.
    pub fn some_pending_cascade(&self) -> Option<u64> {
        self.cascades
            .first_key_value()
            .map(|((proposal, _), _)| proposal)
    }

    /// Takes one neuron of `proposal` whose followers are left to check.
    fn take_pending_cascade(&mut self, proposal: u64) -> Option<(u64, FollowKey)> {
        let key = self
            .cascades
            .keys_range((proposal, 0)..=(proposal, u64::MAX))
            .next()?;
        let from = self.cascades.remove(&key).expect("just found");
        Some((key.1, from))
    }

    /// Stores a proposal's state and keeps the two work lists in step.
    pub fn put(&mut self, id: u64, state: ProposalState) {
        if state.is_finished() {
            self.unfinished.remove(&id);
        } else {
            self.unfinished.insert(id, ());
        }
        if state.reward_event_round == 0 {
            self.unsettled.insert(id, ());
        } else {
            self.unsettled.remove(&id);
        }
        self.states.insert(id, state);
    }

    /// Proposals whose voters are not rewarded yet, in id order.
    pub fn unsettled(&self) -> Vec<u64> {
        self.unsettled.keys().collect()
    }

    /// The neurons that follow `followee` on `topic`.
    pub fn followers_of(&self, followee: u64, topic: i32) -> Vec<u64> {
        let range = follow_key(followee, topic, 0)..=follow_key(followee, topic, u64::MAX);
        self.followers
            .keys_range(range)
            .map(|k| u64::from_be_bytes(k[12..].try_into().expect("8 bytes")))
            .collect()
    }

    /// Keeps the follower index in step with a neuron's followees going
    /// from `old` to `new`: entries gone are removed, and every entry of
    /// `new` is written, since each carries the whole following's summary
    /// (at most 19 topics × 15 followees).
    pub fn refollow(
        &mut self,
        follower: u64,
        old: &BTreeMap<i32, Vec<u64>>,
        new: &BTreeMap<i32, Vec<u64>>,
    ) {
        for (topic, list) in old {
            for f in list {
                if !new.get(topic).is_some_and(|l| l.contains(f)) {
                    self.followers.remove(&follow_key(*f, *topic, follower));
                }
            }
        }
        // A topic's entries change with its list; the catch-all's also
        // with the topics followed specifically, which they summarise.
        let specific_changed = specific_topics(old) != specific_topics(new);
        for (topic, list) in new {
            debug_assert!((0..=MAX_TOPIC).contains(topic));
            if old.get(topic) == Some(list) && !(*topic == 0 && specific_changed) {
                continue;
            }
            let entry = FollowEntry::of(new, *topic);
            for f in list {
                self.followers
                    .insert(follow_key(*f, *topic, follower), entry.clone());
            }
        }
    }

    pub fn state(&self, id: u64) -> Option<ProposalState> {
        self.states.get(&id)
    }

    pub fn body(&self, id: u64) -> Option<ProposalBody> {
        self.bodies.get(&id).map(|c| c.0)
    }

    /// Forgets a proposal whose ballots are gone (a cascade still left is
    /// dropped by `Governance::continue_cascade`).
    fn remove(&mut self, id: u64) {
        self.bodies.remove(&id);
        if let Some(state) = self.states.remove(&id) {
            let mut pruned = *self.pruned.get();
            pruned.count(&state);
            self.pruned.set(pruned);
        }
        self.unfinished.remove(&id);
        self.unsettled.remove(&id);
    }

    /// How the proposals forgotten so far ended.
    pub fn pruned(&self) -> PrunedOutcomes {
        *self.pruned.get()
    }

    /// Proposals made so far, forgotten ones included.
    pub fn made(&self) -> u64 {
        self.next_proposal_id.get() - 1
    }

    /// Proposals not yet decided or whose execution is not yet done.
    pub fn unfinished(&self) -> Vec<u64> {
        self.unfinished.keys().collect()
    }
}

/// The topic of a proposal's action.
pub fn topic_of(action: &Action) -> Topic {
    match action {
        Action::Motion(_) => Topic::Governance,
        Action::ManageNetworkEconomics(_) => Topic::NetworkEconomics,
        Action::ExecuteNnsFunction(f) if f.nns_function == nns_function::ADD_SNS_WASM => {
            Topic::ServiceNervousSystemManagement
        }
        Action::ExecuteNnsFunction(_) => Topic::ExchangeRate,
        Action::CreateServiceNervousSystem(_) => Topic::SnsAndCommunityFund,
        Action::InstallCode(_) => Topic::ProtocolCanisterManagement,
        Action::RewardNodeProvider(_) | Action::RewardNodeProviders(_) => {
            Topic::NodeProviderRewards
        }
        Action::AddOrRemoveNodeProvider(_) => Topic::ParticipantManagement,
        Action::RegisterKnownNeuron(_) | Action::DeregisterKnownNeuron(_) => Topic::Governance,
    }
}

pub fn voting_period_of(topic: Topic) -> u64 {
    match topic {
        Topic::ExchangeRate => SHORT_VOTING_PERIOD_SECONDS,
        _ => VOTING_PERIOD_SECONDS,
    }
}

/// What happened to a proposal through a vote or the passing of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Open,
    Adopted,
    Rejected,
}

impl<M: Memory> Governance<M> {
    /// Makes a proposal on behalf of `proposer` (which `caller` controls or
    /// holds a hot key of): charges the reject cost to its fees (given back
    /// if adopted), snapshots every eligible neuron's voting power as a
    /// ballot, and votes yes for the proposer.
    pub fn make_proposal(
        &mut self,
        caller: &candid::Principal,
        proposer: u64,
        body: ProposalBody,
        economics: &NetworkEconomics,
        now: u64,
    ) -> Result<(u64, Outcome)> {
        let neuron = self.readable_by(caller, proposer)?;
        let minimum_delay = MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS;
        if neuron.dissolve_delay_seconds(now) < minimum_delay {
            return Err(error(
                ErrorType::InsufficientFunds,
                format!(
                    "neuron {proposer} cannot propose: its dissolve delay is below {minimum_delay} s"
                ),
            ));
        }
        match &body.proposal.action {
            Some(Action::RegisterKnownNeuron(k)) => {
                let (id, data) = crate::governance::known_neuron_request(k)?;
                self.check_known_neuron(id, &data)?;
            }
            Some(Action::DeregisterKnownNeuron(d)) => {
                let id = d.id.map_or(0, |n| n.id);
                self.neuron(id)?;
                if self.known_neuron(id).is_none() {
                    return Err(error(
                        ErrorType::PreconditionFailed,
                        format!("neuron {id} is not a known neuron"),
                    ));
                }
            }
            _ => {}
        }
        let reject_cost = economics.reject_cost_e8s;
        if neuron.minted_stake_e8s() < reject_cost {
            return Err(error(
                ErrorType::InsufficientFunds,
                format!(
                    "neuron {proposer} holds {} e8s; a proposal needs {reject_cost} to cover the reject cost",
                    neuron.minted_stake_e8s()
                ),
            ));
        }
        // The proposer votes yes at once: without a ballot it cannot, and
        // nothing may be committed (a ballot it has, possibly of 0, while
        // the minimum to vote is within the six months to propose).
        if !neuron.is_eligible_to_vote(now, &VotingPowerRules::of(economics)) {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("neuron {proposer} is not eligible to vote, so it cannot propose"),
            ));
        }
        let action = body
            .proposal
            .action
            .as_ref()
            .ok_or_else(|| error(ErrorType::InvalidProposal, "the proposal has no action"))?;
        let topic = topic_of(action);
        let id = *self.proposals.next_proposal_id.get();
        self.proposals.next_proposal_id.set(id + 1);

        let mut state = ProposalState {
            proposer,
            topic: topic as i32,
            created_seconds: now,
            initial_voting_period_seconds: voting_period_of(topic),
            deadline_seconds: now + voting_period_of(topic),
            tally_seconds: now,
            reject_cost_e8s: reject_cost,
            ..Default::default()
        };
        // The snapshot: one pass over all neurons. Every neuron eligible to
        // vote gets a ballot, even one whose deciding voting power has
        // faded to nothing: it may still vote, which refreshes it.
        let rules = VotingPowerRules::of(economics);
        let mut ballots = self.proposals.ballots.writer(id);
        for (neuron_id, n) in self.neurons.iter() {
            if !n.is_eligible_to_vote(now, &rules) {
                continue;
            }
            let voting_power = n.voting_power(now, &rules);
            let power = voting_power.deciding;
            state.total_potential_voting_power = state
                .total_potential_voting_power
                .saturating_add(voting_power.potential);
            state.total = state.total.saturating_add(power);
            let ballot = BallotRecord {
                voting_power: power,
                vote: Vote::Unspecified as i32,
            };
            ballots.push(&mut self.proposals.ballots, neuron_id, ballot);
        }
        ballots.finish(&mut self.proposals.ballots);
        self.neurons
            .update(proposer, |n| n.neuron_fees_e8s += reject_cost)?;
        self.proposals.bodies.insert(id, Candid(body));
        self.proposals.put(id, state);
        let outcome = self.register_vote(caller, proposer, id, Vote::Yes, now)?;
        // The proposer's vote and the votes that follow it are the initial
        // tally, which no outcome flipped: as on the NNS, wait-for-quiet
        // starts from it and the deadline stays where it was set.
        let mut state = self.proposals.state(id).expect("just stored");
        state.deadline_seconds = state.created_seconds + state.initial_voting_period_seconds;
        self.proposals.put(id, state);
        Ok((id, outcome))
    }

    /// Keeps at most `keep_per_topic` proposals of each topic, as the NNS
    /// does: the oldest ones that are finished and whose voters were
    /// rewarded (the distribution done) are forgotten, ballots first, at most `max_pages` ballot
    /// pages a call (a proposal whose ballots are not all gone yet stays,
    /// and the next call goes on with it). Returns the proposals forgotten.
    pub fn prune_proposals(&mut self, keep_per_topic: u32, max_pages: usize) -> Vec<u64> {
        // A distribution under way still reads its proposals' ballots.
        if self.distribution_in_progress() {
            return vec![];
        }
        let mut by_topic: std::collections::BTreeMap<i32, Vec<(u64, bool)>> = Default::default();
        for entry in self.proposals.states.iter() {
            let state = entry.value();
            let prunable = state.is_finished() && state.reward_event_round != 0;
            by_topic
                .entry(state.topic)
                .or_default()
                .push((*entry.key(), prunable));
        }
        let mut removed = vec![];
        let mut budget = max_pages;
        for proposals in by_topic.values() {
            let excess = proposals.len().saturating_sub(keep_per_topic as usize);
            for &(id, _) in proposals.iter().filter(|(_, p)| *p).take(excess) {
                if budget == 0 {
                    return removed;
                }
                let pages = self.proposals.ballots.remove_pages(id, budget);
                budget -= pages;
                if budget == 0 && self.proposals.ballots.of(id).next().is_some() {
                    return removed;
                }
                self.proposals.remove(id);
                removed.push(id);
            }
        }
        removed
    }

    /// `caller` votes with `neuron_id`; followers vote after it as their
    /// following says. Returns the proposal's outcome after the vote.
    pub fn register_vote(
        &mut self,
        caller: &candid::Principal,
        neuron_id: u64,
        proposal_id: u64,
        vote: Vote,
        now: u64,
    ) -> Result<Outcome> {
        let voter = self.readable_by(caller, neuron_id)?;
        if vote == Vote::Unspecified {
            return Err(error(ErrorType::InvalidCommand, "vote yes (1) or no (2)"));
        }
        let mut state = self
            .proposals
            .state(proposal_id)
            .ok_or_else(|| error(ErrorType::NotFound, format!("no proposal {proposal_id}")))?;
        // Votes count for rewards until the deadline, even once decided.
        if now >= state.deadline_seconds {
            return Err(error(
                ErrorType::PreconditionFailed,
                format!("proposal {proposal_id} is no longer open for voting"),
            ));
        }
        let ballot = self
            .proposals
            .ballots
            .get(proposal_id, neuron_id)
            .ok_or_else(|| {
                error(
                    ErrorType::NotAuthorized,
                    format!("neuron {neuron_id} was not eligible to vote when proposal {proposal_id} was made"),
                )
            })?;
        if ballot.vote != Vote::Unspecified as i32 {
            return Err(error(
                ErrorType::NeuronAlreadyVoted,
                format!("neuron {neuron_id} already voted on proposal {proposal_id}"),
            ));
        }
        let before = state;
        self.cast(&mut state, proposal_id, neuron_id, vote);
        self.cascade(&mut state, proposal_id, Some(neuron_id));
        // Voting shows the neuron is in use. The votes cast above changed
        // ballots only: the neuron is as read.
        self.neurons
            .update_read(&voter, |n| n.voting_power_refreshed_timestamp_seconds = now);
        state.tally_seconds = now;
        state.wait_for_quiet(&before, now);
        let outcome = self.decide(&mut state, now);
        self.proposals.put(proposal_id, state);
        Ok(outcome)
    }

    fn cast(&mut self, state: &mut ProposalState, proposal_id: u64, neuron_id: u64, vote: Vote) {
        let ballot = self
            .proposals
            .ballots
            .set_vote(proposal_id, neuron_id, vote as i32)
            .expect("checked by the caller");
        state.count(vote, ballot.voting_power);
    }

    /// Casts the votes that follow from votes cast: a neuron votes yes once
    /// more than half of its followees on the topic (or, without any there,
    /// its catch-all followees, on the topics they apply to) voted yes, no once at least half voted no
    /// (yes can no longer win). Each neuron votes at most once, so cycles in
    /// the following graph end, and which votes are cast does not depend on
    /// the order the followers are checked in (a follower's yes and no
    /// conditions cannot both come true).
    ///
    /// The work is bounded per message: starting with `first` (a neuron
    /// that just voted) and going on with the neurons earlier messages left,
    /// it checks followers while [`cascade_may_continue`] allows and leaves
    /// the rest for the next message. Returns whether nothing is left.
    ///
    /// Following is not retroactive (as in the NNS): a follow made after
    /// the followee voted is not owed that vote. One made while the
    /// cascade is between messages counts only if the index is read past
    /// it later (for a followee that had no follower when it voted, it is
    /// not read again); either way each neuron votes at most once.
    fn cascade(&mut self, state: &mut ProposalState, proposal_id: u64, first: Option<u64>) -> bool {
        let mut cache = PageCache::default();
        let done = self.cascade_through(&mut cache, state, proposal_id, first);
        self.proposals.ballots.write_back(cache);
        done
    }

    /// [`cascade`](Self::cascade) with the ballots read and written in
    /// `cache`.
    fn cascade_through(
        &mut self,
        cache: &mut PageCache,
        state: &mut ProposalState,
        proposal_id: u64,
        first: Option<u64>,
    ) -> bool {
        let topic = state.topic;
        let mut queue: std::collections::VecDeque<(u64, FollowKey)> = first
            .map(|voter| (voter, first_follower_key(voter, topic)))
            .into_iter()
            .collect();
        let mut steps = 0u64;
        let mut followed = FollowedScan::default();
        loop {
            let Some((voter, mut from)) = queue
                .pop_front()
                .or_else(|| self.proposals.take_pending_cascade(proposal_id))
            else {
                return true;
            };
            // Reading the index and checking a follower are a step each.
            loop {
                if !cascade_may_continue(steps) {
                    self.leave_cascade(proposal_id, (voter, from), queue);
                    return false;
                }
                steps += 1;
                let list_topic = topic_of_key(&from);
                let last = follow_key(voter, list_topic, u64::MAX);
                let entries: Vec<(FollowKey, FollowEntry)> = self
                    .proposals
                    .followers
                    .range(from..=last)
                    .take(FOLLOWERS_PER_READ)
                    .map(|e| (*e.key(), e.value()))
                    .collect();
                for (key, entry) in &entries {
                    if !cascade_may_continue(steps) {
                        self.leave_cascade(proposal_id, (voter, *key), queue);
                        return false;
                    }
                    steps += 1;
                    let follower = follower_of(key);
                    let by_catch_all = list_topic != topic;
                    let vote = self.followed_vote(
                        cache,
                        proposal_id,
                        follower,
                        topic,
                        entry,
                        by_catch_all,
                    );
                    if let Some(vote) = vote {
                        let ballot = self
                            .proposals
                            .ballots
                            .set_vote_cached(cache, proposal_id, follower, vote as i32)
                            .expect("followed_vote found the ballot");
                        state.count(vote, ballot.voting_power);
                        // Only a neuron others follow has followers to check.
                        if followed.is_followed(&self.proposals.followers, follower) {
                            queue.push_back((follower, first_follower_key(follower, topic)));
                        }
                    }
                }
                let next = match entries.last() {
                    Some((key, _)) if entries.len() == FOLLOWERS_PER_READ => follower_of(key)
                        .checked_add(1)
                        .map(|f| follow_key(voter, list_topic, f)),
                    _ => None,
                };
                from = match next {
                    Some(key) => key,
                    // The catch-all followers are done: the topic's next.
                    None if list_topic != topic => follow_key(voter, topic, 0),
                    None => break,
                };
                debug_assert_eq!(followee_of(&from), voter);
            }
        }
    }

    /// Leaves the rest of a cascade for a later message: `current`, then
    /// the neurons whose followers are still to check.
    fn leave_cascade(
        &mut self,
        proposal_id: u64,
        current: (u64, FollowKey),
        queue: std::collections::VecDeque<(u64, FollowKey)>,
    ) {
        for (voter, from) in std::iter::once(current).chain(queue) {
            self.proposals.cascades.insert((proposal_id, voter), from);
        }
    }

    /// The vote `follower` casts now by following, if its followees have
    /// decided it and it has not voted yet.
    ///
    /// `entry` is the index entry that led here (on the catch-all list if
    /// `by_catch_all`): it names the followees that decide, unless it
    /// predates the summaries or the follower follows the topic itself.
    fn followed_vote(
        &self,
        cache: &mut PageCache,
        proposal_id: u64,
        follower: u64,
        topic: i32,
        entry: &FollowEntry,
        by_catch_all: bool,
    ) -> Option<Vote> {
        let ballot = self
            .proposals
            .ballots
            .get_cached(cache, proposal_id, follower)?;
        if ballot.vote != Vote::Unspecified as i32 {
            return None;
        }
        let from_neuron;
        let followees: &[u64] = match &entry.0 {
            Some(f) if !by_catch_all || f.specific_topics & (1 << topic) == 0 => &f.followees,
            _ => {
                from_neuron = self.neurons.get(follower)?.followees;
                match from_neuron.get(&topic) {
                    Some(f) => f,
                    None if catch_all_applies_to(topic) => from_neuron.get(&0)?,
                    None => return None,
                }
            }
        };
        if followees.is_empty() {
            return None;
        }
        let (mut yes, mut no) = (0usize, 0usize);
        for f in followees {
            match self
                .proposals
                .ballots
                .get_cached(cache, proposal_id, *f)
                .map(|b| b.vote)
            {
                Some(v) if v == Vote::Yes as i32 => yes += 1,
                Some(v) if v == Vote::No as i32 => no += 1,
                _ => {}
            }
        }
        if 2 * yes > followees.len() {
            Some(Vote::Yes)
        } else if 2 * no >= followees.len() {
            Some(Vote::No)
        } else {
            None
        }
    }

    /// Goes on with the votes that follow earlier votes on `proposal_id`,
    /// as far as this message's budget allows, as a vote would: the tally,
    /// wait-for-quiet (each message's votes count as arriving together)
    /// and an early decision. Returns the proposal's outcome after it. Past
    /// the deadline, the decision waits until no cascade is left.
    pub fn continue_cascade(&mut self, proposal_id: u64, now: u64) -> Outcome {
        let Some(mut state) = self.proposals.state(proposal_id) else {
            // A forgotten proposal: its cascade is dropped, a bounded part
            // per message.
            for _ in 0..CASCADE_ENTRIES_DROPPED_PER_MESSAGE {
                if self.proposals.take_pending_cascade(proposal_id).is_none() {
                    break;
                }
            }
            return Outcome::Open;
        };
        let before = state;
        let done = self.cascade(&mut state, proposal_id, None);
        state.tally_seconds = now;
        state.wait_for_quiet(&before, now);
        // Past the deadline only a majority decides while votes are left.
        let wait = !done && now >= state.deadline_seconds && state.early_decision().is_none();
        let outcome = if wait && !state.is_decided() {
            Outcome::Open
        } else {
            self.decide(&mut state, now)
        };
        self.proposals.put(proposal_id, state);
        outcome
    }

    /// Decides the proposal if the tally or the deadline says so; the
    /// reject cost stays with the proposer only when it is rejected.
    fn decide(&mut self, state: &mut ProposalState, now: u64) -> Outcome {
        if state.is_decided() {
            return if state.adopted {
                Outcome::Adopted
            } else {
                Outcome::Rejected
            };
        }
        let decision = match state.early_decision() {
            Some(d) => d,
            None if now >= state.deadline_seconds => state.decision_at_deadline(),
            None => return Outcome::Open,
        };
        state.decided_seconds = now;
        state.adopted = decision;
        if decision {
            let cost = state.reject_cost_e8s;
            let _ = self.neurons.update(state.proposer, |n| {
                n.neuron_fees_e8s = n.neuron_fees_e8s.saturating_sub(cost);
            });
            Outcome::Adopted
        } else {
            Outcome::Rejected
        }
    }

    /// Decides the open proposals whose deadline has passed. Returns those
    /// adopted, to execute.
    pub fn decide_due_proposals(&mut self, now: u64) -> Vec<u64> {
        let mut adopted = vec![];
        for id in self.proposals.unfinished() {
            let Some(mut state) = self.proposals.state(id) else {
                continue;
            };
            // A cascade under way decides once it is done.
            if state.is_decided() || self.proposals.cascade_pending(id) {
                continue;
            }
            if self.decide(&mut state, now) == Outcome::Adopted {
                adopted.push(id);
            }
            self.proposals.put(id, state);
        }
        adopted
    }

    /// Adopted proposals whose execution has not begun.
    pub fn adopted_unexecuted(&self) -> Vec<u64> {
        self.proposals
            .unfinished()
            .into_iter()
            .filter(|id| self.awaits_execution(*id))
            .collect()
    }

    /// Adopted, and its execution not begun: what may be executed.
    pub fn awaits_execution(&self, id: u64) -> bool {
        self.proposals
            .state(id)
            .is_some_and(|s| s.adopted && !s.execution_started && !s.is_finished())
    }

    /// Begins executing proposal `id` if it awaits execution: marks it
    /// begun (so that it never begins again) and returns what to execute.
    pub fn start_execution(&mut self, id: u64) -> Option<ProposalBody> {
        if !self.awaits_execution(id) {
            return None;
        }
        let mut state = self.proposals.state(id)?;
        let body = self.proposals.body(id)?;
        state.execution_started = true;
        self.proposals.put(id, state);
        Some(body)
    }

    /// Executions begun and never ended (their messages were lost, e.g.
    /// to an upgrade that did not wait for them): they failed, and are not
    /// tried again, since their effect may have happened.
    pub fn fail_interrupted_executions(&mut self, now: u64) -> Vec<u64> {
        let interrupted: Vec<u64> = self
            .proposals
            .unfinished()
            .into_iter()
            .filter(|id| {
                self.proposals
                    .state(*id)
                    .is_some_and(|s| s.execution_started && !s.is_finished())
            })
            .collect();
        for &id in &interrupted {
            self.record_execution(id, Err(execution_interrupted()), now);
        }
        interrupted
    }

    /// Records how an adopted proposal's execution went, once.
    pub fn record_execution(&mut self, id: u64, result: Result<()>, now: u64) {
        let Some(mut state) = self.proposals.state(id) else {
            return;
        };
        if state.is_finished() {
            return;
        }
        state.execution_started = true;
        match result {
            Ok(()) => state.executed_seconds = now,
            Err(e) => {
                state.failed_seconds = now;
                if let Some(mut body) = self.proposals.body(id) {
                    body.failure_reason = Some(e);
                    self.proposals.bodies.insert(id, Candid(body));
                }
            }
        }
        self.proposals.put(id, state);
    }

    /// The followee changes of `Follow`, mirrored in the follower index.
    pub(crate) fn index_following(
        &mut self,
        neuron: u64,
        old: &BTreeMap<i32, Vec<u64>>,
        new: &BTreeMap<i32, Vec<u64>>,
    ) {
        self.proposals.refollow(neuron, old, new);
    }
}

/// Why an execution that never ended failed.
pub fn execution_interrupted() -> GovernanceError {
    error(
        ErrorType::External,
        "the execution was interrupted before it ended; its outcome is unknown and it is not retried",
    )
}

/// A motion to vote on, for unit tests.
#[cfg(test)]
pub(crate) fn motion_for_tests() -> ProposalBody {
    ProposalBody {
        proposal: Proposal {
            url: String::new(),
            title: Some("A motion".into()),
            action: Some(Action::Motion(nns_api::governance::Motion {
                motion_text: String::new(),
            })),
            summary: String::new(),
        },
        failure_reason: None,
        install: None,
    }
}

#[cfg(test)]
mod tests;
