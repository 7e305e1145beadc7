//! A neuron and the rules of its life: staking subaccount, dissolve state,
//! age, voting power. Plain Rust, no canister calls; time is an argument.

use candid::{CandidType, Deserialize, Principal};
use nns_api::governance::{ErrorType, GovernanceError};
use std::collections::BTreeMap;

/// 365.25 days, as NNS governance counts a year.
pub const ONE_YEAR_SECONDS: u64 = (365 * 24 + 6) * 60 * 60;
pub const ONE_MONTH_SECONDS: u64 = ONE_YEAR_SECONDS / 12;
pub const MAX_DISSOLVE_DELAY_SECONDS: u64 = 8 * ONE_YEAR_SECONDS;
/// Age stops adding to voting power after four years.
pub const MAX_AGE_FOR_BONUS_SECONDS: u64 = 4 * ONE_YEAR_SECONDS;
pub const MAX_HOT_KEYS: usize = 10;
/// A claimed neuron starts locked for a week, as on the NNS.
pub const INITIAL_NEURON_DISSOLVE_DELAY_SECONDS: u64 = 7 * 24 * 60 * 60;
pub const MAX_FOLLOWEES_PER_TOPIC: usize = 15;
/// `aging_since` of a neuron that does not age (it is dissolving).
pub const NOT_AGING: u64 = u64::MAX;

pub use nns_api::governance::{split_subaccount, staking_subaccount};

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DissolveState {
    /// Locked: the neuron ages and would take this long to dissolve.
    DissolveDelaySeconds(u64),
    /// Dissolving: the neuron is dissolved from this time on.
    WhenDissolvedTimestampSeconds(u64),
}

/// Why a neuron refused a change: the interface's error, typed as the
/// real governance types it.
pub type NeuronError = GovernanceError;

fn refused(kind: ErrorType, message: impl Into<String>) -> NeuronError {
    GovernanceError::new(kind, message)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neuron {
    pub id: u64,
    pub controller: Principal,
    pub subaccount: [u8; 32],
    pub hot_keys: Vec<Principal>,
    /// The stake as last read from the ledger, fees not yet deducted.
    pub cached_neuron_stake_e8s: u64,
    /// Fees owed (rejected proposals); burned from the stake on disburse.
    pub neuron_fees_e8s: u64,
    pub created_timestamp_seconds: u64,
    /// Since when the neuron ages ([`NOT_AGING`] while dissolving).
    pub aging_since_timestamp_seconds: u64,
    pub dissolve_state: DissolveState,
    pub maturity_e8s_equivalent: u64,
    pub staked_maturity_e8s_equivalent: u64,
    pub auto_stake_maturity: bool,
    /// Followees by topic (0 = all topics not listed).
    pub followees: BTreeMap<i32, Vec<u64>>,
    /// When a spawning neuron's maturity is minted as its stake.
    pub spawn_at_timestamp_seconds: Option<u64>,
    /// Last time the controller confirmed its following or voted; voting
    /// power decays when this is old.
    pub voting_power_refreshed_timestamp_seconds: u64,
    /// Maturity on its way out, minted when each one is due.
    pub maturity_disbursements: Vec<MaturityDisbursement>,
}

/// Where disbursed maturity goes.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    Account {
        owner: Principal,
        subaccount: Option<[u8; 32]>,
    },
    AccountIdentifier([u8; 32]),
}

/// Maturity being disbursed: taken from the neuron now, minted at
/// `finalize_at_seconds`.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaturityDisbursement {
    pub amount_e8s: u64,
    pub destination: Destination,
    pub disbursed_at_seconds: u64,
    pub finalize_at_seconds: u64,
}

impl Neuron {
    /// A neuron with no dissolve delay (so, dissolved), aging from now.
    pub fn new(
        id: u64,
        controller: Principal,
        subaccount: [u8; 32],
        stake_e8s: u64,
        now: u64,
    ) -> Self {
        Self {
            id,
            controller,
            subaccount,
            hot_keys: vec![],
            cached_neuron_stake_e8s: stake_e8s,
            neuron_fees_e8s: 0,
            created_timestamp_seconds: now,
            aging_since_timestamp_seconds: now,
            dissolve_state: DissolveState::DissolveDelaySeconds(0),
            maturity_e8s_equivalent: 0,
            staked_maturity_e8s_equivalent: 0,
            auto_stake_maturity: false,
            followees: BTreeMap::new(),
            spawn_at_timestamp_seconds: None,
            voting_power_refreshed_timestamp_seconds: now,
            maturity_disbursements: vec![],
        }
    }

