use super::*;
use crate::economics::VotingPowerRules;
use crate::governance::test_owner;
use crate::neuron::{DissolveState, Neuron, ONE_YEAR_SECONDS};
use candid::Principal;
use ic_stable_structures::VectorMemory;

const T0: u64 = 1_700_000_000;
const ICP: u64 = 100_000_000;

type G = Governance<VectorMemory>;

fn owner(id: u64) -> Principal {
    test_owner(id)
}

fn with_neurons(stakes: &[u64]) -> G {
    Governance::with_voting_neurons(stakes, T0)
}

fn motion() -> ProposalBody {
    motion_for_tests()
}

fn propose(g: &mut G, proposer: u64) -> u64 {
    g.make_proposal(&owner(proposer), proposer, motion(), &economics(), T0)
        .unwrap()
        .0
}

fn economics() -> NetworkEconomics {
    NetworkEconomics::default()
}

/// A proposal on a topic the catch-all following applies to.
fn propose_economics(g: &mut G, proposer: u64) -> u64 {
    let mut body = motion();
    body.proposal.action = Some(nns_api::governance::Action::ManageNetworkEconomics(
        NetworkEconomics::default(),
    ));
    g.make_proposal(&owner(proposer), proposer, body, &economics(), T0)
        .unwrap()
        .0
}

fn vote(g: &mut G, neuron: u64, proposal: u64, vote: Vote, now: u64) -> Result<Outcome> {
    g.register_vote(&owner(neuron), neuron, proposal, vote, now)
}

fn follow(g: &mut G, follower: u64, topic: i32, followees: Vec<u64>) {
    g.follow(&owner(follower), follower, topic, followees, T0)
        .unwrap();
}

fn ballot(g: &G, proposal: u64, neuron: u64) -> i32 {
    g.proposals.ballots.get(proposal, neuron).unwrap().vote
}

#[test]
fn a_proposal_snapshots_eligible_neurons_and_charges_the_proposer_until_adopted() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP, 100 * ICP]);
    // Below six months of delay a neuron cannot propose, but from two
    // weeks on it votes; below two weeks it gets no ballot.
    let mut young = Neuron::new(4, owner(4), [4; 32], 100 * ICP, T0);
    young.dissolve_state = DissolveState::DissolveDelaySeconds(ONE_YEAR_SECONDS / 2 - 1);
    g.insert_for_tests(young);
    let mut too_young = Neuron::new(5, owner(5), [5; 32], 100 * ICP, T0);
    too_young.dissolve_state = DissolveState::DissolveDelaySeconds(14 * 86_400 - 1);
    g.insert_for_tests(too_young);
    assert_eq!(
        g.make_proposal(&owner(4), 4, motion(), &economics(), T0)
            .unwrap_err()
            .error_type,
        ErrorType::InsufficientFunds as i32
    );
    assert_eq!(
        g.make_proposal(&owner(2), 1, motion(), &economics(), T0)
            .unwrap_err()
            .error_type,
        ErrorType::NotAuthorized as i32
    );
    let id = propose(&mut g, 1);
    let state = g.proposals.state(id).unwrap();
    let rules = VotingPowerRules::mainnet();
    assert_eq!(g.proposals.ballots.of(id).count(), 4);
    assert!(g.proposals.ballots.get(id, 5).is_none());
    let full = g.neuron(2).unwrap().potential_voting_power(T0, &rules);
    let young = g.neuron(4).unwrap().potential_voting_power(T0, &rules);
    assert_eq!(state.total, 3 * full + young);
    assert_eq!(
        state.total_potential_voting_power, state.total,
        "eligible ones only"
    );
    assert_eq!(state.yes, full);
    assert_eq!(state.deadline_seconds, T0 + VOTING_PERIOD_SECONDS);
    assert_eq!(
        g.neuron(1).unwrap().neuron_fees_e8s,
        economics().reject_cost_e8s
    );
    // A second yes makes a majority: adopted at once, the cost given back.
    assert_eq!(vote(&mut g, 2, id, Vote::Yes, T0 + 1), Ok(Outcome::Adopted));
    assert_eq!(g.neuron(1).unwrap().neuron_fees_e8s, 0);
    // Later votes still count for rewards but change nothing.
    assert_eq!(vote(&mut g, 3, id, Vote::No, T0 + 2), Ok(Outcome::Adopted));
    assert_eq!(g.proposals.state(id).unwrap().no, full);
    let closed = g.proposals.state(id).unwrap().deadline_seconds;
    let mut g2 = with_neurons(&[100 * ICP, 100 * ICP, 100 * ICP]);
    let id2 = propose(&mut g2, 1);
    assert_eq!(
        vote(&mut g2, 2, id2, Vote::No, closed)
            .unwrap_err()
            .error_type,
        ErrorType::PreconditionFailed as i32
    );
}

