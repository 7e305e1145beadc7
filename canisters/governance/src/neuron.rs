//! A neuron and the rules of its life: staking subaccount, dissolve state,
//! age, voting power. Plain Rust, no canister calls; time is an argument.

use crate::economics::VotingPowerRules;
use candid::{CandidType, Deserialize, Principal};
use nns_api::governance::{ErrorType, GovernanceError};
use std::collections::BTreeMap;

/// 365.25 days, as NNS governance counts a year.
pub const ONE_YEAR_SECONDS: u64 = (365 * 24 + 6) * 60 * 60;
pub const ONE_MONTH_SECONDS: u64 = ONE_YEAR_SECONDS / 12;
/// The longest dissolve delay before "Mission 70" cut it to two years: the
/// neurons that had it are the eight-year gang.
pub const EIGHT_YEARS_SECONDS: u64 = 8 * ONE_YEAR_SECONDS;
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
    /// The stake the neuron had when the maximum dissolve delay was cut
    /// from eight years, if it had eight years then (0 otherwise, and once
    /// it starts dissolving): up to this much stake counts a bonus.
    pub eight_year_gang_bonus_base_e8s: u64,
    /// Private (1, the default) or public (2): a stranger sees a public
    /// neuron in full.
    pub visibility: i32,
    /// Since when the neuron is in the Neurons' Fund, if it is.
    pub joined_community_fund_timestamp_seconds: Option<u64>,
}

