//! Totals over neurons and proposals for `http_request` `/metrics`, counted
//! when asked: one pass over each store, well within a query's 5 B
//! instructions for a few hundred thousand neurons.

use crate::governance::Governance;
use canister_common::metrics::Metrics;
use ic_stable_structures::Memory;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub neurons: u64,
    pub dissolving_neurons: u64,
    /// ICP held in neurons' accounts, less the fees they owe.
    pub staked_e8s: u64,
    pub staked_maturity_e8s: u64,
    pub maturity_e8s: u64,
    pub proposals: u64,
    pub open_proposals: u64,
    pub adopted_proposals: u64,
    pub rejected_proposals: u64,
    pub executed_proposals: u64,
    pub failed_proposals: u64,
    pub maturity_modulation_basis_points: i32,
}

impl<M: Memory> Governance<M> {
    pub fn totals(&self, now: u64) -> Totals {
        let mut t = Totals::default();
        for (_, neuron) in self.neurons.iter() {
            t.neurons += 1;
            t.dissolving_neurons += u64::from(neuron.is_dissolving(now));
            t.staked_e8s += neuron.minted_stake_e8s();
            t.staked_maturity_e8s += neuron.staked_maturity_e8s_equivalent;
            t.maturity_e8s += neuron.maturity_e8s_equivalent;
        }
        // Pruning forgets proposals; what they came to is kept apart.
        let pruned = self.proposals.pruned();
        t.proposals = self.proposals.made();
        t.adopted_proposals = pruned.adopted;
        t.rejected_proposals = pruned.rejected;
        t.executed_proposals = pruned.executed;
        t.failed_proposals = pruned.failed;
        for entry in self.proposals.states.iter() {
            let state = entry.value();
            match (state.is_decided(), state.adopted) {
                (false, _) => t.open_proposals += 1,
                (true, true) => t.adopted_proposals += 1,
                (true, false) => t.rejected_proposals += 1,
            }
            t.executed_proposals += u64::from(state.executed_seconds != 0);
            t.failed_proposals += u64::from(state.failed_seconds != 0);
        }
        t.maturity_modulation_basis_points = self.maturity_modulation_basis_points();
        t
    }
}

impl<M: Memory> Governance<M> {
    /// `get_metrics`' figures, counted in one pass over the neurons (as
    /// the NNS, once a day; about as much work as a proposal's snapshot).
    pub fn cached_metrics(
        &self,
        now: u64,
        total_supply_e8s: u64,
        minimum_stake_e8s: u64,
    ) -> nns_api::governance::GovernanceCachedMetrics {
        use std::collections::BTreeMap;
        const HALF_YEAR: u64 = crate::neuron::ONE_YEAR_SECONDS / 2;
        #[derive(Default)]
        struct Buckets {
            count: u64,
            e8s: BTreeMap<u64, f64>,
            counts: BTreeMap<u64, u64>,
            staked_maturity: BTreeMap<u64, f64>,
            staked_maturity_sum: u64,
        }
        impl Buckets {
            fn add(&mut self, bucket: u64, stake: u64, staked_maturity: u64) {
                self.count += 1;
                *self.e8s.entry(bucket).or_default() += stake as f64;
                *self.counts.entry(bucket).or_default() += 1;
                *self.staked_maturity.entry(bucket).or_default() += staked_maturity as f64;
                self.staked_maturity_sum += staked_maturity;
            }
        }
        let mut m = nns_api::governance::GovernanceCachedMetrics {
            timestamp_seconds: now,
            total_supply_icp: total_supply_e8s / 100_000_000,
            ..Default::default()
        };
        let (mut dissolving, mut locked) = (Buckets::default(), Buckets::default());
        let mut disbursing = 0u64;
        for (_, n) in self.neurons.iter() {
            let stake = n.minted_stake_e8s();
            let staked_maturity = n.staked_maturity_e8s_equivalent;
            let delay = n.dissolve_delay_seconds(now);
            let bucket = delay / HALF_YEAR;
            m.total_staked_e8s += stake;
            m.total_maturity_e8s_equivalent += n.maturity_e8s_equivalent;
            m.total_staked_maturity_e8s_equivalent += staked_maturity;
            disbursing += n
                .maturity_disbursements
                .iter()
                .map(|d| d.amount_e8s)
                .sum::<u64>();
            if n.is_spawning() {
                m.spawning_neurons_count += 1;
            }
            if n.is_empty() {
                m.garbage_collectable_neurons_count += 1;
            } else if stake < minimum_stake_e8s && !n.is_spawning() {
                m.neurons_with_invalid_stake_count += 1;
            }
            if delay < HALF_YEAR {
                m.neurons_with_less_than_6_months_dissolve_delay_count += 1;
                m.neurons_with_less_than_6_months_dissolve_delay_e8s += stake;
            }
            if n.joined_community_fund_timestamp_seconds.is_some() {
                m.neurons_fund_total_active_neurons += 1;
                m.community_fund_total_staked_e8s += stake;
                m.community_fund_total_maturity_e8s_equivalent += n.maturity_e8s_equivalent;
            }
            if n.is_dissolved(now) {
                m.dissolved_neurons_count += 1;
                m.dissolved_neurons_e8s += stake;
            } else {
                m.total_locked_e8s += stake;
                if n.is_dissolving(now) {
                    dissolving.add(bucket, stake, staked_maturity);
                } else {
                    locked.add(bucket, stake, staked_maturity);
                }
            }
        }
        m.total_maturity_disbursements_in_progress_e8s_equivalent = Some(disbursing);
        m.dissolving_neurons_count = dissolving.count;
        m.dissolving_neurons_e8s_buckets = dissolving.e8s.into_iter().collect();
        m.dissolving_neurons_count_buckets = dissolving.counts.into_iter().collect();
        m.dissolving_neurons_staked_maturity_e8s_equivalent_buckets =
            dissolving.staked_maturity.into_iter().collect();
        m.dissolving_neurons_staked_maturity_e8s_equivalent_sum = dissolving.staked_maturity_sum;
        m.not_dissolving_neurons_count = locked.count;
        m.not_dissolving_neurons_e8s_buckets = locked.e8s.into_iter().collect();
        m.not_dissolving_neurons_count_buckets = locked.counts.into_iter().collect();
        m.not_dissolving_neurons_staked_maturity_e8s_equivalent_buckets =
            locked.staked_maturity.into_iter().collect();
        m.not_dissolving_neurons_staked_maturity_e8s_equivalent_sum = locked.staked_maturity_sum;
        m
    }
}