#[test]
fn a_proposer_must_cover_the_reject_cost() {
    let mut g = with_neurons(&[25 * ICP - 1]);
    assert_eq!(
        g.make_proposal(&owner(1), 1, motion(), &economics(), T0)
            .unwrap_err()
            .error_type,
        ErrorType::InsufficientFunds as i32
    );
}

#[test]
fn a_faded_proposer_still_proposes_with_a_ballot_of_nothing() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP]);
    // Idle for seven months: its deciding voting power has faded to nothing,
    // but it is eligible (its delay is long enough) and so has a ballot.
    let later = T0 + 7 * ONE_YEAR_SECONDS / 12;
    let (id, outcome) = g
        .make_proposal(&owner(1), 1, motion(), &economics(), later)
        .unwrap();
    let ballot = g.proposals.ballots.get(id, 1).unwrap();
    assert_eq!(ballot.voting_power, 0);
    assert_eq!(ballot.vote, Vote::Yes as i32);
    assert_eq!(g.proposals.ballots.get(id, 2).unwrap().voting_power, 0);
    // Nobody holds any power: "no" has half of nothing, so it is rejected.
    assert_eq!(outcome, Outcome::Rejected);
    // Voting refreshed the proposer.
    assert_eq!(
        g.neuron(1)
            .unwrap()
            .voting_power_refreshed_timestamp_seconds,
        later
    );
}

#[test]
fn exactly_half_no_rejects_and_the_proposer_pays() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP]);
    let id = propose(&mut g, 1);
    assert_eq!(
        g.proposals.state(id).unwrap().decided_seconds,
        0,
        "half yes is not a majority"
    );
    assert_eq!(vote(&mut g, 2, id, Vote::No, T0), Ok(Outcome::Rejected));
    let state = g.proposals.state(id).unwrap();
    assert!(!state.adopted && state.is_decided());
    assert_eq!(
        g.neuron(1).unwrap().neuron_fees_e8s,
        economics().reject_cost_e8s
    );
}

#[test]
fn votes_twice_strangers_and_hot_keys() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP, 100 * ICP]);
    let id = propose(&mut g, 1);
    assert_eq!(
        vote(&mut g, 1, id, Vote::No, T0).unwrap_err().error_type,
        ErrorType::NeuronAlreadyVoted as i32
    );
    assert_eq!(
        g.register_vote(&owner(9), 2, id, Vote::Yes, T0)
            .unwrap_err()
            .error_type,
        ErrorType::NotAuthorized as i32
    );
    assert_eq!(
        vote(&mut g, 2, 99, Vote::Yes, T0).unwrap_err().error_type,
        ErrorType::NotFound as i32
    );
    assert_eq!(
        vote(&mut g, 2, id, Vote::Unspecified, T0)
            .unwrap_err()
            .error_type,
        ErrorType::InvalidCommand as i32
    );
    g.neurons.update(2, |n| n.hot_keys.push(owner(9))).unwrap();
    assert_eq!(
        g.register_vote(&owner(9), 2, id, Vote::No, T0),
        Ok(Outcome::Open)
    );
    assert_eq!(ballot(&g, id, 2), Vote::No as i32);
}

#[test]
fn at_the_deadline_yes_needs_three_percent() {
    // Neuron 1 has 2 % of the power, neuron 2 has 4 %, the rest stays silent.
    let mut g = with_neurons(&[2 * 25 * ICP, 4 * 25 * ICP, 94 * 25 * ICP]);
    let small = propose(&mut g, 1);
    let big = propose(&mut g, 2);
    assert!(
        g.decide_due_proposals(T0 + VOTING_PERIOD_SECONDS - 1)
            .is_empty()
    );
    let adopted = g.decide_due_proposals(T0 + VOTING_PERIOD_SECONDS);
    assert_eq!(adopted, vec![big]);
    let (s, b) = (
        g.proposals.state(small).unwrap(),
        g.proposals.state(big).unwrap(),
    );
    assert!(s.is_decided() && !s.adopted);
    assert!(b.is_decided() && b.adopted);
}

