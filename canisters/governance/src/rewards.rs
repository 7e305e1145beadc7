//! Daily voting rewards as plain Rust. Once a day the pool — total supply ×
//! R(t) / 365.25 × the reward adjustment factor (0.6329 since "Mission
//! 70"), R falling from 10 % to 5 % over eight years — is shared among the
//! neurons that voted on the proposals whose voting closed since the last
//! distribution: a neuron's share is the voting power it used, weighted by
//! each proposal's topic, over the total potential voting power of the
//! eligible neurons, weighted likewise. So power lost by not refreshing
//! (and votes not cast) is not redistributed. Credited as maturity; a day
//! without such proposals rolls its pool over.
//!
//! A distribution starts in one message (which settles the proposals and
//! fixes the pool) and credits neurons in bounded chunks, so that no
//! message's work grows with the number of neurons.

use crate::ballots::PageCursor;
use crate::governance::Governance;
use crate::neuron::Neuron;
use crate::neuron_store::can_credit;
use canister_common::Candid;
use ic_stable_structures::{Memory, StableCell};
use nns_api::governance::{ProposalId, RewardEvent, Vote};

pub const ONE_DAY_SECONDS: u64 = 24 * 60 * 60;
/// Eight years of 365.25 days: R reaches its final rate then.
pub const REWARD_FLATTENING_DAYS: u128 = 2_922;
/// Ballots looked at per message while crediting rewards.
pub const BALLOTS_PER_CHUNK: usize = 5_000;

/// The pool of one day, `day` days after genesis, from `supply`:
/// supply × (5 % + 5 % × ((T − t)/T)²) / 365.25, rounded down, computed
/// exactly as supply × (T² + (T − t)²) / (7 305 × T²).
pub fn daily_pool(supply_e8s: u64, day: u64) -> u64 {
    let t = REWARD_FLATTENING_DAYS.min(u128::from(day));
    let total = REWARD_FLATTENING_DAYS;
    let remaining = total - t;
    let numerator = u128::from(supply_e8s) * (total * total + remaining * remaining);
    u64::try_from(numerator / (7_305 * total * total)).expect("a fraction of the supply")
}

/// The daily pool paid out: [`daily_pool`] × the adjustment factor, in
/// basis points.
pub fn adjusted_daily_pool(supply_e8s: u64, day: u64, adjustment_basis_points: u64) -> u64 {
    let pool = u128::from(daily_pool(supply_e8s, day));
    u64::try_from(pool * u128::from(adjustment_basis_points.min(10_000)) / 10_000)
        .expect("at most the pool")
}

/// A topic's weight in rewards, in hundredths, as on the NNS: governance
/// (motions) and SNS & Neurons' Fund × 20, the exchange rate × 0.01, the
/// others × 1.
pub fn topic_reward_weight_hundredths(topic: i32) -> u128 {
    use nns_api::governance::Topic;
    match topic {
        t if t == Topic::Governance as i32 || t == Topic::SnsAndCommunityFund as i32 => 2_000,
        t if t == Topic::ExchangeRate as i32 => 1,
        _ => 100,
    }
}

/// The rewards' state: the last event, and the distribution under way.
pub struct Rewards<M: Memory> {
    pub latest: StableCell<Candid<RewardEvent>, M>,
    pub in_progress: StableCell<Candid<Option<Distribution>>, M>,
}

impl<M: Memory> Rewards<M> {
    pub fn init(latest: M, in_progress: M) -> Self {
        Self {
            latest: StableCell::init(latest, Candid(RewardEvent::default())),
            in_progress: StableCell::init(in_progress, Candid(None)),
        }
    }
}

/// A distribution under way: what is shared and how far crediting got.
#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Distribution {
    pub event: RewardEvent,
    /// Σ over the settled proposals of their eligible neurons' potential
    /// voting power × the topic's weight (in hundredths).
    pub total_voting_power: u128,
    /// The settled proposals' topic weights, in their order; `None` in a
    /// distribution begun before weights existed (all 1, as its total).
    pub weights: Option<Vec<u128>>,
    /// Neurons with a smaller id have been credited.
    pub next_neuron: u64,
}

impl<M: Memory> Governance<M> {
    pub fn latest_reward_event(&self) -> RewardEvent {
        self.rewards.latest.get().0.clone()
    }

    /// Rewards start on the day the canister is installed: with a genesis
    /// in the past, the days before it had no proposals here to reward, and
    /// their pools are not owed to anyone.
    pub fn start_rewards(&mut self, genesis: u64, now: u64) {
        let event = RewardEvent {
            day_after_genesis: now.saturating_sub(genesis) / ONE_DAY_SECONDS,
            actual_timestamp_seconds: now,
            ..RewardEvent::default()
        };
        self.rewards.latest.set(Candid(event));
    }

    pub fn distribution_in_progress(&self) -> bool {
        self.rewards.in_progress.get().0.is_some()
    }

    /// The day a distribution is due for, if one is: a new day since
    /// genesis, and no distribution under way.
    pub fn reward_day_due(&self, genesis: u64, now: u64) -> Option<u64> {
        let day = now.saturating_sub(genesis) / ONE_DAY_SECONDS;
        (day > self.latest_reward_event().day_after_genesis && !self.distribution_in_progress())
            .then_some(day)
    }

