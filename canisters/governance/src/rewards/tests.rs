use super::*;
use crate::governance::test_owner;
use crate::proposals::{VOTING_PERIOD_SECONDS, motion_for_tests};
use candid::Principal;
use ic_stable_structures::VectorMemory;
use nns_api::governance::NetworkEconomics;

const T0: u64 = 1_700_000_000;
const ICP: u64 = 100_000_000;
const SUPPLY: u64 = 500_000_000 * ICP;
/// The whole pool: tests of other rules than the adjustment factor.
const FULL: u64 = 10_000;

type G = Governance<VectorMemory>;

fn owner(id: u64) -> Principal {
    test_owner(id)
}

fn with_neurons(stakes: &[u64]) -> G {
    Governance::with_voting_neurons(stakes, T0)
}

fn propose(g: &mut G, proposer: u64, now: u64) -> u64 {
    let body = motion_for_tests();
    g.make_proposal(
        &owner(proposer),
        proposer,
        body,
        &NetworkEconomics::default(),
        now,
    )
    .unwrap()
    .0
}

fn ballot_power(g: &G, proposal: u64, neuron: u64) -> u128 {
    u128::from(
        g.proposals
            .ballots
            .get(proposal, neuron)
            .unwrap()
            .voting_power,
    )
}

#[test]
fn the_daily_pool_falls_from_ten_to_five_percent_a_year_over_eight_years() {
    // 10 % / 365.25 at genesis, 5 % / 365.25 from eight years on.
    assert_eq!(daily_pool(7_305_000, 0), 2_000);
    assert_eq!(daily_pool(7_305_000, 2_922), 1_000);
    assert_eq!(daily_pool(7_305_000, 10_000), 1_000);
    // Halfway: 5 % + 5 % × ¼.
    assert_eq!(daily_pool(7_305_000, 1_461), 1_250);
    assert_eq!(
        daily_pool(SUPPLY, 0),
        SUPPLY / 7_305 * 2 + (SUPPLY % 7_305) * 2 / 7_305
    );
}

#[test]
fn voters_share_the_pool_in_proportion_to_the_power_they_used() {
    let mut g = with_neurons(&[100 * ICP, 50 * ICP, 50 * ICP]);
    let p = propose(&mut g, 1, T0);
    g.register_vote(&owner(2), 2, p, Vote::No, T0).unwrap();
    // Not before the proposal's voting closed.
    assert!(!g.start_distribution(1, SUPPLY, FULL, T0 + 3_600, T0 + 3_600));
    assert_eq!(g.latest_reward_event().settled_proposals, vec![]);
    let close = T0 + VOTING_PERIOD_SECONDS;
    assert!(g.start_distribution(5, SUPPLY, FULL, close, close));
    assert!(
        !g.start_distribution(5, SUPPLY, FULL, close, close),
        "one at a time"
    );
    assert!(!g.credit_rewards(10));
    let event = g.latest_reward_event();
    // The first event also has the rolled-over pool of the earlier one;
    // each round is paid at the rate of the day that started it.
    let pool: u64 = (0..5).map(|d| daily_pool(SUPPLY, d)).sum();
    assert_eq!(event.total_available_e8s_equivalent, pool);
    assert_eq!(event.settled_proposals, vec![ProposalId { id: p }]);
    // The first attempt found nothing to settle and rolled day 1 over, its
    // round with it: five rounds since the last distribution.
    assert_eq!(event.rounds_since_last_distribution, Some(5));
    let total = ballot_power(&g, p, 1) + ballot_power(&g, p, 2) + ballot_power(&g, p, 3);
    let share = |n| u64::try_from(u128::from(pool) * ballot_power(&g, p, n) / total).unwrap();
    assert_eq!(g.neuron(1).unwrap().maturity_e8s_equivalent, share(1));
    assert_eq!(g.neuron(2).unwrap().maturity_e8s_equivalent, share(2));
    assert_eq!(
        g.neuron(3).unwrap().maturity_e8s_equivalent,
        0,
        "did not vote"
    );
    assert_eq!(event.distributed_e8s_equivalent, share(1) + share(2));
    assert_eq!(g.proposals.state(p).unwrap().reward_event_round, 5);
}