#[test]
fn a_chain_of_fifteen_followers_and_a_cycle_vote_once_each() {
    let mut g = with_neurons(&[100 * ICP; 17]);
    // 2 follows 1, 3 follows 2, …, 16 follows 15; 1 follows 16 (a cycle).
    for n in 2..=16 {
        follow(&mut g, n, Topic::Governance as i32, vec![n - 1]);
    }
    follow(&mut g, 1, Topic::Governance as i32, vec![16]);
    let id = propose(&mut g, 1);
    for n in 1..=16 {
        assert_eq!(ballot(&g, id, n), Vote::Yes as i32, "neuron {n}");
    }
    assert_eq!(ballot(&g, id, 17), Vote::Unspecified as i32);
    let state = g.proposals.state(id).unwrap();
    assert_eq!(state.yes, state.total / 17 * 16);
    assert!(state.adopted);
}

#[test]
fn followers_need_a_majority_of_their_followees() {
    let mut g = with_neurons(&[100 * ICP; 7]);
    let topic = Topic::Governance as i32;
    // 5 follows 1, 2 and 3; 6 follows 2 and 3.
    follow(&mut g, 5, topic, vec![1, 2, 3]);
    follow(&mut g, 6, topic, vec![2, 3]);
    let id = propose(&mut g, 1);
    assert_eq!(
        ballot(&g, id, 5),
        Vote::Unspecified as i32,
        "one yes of three"
    );
    vote(&mut g, 2, id, Vote::No, T0).unwrap();
    // 6: one no of two — yes can no longer win.
    assert_eq!(ballot(&g, id, 6), Vote::No as i32);
    assert_eq!(
        ballot(&g, id, 5),
        Vote::Unspecified as i32,
        "1 yes, 1 no of 3"
    );
    vote(&mut g, 3, id, Vote::Yes, T0).unwrap();
    assert_eq!(ballot(&g, id, 5), Vote::Yes as i32);
}

#[test]
fn catch_all_following_applies_to_other_topics_but_not_motions_sns_or_neuron_management() {
    assert!(!catch_all_applies_to(Topic::Governance as i32));
    assert!(!catch_all_applies_to(Topic::SnsAndCommunityFund as i32));
    assert!(!catch_all_applies_to(Topic::NeuronManagement as i32));
    assert!(catch_all_applies_to(Topic::NetworkEconomics as i32));
    assert!(catch_all_applies_to(Topic::ExchangeRate as i32));
    let mut g = with_neurons(&[100 * ICP; 6]);
    follow(&mut g, 2, 0, vec![1]);
    follow(&mut g, 3, 0, vec![1]);
    // An explicit topic wins over the catch-all.
    follow(&mut g, 3, Topic::NetworkEconomics as i32, vec![4]);
    // Motions are followed only explicitly.
    follow(&mut g, 5, Topic::Governance as i32, vec![1]);
    let motion = propose(&mut g, 1);
    assert_eq!(ballot(&g, motion, 2), Vote::Unspecified as i32);
    assert_eq!(ballot(&g, motion, 3), Vote::Unspecified as i32);
    assert_eq!(ballot(&g, motion, 5), Vote::Yes as i32);
    let mut body = motion_for_tests();
    body.proposal.action = Some(nns_api::governance::Action::ManageNetworkEconomics(
        NetworkEconomics::default(),
    ));
    let economics_proposal = g
        .make_proposal(&owner(1), 1, body, &economics(), T0)
        .unwrap()
        .0;
    assert_eq!(ballot(&g, economics_proposal, 2), Vote::Yes as i32);
    assert_eq!(ballot(&g, economics_proposal, 3), Vote::Unspecified as i32);
    assert_eq!(ballot(&g, economics_proposal, 5), Vote::Unspecified as i32);
}