    /// Starts the distribution for `day` with the total supply read from
    /// the ledger: settles the proposals whose voting has closed and fixes
    /// the pool. Returns whether there are neurons to credit.
    pub fn start_distribution(
        &mut self,
        day: u64,
        supply_e8s: u64,
        adjustment_basis_points: u64,
        round_end: u64,
        now: u64,
    ) -> bool {
        let latest = self.latest_reward_event();
        // Another message may have started it while the supply was read.
        if day <= latest.day_after_genesis || self.distribution_in_progress() {
            return false;
        }
        // As the NNS: each new round's pool at the rate of the day that
        // started it (the round ending on day d is paid at R(d − 1)).
        let pools = (latest.day_after_genesis..day)
            .map(|d| adjusted_daily_pool(supply_e8s, d, adjustment_basis_points));
        let (new_pool, last_round_pool) = pools.fold((0, 0), |(sum, _), p| (sum + p, p));
        // An event that shared nothing rolls its whole pool, and its rounds,
        // over.
        let rolled_over = latest.settled_proposals.is_empty();
        let rollover = if rolled_over {
            latest.total_available_e8s_equivalent
        } else {
            0
        };
        let days = day - latest.day_after_genesis
            + if rolled_over {
                latest.rounds_since_last_distribution.unwrap_or(0)
            } else {
                0
            };
        let round = day;
        let mut settled = vec![];
        let mut weights = vec![];
        let mut total_voting_power = 0u128;
        for id in self.proposals.unsettled() {
            let mut state = self.proposals.state(id).expect("listed");
            // Settled as of the end of the last full round, as the NNS.
            if state.reward_event_round != 0 || round_end < state.deadline_seconds {
                continue;
            }
            state.reward_event_round = round;
            self.proposals.put(id, state);
            let weight = topic_reward_weight_hundredths(state.topic);
            total_voting_power += u128::from(state.total_potential_voting_power) * weight;
            weights.push(weight);
            settled.push(ProposalId { id });
        }
        let event = RewardEvent {
            day_after_genesis: day,
            actual_timestamp_seconds: now,
            total_available_e8s_equivalent: rollover + new_pool,
            distributed_e8s_equivalent: 0,
            settled_proposals: settled,
            rounds_since_last_distribution: Some(days),
            latest_round_available_e8s_equivalent: Some(last_round_pool),
        };
        if event.settled_proposals.is_empty() || total_voting_power == 0 {
            self.rewards.latest.set(Candid(event));
            return false;
        }
        self.rewards.in_progress.set(Candid(Some(Distribution {
            event,
            total_voting_power,
            weights: Some(weights),
            next_neuron: 0,
        })));
        true
    }

    /// Credits the next neurons of the distribution under way: about
    /// `ballots` ballot lookups' worth, whatever the number of proposals
    /// settled. Returns whether neurons remain.
    pub fn credit_rewards(&mut self, ballots: usize) -> bool {
        let Some(mut d) = self.rewards.in_progress.get().0.clone() else {
            return false;
        };
        let limit = (ballots / d.event.settled_proposals.len().max(1)).max(1);
        let pool = u128::from(d.event.total_available_e8s_equivalent);
        // Read in order, once: a lookup per neuron costs a descent of the
        // B-tree, which grows with the neurons.
        let mut batch: Vec<(u64, Neuron)> = self
            .neurons
            .iter_from(d.next_neuron)
            .take(limit + 1)
            .collect();
        let next = (batch.len() > limit).then(|| batch.pop().expect("limit + 1").0);
        // Read only, by ascending neuron: one page per proposal at hand.
        let mut pages = PageCursor::default();
        let mut credits = Vec::with_capacity(batch.len());
        for (id, neuron) in &batch {
            let id = *id;
            let used: u128 = d
                .event
                .settled_proposals
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let ballot = self.proposals.ballots.get_near(&mut pages, p.id, id)?;
                    Some((ballot, i))
                })
                .filter(|(b, _)| b.vote != Vote::Unspecified as i32)
                .map(|(b, i)| {
                    let weight = d.weights.as_ref().map_or(1, |w| w[i]);
                    u128::from(b.voting_power) * weight
                })
                .sum();
            let reward =
                u64::try_from(pool * used / d.total_voting_power).expect("a share of the pool");
            if reward == 0 {
                continue;
            }
            if can_credit(neuron) {
                credits.push((neuron, reward));
            } else {
                // Rare: a dissolving neuron that auto-stakes, or one merged
                // away since it voted.
                let mut rewarded = neuron.clone();
                *rewarded.rewarded_maturity_mut() += reward;
                self.neurons.replace(neuron, rewarded);
            }
            d.event.distributed_e8s_equivalent += reward;
        }
        // Written a page of credits at a time, not a record a neuron.
        self.neurons.credit(&credits);
        let more = next.is_some();
        if let Some(next) = next {
            d.next_neuron = next;
            self.rewards.in_progress.set(Candid(Some(d)));
        } else {
            self.rewards.latest.set(Candid(d.event));
            self.rewards.in_progress.set(Candid(None));
        }
        more
    }
}

#[cfg(test)]
mod tests;