#[test]
fn a_day_without_settled_proposals_rolls_its_pool_over() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP]);
    assert!(!g.start_distribution(1, SUPPLY, FULL, T0, T0));
    let first = g.latest_reward_event();
    assert_eq!(first.total_available_e8s_equivalent, daily_pool(SUPPLY, 0));
    assert_eq!(first.distributed_e8s_equivalent, 0);
    let p = propose(&mut g, 1, T0);
    let close = T0 + VOTING_PERIOD_SECONDS;
    assert!(g.start_distribution(5, SUPPLY, FULL, close, close));
    g.credit_rewards(10);
    let second = g.latest_reward_event();
    let pool = daily_pool(SUPPLY, 0) + (1..5).map(|d| daily_pool(SUPPLY, d)).sum::<u64>();
    assert_eq!(second.total_available_e8s_equivalent, pool);
    // The last round's pool alone, as the NNS reports it.
    assert_eq!(
        second.latest_round_available_e8s_equivalent,
        Some(daily_pool(SUPPLY, 4))
    );
    assert_eq!(second.rounds_since_last_distribution, Some(5));
    assert_eq!(g.proposals.state(p).unwrap().reward_event_round, 5);
}

#[test]
fn chunks_credit_what_one_pass_would_and_auto_stake_stakes_it() {
    let stakes = [100 * ICP, 70 * ICP, 30 * ICP, 10 * ICP];
    let run = |chunk: usize| {
        let mut g = with_neurons(&stakes);
        g.neurons
            .update(3, |n| n.auto_stake_maturity = true)
            .unwrap();
        let p = propose(&mut g, 1, T0);
        for n in 2..=4 {
            g.register_vote(&owner(n), n, p, Vote::Yes, T0 + 1).ok();
        }
        assert!(g.start_distribution(
            4,
            SUPPLY,
            FULL,
            T0 + VOTING_PERIOD_SECONDS,
            T0 + VOTING_PERIOD_SECONDS
        ));
        let mut rounds = 1;
        while g.credit_rewards(chunk) {
            rounds += 1;
        }
        let neurons: Vec<(u64, u64)> = (1..=4)
            .map(|id| {
                let n = g.neuron(id).unwrap();
                (n.maturity_e8s_equivalent, n.staked_maturity_e8s_equivalent)
            })
            .collect();
        (neurons, g.latest_reward_event(), rounds)
    };
    let (one_pass, event, rounds) = run(100);
    let (chunked, chunked_event, chunked_rounds) = run(1);
    assert_eq!((rounds, chunked_rounds), (1, 4));
    assert_eq!(one_pass, chunked);
    assert_eq!(event, chunked_event);
    assert_eq!(one_pass[2].0, 0);
    assert!(one_pass[2].1 > 0, "auto-staked");
}

#[test]
fn installed_after_genesis_it_owes_nothing_for_the_days_before() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP]);
    let genesis = T0 - 2_000 * ONE_DAY_SECONDS;
    g.start_rewards(genesis, T0);
    assert_eq!(g.latest_reward_event().day_after_genesis, 2_000);
    assert_eq!(g.reward_day_due(genesis, T0 + ONE_DAY_SECONDS - 1), None);
    assert_eq!(g.reward_day_due(genesis, T0 + ONE_DAY_SECONDS), Some(2_001));
    assert!(!g.start_distribution(
        2_001,
        SUPPLY,
        FULL,
        T0 + ONE_DAY_SECONDS,
        T0 + ONE_DAY_SECONDS
    ));
    // One day's pool, not two thousand.
    assert_eq!(
        g.latest_reward_event().total_available_e8s_equivalent,
        daily_pool(SUPPLY, 2_000)
    );
}