#[test]
fn a_flip_of_the_outcome_moves_the_deadline_out() {
    // Three small voters and a silent majority keep the decision open.
    let mut g = with_neurons(&[10 * 25 * ICP, 11 * 25 * ICP, 12 * 25 * ICP, 67 * 25 * ICP]);
    let id = propose(&mut g, 1);
    // The NNS's example: a 4-day proposal flipped on day 1 runs to day 4.5
    // (now + W + (4 days − 1 day) / 2), flipped again on day 3 to day 5.5.
    let day = T0 + ONE_DAY_SECONDS;
    vote(&mut g, 2, id, Vote::No, day).unwrap();
    let half_day = ONE_DAY_SECONDS / 2;
    assert_eq!(
        g.proposals.state(id).unwrap().deadline_seconds,
        T0 + 4 * ONE_DAY_SECONDS + half_day
    );
    let late = T0 + 3 * ONE_DAY_SECONDS;
    vote(&mut g, 3, id, Vote::Yes, late).unwrap();
    let moved = g.proposals.state(id).unwrap().deadline_seconds;
    assert_eq!(moved, T0 + 5 * ONE_DAY_SECONDS + half_day);
    // A vote that does not flip the outcome leaves it.
    let mut g2 = with_neurons(&[10 * 25 * ICP, 11 * 25 * ICP, 12 * 25 * ICP, 67 * 25 * ICP]);
    let id2 = propose(&mut g2, 1);
    vote(&mut g2, 2, id2, Vote::No, late).unwrap();
    let flipped = g2.proposals.state(id2).unwrap().deadline_seconds;
    assert_eq!(flipped, moved);
    let later = late + 3600;
    vote(&mut g2, 3, id2, Vote::No, later).unwrap();
    assert_eq!(g2.proposals.state(id2).unwrap().deadline_seconds, flipped);
    // Never past the initial deadline plus twice W.
    assert!(moved <= T0 + VOTING_PERIOD_SECONDS + 2 * WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS);
}

#[test]
fn the_state_encoding_round_trips() {
    let state = ProposalState {
        proposer: 1,
        topic: 17,
        created_seconds: 2,
        initial_voting_period_seconds: 3,
        deadline_seconds: 4,
        yes: 5,
        no: 6,
        total: u64::MAX,
        tally_seconds: 8,
        total_potential_voting_power: 9,
        reject_cost_e8s: 10,
        decided_seconds: 11,
        adopted: true,
        execution_started: true,
        executed_seconds: 12,
        failed_seconds: 13,
        reward_event_round: 14,
    };
    assert_eq!(ProposalState::from_bytes(state.to_bytes()), state);
}

/// A state as the code before the execution flag wrote it: its flag byte
/// is `adopted` alone.
fn in_old_layout(state: &ProposalState) -> ProposalState {
    let mut bytes = state.to_bytes().into_owned();
    let flags = bytes.pop().unwrap();
    bytes.push(flags & 1);
    ProposalState::from_bytes(std::borrow::Cow::Owned(bytes))
}

#[test]
fn an_adopted_state_written_before_the_execution_flag_reads_as_started() {
    // The old code kept "executing" on the heap only: such a proposal may
    // have been executing when the canister was upgraded.
    let adopted = ProposalState {
        adopted: true,
        ..Default::default()
    };
    let read = in_old_layout(&adopted);
    assert!(read.adopted && read.execution_started);
    let rejected = ProposalState::default();
    assert_eq!(in_old_layout(&rejected), rejected);
    // The current layout keeps "adopted, not started" apart.
    assert_eq!(ProposalState::from_bytes(adopted.to_bytes()), adopted);
}

#[test]
fn a_proposal_adopted_under_the_old_layout_is_failed_by_the_upgrade_not_executed_again() {
    let mut g = with_neurons(&[40 * ICP, 30 * ICP]);
    let id = propose(&mut g, 1);
    vote(&mut g, 2, id, Vote::Yes, T0).unwrap();
    let executed = propose(&mut g, 2);
    vote(&mut g, 1, executed, Vote::Yes, T0).unwrap();
    g.start_execution(executed).unwrap();
    g.record_execution(executed, Ok(()), T0 + 1);
    for p in [id, executed] {
        let old = in_old_layout(&g.proposals.state(p).unwrap());
        g.proposals.states.insert(p, old);
    }
    assert!(!g.awaits_execution(id));
    // The first post-upgrade fails it, with a reason, once.
    assert_eq!(g.fail_interrupted_executions(T0 + 5), vec![id]);
    let state = g.proposals.state(id).unwrap();
    assert_eq!((state.executed_seconds, state.failed_seconds), (0, T0 + 5));
    assert!(g.proposals.body(id).unwrap().failure_reason.is_some());
    assert_eq!(
        g.proposals.state(executed).unwrap().executed_seconds,
        T0 + 1
    );
    assert!(g.start_execution(id).is_none());
    assert!(g.adopted_unexecuted().is_empty());
    assert!(g.fail_interrupted_executions(T0 + 6).is_empty());
}