pub fn encode(t: &Totals, latest_reward_day: u64, now: u64) -> String {
    let mut m = Metrics::default();
    m.gauge("governance_neurons", "Neurons.", t.neurons as f64)
        .gauge(
            "governance_dissolving_neurons",
            "Neurons dissolving.",
            t.dissolving_neurons,
        )
        .gauge(
            "governance_staked_e8s",
            "ICP staked in neurons, less the fees they owe, in e8s.",
            t.staked_e8s,
        )
        .gauge(
            "governance_staked_maturity_e8s",
            "Staked maturity, in e8s.",
            t.staked_maturity_e8s,
        )
        .gauge(
            "governance_maturity_e8s",
            "Maturity not yet staked, spawned or disbursed, in e8s.",
            t.maturity_e8s,
        )
        .counter(
            "governance_proposals",
            "Proposals made.",
            t.proposals,
        )
        .gauge(
            "governance_open_proposals",
            "Proposals not yet decided.",
            t.open_proposals,
        )
        .counter(
            "governance_adopted_proposals",
            "Proposals adopted.",
            t.adopted_proposals,
        )
        .counter(
            "governance_rejected_proposals",
            "Proposals rejected.",
            t.rejected_proposals,
        )
        .counter(
            "governance_executed_proposals",
            "Adopted proposals executed.",
            t.executed_proposals,
        )
        .counter(
            "governance_failed_proposals",
            "Adopted proposals whose execution failed.",
            t.failed_proposals,
        )
        .gauge(
            "governance_maturity_modulation_basis_points",
            "The maturity modulation spawns and maturity disbursements are minted with, read daily from the CMC.",
            f64::from(t.maturity_modulation_basis_points),
        )
        .gauge(
            "governance_latest_reward_day",
            "Day after genesis of the latest reward distribution.",
            latest_reward_day,
        )
        .gauge(
            "governance_time_seconds",
            "Time of this answer.",
            now,
        );
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::test_owner;
    use crate::neuron::{DissolveState, Neuron};
    use crate::proposals::motion_for_tests;
    use nns_api::governance::NetworkEconomics;

    const T0: u64 = 1_700_000_000;
    const ICP: u64 = 100_000_000;

    #[test]
    fn totals_count_neurons_stakes_and_proposals() {
        let mut g = Governance::with_voting_neurons(&[100 * ICP, 50 * ICP], T0);
        let mut dissolving = Neuron::new(3, test_owner(3), [3; 32], 10 * ICP, T0);
        dissolving.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(T0 + 100);
        dissolving.neuron_fees_e8s = ICP;
        dissolving.maturity_e8s_equivalent = 7;
        dissolving.staked_maturity_e8s_equivalent = 5;
        g.insert_for_tests(dissolving);
        let economics = NetworkEconomics::default();
        g.make_proposal(&test_owner(1), 1, motion_for_tests(), &economics, T0)
            .unwrap();
        let t = g.totals(T0);
        assert_eq!(
            t,
            Totals {
                neurons: 3,
                dissolving_neurons: 1,
                staked_e8s: 159 * ICP,
                staked_maturity_e8s: 5,
                maturity_e8s: 7,
                proposals: 1,
                // Neuron 1 holds two thirds of the voting power: adopted at once.
                open_proposals: 0,
                adopted_proposals: 1,
                ..Totals::default()
            }
        );
        let text = encode(&t, 2, T0);
        assert!(text.contains("\ngovernance_staked_e8s 15900000000\n"));
        assert!(text.contains("\ngovernance_adopted_proposals 1\n"));
    }
}