#[test]
fn no_proposal_is_forgotten_while_its_voters_are_being_rewarded() {
    let mut g = with_neurons(&[100 * ICP, 70 * ICP, 30 * ICP, 10 * ICP]);
    let first = propose(&mut g, 1, T0);
    let second = propose(&mut g, 2, T0);
    for id in [first, second] {
        let mut state = g.proposals.state(id).unwrap();
        state.decided_seconds = T0 + 1;
        state.adopted = false;
        g.proposals.put(id, state);
    }
    assert!(g.start_distribution(
        4,
        SUPPLY,
        FULL,
        T0 + VOTING_PERIOD_SECONDS,
        T0 + VOTING_PERIOD_SECONDS
    ));
    // Both are settled, but crediting has only begun: their ballots stay.
    assert!(g.credit_rewards(1));
    assert_eq!(g.prune_proposals(1, 1_000), Vec::<u64>::new());
    assert_eq!(g.proposals.ballots.of(first).count(), 4);
    while g.credit_rewards(1) {}
    let before = g.totals(T0 + VOTING_PERIOD_SECONDS);
    assert_eq!(g.prune_proposals(1, 1_000), vec![first]);
    assert!(g.proposals.state(second).is_some());
    // The forgotten proposal still counts among those made and rejected.
    let after = g.totals(T0 + VOTING_PERIOD_SECONDS);
    assert_eq!((after.proposals, after.rejected_proposals), (2, 2));
    assert_eq!(after, before);
}

#[test]
fn mission_70_pays_out_0_6329_of_the_pool() {
    assert_eq!(
        adjusted_daily_pool(7_305_000 * ICP, 3_000, 6_329),
        63_290_000_000
    );
    let mut g = with_neurons(&[100 * ICP, 100 * ICP]);
    propose(&mut g, 1, T0);
    let mainnet =
        crate::economics::voting_rewards_adjustment_basis_points(&NetworkEconomics::default());
    assert!(g.start_distribution(
        4,
        SUPPLY,
        mainnet,
        T0 + VOTING_PERIOD_SECONDS,
        T0 + VOTING_PERIOD_SECONDS
    ));
    let expected: u64 = (0..4)
        .map(|d| u64::try_from(u128::from(daily_pool(SUPPLY, d)) * 6_329 / 10_000).unwrap())
        .sum();
    assert_eq!(
        g.rewards
            .in_progress
            .get()
            .0
            .as_ref()
            .unwrap()
            .event
            .total_available_e8s_equivalent,
        expected
    );
}

/// The NNS's own example: a pool of 1 000 ICP; A (100 of voting power)
/// votes; D (potential 100, deciding 50: half-way through its reduction)
/// votes; E (potential 100, deciding 0) does not. The denominator is the
/// potential power of all three: A gets 333.33, D 166.67, 500 go out.
#[test]
fn decayed_voting_power_is_not_redistributed() {
    let rules = crate::economics::VotingPowerRules::mainnet();
    let reduce = rules.start_reducing_voting_power_after_seconds;
    let clear = rules.clear_following_after_seconds;
    let mut g = with_neurons(&[100 * ICP, 100 * ICP, 100 * ICP]);
    g.neurons
        .update(2, |n| {
            n.voting_power_refreshed_timestamp_seconds = T0 - reduce - clear / 2
        })
        .unwrap();
    g.neurons
        .update(3, |n| {
            n.voting_power_refreshed_timestamp_seconds = T0 - reduce - clear
        })
        .unwrap();
    let p = propose(&mut g, 1, T0);
    let a = ballot_power(&g, p, 1);
    assert_eq!(ballot_power(&g, p, 2), a / 2);
    assert_eq!(ballot_power(&g, p, 3), 0, "a ballot, with nothing");
    g.register_vote(&owner(2), 2, p, Vote::Yes, T0 + 1).unwrap();
    // Five per cent a year on a supply of 7 305 000 ICP: 1 000 ICP a day.
    let genesis = T0 - 3_000 * ONE_DAY_SECONDS;
    g.start_rewards(genesis, T0);
    let close = T0 + ONE_DAY_SECONDS;
    let mut state = g.proposals.state(p).unwrap();
    state.deadline_seconds = close;
    g.proposals.put(p, state);
    assert!(g.start_distribution(3_001, 7_305_000 * ICP, FULL, close, close));
    while g.credit_rewards(10) {}
    let event = g.latest_reward_event();
    assert_eq!(event.total_available_e8s_equivalent, 1_000 * ICP);
    assert_eq!(g.neuron(1).unwrap().maturity_e8s_equivalent, 33_333_333_333);
    assert_eq!(g.neuron(2).unwrap().maturity_e8s_equivalent, 16_666_666_666);
    assert_eq!(g.neuron(3).unwrap().maturity_e8s_equivalent, 0);
    assert_eq!(event.distributed_e8s_equivalent, 49_999_999_999);
}