#[test]
fn an_adopted_proposal_starts_executing_once_whatever_the_later_votes() {
    let mut g = with_neurons(&[40 * ICP, 30 * ICP, 30 * ICP]);
    let id = propose(&mut g, 1);
    assert_eq!(vote(&mut g, 2, id, Vote::Yes, T0), Ok(Outcome::Adopted));
    assert!(g.awaits_execution(id));
    assert!(g.start_execution(id).is_some());
    assert!(g.start_execution(id).is_none(), "begun already");
    assert_eq!(g.adopted_unexecuted(), Vec::<u64>::new());
    // A later vote still answers "adopted", and nothing may start again.
    assert_eq!(vote(&mut g, 3, id, Vote::Yes, T0), Ok(Outcome::Adopted));
    assert!(!g.awaits_execution(id));
    assert!(g.start_execution(id).is_none());
    g.record_execution(id, Ok(()), T0 + 1);
    g.record_execution(id, Err(crate::proposals::execution_interrupted()), T0 + 2);
    let state = g.proposals.state(id).unwrap();
    assert_eq!((state.executed_seconds, state.failed_seconds), (T0 + 1, 0));
    assert!(g.start_execution(id).is_none());
}

#[test]
fn an_execution_lost_to_an_upgrade_fails_and_is_not_retried() {
    let mut g = with_neurons(&[40 * ICP, 30 * ICP]);
    let id = propose(&mut g, 1);
    vote(&mut g, 2, id, Vote::Yes, T0).unwrap();
    let untouched = propose(&mut g, 2);
    vote(&mut g, 1, untouched, Vote::Yes, T0).unwrap();
    g.start_execution(id).unwrap();
    assert_eq!(g.fail_interrupted_executions(T0 + 5), vec![id]);
    let state = g.proposals.state(id).unwrap();
    assert_eq!(state.failed_seconds, T0 + 5);
    assert!(g.proposals.body(id).unwrap().failure_reason.is_some());
    assert!(g.start_execution(id).is_none());
    assert_eq!(
        g.adopted_unexecuted(),
        vec![untouched],
        "not begun: still to do"
    );
}

#[test]
fn the_timer_sees_only_proposals_with_work_left() {
    let mut g = with_neurons(&[100 * ICP, 100 * ICP, 100 * ICP]);
    let rejected = propose(&mut g, 1);
    vote(&mut g, 2, rejected, Vote::No, T0).unwrap();
    vote(&mut g, 3, rejected, Vote::No, T0).unwrap();
    let adopted = propose(&mut g, 2);
    vote(&mut g, 3, adopted, Vote::Yes, T0).unwrap();
    let open = propose(&mut g, 3);
    assert_eq!(g.proposals.unfinished(), vec![adopted, open]);
    assert_eq!(g.adopted_unexecuted(), vec![adopted]);
    g.record_execution(adopted, Ok(()), T0 + 1);
    assert_eq!(g.proposals.unfinished(), vec![open]);
    assert_eq!(g.proposals.unsettled(), vec![rejected, adopted, open]);
}

#[test]
fn the_proposers_vote_is_the_initial_tally_and_moves_no_deadline() {
    // The proposer leads with yes at once; no outcome flipped.
    let mut g = with_neurons(&[30 * ICP, 40 * ICP, 30 * ICP]);
    let id = propose(&mut g, 1);
    let state = g.proposals.state(id).unwrap();
    assert!(!state.is_decided());
    assert_eq!(
        state.yes,
        g.proposals.ballots.get(id, 1).unwrap().voting_power
    );
    assert_eq!(state.deadline_seconds, T0 + VOTING_PERIOD_SECONDS);
}

