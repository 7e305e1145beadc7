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
        for entry in self.proposals.states.iter() {
            let state = entry.value();
            t.proposals += 1;
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

pub fn encode(t: &Totals, latest_reward_day: u64, now: u64) -> String {
    let mut m = Metrics::default();
    m.gauge("governance_neurons", "Neurons.", t.neurons as f64)
        .gauge(
            "governance_dissolving_neurons",
            "Neurons dissolving.",
            t.dissolving_neurons as f64,
        )
        .gauge(
            "governance_staked_e8s",
            "ICP staked in neurons, less the fees they owe, in e8s.",
            t.staked_e8s as f64,
        )
        .gauge(
            "governance_staked_maturity_e8s",
            "Staked maturity, in e8s.",
            t.staked_maturity_e8s as f64,
        )
        .gauge(
            "governance_maturity_e8s",
            "Maturity not yet staked, spawned or disbursed, in e8s.",
            t.maturity_e8s as f64,
        )
        .counter(
            "governance_proposals",
            "Proposals made.",
            t.proposals as f64,
        )
        .gauge(
            "governance_open_proposals",
            "Proposals not yet decided.",
            t.open_proposals as f64,
        )
        .counter(
            "governance_adopted_proposals",
            "Proposals adopted.",
            t.adopted_proposals as f64,
        )
        .counter(
            "governance_rejected_proposals",
            "Proposals rejected.",
            t.rejected_proposals as f64,
        )
        .counter(
            "governance_executed_proposals",
            "Adopted proposals executed.",
            t.executed_proposals as f64,
        )
        .counter(
            "governance_failed_proposals",
            "Adopted proposals whose execution failed.",
            t.failed_proposals as f64,
        )
        .gauge(
            "governance_maturity_modulation_basis_points",
            "The maturity modulation spawns and maturity disbursements are minted with, read daily from the CMC.",
            f64::from(t.maturity_modulation_basis_points),
        )
        .gauge(
            "governance_latest_reward_day",
            "Day after genesis of the latest reward distribution.",
            latest_reward_day as f64,
        )
        .gauge(
            "governance_time_seconds",
            "Time of this answer.",
            now as f64,
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