    /// The ICP the neuron holds on the ledger, less the fees it owes.
    pub fn minted_stake_e8s(&self) -> u64 {
        self.cached_neuron_stake_e8s
            .saturating_sub(self.neuron_fees_e8s)
    }

    /// Nothing staked, no maturity, nothing on its way out.
    pub fn is_empty(&self) -> bool {
        self.stake_e8s() == 0
            && self.maturity_e8s_equivalent == 0
            && self.maturity_disbursements.is_empty()
    }

    pub fn is_spawning(&self) -> bool {
        self.spawn_at_timestamp_seconds.is_some()
    }

    pub fn dissolve_delay_seconds(&self, now: u64) -> u64 {
        match self.dissolve_state {
            DissolveState::DissolveDelaySeconds(d) => d,
            DissolveState::WhenDissolvedTimestampSeconds(t) => t.saturating_sub(now),
        }
    }

    pub fn is_dissolving(&self, now: u64) -> bool {
        matches!(self.dissolve_state, DissolveState::WhenDissolvedTimestampSeconds(t) if t > now)
    }

    pub fn is_dissolved(&self, now: u64) -> bool {
        self.dissolve_delay_seconds(now) == 0
    }

    pub fn age_seconds(&self, now: u64) -> u64 {
        if self.aging_since_timestamp_seconds == NOT_AGING {
            return 0;
        }
        now.saturating_sub(self.aging_since_timestamp_seconds)
    }

    /// The stake that votes: cached stake less fees, plus staked maturity.
    pub fn stake_e8s(&self) -> u64 {
        self.minted_stake_e8s()
            .saturating_add(self.staked_maturity_e8s_equivalent)
    }

    /// stake × (1 + d/8y) × (1 + ¼ · min(age, 4y)/4y), exact in integers.
    pub fn potential_voting_power(&self, now: u64) -> u64 {
        let d = u128::from(
            self.dissolve_delay_seconds(now)
                .min(MAX_DISSOLVE_DELAY_SECONDS),
        );
        let age = u128::from(self.age_seconds(now).min(MAX_AGE_FOR_BONUS_SECONDS));
        let eight_years = u128::from(MAX_DISSOLVE_DELAY_SECONDS);
        // 1 + ¼ · age/4y = (16y + age) / 16y.
        let sixteen_years = u128::from(4 * MAX_AGE_FOR_BONUS_SECONDS);
        let vp = u128::from(self.stake_e8s()) * (eight_years + d) * (sixteen_years + age)
            / (eight_years * sixteen_years);
        u64::try_from(vp).unwrap_or(u64::MAX)
    }

    /// The voting power ballots get: nothing below the minimum dissolve
    /// delay, and fading linearly to nothing over `clear_after` once the
    /// neuron has not refreshed it for `reduce_after` seconds.
    pub fn deciding_voting_power(
        &self,
        now: u64,
        min_dissolve_delay: u64,
        reduce_after: u64,
        clear_after: u64,
    ) -> u64 {
        if self.dissolve_delay_seconds(now) < min_dissolve_delay {
            return 0;
        }
        let potential = self.potential_voting_power(now);
        let idle = now.saturating_sub(self.voting_power_refreshed_timestamp_seconds);
        if idle <= reduce_after {
            return potential;
        }
        let into_decay = idle - reduce_after;
        if clear_after == 0 || into_decay >= clear_after {
            return 0;
        }
        let kept = u128::from(clear_after - into_decay);
        u64::try_from(u128::from(potential) * kept / u128::from(clear_after))
            .expect("a fraction of a u64")
    }