#[test]
fn only_finished_and_rewarded_proposals_beyond_the_limit_are_forgotten() {
    // 200 neurons: four pages of ballots a proposal. The proposer holds a
    // third of the power, so its motions stay open.
    let mut stakes = vec![100 * ICP];
    stakes.extend([ICP; 199]);
    let mut g = with_neurons(&stakes);
    let ids: Vec<u64> = (0..4).map(|_| propose(&mut g, 1)).collect();
    for &id in &ids[..3] {
        let mut state = g.proposals.state(id).unwrap();
        state.decided_seconds = T0 + 1;
        state.reward_event_round = 1;
        g.proposals.put(id, state);
    }
    let ballots = |g: &G, id| g.proposals.ballots.of(id).count();
    assert_eq!(ballots(&g, ids[0]), 200);

    assert_eq!(g.prune_proposals(2, 1_000), vec![ids[0], ids[1]]);
    for &id in &ids[..2] {
        assert!(g.proposals.state(id).is_none() && g.proposals.body(id).is_none());
        assert_eq!(ballots(&g, id), 0);
    }
    assert_eq!(ballots(&g, ids[2]), 200);
    // Within the limit: nothing more goes.
    assert_eq!(g.prune_proposals(2, 1_000), Vec::<u64>::new());

    // A small budget forgets a proposal over several calls; an open one stays.
    assert_eq!(g.prune_proposals(1, 3), Vec::<u64>::new());
    assert!(g.proposals.state(ids[2]).is_some());
    assert_eq!(ballots(&g, ids[2]), 200 - 3 * 64);
    assert_eq!(g.prune_proposals(1, 3), vec![ids[2]]);
    assert_eq!(g.prune_proposals(1, 3), Vec::<u64>::new());
    assert!(g.proposals.state(ids[3]).is_some());
    assert_eq!(ballots(&g, ids[3]), 200);
}

/// Neurons 1..=n; 3..=n follow 2 on network economics, every other one by
/// catch-all, so that both of 2's follower lists span several reads.
fn with_followers_of_two(n: u64) -> G {
    let mut g = with_neurons(&vec![100 * ICP; n as usize]);
    for f in 3..=n {
        let topic = if f % 2 == 0 {
            0
        } else {
            Topic::NetworkEconomics as i32
        };
        follow(&mut g, f, topic, vec![2]);
    }
    g
}

#[test]
fn a_cascade_goes_on_over_bounded_messages_to_the_same_votes() {
    use crate::limits::{CASCADE_MIN_STEPS_PER_MESSAGE, set_cascade_steps_per_message};
    const N: u64 = 700;
    // In one go, as reference.
    let mut whole = with_followers_of_two(N);
    let id = propose_economics(&mut whole, 1);
    vote(&mut whole, 2, id, Vote::No, T0 + 1).unwrap();
    assert!(!whole.proposals.cascade_pending(id));
    // The same, checking at most 64 followers a message.
    set_cascade_steps_per_message(CASCADE_MIN_STEPS_PER_MESSAGE);
    let mut g = with_followers_of_two(N);
    let id = propose_economics(&mut g, 1);
    assert_eq!(vote(&mut g, 2, id, Vote::No, T0 + 1), Ok(Outcome::Open));
    assert!(g.proposals.cascade_pending(id));
    let cast = |g: &G| {
        g.proposals
            .ballots
            .of(id)
            .filter(|(_, b)| b.vote == Vote::No as i32)
            .count() as u64
    };
    // A step is a read of the follower index or a follower checked.
    assert!(cast(&g) < 1 + CASCADE_MIN_STEPS_PER_MESSAGE);
    let mut messages = 1;
    let mut outcome = Outcome::Open;
    while g.proposals.cascade_pending(id) {
        let before = cast(&g);
        outcome = g.continue_cascade(id, T0 + 1);
        assert!(cast(&g) - before < CASCADE_MIN_STEPS_PER_MESSAGE);
        messages += 1;
    }
    assert_eq!(outcome, Outcome::Rejected);
    assert_eq!(cast(&g), N - 1);
    // Each of the N - 2 followers is checked once; none is followed, so
    // none has follower lists to read after it voted.
    assert!(
        messages >= (N - 2) / CASCADE_MIN_STEPS_PER_MESSAGE,
        "{messages}"
    );
    assert!(
        messages < 2 * (N - 2) / CASCADE_MIN_STEPS_PER_MESSAGE,
        "{messages}"
    );
    // The same tally and decision (the deadline may differ: each message's
    // votes count as arriving together for wait-for-quiet).
    let tally = |g: &G| {
        let s = g.proposals.state(id).unwrap();
        (s.yes, s.no, s.total, s.decided_seconds, s.adopted)
    };
    assert_eq!(tally(&g), tally(&whole));
    let ballots: Vec<_> = g.proposals.ballots.of(id).collect();
    assert_eq!(ballots, whole.proposals.ballots.of(id).collect::<Vec<_>>());
}