pub const VISIBILITY_PRIVATE: i32 = 1;
pub const VISIBILITY_PUBLIC: i32 = 2;

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
            eight_year_gang_bonus_base_e8s: 0,
            visibility: VISIBILITY_PRIVATE,
            joined_community_fund_timestamp_seconds: None,
        }
    }

    /// The ICP the neuron holds on the ledger, less the fees it owes.
    pub fn minted_stake_e8s(&self) -> u64 {
        self.cached_neuron_stake_e8s
            .saturating_sub(self.neuron_fees_e8s)
    }

    /// The maturity rewards go to: staked if the neuron auto-stakes.
    pub fn rewarded_maturity_mut(&mut self) -> &mut u64 {
        if self.auto_stake_maturity {
            &mut self.staked_maturity_e8s_equivalent
        } else {
            &mut self.maturity_e8s_equivalent
        }
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

    /// (stake + g · min(bonus base, stake)) × (1 + B · (d/D)²) × (1 + ¼ ·
    /// min(age, 4y)/4y), with D the longest delay, B its bonus and g the
    /// eight-year gang's (mainnet: D = 2 years, B = 2, g = 10 %), in
    /// integers, rounded down.
    pub fn potential_voting_power(&self, now: u64, rules: &VotingPowerRules) -> u64 {
        let stake = u128::from(self.stake_e8s());
        let gang_base = u128::from(self.eight_year_gang_bonus_base_e8s).min(stake);
        // In hundredths of an e8.
        let boosted_stake =
            100 * stake + u128::from(rules.eight_year_gang_bonus_percentage) * gang_base;
        let max_delay = u128::from(rules.max_dissolve_delay_seconds.max(1));
        let delay = u128::from(self.dissolve_delay_seconds(now)).min(max_delay);
        // 1 + B/100 · (d/D)² = (100·D² + B·d²) / (100·D²).
        let delay_bonus_denominator = 100 * max_delay * max_delay;
        let delay_bonus_numerator = delay_bonus_denominator
            + u128::from(rules.max_dissolve_delay_bonus_percentage) * delay * delay;
        // Both factors fit in 64 bits for any stake the ICP supply allows
        // (and mainnet's delays): one 64 × 64-bit product and one division.
        // Past that, the exact way costs two divisions more.
        let with_delay = match (
            u64::try_from(boosted_stake),
            u64::try_from(delay_bonus_numerator),
        ) {
            (Ok(a), Ok(b)) => u128::from(a) * u128::from(b) / delay_bonus_denominator,
            _ => mul_div(
                boosted_stake,
                delay_bonus_numerator,
                delay_bonus_denominator,
            ),
        };
        // 1 + ¼ · age/4y = (16y + age) / 16y. No overflow: `with_delay` is
        // below 2⁷⁵ (200 · 2⁶⁴ × 5) and the factor below 2³⁰.
        let age = u128::from(self.age_seconds(now).min(MAX_AGE_FOR_BONUS_SECONDS));
        let sixteen_years = u128::from(4 * MAX_AGE_FOR_BONUS_SECONDS);
        let vp = with_delay * (sixteen_years + age) / (sixteen_years * 100);
        u64::try_from(vp).unwrap_or(u64::MAX)
    }

    /// Both voting powers, the potential one computed once. The deciding
    /// one is what ballots get: nothing below the minimum dissolve delay,
    /// and fading linearly to nothing over the clearing period once the
    /// neuron has not refreshed it for the reducing period.
    pub fn voting_power(&self, now: u64, rules: &VotingPowerRules) -> VotingPower {
        let potential = self.potential_voting_power(now, rules);
        let deciding = if self.is_eligible_to_vote(now, rules) {
            faded(
                potential,
                now.saturating_sub(self.voting_power_refreshed_timestamp_seconds),
                rules,
            )
        } else {
            0
        };
        VotingPower {
            potential,
            deciding,
        }
    }

    /// Whether the neuron gets a ballot: its dissolve delay is at least
    /// the minimum to vote (its deciding voting power may still be 0).
    pub fn is_eligible_to_vote(&self, now: u64, rules: &VotingPowerRules) -> bool {
        self.dissolve_delay_seconds(now) >= rules.minimum_dissolve_delay_to_vote_seconds
    }

    /// Adds to the dissolve delay, up to `max_delay` (a request beyond it is
    /// capped, as on the NNS). A dissolved neuron becomes locked again and
    /// starts aging.
    pub fn increase_dissolve_delay(
        &mut self,
        now: u64,
        additional: u64,
        max_delay: u64,
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
            .min(max_delay);
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

    /// Sets when the neuron will be dissolved: a later time only; a time
    /// beyond `max_delay` from now is capped to it, as on the NNS.
    pub fn set_dissolve_timestamp(
        &mut self,
        now: u64,
        timestamp: u64,
        max_delay: u64,
    ) -> Result<(), NeuronError> {
        let new_delay = timestamp
            .checked_sub(now)
            .filter(|d| *d > 0)
            .ok_or_else(|| {
                refused(
                    ErrorType::InvalidCommand,
                    "the dissolve timestamp must be in the future",
                )
            })?;
        let new_delay = new_delay.min(max_delay);
        let current = self.dissolve_delay_seconds(now);
        if new_delay <= current {
            return Err(refused(
                ErrorType::InvalidCommand,
                format!("the dissolve delay can only increase (now {current} s)"),
            ));
        }
        self.increase_dissolve_delay(now, new_delay - current, max_delay)
    }

    pub fn start_dissolving(&mut self, now: u64) -> Result<(), NeuronError> {
        match self.dissolve_state {
            DissolveState::DissolveDelaySeconds(d) if d > 0 => {
                self.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(now + d);
                self.aging_since_timestamp_seconds = NOT_AGING;
                // The eight-year gang's bonus ends for good, as on the NNS.
                self.eight_year_gang_bonus_base_e8s = 0;
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

    pub fn is_public(&self) -> bool {
        self.visibility == VISIBILITY_PUBLIC
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

/// A neuron's voting power: what it could have, and what its ballots get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VotingPower {
    pub potential: u64,
    pub deciding: u64,
}

/// `potential` after `idle` seconds without a refresh: whole for the
/// reducing period, then falling linearly to nothing over the clearing one.
fn faded(potential: u64, idle: u64, rules: &VotingPowerRules) -> u64 {
    let reduce_after = rules.start_reducing_voting_power_after_seconds;
    let clear_after = rules.clear_following_after_seconds;
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

/// ⌊a · b / c⌋ without overflow while b · c fits in 128 bits (the bounds
/// of the network economics keep it so); saturates beyond.
fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    let whole = (a / c).saturating_mul(b);
    let rest = (a % c).checked_mul(b).map_or(u128::MAX, |r| r / c);
    whole.saturating_add(rest)
}

/// The record of the cut: a neuron locked for eight years keeps its stake
/// as its bonus base; every delay above the new maximum comes down to it.
/// Returns whether the neuron changed.
pub fn apply_max_dissolve_delay(neuron: &mut Neuron, now: u64, max_delay: u64) -> bool {
    match neuron.dissolve_state {
        DissolveState::DissolveDelaySeconds(d) if d > max_delay => {
            if d >= EIGHT_YEARS_SECONDS {
                neuron.eight_year_gang_bonus_base_e8s = neuron.stake_e8s();
            }
            neuron.dissolve_state = DissolveState::DissolveDelaySeconds(max_delay);
            true
        }
        DissolveState::WhenDissolvedTimestampSeconds(t) if t > now.saturating_add(max_delay) => {
            neuron.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(now + max_delay);
            true
        }
        _ => false,
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

    const MAX: u64 = 2 * ONE_YEAR_SECONDS;

    fn rules() -> VotingPowerRules {
        VotingPowerRules::mainnet()
    }

    #[test]
    fn a_new_neuron_is_dissolved_until_it_is_locked() {
        let mut n = neuron(ICP);
        assert!(n.is_dissolved(T0));
        n.increase_dissolve_delay(T0, ONE_YEAR_SECONDS, MAX)
            .unwrap();
        assert!(!n.is_dissolved(T0));
        assert_eq!(n.dissolve_delay_seconds(T0), ONE_YEAR_SECONDS);
        // Beyond the maximum: capped, not refused.
        n.increase_dissolve_delay(T0, 100 * ONE_YEAR_SECONDS, MAX)
            .unwrap();
        assert_eq!(n.dissolve_delay_seconds(T0), MAX);
        assert!(n.increase_dissolve_delay(T0, 0, MAX).is_err());
    }

    #[test]
    fn dissolving_counts_down_stops_aging_and_can_be_stopped() {
        let mut n = neuron(ICP);
        n.increase_dissolve_delay(T0, 1_000, MAX).unwrap();
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
    fn voting_power_follows_todays_formula() {
        let mut n = neuron(100 * ICP);
        n.increase_dissolve_delay(T0, MAX, MAX).unwrap();
        // Two years of delay triple the stake; no age yet.
        assert_eq!(n.potential_voting_power(T0, &rules()), 300 * ICP);
        // Four years of age add a quarter, and no more after.
        let later = T0 + MAX_AGE_FOR_BONUS_SECONDS;
        assert_eq!(n.potential_voting_power(later, &rules()), 375 * ICP);
        assert_eq!(
            n.potential_voting_power(later + ONE_YEAR_SECONDS, &rules()),
            375 * ICP
        );
        // The bonus is quadratic: one year of two gives 1 + 2 · ¼ = 1.5.
        let mut half = neuron(100 * ICP);
        half.increase_dissolve_delay(T0, ONE_YEAR_SECONDS, MAX)
            .unwrap();
        assert_eq!(half.potential_voting_power(T0, &rules()), 150 * ICP);
        // Two weeks: 1 + 2 · (14 d / 730.5 d)², rounded down.
        let mut short = neuron(100 * ICP);
        short.increase_dissolve_delay(T0, 14 * 86_400, MAX).unwrap();
        let d = 14.0 * 86_400.0 / MAX as f64;
        let expected = (100.0 * ICP as f64 * (1.0 + 2.0 * d * d)).floor() as u64;
        assert_eq!(short.potential_voting_power(T0, &rules()), expected);
    }

    /// The worked check: 100 ICP locked for four years (so two,
    /// the maximum), aged two years: 100 × 3 × 1.125.
    #[test]
    fn worked_check_100_icp_four_years_asked_two_years_aged_is_337_5() {
        let mut n = neuron(100 * ICP);
        n.increase_dissolve_delay(T0, 4 * ONE_YEAR_SECONDS, MAX)
            .unwrap();
        assert_eq!(n.dissolve_delay_seconds(T0), MAX);
        let two_years_later = T0 + 2 * ONE_YEAR_SECONDS;
        assert_eq!(
            n.potential_voting_power(two_years_later, &rules()),
            33_750_000_000
        );
    }

    #[test]
    fn the_eight_year_gang_adds_a_tenth_of_its_base_capped_by_the_stake() {
        let mut n = neuron(100 * ICP);
        n.dissolve_state = DissolveState::DissolveDelaySeconds(EIGHT_YEARS_SECONDS);
        assert!(apply_max_dissolve_delay(&mut n, T0, MAX));
        assert_eq!(n.dissolve_state, DissolveState::DissolveDelaySeconds(MAX));
        assert_eq!(n.eight_year_gang_bonus_base_e8s, 100 * ICP);
        assert!(!apply_max_dissolve_delay(&mut n, T0, MAX), "once");
        // (100 + 10) × 3
        assert_eq!(n.potential_voting_power(T0, &rules()), 330 * ICP);
        // Fees owed lower the stake; the base counts up to the stake only.
        n.neuron_fees_e8s = 50 * ICP;
        assert_eq!(n.potential_voting_power(T0, &rules()), 165 * ICP);
        n.neuron_fees_e8s = 0;
        // Dissolving ends the bonus for good.
        n.start_dissolving(T0).unwrap();
        assert_eq!(n.eight_year_gang_bonus_base_e8s, 0);
        // Seven years of delay were not the gang's: cut, no base.
        let mut seven = neuron(100 * ICP);
        seven.dissolve_state = DissolveState::DissolveDelaySeconds(7 * ONE_YEAR_SECONDS);
        assert!(apply_max_dissolve_delay(&mut seven, T0, MAX));
        assert_eq!(seven.eight_year_gang_bonus_base_e8s, 0);
        // A dissolving neuron's end comes nearer; one within the maximum
        // is left alone.
        let mut dissolving = neuron(ICP);
        dissolving.dissolve_state =
            DissolveState::WhenDissolvedTimestampSeconds(T0 + 5 * ONE_YEAR_SECONDS);
        assert!(apply_max_dissolve_delay(&mut dissolving, T0, MAX));
        assert_eq!(dissolving.dissolve_delay_seconds(T0), MAX);
        assert!(!apply_max_dissolve_delay(&mut dissolving, T0 + 1, MAX));
    }

    mod formula {
        use super::*;
        use proptest::prelude::*;

        /// Property-test cases: 256 in CI, more with `PROPTEST_CASES`.
        fn cases() -> u32 {
            std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(256)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

            /// The integer formula is the exact rational one rounded down
            /// once, to within one e8 (it rounds twice); it grows with
            /// delay and age and
            /// never passes (stake + 10 % base) × 3 × 1.25.
            #[test]
            fn voting_power_is_the_rational_formula(
                stake in 0u64..100_000_000 * ICP,
                base_share in 0u64..=150,
                delay in 0u64..=3 * ONE_YEAR_SECONDS,
                age in 0u64..=6 * ONE_YEAR_SECONDS,
            ) {
                let rules = rules();
                let mut n = neuron(stake);
                n.eight_year_gang_bonus_base_e8s = stake / 100 * base_share;
                n.dissolve_state = DissolveState::DissolveDelaySeconds(delay);
                n.aging_since_timestamp_seconds = T0 - age;
                let vp = n.potential_voting_power(T0, &rules);
                // Exact: (100 s + 10 min(b, s)) (100 D² + 200 d²) (16y + a)
                //        / (100 D² · 100 · 16y), rounded down once.
                let s = u128::from(stake);
                let b = u128::from(n.eight_year_gang_bonus_base_e8s).min(s);
                let d = u128::from(delay.min(MAX));
                let big_d = u128::from(MAX);
                let a = u128::from(age.min(MAX_AGE_FOR_BONUS_SECONDS));
                let y16 = u128::from(4 * MAX_AGE_FOR_BONUS_SECONDS);
                let stake_part = 100 * s + 10 * b;
                let delay_num = 100 * big_d * big_d + 200 * d * d;
                let delay_den = 100 * big_d * big_d;
                // One floor of the exact product: with X·N1 = q·D1 + r,
                // ⌊X·N1·N2 / (D1·D2)⌋ = ⌊(q·N2 + ⌊r·N2 / D1⌋) / D2⌋.
                let (q, r) = (stake_part * delay_num / delay_den, stake_part * delay_num % delay_den);
                let age_num = y16 + a;
                let reference = (q * age_num + r * age_num / delay_den) / (100 * y16);
                prop_assert!(u128::from(vp) <= reference && reference - u128::from(vp) <= 1,
                    "{vp} vs {reference}");
                let ceiling = (10 * s + b) * 15 / 40;
                prop_assert!(u128::from(vp) <= ceiling + 1);
                let mut longer = n.clone();
                longer.dissolve_state = DissolveState::DissolveDelaySeconds(delay + 86_400);
                prop_assert!(longer.potential_voting_power(T0, &rules) >= vp);
                let older = n.potential_voting_power(T0 + 86_400, &rules);
                prop_assert!(older >= vp);
            }
        }
    }

    #[test]
    fn the_exact_fallback_agrees_with_plain_arithmetic() {
        for (a, b, c) in [
            (7u128, 5, 3),
            (10u128.pow(20), 3 * 10u128.pow(15), 10u128.pow(15)),
        ] {
            assert_eq!(mul_div(a, b, c), a * b / c);
        }
        // Past 128 bits: 9·10³⁰ + 4 times 6 over 9 is 6·10³⁰ + 2.
        let a = 9 * 10u128.pow(30) + 4;
        assert_eq!(mul_div(a, 6, 9), 6 * 10u128.pow(30) + 2);
        // The largest stake a u64 holds does not overflow the formula.
        let mut whale = neuron(u64::MAX);
        whale.eight_year_gang_bonus_base_e8s = u64::MAX;
        whale.dissolve_state = DissolveState::DissolveDelaySeconds(MAX);
        assert_eq!(
            whale.potential_voting_power(T0, &rules()),
            u64::MAX,
            "saturates"
        );
    }

    #[test]
    fn deciding_power_needs_two_weeks_and_fades_when_not_refreshed() {
        let rules = rules();
        let two_weeks = 14 * 86_400;
        let reduce = ONE_YEAR_SECONDS / 2;
        let clear = ONE_YEAR_SECONDS / 12;
        assert_eq!(rules.clear_following_after_seconds, 2_629_800);
        let mut n = neuron(100 * ICP);
        n.increase_dissolve_delay(T0, two_weeks - 1, MAX).unwrap();
        assert!(!n.is_eligible_to_vote(T0, &rules));
        assert_eq!(n.voting_power(T0, &rules).deciding, 0);
        n.increase_dissolve_delay(T0, 1 + ONE_YEAR_SECONDS, MAX)
            .unwrap();
        let full = n.voting_power(T0, &rules).deciding;
        assert_eq!(full, n.potential_voting_power(T0, &rules));
        let halfway = T0 + reduce + clear / 2;
        let potential = n.potential_voting_power(halfway, &rules);
        assert_eq!(n.voting_power(halfway, &rules).deciding, potential / 2);
        let gone = T0 + reduce + clear;
        assert_eq!(n.voting_power(gone, &rules).deciding, 0);
        assert!(n.is_eligible_to_vote(gone, &rules), "still gets a ballot");
    }

    #[test]
    fn a_top_up_brings_no_age_of_its_own() {
        let mut n = neuron(100 * ICP);
        n.increase_dissolve_delay(T0, ONE_YEAR_SECONDS, MAX)
            .unwrap();
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
        n.increase_dissolve_delay(T0, 1_000, MAX).unwrap();
        assert!(n.set_dissolve_timestamp(T0, T0 + 500, MAX).is_err());
        n.set_dissolve_timestamp(T0, T0 + 5_000, MAX).unwrap();
        assert_eq!(n.dissolve_delay_seconds(T0), 5_000);
        // Beyond the maximum: capped, as the NNS does.
        n.set_dissolve_timestamp(T0, T0 + 8 * ONE_YEAR_SECONDS, MAX)
            .unwrap();
        assert_eq!(n.dissolve_delay_seconds(T0), MAX);
    }
}