/// A motion weighs 20, a network-economics proposal 1: equal voting power
/// used on each earns twenty times more on the motion.
#[test]
fn topics_weigh_in_both_the_share_and_the_total() {
    use nns_api::governance::{Action, Topic};
    assert_eq!(
        topic_reward_weight_hundredths(Topic::Governance as i32),
        2_000
    );
    assert_eq!(
        topic_reward_weight_hundredths(Topic::SnsAndCommunityFund as i32),
        2_000
    );
    assert_eq!(
        topic_reward_weight_hundredths(Topic::ExchangeRate as i32),
        1
    );
    assert_eq!(
        topic_reward_weight_hundredths(Topic::NetworkEconomics as i32),
        100
    );
    let mut g = with_neurons(&[100 * ICP, 100 * ICP]);
    let motion = propose(&mut g, 1, T0);
    let mut body = motion_for_tests();
    body.proposal.action = Some(Action::ManageNetworkEconomics(NetworkEconomics::default()));
    let economics_proposal = g
        .make_proposal(&owner(2), 2, body, &NetworkEconomics::default(), T0)
        .unwrap()
        .0;
    let close = T0 + VOTING_PERIOD_SECONDS;
    assert!(g.start_distribution(4, SUPPLY, FULL, close, close));
    while g.credit_rewards(10) {}
    let pool = u128::from(g.latest_reward_event().total_available_e8s_equivalent);
    let potential = |p| u128::from(g.proposals.state(p).unwrap().total_potential_voting_power);
    let total = potential(motion) * 2_000 + potential(economics_proposal) * 100;
    let used_on_motion = ballot_power(&g, motion, 1) * 2_000;
    let used_on_economics = ballot_power(&g, economics_proposal, 2) * 100;
    let expected = |used: u128| u64::try_from(pool * used / total).unwrap();
    assert_eq!(
        g.neuron(1).unwrap().maturity_e8s_equivalent,
        expected(used_on_motion)
    );
    assert_eq!(
        g.neuron(2).unwrap().maturity_e8s_equivalent,
        expected(used_on_economics)
    );
    // Nearly equal power (the first proposer owes the reject cost), twenty
    // times the reward.
    assert!(ballot_power(&g, motion, 1) * 20 / 19 > ballot_power(&g, economics_proposal, 2));
}

/// Proposals are settled as of the end of the last full round: one whose
/// voting closes after that waits for the next distribution, as on the NNS.
#[test]
fn a_proposal_closing_after_the_rounds_end_waits_for_the_next_round() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP]);
    let p = propose(&mut g, 1, T0);
    let close = T0 + VOTING_PERIOD_SECONDS;
    // The round ended a second before the close; the message runs after it.
    assert!(!g.start_distribution(4, SUPPLY, FULL, close - 1, close + 60));
    assert_eq!(g.proposals.state(p).unwrap().reward_event_round, 0);
    assert!(g.start_distribution(5, SUPPLY, FULL, close, close + 86_400));
    assert_eq!(g.proposals.state(p).unwrap().reward_event_round, 5);
}