#[test]
fn a_chain_and_a_later_vote_share_the_bounded_work() {
    use crate::limits::{CASCADE_MIN_STEPS_PER_MESSAGE, set_cascade_steps_per_message};
    set_cascade_steps_per_message(CASCADE_MIN_STEPS_PER_MESSAGE);
    let topic = Topic::Governance as i32;
    // A chain 3 ← 4 ← … ← 202 behind 2, and 203 following 1 and 202.
    let mut g = with_neurons(&[100 * ICP; 204]);
    for n in 3..=202 {
        follow(&mut g, n, topic, vec![n - 1]);
    }
    follow(&mut g, 203, topic, vec![1, 202]);
    let id = propose(&mut g, 204);
    vote(&mut g, 2, id, Vote::Yes, T0 + 1).unwrap();
    assert!(g.proposals.cascade_pending(id));
    // A direct vote while the cascade is left goes on with it too.
    vote(&mut g, 1, id, Vote::Yes, T0 + 2).unwrap();
    while g.proposals.cascade_pending(id) {
        g.continue_cascade(id, T0 + 3);
    }
    for n in 1..=204 {
        assert_eq!(ballot(&g, id, n), Vote::Yes as i32, "neuron {n}");
    }
    let state = g.proposals.state(id).unwrap();
    assert_eq!(state.yes, state.total);
}

#[test]
fn a_proposal_is_not_decided_at_its_deadline_while_its_cascade_is_left() {
    use crate::limits::{CASCADE_MIN_STEPS_PER_MESSAGE, set_cascade_steps_per_message};
    set_cascade_steps_per_message(CASCADE_MIN_STEPS_PER_MESSAGE);
    // 2's followers hold most of the power but vote only through it.
    let mut stakes = vec![100 * ICP; 300];
    stakes[0] = 1_000 * ICP;
    let mut g = with_neurons(&stakes);
    for f in 3..=300 {
        follow(&mut g, f, Topic::Governance as i32, vec![2]);
    }
    let id = propose(&mut g, 1);
    vote(&mut g, 2, id, Vote::No, T0 + 1).unwrap();
    let deadline = g.proposals.state(id).unwrap().deadline_seconds;
    assert!(g.decide_due_proposals(deadline).is_empty());
    assert!(!g.proposals.state(id).unwrap().is_decided());
    assert_eq!(g.continue_cascade(id, deadline), Outcome::Open);
    while g.proposals.cascade_pending(id) {
        g.continue_cascade(id, deadline);
    }
    let state = g.proposals.state(id).unwrap();
    assert!(state.is_decided() && !state.adopted, "{state:?}");
}

#[test]
fn the_cascade_of_a_forgotten_proposal_is_dropped() {
    use crate::limits::{CASCADE_MIN_STEPS_PER_MESSAGE, set_cascade_steps_per_message};
    set_cascade_steps_per_message(CASCADE_MIN_STEPS_PER_MESSAGE);
    let mut g = with_followers_of_two(300);
    let id = propose_economics(&mut g, 1);
    propose_economics(&mut g, 1);
    vote(&mut g, 2, id, Vote::Yes, T0 + 1).unwrap();
    assert!(g.proposals.cascade_pending(id));
    let mut state = g.proposals.state(id).unwrap();
    state.decided_seconds = T0 + 1;
    state.reward_event_round = 1;
    g.proposals.put(id, state);
    assert_eq!(g.prune_proposals(1, 1_000), vec![id]);
    assert_eq!(g.proposals.some_pending_cascade(), Some(id));
    assert_eq!(g.continue_cascade(id, T0 + 2), Outcome::Open);
    assert_eq!(g.proposals.some_pending_cascade(), None);
}