    /// Adds to the dissolve delay, up to eight years. A dissolved neuron
    /// becomes locked again and starts aging.
    pub fn increase_dissolve_delay(
        &mut self,
        now: u64,
        additional: u64,
    ) -> Result<(), NeuronError> {
        if additional == 0 {
            return Err(refused(
                ErrorType::InvalidCommand,
                "the additional dissolve delay must be positive",
            ));
        }
        let delay = self
            .dissolve_delay_seconds(now)
            .saturating_add(additional)
            .min(MAX_DISSOLVE_DELAY_SECONDS);
        if self.is_dissolving(now) {
            self.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(now + delay);
        } else {
            if self.is_dissolved(now) {
                self.aging_since_timestamp_seconds = now;
            }
            self.dissolve_state = DissolveState::DissolveDelaySeconds(delay);
        }
        Ok(())
    }

    /// Sets when the neuron will be dissolved: a later time only, within
    /// eight years.
    pub fn set_dissolve_timestamp(&mut self, now: u64, timestamp: u64) -> Result<(), NeuronError> {
        let new_delay = timestamp
            .checked_sub(now)
            .filter(|d| *d > 0)
            .ok_or_else(|| {
                refused(
                    ErrorType::InvalidCommand,
                    "the dissolve timestamp must be in the future",
                )
            })?;
        if new_delay > MAX_DISSOLVE_DELAY_SECONDS {
            return Err(refused(
                ErrorType::InvalidCommand,
                "the dissolve delay cannot exceed eight years",
            ));
        }
        let current = self.dissolve_delay_seconds(now);
        if new_delay <= current {
            return Err(refused(
                ErrorType::InvalidCommand,
                format!("the dissolve delay can only increase (now {current} s)"),
            ));
        }
        self.increase_dissolve_delay(now, new_delay - current)
    }

    pub fn start_dissolving(&mut self, now: u64) -> Result<(), NeuronError> {
        match self.dissolve_state {
            DissolveState::DissolveDelaySeconds(d) if d > 0 => {
                self.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(now + d);
                self.aging_since_timestamp_seconds = NOT_AGING;
                Ok(())
            }
            _ => Err(refused(
                ErrorType::RequiresNotDissolving,
                "the neuron is already dissolving or dissolved",
            )),
        }
    }

    pub fn stop_dissolving(&mut self, now: u64) -> Result<(), NeuronError> {
        if !self.is_dissolving(now) {
            return Err(refused(
                ErrorType::RequiresDissolving,
                "the neuron is not dissolving",
            ));
        }
        self.dissolve_state = DissolveState::DissolveDelaySeconds(self.dissolve_delay_seconds(now));
        self.aging_since_timestamp_seconds = now;
        Ok(())
    }

    /// Takes a new ledger balance as the stake. A top-up keeps the stake's
    /// "age × stake" the same, so added ICP brings no age of its own.
    pub fn refresh_stake(&mut self, balance_e8s: u64, now: u64) {
        let old = self.cached_neuron_stake_e8s;
        if balance_e8s > old && self.aging_since_timestamp_seconds != NOT_AGING {
            let age = u128::from(self.age_seconds(now));
            let weighted = age * u128::from(old) / u128::from(balance_e8s);
            self.aging_since_timestamp_seconds =
                now - u64::try_from(weighted).expect("no more than the age");
        }
        self.cached_neuron_stake_e8s = balance_e8s;
    }

    pub fn is_controller(&self, who: &Principal) -> bool {
        self.controller == *who
    }

    /// Controller or hot key: may vote, follow and read the full neuron.
    pub fn is_authorized_to_vote(&self, who: &Principal) -> bool {
        self.is_controller(who) || self.hot_keys.contains(who)
    }

    pub fn add_hot_key(&mut self, key: Principal) -> Result<(), NeuronError> {
        if self.hot_keys.contains(&key) {
            return Err(refused(ErrorType::HotKey, "the hot key is already there"));
        }
        if self.hot_keys.len() >= MAX_HOT_KEYS {
            return Err(refused(
                ErrorType::ResourceExhausted,
                format!("a neuron has at most {MAX_HOT_KEYS} hot keys"),
            ));
        }
        self.hot_keys.push(key);
        Ok(())
    }