/// The same votes follow whether the index entries carry their followers'
/// summaries or predate them (empty: the neuron is read), including a
/// follower that follows the topic itself and on the catch-all.
#[test]
fn votes_follow_the_same_from_summaries_and_from_entries_written_before_them() {
    let scenario = |erase_summaries: bool| {
        let mut g = with_neurons(&[100 * ICP; 8]);
        let economics_topic = Topic::NetworkEconomics as i32;
        follow(&mut g, 5, economics_topic, vec![1, 2, 3]);
        follow(&mut g, 6, 0, vec![1]);
        follow(&mut g, 7, 0, vec![1]);
        // 7 follows 4 on the topic: the catch-all does not decide for it.
        follow(&mut g, 7, economics_topic, vec![4]);
        follow(&mut g, 8, economics_topic, vec![6]);
        if erase_summaries {
            let keys: Vec<FollowKey> = g.proposals.followers.keys().collect();
            for key in keys {
                g.proposals.followers.insert(key, FollowEntry(None));
            }
        }
        let id = propose_economics(&mut g, 1);
        let mut seen = vec![(1..=8).map(|n| ballot(&g, id, n)).collect::<Vec<_>>()];
        vote(&mut g, 2, id, Vote::No, T0).unwrap();
        seen.push((1..=8).map(|n| ballot(&g, id, n)).collect());
        vote(&mut g, 4, id, Vote::No, T0).unwrap();
        seen.push((1..=8).map(|n| ballot(&g, id, n)).collect());
        seen
    };
    let with_summaries = scenario(false);
    assert_eq!(with_summaries, scenario(true));
    let (yes, no, none) = (Vote::Yes as i32, Vote::No as i32, Vote::Unspecified as i32);
    // After the proposal: 6 and 8 (through 6) follow 1; 5 has one yes of
    // three, 7 waits for 4.
    assert_eq!(
        with_summaries[0],
        vec![yes, none, none, none, none, yes, none, yes]
    );
    assert_eq!(with_summaries[1][4], none, "5: one yes, one no of three");
    assert_eq!(with_summaries[2][6], no, "7 follows 4");
}

#[test]
fn the_index_keeps_each_followers_summary_in_step_with_its_following() {
    let mut g = with_neurons(&[100 * ICP; 5]);
    let topic = Topic::NetworkEconomics as i32;
    follow(&mut g, 5, 0, vec![1, 2]);
    let summary = |g: &G, followee: u64, topic: i32| {
        g.proposals.followers.get(&follow_key(followee, topic, 5))
    };
    let entry = summary(&g, 2, 0).unwrap().0.unwrap();
    assert_eq!((entry.specific_topics, entry.followees), (0, vec![1, 2]));
    // Following a topic specifically shows on the catch-all entries too.
    follow(&mut g, 5, topic, vec![3]);
    let entry = summary(&g, 1, 0).unwrap().0.unwrap();
    assert_eq!(
        (entry.specific_topics, entry.followees),
        (1 << topic, vec![1, 2])
    );
    assert_eq!(summary(&g, 3, topic).unwrap().0.unwrap().followees, vec![3]);
    follow(&mut g, 5, 0, vec![2]);
    assert!(summary(&g, 1, 0).is_none(), "no longer followed");
    let entry = summary(&g, 2, 0).unwrap().0.unwrap();
    assert_eq!(
        (entry.specific_topics, entry.followees),
        (1 << topic, vec![2])
    );
}

/// A cascade through 100 000 followers, natively (ignored: for profiling
/// with `perf`; the benchmark counts its instructions in the canister).
#[test]
#[ignore]
fn a_cascade_through_a_hundred_thousand_followers() {
    let n = 100_000u64;
    let mut g = with_neurons(&vec![100 * ICP; n as usize]);
    let topic = Topic::NetworkEconomics as i32;
    for follower in 3..=n {
        follow(&mut g, follower, topic, vec![2]);
    }
    let id = propose_economics(&mut g, 1);
    let started = std::time::Instant::now();
    vote(&mut g, 2, id, Vote::Yes, T0).unwrap();
    eprintln!("cascade: {:.2} s", started.elapsed().as_secs_f64());
    assert_eq!(ballot(&g, id, n), Vote::Yes as i32);
    assert!(
        g.proposals
            .ballots
            .of(id)
            .all(|(_, b)| b.vote == Vote::Yes as i32)
    );
}

/// The scan of followed neurons answers as a lookup per neuron would, for
/// ids asked in any order.
#[test]
fn the_followed_scan_answers_as_a_lookup_per_neuron() {
    let mut g = with_neurons(&[100 * ICP; 40]);
    for (follower, followee) in [(3, 7), (4, 7), (5, 20), (6, 21), (8, 40), (9, 1)] {
        follow(&mut g, follower, 0, vec![followee]);
    }
    let followed = |n: u64| {
        g.proposals
            .followers
            .keys_range(follow_key(n, 0, 0)..=follow_key(n, i32::MAX, u64::MAX))
            .next()
            .is_some()
    };
    let mut scan = FollowedScan::default();
    let order: Vec<u64> = (0..=45)
        .chain((0..=45).rev())
        .chain([7, 3, 20, 20, 21, 2, 40, 41, 1, 0])
        .collect();
    for n in order {
        assert_eq!(
            scan.is_followed(&g.proposals.followers, n),
            followed(n),
            "{n}"
        );
    }
}