    pub fn remove_hot_key(&mut self, key: &Principal) -> Result<(), NeuronError> {
        let before = self.hot_keys.len();
        self.hot_keys.retain(|k| k != key);
        if self.hot_keys.len() == before {
            return Err(refused(ErrorType::NotFound, "no such hot key"));
        }
        Ok(())
    }

    /// Sets the followees for a topic; an empty list stops following it.
    pub fn follow(&mut self, topic: i32, followees: Vec<u64>) -> Result<(), NeuronError> {
        if followees.len() > MAX_FOLLOWEES_PER_TOPIC {
            return Err(refused(
                ErrorType::InvalidCommand,
                format!("at most {MAX_FOLLOWEES_PER_TOPIC} followees per topic"),
            ));
        }
        if followees.contains(&self.id) {
            return Err(refused(
                ErrorType::InvalidCommand,
                "a neuron cannot follow itself",
            ));
        }
        if followees.is_empty() {
            self.followees.remove(&topic);
        } else {
            self.followees.insert(topic, followees);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const T0: u64 = 1_700_000_000;
    const ICP: u64 = 100_000_000;

    fn neuron(stake: u64) -> Neuron {
        Neuron::new(1, Principal::from_slice(&[1]), [0; 32], stake, T0)
    }

    #[test]
    fn the_staking_subaccount_depends_on_controller_and_nonce() {
        let a = staking_subaccount(&Principal::from_slice(&[1]), 0);
        assert_ne!(a, staking_subaccount(&Principal::from_slice(&[1]), 1));
        assert_ne!(a, staking_subaccount(&Principal::from_slice(&[2]), 0));
        // SHA-256(0x0c ‖ "neuron-stake" ‖ [1] ‖ 0u64 BE), computed independently.
        let mut h = Sha256::new();
        h.update(b"\x0cneuron-stake\x01\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(a, <[u8; 32]>::from(h.finalize()));
    }

    #[test]
    fn a_new_neuron_is_dissolved_until_it_is_locked() {
        let mut n = neuron(ICP);
        assert!(n.is_dissolved(T0));
        n.increase_dissolve_delay(T0, ONE_YEAR_SECONDS).unwrap();
        assert!(!n.is_dissolved(T0));
        assert_eq!(n.dissolve_delay_seconds(T0), ONE_YEAR_SECONDS);
        n.increase_dissolve_delay(T0, 100 * ONE_YEAR_SECONDS)
            .unwrap();
        assert_eq!(n.dissolve_delay_seconds(T0), MAX_DISSOLVE_DELAY_SECONDS);
        assert!(n.increase_dissolve_delay(T0, 0).is_err());
    }

    #[test]
    fn dissolving_counts_down_stops_aging_and_can_be_stopped() {
        let mut n = neuron(ICP);
        n.increase_dissolve_delay(T0, 1_000).unwrap();
        let later = T0 + 500;
        assert_eq!(n.age_seconds(later), 500);
        n.start_dissolving(later).unwrap();
        assert!(n.start_dissolving(later).is_err());
        assert_eq!(n.age_seconds(later + 10), 0);
        assert_eq!(n.dissolve_delay_seconds(later + 400), 600);
        n.stop_dissolving(later + 400).unwrap();
        assert_eq!(n.dissolve_state, DissolveState::DissolveDelaySeconds(600));
        assert_eq!(n.age_seconds(later + 500), 100);
        n.start_dissolving(T0 + 2_000).unwrap();
        assert!(n.is_dissolved(T0 + 2_600));
        assert!(n.stop_dissolving(T0 + 2_600).is_err());
    }

    #[test]
    fn voting_power_follows_the_formula() {
        let mut n = neuron(100 * ICP);
        n.increase_dissolve_delay(T0, MAX_DISSOLVE_DELAY_SECONDS)
            .unwrap();
        // Eight years of delay doubles the stake; no age yet.
        assert_eq!(n.potential_voting_power(T0), 200 * ICP);
        // Four years of age add a quarter.
        let later = T0 + MAX_AGE_FOR_BONUS_SECONDS;
        assert_eq!(n.potential_voting_power(later), 250 * ICP);
        assert_eq!(
            n.potential_voting_power(later + ONE_YEAR_SECONDS),
            250 * ICP
        );
        let mut half = neuron(100 * ICP);
        half.increase_dissolve_delay(T0, 4 * ONE_YEAR_SECONDS)
            .unwrap();
        let two_years = T0 + 2 * ONE_YEAR_SECONDS;
        // 100 × 1.5 × 1.125
        assert_eq!(half.potential_voting_power(two_years), 16_875_000_000);
    }

    #[test]
    fn deciding_power_needs_six_months_and_fades_when_not_refreshed() {
        let six_months = ONE_YEAR_SECONDS / 2;
        let mut n = neuron(100 * ICP);
        n.increase_dissolve_delay(T0, six_months - 1).unwrap();
        assert_eq!(
            n.deciding_voting_power(T0, six_months, six_months, ONE_MONTH_SECONDS),
            0
        );
        n.increase_dissolve_delay(T0, 1).unwrap();
        let full = n.deciding_voting_power(T0, six_months, six_months, ONE_MONTH_SECONDS);
        assert_eq!(full, n.potential_voting_power(T0));
        let halfway = T0 + six_months + ONE_MONTH_SECONDS / 2;
        let potential = n.potential_voting_power(halfway);
        assert_eq!(
            n.deciding_voting_power(halfway, 0, six_months, ONE_MONTH_SECONDS),
            potential / 2
        );
        let gone = T0 + six_months + ONE_MONTH_SECONDS;
        assert_eq!(
            n.deciding_voting_power(gone, 0, six_months, ONE_MONTH_SECONDS),
            0
        );
    }

    #[test]
    fn a_top_up_brings_no_age_of_its_own() {
        let mut n = neuron(100 * ICP);
        n.increase_dissolve_delay(T0, ONE_YEAR_SECONDS).unwrap();
        let later = T0 + 1_000;
        n.refresh_stake(200 * ICP, later);
        assert_eq!(n.age_seconds(later), 500);
        assert_eq!(n.cached_neuron_stake_e8s, 200 * ICP);
        // A lower balance (fees burned) changes no age.
        n.refresh_stake(150 * ICP, later);
        assert_eq!(n.age_seconds(later), 500);
    }

    #[test]
    fn fees_reduce_and_staked_maturity_adds_to_the_stake() {
        let mut n = neuron(10 * ICP);
        n.neuron_fees_e8s = ICP;
        n.staked_maturity_e8s_equivalent = 3 * ICP;
        assert_eq!(n.stake_e8s(), 12 * ICP);
    }

    #[test]
    fn hot_keys_and_followees_are_bounded() {
        let mut n = neuron(ICP);
        for i in 0..MAX_HOT_KEYS as u8 {
            n.add_hot_key(Principal::from_slice(&[9, i])).unwrap();
        }
        assert!(n.add_hot_key(Principal::from_slice(&[9, 99])).is_err());
        assert!(n.add_hot_key(Principal::from_slice(&[9, 0])).is_err());
        assert!(n.is_authorized_to_vote(&Principal::from_slice(&[9, 3])));
        assert!(!n.is_controller(&Principal::from_slice(&[9, 3])));
        n.remove_hot_key(&Principal::from_slice(&[9, 3])).unwrap();
        assert!(!n.is_authorized_to_vote(&Principal::from_slice(&[9, 3])));
        assert!(n.follow(4, (2..=16).collect()).is_ok());
        assert!(n.follow(4, (2..=17).collect()).is_err());
        assert!(n.follow(4, vec![1]).is_err(), "not itself");
        n.follow(4, vec![]).unwrap();
        assert!(n.followees.is_empty());
    }

    #[test]
    fn the_dissolve_timestamp_only_moves_later() {
        let mut n = neuron(ICP);
        n.increase_dissolve_delay(T0, 1_000).unwrap();
        assert!(n.set_dissolve_timestamp(T0, T0 + 500).is_err());
        assert!(
            n.set_dissolve_timestamp(T0, T0 + MAX_DISSOLVE_DELAY_SECONDS + 1)
                .is_err()
        );
        n.set_dissolve_timestamp(T0, T0 + 5_000).unwrap();
        assert_eq!(n.dissolve_delay_seconds(T0), 5_000);
    }
}
