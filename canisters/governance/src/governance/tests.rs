use super::*;
use crate::neuron::{DissolveState, ONE_YEAR_SECONDS};
use ic_stable_structures::VectorMemory;
use nns_api::governance::{AddHotKey, Operation, RemoveHotKey, Spawn};

const T0: u64 = 1_700_000_000;
const ICP: u64 = 100_000_000;
const FEE: u64 = 10_000;

fn governance() -> Governance<VectorMemory> {
    Governance::for_tests()
}

fn economics() -> NetworkEconomics {
    NetworkEconomics::default()
}

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n; 29])
}

/// A claimed neuron of `user(1)` holding `stake`, as after a claim.
fn claimed(g: &mut Governance<VectorMemory>, memo: u64, stake: u64) -> u64 {
    let read = g.begin_claim_or_refresh(user(1), memo, T0).unwrap();
    g.finish_claim_or_refresh(read, stake, &economics(), T0)
        .unwrap()
}

fn kind(result: Result<impl std::fmt::Debug>) -> i32 {
    result.expect_err("the command is refused").error_type
}

fn set(g: &mut Governance<VectorMemory>, id: u64, f: impl FnOnce(&mut Neuron)) {
    g.neurons.update(id, f).unwrap();
}

#[test]
fn a_claim_creates_its_neuron_once_funded_and_keeps_a_second_claim_out() {
    let mut g = governance();
    let read = g.begin_claim_or_refresh(user(1), 7, T0).unwrap();
    assert!(read.is_claim());
    assert!(g.neurons().is_empty(), "nothing is created before the read");
    assert_eq!(
        kind(g.begin_claim_or_refresh(user(1), 7, T0)),
        ErrorType::LedgerUpdateOngoing as i32
    );
    let id = g
        .finish_claim_or_refresh(read, 5 * ICP, &economics(), T0)
        .unwrap();
    assert!(!g.is_locked(id));
    let neuron = g.neuron(id).unwrap();
    assert_eq!(neuron.subaccount, staking_subaccount(&user(1), 7));
    assert_eq!(neuron.controller, user(1));
    assert_eq!(
        neuron.dissolve_state,
        DissolveState::DissolveDelaySeconds(INITIAL_NEURON_DISSOLVE_DELAY_SECONDS)
    );
    assert_eq!(neuron.cached_neuron_stake_e8s, 5 * ICP);
    // Claiming again refreshes the same neuron.
    let again = g.begin_claim_or_refresh(user(1), 7, T0).unwrap();
    assert_eq!(again.neuron_id, Some(id));
}

#[test]
fn claims_of_empty_accounts_in_flight_take_nothing_from_honest_claims() {
    use crate::limits::MAX_NEURON_CREATION_SPIKE;
    let mut g = governance();
    g.set_max_neurons_for_tests(MAX_NEURON_CREATION_SPIKE);
    // Anyone may claim for any controller: a spike's worth of claims of
    // unfunded accounts, all awaiting the ledger.
    let spam: Vec<BalanceRead> = (0..MAX_NEURON_CREATION_SPIKE)
        .map(|memo| g.begin_claim_or_refresh(user(9), memo, T0).unwrap())
        .collect();
    // An honest claim meanwhile neither waits for them nor is refused.
    let honest = g.begin_claim_or_refresh(user(1), 1, T0).unwrap();
    g.finish_claim_or_refresh(honest, ICP, &economics(), T0)
        .unwrap();
    for read in spam {
        assert_eq!(
            kind(g.finish_claim_or_refresh(read, 0, &economics(), T0)),
            ErrorType::InsufficientFunds as i32
        );
    }
    assert_eq!(g.neurons().len(), 1);
    // The whole allowance but the honest neuron is left.
    claim_many(&mut g, 100, MAX_NEURON_CREATION_SPIKE - 1, T0);
    assert_eq!(
        kind(g.begin_claim_or_refresh(user(1), 1_000, T0)),
        ErrorType::PreconditionFailed as i32,
        "the maximum number of neurons is reached"
    );
}

#[test]
fn the_limits_are_checked_again_once_the_balance_is_read() {
    use crate::limits::MAX_NEURON_CREATION_SPIKE;
    let mut g = governance();
    claim_many(&mut g, 0, MAX_NEURON_CREATION_SPIKE - 1, T0);
    let first = g.begin_claim_or_refresh(user(2), 1, T0).unwrap();
    let second = g.begin_claim_or_refresh(user(2), 2, T0).unwrap();
    g.finish_claim_or_refresh(first, ICP, &economics(), T0)
        .unwrap();
    assert_eq!(
        kind(g.finish_claim_or_refresh(second, ICP, &economics(), T0)),
        ErrorType::Unavailable as i32
    );
    assert_eq!(g.neurons().len(), MAX_NEURON_CREATION_SPIKE);
    // Refused, the stake stays in its account and a later claim takes it.
    assert_eq!(
        kind(g.begin_claim_or_refresh(user(2), 2, T0)),
        ErrorType::Unavailable as i32
    );
}

#[test]
fn a_claim_below_the_minimum_stake_leaves_no_neuron() {
    let mut g = governance();
    let read = g.begin_claim_or_refresh(user(1), 1, T0).unwrap();
    let refused = g.finish_claim_or_refresh(read, ICP - 1, &economics(), T0);
    assert_eq!(kind(refused), ErrorType::InsufficientFunds as i32);
    assert!(g.neurons().is_empty());
    let read = g.begin_claim_or_refresh(user(1), 1, T0).unwrap();
    g.abort_claim_or_refresh(read);
    assert!(g.neurons().is_empty());
    // Nothing is left locked.
    let read = g.begin_claim_or_refresh(user(1), 1, T0).unwrap();
    g.abort_claim_or_refresh(read);
    assert_eq!(
        kind(g.begin_claim_or_refresh(Principal::anonymous(), 1, T0)),
        ErrorType::InvalidPrincipal as i32
    );
}

#[test]
fn a_refresh_takes_a_top_up_without_its_age() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    let later = T0 + 1_000;
    let read = g.begin_refresh(id).unwrap();
    g.finish_claim_or_refresh(read, 20 * ICP, &economics(), later)
        .unwrap();
    let neuron = g.neuron(id).unwrap();
    assert_eq!(neuron.cached_neuron_stake_e8s, 20 * ICP);
    assert_eq!(neuron.age_seconds(later), 500);
}

#[test]
fn a_refresh_below_the_minimum_still_lowers_the_stake_to_the_ledgers() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    let read = g.begin_refresh(id).unwrap();
    let refused = g.finish_claim_or_refresh(read, ICP / 2, &economics(), T0 + 1);
    assert_eq!(kind(refused), ErrorType::InsufficientFunds as i32);
    assert!(!g.is_locked(id));
    let neuron = g.neuron(id).unwrap();
    assert_eq!(neuron.cached_neuron_stake_e8s, ICP / 2, "no phantom stake");
}

#[test]
fn too_many_followees_are_refused_before_any_is_looked_up() {
    let mut g = governance();
    let a = claimed(&mut g, 1, 10 * ICP);
    // Sixteen followees, none of which exists: the cap is what is wrong.
    let refused = g.follow(&user(1), a, 4, (100..116).collect(), T0);
    assert_eq!(kind(refused), ErrorType::InvalidCommand as i32);
}

#[test]
fn split_and_spawned_neurons_are_in_the_follower_index() {
    let mut g = governance();
    let leader = claimed(&mut g, 1, 10 * ICP);
    let follower = claimed(&mut g, 2, 10 * ICP);
    g.follow(&user(1), follower, 4, vec![leader], T0).unwrap();
    g.follow(&user(1), follower, 0, vec![leader], T0).unwrap();
    let plan = g
        .begin_split(&user(1), follower, 3 * ICP, None, &economics(), T0)
        .unwrap();
    g.unlock(plan.parent_id);
    g.unlock(plan.child_id);
    let child = plan.child_id;
    assert_eq!(g.proposals.followers_of(leader, 4), vec![follower, child]);
    assert_eq!(g.proposals.followers_of(leader, 0), vec![follower, child]);
    set(&mut g, follower, |n| n.maturity_e8s_equivalent = 2 * ICP);
    let spawn = Spawn {
        percentage_to_spawn: None,
        new_controller: None,
        nonce: Some(99),
    };
    let spawned = g
        .spawn(&user(1), follower, spawn, &economics(), T0)
        .unwrap();
    assert_eq!(
        g.proposals.followers_of(leader, 4),
        vec![follower, child, spawned]
    );
    // A split undone leaves no follower behind.
    let plan = g
        .begin_split(&user(1), follower, 2 * ICP, None, &economics(), T0)
        .unwrap();
    g.undo_split(&plan);
    assert_eq!(
        g.proposals.followers_of(leader, 4),
        vec![follower, child, spawned]
    );
}

#[test]
fn only_the_controller_configures_but_a_hot_key_may_remove_itself() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    let add = Operation::AddHotKey(AddHotKey {
        new_hot_key: Some(user(2)),
    });
    assert_eq!(
        kind(g.configure(&user(3), id, add, &economics(), T0)),
        ErrorType::NotAuthorized as i32
    );
    g.configure(&user(1), id, add, &economics(), T0).unwrap();
    let add_other = Operation::AddHotKey(AddHotKey {
        new_hot_key: Some(user(4)),
    });
    assert_eq!(
        kind(g.configure(&user(2), id, add_other, &economics(), T0)),
        ErrorType::NotAuthorized as i32
    );
    let remove_self = Operation::RemoveHotKey(RemoveHotKey {
        hot_key_to_remove: Some(user(2)),
    });
    g.configure(&user(2), id, remove_self, &economics(), T0)
        .unwrap();
    assert!(g.neuron(id).unwrap().hot_keys.is_empty());
    // A refused change leaves the neuron as it was.
    let before = g.neuron(id).unwrap();
    assert_eq!(
        kind(g.configure(&user(1), id, Operation::StopDissolving {}, &economics(), T0)),
        ErrorType::RequiresDissolving as i32
    );
    assert_eq!(g.neuron(id).unwrap(), before);
    // A locked neuron takes no configuration.
    g.lock(id).unwrap();
    assert_eq!(
        kind(g.configure(
            &user(1),
            id,
            Operation::StartDissolving {},
            &economics(),
            T0
        )),
        ErrorType::LedgerUpdateOngoing as i32
    );
}

#[test]
fn following_is_checked_and_refreshes_voting_power() {
    let mut g = governance();
    let a = claimed(&mut g, 1, 10 * ICP);
    let b = claimed(&mut g, 2, 10 * ICP);
    set(&mut g, a, |n| n.hot_keys.push(user(2)));
    assert_eq!(
        kind(g.follow(&user(1), a, 4, vec![99], T0)),
        ErrorType::NotFound as i32
    );
    assert_eq!(
        kind(g.follow(&user(1), a, 4, vec![b, b], T0)),
        ErrorType::InvalidCommand as i32
    );
    assert_eq!(
        kind(g.follow(&user(1), a, MAX_TOPIC + 1, vec![b], T0)),
        ErrorType::InvalidCommand as i32
    );
    // A hot key follows on any topic but neuron management.
    g.follow(&user(2), a, 4, vec![b], T0 + 5).unwrap();
    assert_eq!(
        kind(g.follow(&user(2), a, TOPIC_NEURON_MANAGEMENT, vec![b], T0)),
        ErrorType::NotAuthorized as i32
    );
    let neuron = g.neuron(a).unwrap();
    assert_eq!(neuron.followees.get(&4), Some(&vec![b]));
    assert_eq!(neuron.voting_power_refreshed_timestamp_seconds, T0 + 5);
}

#[test]
fn a_disburse_takes_stake_and_fees_up_front_and_gives_them_back_if_the_ledger_fails() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    let to = AccountIdentifier::new(&user(1), None);
    assert_eq!(
        kind(g.begin_disburse(&user(1), id, to, None, FEE, T0)),
        ErrorType::PreconditionFailed as i32,
        "not dissolved yet"
    );
    let dissolved = T0 + INITIAL_NEURON_DISSOLVE_DELAY_SECONDS;
    g.neurons
        .update(id, |n| n.start_dissolving(T0))
        .unwrap()
        .unwrap();
    set(&mut g, id, |n| n.neuron_fees_e8s = ICP);
    let before = g.neuron(id).unwrap();
    assert_eq!(
        kind(g.begin_disburse(&user(2), id, to, None, FEE, dissolved)),
        ErrorType::NotAuthorized as i32
    );
    let plan = g
        .begin_disburse(&user(1), id, to, None, FEE, dissolved)
        .unwrap();
    assert_eq!(plan.burn_fees.unwrap().amount_e8s, ICP);
    assert_eq!(plan.burn_fees.unwrap().to, g.minting_account());
    let payout = plan.payout;
    assert_eq!((payout.amount_e8s, payout.fee_e8s), (9 * ICP - FEE, FEE));
    let during = g.neuron(id).unwrap();
    assert_eq!(
        (during.cached_neuron_stake_e8s, during.neuron_fees_e8s),
        (0, 0)
    );
    assert_eq!(
        kind(g.begin_disburse(&user(1), id, to, None, FEE, dissolved)),
        ErrorType::LedgerUpdateOngoing as i32,
        "a second disburse waits for the first"
    );
    g.undo_disburse_burn(&plan);
    g.unlock(id);
    assert_eq!(g.neuron(id).unwrap(), before);
    // Burned, then the payout fails: the fees stay burned, the stake returns.
    let plan = g
        .begin_disburse(&user(1), id, to, None, FEE, dissolved)
        .unwrap();
    g.undo_disburse_payout(&plan);
    let after = g.neuron(id).unwrap();
    assert_eq!(
        (after.cached_neuron_stake_e8s, after.neuron_fees_e8s),
        (9 * ICP, 0)
    );
}

#[test]
fn an_amount_asked_for_includes_the_fees_and_is_bounded() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    g.neurons
        .update(id, |n| n.start_dissolving(T0))
        .unwrap()
        .unwrap();
    set(&mut g, id, |n| n.neuron_fees_e8s = FEE / 2);
    let dissolved = T0 + INITIAL_NEURON_DISSOLVE_DELAY_SECONDS;
    let to = AccountIdentifier::new(&user(1), None);
    assert_eq!(
        kind(g.begin_disburse(&user(1), id, to, Some(11 * ICP), FEE, dissolved)),
        ErrorType::InsufficientFunds as i32
    );
    assert_eq!(
        kind(g.begin_disburse(&user(1), id, to, Some(FEE), FEE, dissolved)),
        ErrorType::InsufficientFunds as i32
    );
    let plan = g
        .begin_disburse(&user(1), id, to, Some(4 * ICP), FEE, dissolved)
        .unwrap();
    // Fees at or below the ledger fee are forgiven, not burned.
    assert_eq!(plan.burn_fees, None);
    assert_eq!(plan.payout.amount_e8s, 4 * ICP - FEE / 2 - FEE);
    let n = g.neuron(id).unwrap();
    assert_eq!((n.cached_neuron_stake_e8s, n.neuron_fees_e8s), (6 * ICP, 0));
}

#[test]
fn a_split_shares_stake_and_maturity_and_undoes_cleanly() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    set(&mut g, id, |n| {
        n.maturity_e8s_equivalent = 1_000;
        n.staked_maturity_e8s_equivalent = 500;
        n.hot_keys.push(user(2));
    });
    let before = g.neuron(id).unwrap();
    let e = economics();
    assert_eq!(
        kind(g.begin_split(&user(1), id, ICP, None, &e, T0)),
        ErrorType::InsufficientFunds as i32,
        "the child needs the minimum stake plus the fee"
    );
    assert_eq!(
        kind(g.begin_split(&user(1), id, 9 * ICP + 1, None, &e, T0)),
        ErrorType::InsufficientFunds as i32,
        "the parent keeps the minimum stake"
    );
    let plan = g
        .begin_split(&user(1), id, 4 * ICP, Some(9), &e, T0)
        .unwrap();
    let child = g.neuron(plan.child_id).unwrap();
    assert_eq!(child.subaccount, split_subaccount(&user(1), 9));
    assert_eq!(child.cached_neuron_stake_e8s, 4 * ICP - FEE);
    assert_eq!(
        (
            child.maturity_e8s_equivalent,
            child.staked_maturity_e8s_equivalent
        ),
        (400, 200)
    );
    assert_eq!(child.dissolve_state, before.dissolve_state);
    assert_eq!(child.hot_keys, vec![user(2)]);
    assert_eq!(plan.transfer.to, g.neuron_account(&child.subaccount));
    assert_eq!(g.neuron(id).unwrap().cached_neuron_stake_e8s, 6 * ICP);
    g.undo_split(&plan);
    g.unlock(plan.parent_id);
    g.unlock(plan.child_id);
    assert_eq!(g.neuron(id).unwrap(), before);
    assert!(g.neuron(plan.child_id).is_err());
}

#[test]
fn a_merge_moves_everything_and_weights_the_age_by_stake() {
    let mut g = governance();
    let target = claimed(&mut g, 1, 30 * ICP);
    let later = T0 + 3_000;
    let read = g.begin_claim_or_refresh(user(1), 2, later).unwrap();
    let source = g
        .finish_claim_or_refresh(read, 10 * ICP + FEE, &economics(), later)
        .unwrap();
    set(&mut g, source, |n| {
        n.maturity_e8s_equivalent = 7;
        n.dissolve_state = DissolveState::DissolveDelaySeconds(ONE_YEAR_SECONDS);
    });
    let before = (g.neuron(target).unwrap(), g.neuron(source).unwrap());
    let now = later + 1_000;
    assert_eq!(
        kind(g.begin_merge(&user(1), target, target, FEE, now)),
        ErrorType::InvalidCommand as i32
    );
    assert_eq!(
        kind(g.begin_merge(&user(2), target, source, FEE, now)),
        ErrorType::NotAuthorized as i32
    );
    let plan = g.begin_merge(&user(1), target, source, FEE, now).unwrap();
    assert_eq!(plan.burn_fees, None);
    assert_eq!(plan.transfer.unwrap().amount_e8s, 10 * ICP);
    let t = g.neuron(target).unwrap();
    assert_eq!(t.cached_neuron_stake_e8s, 40 * ICP);
    assert_eq!(t.maturity_e8s_equivalent, 7);
    assert_eq!(t.dissolve_delay_seconds(now), ONE_YEAR_SECONDS);
    // 30 ICP aged 4 000 s and 10 ICP aged 1 000 s: 3 250 s.
    assert_eq!(t.age_seconds(now), 3_250);
    let s = g.neuron(source).unwrap();
    assert_eq!(
        (s.cached_neuron_stake_e8s, s.maturity_e8s_equivalent),
        (0, 0)
    );
    g.undo_merge(&plan);
    assert_eq!(
        (g.neuron(target).unwrap(), g.neuron(source).unwrap()),
        before
    );
}

#[test]
fn a_failed_merge_keeps_what_was_credited_while_the_ledger_was_called() {
    let mut g = governance();
    let target = claimed(&mut g, 1, 30 * ICP);
    let read = g.begin_claim_or_refresh(user(1), 2, T0).unwrap();
    let source = g
        .finish_claim_or_refresh(read, 10 * ICP + FEE, &economics(), T0)
        .unwrap();
    set(&mut g, source, |n| {
        n.maturity_e8s_equivalent = 7;
        n.staked_maturity_e8s_equivalent = 2;
        // Fees above the ledger fee: burned before the stake moves.
        n.neuron_fees_e8s = 3 * FEE;
        n.dissolve_state = DissolveState::DissolveDelaySeconds(ONE_YEAR_SECONDS);
    });
    let (target_before, source_before) = (g.neuron(target).unwrap(), g.neuron(source).unwrap());
    let plan = g
        .begin_merge(&user(1), target, source, FEE, T0 + 10)
        .unwrap();
    assert_eq!(plan.burn_fees.unwrap().amount_e8s, 3 * FEE);
    // Rewards and a proposal's outcome reach both neurons while they are locked.
    set(&mut g, target, |n| {
        n.maturity_e8s_equivalent += 100;
        n.neuron_fees_e8s += 5;
    });
    set(&mut g, source, |n| n.staked_maturity_e8s_equivalent += 3);
    g.undo_merge(&plan);
    assert_eq!(
        g.neuron(target).unwrap(),
        Neuron {
            maturity_e8s_equivalent: target_before.maturity_e8s_equivalent + 100,
            neuron_fees_e8s: target_before.neuron_fees_e8s + 5,
            ..target_before.clone()
        }
    );
    assert_eq!(
        g.neuron(source).unwrap(),
        Neuron {
            staked_maturity_e8s_equivalent: source_before.staked_maturity_e8s_equivalent + 3,
            ..source_before.clone()
        }
    );

    // The fees were burned, then the transfer failed: only the fees are gone.
    g.unlock(target);
    g.unlock(source);
    let plan = g
        .begin_merge(&user(1), target, source, FEE, T0 + 20)
        .unwrap();
    g.undo_merge_transfer(&plan);
    let s = g.neuron(source).unwrap();
    assert_eq!(s.neuron_fees_e8s, 0);
    assert_eq!(
        s.cached_neuron_stake_e8s,
        source_before.cached_neuron_stake_e8s - 3 * FEE
    );
    assert_eq!(s.maturity_e8s_equivalent, 7);
    assert_eq!(
        g.neuron(target).unwrap().cached_neuron_stake_e8s,
        target_before.cached_neuron_stake_e8s
    );
}

#[test]
fn dissolving_neurons_do_not_merge() {
    let mut g = governance();
    let a = claimed(&mut g, 1, 10 * ICP);
    let b = claimed(&mut g, 2, 10 * ICP);
    g.neurons
        .update(b, |n| n.start_dissolving(T0))
        .unwrap()
        .unwrap();
    assert_eq!(
        kind(g.begin_merge(&user(1), a, b, FEE, T0)),
        ErrorType::RequiresNotDissolving as i32
    );
}

#[test]
fn a_spawned_neuron_is_minted_its_maturity_when_due() {
    let mut g = governance();
    let e = economics();
    let id = claimed(&mut g, 1, 10 * ICP);
    set(&mut g, id, |n| n.maturity_e8s_equivalent = ICP - 1);
    let spawn = Spawn {
        percentage_to_spawn: None,
        new_controller: Some(user(5)),
        nonce: Some(3),
    };
    assert_eq!(
        kind(g.spawn(&user(1), id, spawn, &e, T0)),
        ErrorType::InsufficientFunds as i32
    );
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 4 * ICP);
    let half = Spawn {
        percentage_to_spawn: Some(50),
        ..spawn
    };
    let child_id = g.spawn(&user(1), id, half, &e, T0).unwrap();
    assert_eq!(g.neuron(id).unwrap().maturity_e8s_equivalent, 2 * ICP);
    let child = g.neuron(child_id).unwrap();
    assert_eq!(child.controller, user(5));
    assert_eq!(child.subaccount, staking_subaccount(&user(5), 3));
    assert!(child.is_spawning());
    let due = T0 + e.neuron_spawn_dissolve_delay_seconds;
    assert!(g.take_next_due_mint(due - 1).is_none());
    assert_eq!(g.next_due(), Some(due));
    let mints = [g.take_next_due_mint(due).unwrap()];
    assert!(g.take_next_due_mint(due).is_none());
    let mint = mints[0].transfer();
    assert_eq!(
        (mint.from_subaccount, mint.amount_e8s, mint.fee_e8s),
        (None, 2 * ICP, 0)
    );
    assert_eq!(mint.to, g.neuron_account(&child.subaccount));
    let minted = g.neuron(child_id).unwrap();
    assert_eq!(
        (
            minted.cached_neuron_stake_e8s,
            minted.maturity_e8s_equivalent
        ),
        (2 * ICP, 0)
    );
    assert!(!minted.is_spawning() && minted.is_dissolved(due));
    // A failed mint puts the neuron back and tries again later.
    g.undo_maturity_mint(&mints[0], due + 60);
    g.unlock(child_id);
    let back = g.neuron(child_id).unwrap();
    assert_eq!(
        (back.cached_neuron_stake_e8s, back.maturity_e8s_equivalent),
        (0, 2 * ICP)
    );
    assert_eq!(g.next_due(), Some(due + 60));
    assert!(g.take_next_due_mint(due + 60).is_some());
}

#[test]
fn disbursed_maturity_is_minted_to_its_destination_a_week_later() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 3 * ICP);
    assert_eq!(
        kind(g.disburse_maturity(&user(1), id, 101, None, T0)),
        ErrorType::InvalidCommand as i32
    );
    assert_eq!(
        kind(g.disburse_maturity(&user(1), id, 30, None, T0)),
        ErrorType::PreconditionFailed as i32,
        "0.9 ICP is below the minimum"
    );
    assert_eq!(
        g.disburse_maturity(&user(1), id, 50, None, T0),
        Ok(3 * ICP / 2)
    );
    let dest = Destination::AccountIdentifier(*AccountIdentifier::new(&user(7), None).as_bytes());
    assert_eq!(
        g.disburse_maturity(&user(1), id, 100, Some(dest), T0 + 10),
        Ok(3 * ICP / 2)
    );
    assert_eq!(g.neuron(id).unwrap().maturity_e8s_equivalent, 0);
    let due = T0 + MATURITY_DISBURSEMENT_DELAY_SECONDS;
    let first = [g.take_next_due_mint(due).unwrap()];
    assert!(g.take_next_due_mint(due).is_none(), "the neuron is locked");
    assert_eq!(
        first[0].transfer().to,
        AccountIdentifier::new(&user(1), None)
    );
    g.unlock(id);
    assert!(g.take_next_due_mint(due).is_none(), "the second is not due");
    let second = [g.take_next_due_mint(due + 10).unwrap()];
    assert_eq!(
        second[0].transfer().to,
        AccountIdentifier::new(&user(7), None)
    );
    assert_eq!(second[0].transfer().amount_e8s, 3 * ICP / 2);
    assert!(g.neuron(id).unwrap().maturity_disbursements.is_empty());
}

#[test]
fn due_mints_are_taken_one_at_a_time_and_the_rest_stay_due() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 5 * ICP);
    for _ in 0..2 {
        g.disburse_maturity(&user(1), id, 50, None, T0).unwrap();
    }
    let due = T0 + MATURITY_DISBURSEMENT_DELAY_SECONDS;
    let first = g.take_next_due_mint(due).unwrap();
    assert_eq!(first.transfer().amount_e8s, 5 * ICP / 2);
    // Sent, then the run is cut short: the other one is still there, due.
    g.unlock(id);
    let neuron = g.neuron(id).unwrap();
    assert_eq!(neuron.maturity_disbursements.len(), 1);
    assert_eq!(g.next_due(), Some(due));
    let second = g.take_next_due_mint(due).unwrap();
    assert_eq!(second.transfer().amount_e8s, 5 * ICP / 4);
    g.unlock(id);
    assert!(g.take_next_due_mint(due).is_none());
    assert_eq!(g.next_due(), None);
}

#[test]
fn maturity_is_never_disbursed_to_the_minting_account() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 4 * ICP);
    let minting = Destination::AccountIdentifier(*g.minting_account().as_bytes());
    assert_eq!(
        kind(g.disburse_maturity(&user(1), id, 50, Some(minting), T0)),
        ErrorType::InvalidCommand as i32
    );
    // One recorded before the check existed is finalised: the maturity
    // comes back and nothing is minted or retried.
    set(&mut g, id, |n| {
        n.maturity_e8s_equivalent = 2 * ICP;
        n.maturity_disbursements.push(MaturityDisbursement {
            amount_e8s: 2 * ICP,
            destination: minting,
            disbursed_at_seconds: T0,
            finalize_at_seconds: T0 + 1,
        });
    });
    g.due.insert((T0 + 1, id), ());
    assert!(g.take_next_due_mint(T0 + 1).is_none());
    let neuron = g.neuron(id).unwrap();
    assert_eq!(neuron.maturity_e8s_equivalent, 4 * ICP);
    assert!(neuron.maturity_disbursements.is_empty());
    assert_eq!(g.next_due(), None);
}

#[test]
fn staked_maturity_becomes_maturity_once_the_neuron_is_dissolved() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    let locked = claimed(&mut g, 2, 10 * ICP);
    for n in [id, locked] {
        set(&mut g, n, |n| {
            n.staked_maturity_e8s_equivalent = 3 * ICP;
            n.maturity_e8s_equivalent = ICP;
        });
    }
    g.configure(
        &user(1),
        id,
        Operation::StartDissolving {},
        &economics(),
        T0,
    )
    .unwrap();
    let dissolved = T0 + INITIAL_NEURON_DISSOLVE_DELAY_SECONDS;
    assert!(
        g.unstake_maturity_of_dissolved_neurons(dissolved - 1, 100)
            .is_empty()
    );
    assert_eq!(
        g.unstake_maturity_of_dissolved_neurons(dissolved, 100),
        vec![id]
    );
    let n = g.neuron(id).unwrap();
    assert_eq!(
        (n.maturity_e8s_equivalent, n.staked_maturity_e8s_equivalent),
        (4 * ICP, 0)
    );
    // Not dissolving: its staked maturity stays, whatever the time.
    assert!(
        g.unstake_maturity_of_dissolved_neurons(u64::MAX, 100)
            .is_empty()
    );
    assert_eq!(
        g.neuron(locked).unwrap().staked_maturity_e8s_equivalent,
        3 * ICP
    );
}

#[test]
fn stake_maturity_moves_a_percentage() {
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 1_000);
    assert_eq!(g.stake_maturity(&user(1), id, Some(30)), Ok((700, 300)));
    assert_eq!(g.stake_maturity(&user(1), id, None), Ok((0, 1_000)));
    assert_eq!(
        kind(g.stake_maturity(&user(2), id, None)),
        ErrorType::NotAuthorized as i32
    );
    assert_eq!(g.neuron(id).unwrap().stake_e8s(), 10 * ICP + 1_000);
}

#[test]
fn combined_age_keeps_stake_times_age() {
    assert_eq!(combined_age(3, 100, 1, 0), 75);
    assert_eq!(combined_age(0, 0, 0, 9), 9);
    assert_eq!(combined_age(u64::MAX, u64::MAX, u64::MAX, 0), u64::MAX / 2);
}

/// Claims `count` neurons of `user(1)` at `now`, memos from `first` on.
fn claim_many(g: &mut Governance<VectorMemory>, first: u64, count: u64, now: u64) {
    for memo in first..first + count {
        let read = g.begin_claim_or_refresh(user(1), memo, now).unwrap();
        g.finish_claim_or_refresh(read, ICP, &economics(), now)
            .unwrap();
    }
}

#[test]
fn claims_and_splits_beyond_the_creation_allowance_wait_for_it_to_build_up() {
    use crate::limits::{MAX_NEURON_CREATION_SPIKE, MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE};
    let mut g = governance();
    let e = economics();
    let parent = claimed(&mut g, 0, 100 * ICP);
    claim_many(&mut g, 1, MAX_NEURON_CREATION_SPIKE - 1, T0);
    assert_eq!(
        kind(g.begin_claim_or_refresh(user(1), 1_000, T0)),
        ErrorType::Unavailable as i32,
        "a claim beyond the spike"
    );
    assert_eq!(
        kind(g.begin_split(&user(1), parent, 2 * ICP, None, &e, T0)),
        ErrorType::Unavailable as i32,
        "a split beyond the spike"
    );
    // Refreshing an existing neuron creates none.
    let read = g.begin_claim_or_refresh(user(1), 0, T0).unwrap();
    assert!(!read.is_claim());
    g.finish_claim_or_refresh(read, 100 * ICP, &e, T0).unwrap();
    // One more every four minutes; a claim or split that fails gives its
    // place back.
    let later = T0 + MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE;
    let read = g.begin_claim_or_refresh(user(1), 1_000, later).unwrap();
    g.finish_claim_or_refresh(read, ICP - 1, &e, later)
        .unwrap_err();
    let read = g.begin_claim_or_refresh(user(1), 1_001, later).unwrap();
    g.abort_claim_or_refresh(read);
    let plan = g
        .begin_split(&user(1), parent, 2 * ICP, None, &e, later)
        .unwrap();
    g.undo_split(&plan);
    g.unlock(plan.parent_id);
    g.unlock(plan.child_id);
    claim_many(&mut g, 1_002, 1, later);
    assert_eq!(
        kind(g.begin_claim_or_refresh(user(1), 1_003, later)),
        ErrorType::Unavailable as i32
    );
    assert_eq!(g.neurons().len(), MAX_NEURON_CREATION_SPIKE + 1);
}

#[test]
fn no_command_creates_a_neuron_beyond_the_maximum() {
    let mut g = governance();
    let e = economics();
    g.set_max_neurons_for_tests(3);
    let parent = claimed(&mut g, 0, 100 * ICP);
    set(&mut g, parent, |n| n.maturity_e8s_equivalent = 10 * ICP);
    // A claim in flight holds no place: the maximum is checked again once
    // its balance is read.
    let in_flight = g.begin_claim_or_refresh(user(1), 3, T0).unwrap();
    claim_many(&mut g, 1, 2, T0);
    let refused = |r: Result<u64>| {
        let e = r.expect_err("no room for a neuron");
        assert_eq!(e.error_type, ErrorType::PreconditionFailed as i32);
        assert!(
            e.error_message.contains("maximum number of neurons"),
            "{e:?}"
        );
    };
    refused(g.finish_claim_or_refresh(in_flight, ICP, &e, T0));
    refused(g.begin_claim_or_refresh(user(1), 3, T0).map(|_| 0));
    refused(
        g.begin_split(&user(1), parent, 2 * ICP, None, &e, T0)
            .map(|p| p.child_id),
    );
    let spawn = Spawn {
        percentage_to_spawn: None,
        new_controller: None,
        nonce: Some(9),
    };
    refused(g.spawn(&user(1), parent, spawn, &e, T0));
    assert_eq!(g.neurons().len(), 3);
}

#[test]
fn spawning_is_not_rate_limited() {
    use crate::limits::MAX_NEURON_CREATION_SPIKE;
    let mut g = governance();
    let e = economics();
    let parent = claimed(&mut g, 0, 100 * ICP);
    claim_many(&mut g, 1, MAX_NEURON_CREATION_SPIKE - 1, T0);
    set(&mut g, parent, |n| n.maturity_e8s_equivalent = 10 * ICP);
    let spawn = Spawn {
        percentage_to_spawn: Some(50),
        new_controller: None,
        nonce: Some(10_000),
    };
    g.spawn(&user(1), parent, spawn, &e, T0).unwrap();
}

#[test]
fn locked_dissolved_neurons_do_not_hold_up_the_unstaking_of_others() {
    let mut g = governance();
    let dissolved_at = T0 + 10;
    let make = |g: &mut Governance<VectorMemory>, id: u64, at: u64| {
        let mut subaccount = [0; 32];
        subaccount[..8].copy_from_slice(&id.to_be_bytes());
        let mut n = Neuron::new(id, user(1), subaccount, 10 * ICP, T0);
        n.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(at);
        n.staked_maturity_e8s_equivalent = ICP;
        g.insert_for_tests(n);
    };
    // 150 neurons dissolved first, each with a command in flight…
    for id in 1..=150 {
        make(&mut g, id, dissolved_at);
        g.lock(id).unwrap();
    }
    // …and two dissolved later, free.
    make(&mut g, 1_000, dissolved_at + 1);
    make(&mut g, 1_001, dissolved_at + 2);
    let now = dissolved_at + 100;
    assert_eq!(
        g.unstake_maturity_of_dissolved_neurons(now, 1),
        vec![1_000],
        "the limit counts the neurons unstaked"
    );
    assert_eq!(
        g.unstake_maturity_of_dissolved_neurons(now, 100),
        vec![1_001]
    );
    assert!(g.unstake_maturity_of_dissolved_neurons(now, 100).is_empty());
    g.unlock(7);
    assert_eq!(g.unstake_maturity_of_dissolved_neurons(now, 100), vec![7]);
}

#[test]
fn a_canister_stopped_to_install_code_stays_to_restart_until_started() {
    let mut g = governance();
    let (ledger, cmc) = (user(20), user(21));
    // The start after the install failed: the canister stays to restart.
    g.begin_install(ledger);
    assert!(g.to_restart().is_empty(), "not while its execution runs");
    g.end_install(ledger, false);
    assert_eq!(g.to_restart(), vec![ledger]);
    // Governance upgraded between the stop and the start: only the
    // stable set survives.
    g.begin_install(cmc);
    g.installing.clear();
    assert_eq!(g.to_restart(), vec![ledger, cmc]);
    g.restarted(cmc);
    assert_eq!(g.to_restart(), vec![ledger]);
    // A retried start that lands while a new execution stops the canister
    // leaves it to restart; that execution's own start takes it out.
    g.begin_install(ledger);
    g.restarted(ledger);
    g.end_install(ledger, false);
    assert_eq!(g.to_restart(), vec![ledger]);
    g.begin_install(ledger);
    g.end_install(ledger, true);
    assert!(g.to_restart().is_empty());
}

/// The upgrade to today's rules (one message): every delay above two
/// years comes down to two years, the eight-year gang keeps its stake as its bonus base, a
/// dissolving neuron's end comes nearer (and the unstake index follows),
/// and the rest is untouched. The split and merge carry the base.
#[test]
fn the_delay_cut_brings_every_neuron_under_two_years_and_records_the_gang() {
    let max = 2 * ONE_YEAR_SECONDS;
    let mut g = governance();
    let gang = claimed(&mut g, 1, 100 * ICP);
    let four = claimed(&mut g, 2, 10 * ICP);
    let dissolving = claimed(&mut g, 3, 10 * ICP);
    let short = claimed(&mut g, 4, 10 * ICP);
    set(&mut g, gang, |n| {
        n.dissolve_state = DissolveState::DissolveDelaySeconds(8 * ONE_YEAR_SECONDS);
        n.staked_maturity_e8s_equivalent = 5 * ICP;
    });
    set(&mut g, four, |n| {
        n.dissolve_state = DissolveState::DissolveDelaySeconds(4 * ONE_YEAR_SECONDS)
    });
    set(&mut g, dissolving, |n| {
        n.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(T0 + 5 * ONE_YEAR_SECONDS);
        n.aging_since_timestamp_seconds = crate::neuron::NOT_AGING;
        n.staked_maturity_e8s_equivalent = ICP;
    });
    let short_before = g.neuron(short).unwrap();
    let mut changed = g.cut_dissolve_delays(T0, max);
    changed.sort_unstable();
    assert_eq!(changed, vec![gang, four, dissolving]);
    assert!(g.cut_dissolve_delays(T0, max).is_empty(), "once");

    let n = g.neuron(gang).unwrap();
    assert_eq!(n.dissolve_state, DissolveState::DissolveDelaySeconds(max));
    assert_eq!(
        n.eight_year_gang_bonus_base_e8s,
        105 * ICP,
        "stake with staked maturity"
    );
    let n = g.neuron(four).unwrap();
    assert_eq!(n.dissolve_state, DissolveState::DissolveDelaySeconds(max));
    assert_eq!(n.eight_year_gang_bonus_base_e8s, 0);
    let n = g.neuron(dissolving).unwrap();
    assert_eq!(
        n.dissolve_state,
        DissolveState::WhenDissolvedTimestampSeconds(T0 + max)
    );
    assert_eq!(g.neuron(short).unwrap(), short_before);
    // The unstake index holds the new end, not the old one.
    assert_eq!(g.neurons.ready_to_unstake(T0 + max, 10), vec![dissolving]);

    // A split takes its share of the base; a merge moves all of it.
    let base =
        |g: &Governance<VectorMemory>, id| g.neuron(id).unwrap().eight_year_gang_bonus_base_e8s;
    let plan = g
        .begin_split(&user(1), gang, 50 * ICP, None, &economics(), T0)
        .unwrap();
    g.unlock(plan.parent_id);
    g.unlock(plan.child_id);
    let half = 52 * ICP + 50_000_000;
    assert_eq!((base(&g, gang), base(&g, plan.child_id)), (half, half));
    let merge = g
        .begin_merge(&user(1), four, plan.child_id, FEE, T0)
        .unwrap();
    g.unlock(merge.source_id);
    g.unlock(merge.target_id);
    assert_eq!((base(&g, four), base(&g, plan.child_id)), (half, 0));
    // Dissolving ends it.
    g.configure(
        &user(1),
        four,
        Operation::StartDissolving {},
        &economics(),
        T0,
    )
    .unwrap();
    assert_eq!(g.neuron(four).unwrap().eight_year_gang_bonus_base_e8s, 0);
}

/// `SetFollowing` sets many topics at once, checks them all before it sets
/// any, and refreshes the neuron's voting power.
#[test]
fn set_following_sets_topics_together_or_none() {
    let mut g = governance();
    let me = claimed(&mut g, 1, 10 * ICP);
    let a = claimed(&mut g, 2, 10 * ICP);
    let b = claimed(&mut g, 3, 10 * ICP);
    let later = T0 + 100;
    g.set_following(
        &user(1),
        me,
        vec![(0, vec![a]), (4, vec![a, b]), (14, vec![b])],
        later,
    )
    .unwrap();
    let n = g.neuron(me).unwrap();
    assert_eq!(n.followees.get(&0), Some(&vec![a]));
    assert_eq!(n.followees.get(&4), Some(&vec![a, b]));
    assert_eq!(n.followees.get(&14), Some(&vec![b]));
    assert_eq!(n.voting_power_refreshed_timestamp_seconds, later);
    assert_eq!(g.proposals.followers_of(a, 4), vec![me]);
    let refused = [
        vec![(4, vec![a]), (4, vec![b])],
        vec![(0, vec![]), (19, vec![a])],
        vec![(0, vec![]), (4, (100..116).collect())],
        vec![(0, vec![]), (4, vec![a, a])],
        vec![(0, vec![]), (4, vec![999])],
        vec![(0, vec![]), (4, vec![me])],
    ];
    for topics in refused {
        assert!(
            g.set_following(&user(1), me, topics.clone(), later + 1)
                .is_err(),
            "{topics:?}"
        );
        assert_eq!(g.neuron(me).unwrap(), n, "nothing set by {topics:?}");
    }
    // An empty list stops following a topic; other topics stay.
    g.set_following(&user(1), me, vec![(4, vec![])], later + 2)
        .unwrap();
    let n = g.neuron(me).unwrap();
    assert_eq!(n.followees.get(&4), None);
    assert_eq!(n.followees.get(&14), Some(&vec![b]));
    assert!(g.proposals.followers_of(a, 4).is_empty());
}

/// Following is cleared once a neuron has not refreshed for the reducing
/// period plus the clearing period (6 months + 1/12 year on mainnet): all
/// topics but neuron management, and the follower index with it.
#[test]
fn stale_following_is_cleared_but_neuron_management_stays() {
    let rules = crate::economics::VotingPowerRules::mainnet();
    let expires = rules.following_expires_after_seconds();
    assert_eq!(expires, 15_778_800 + 2_629_800);
    let mut g = governance();
    let me = claimed(&mut g, 1, 10 * ICP);
    let leader = claimed(&mut g, 2, 10 * ICP);
    let fresh = claimed(&mut g, 3, 10 * ICP);
    for id in [me, fresh] {
        g.set_following(
            &user(1),
            id,
            vec![(0, vec![leader]), (1, vec![leader]), (4, vec![leader])],
            T0,
        )
        .unwrap();
    }
    g.refresh_voting_power(&user(1), fresh, T0 + expires)
        .unwrap();
    // One second early: nothing.
    assert!(
        g.clear_stale_following_some(T0 + expires - 1, expires, 100)
            .is_empty()
    );
    // Swept in steps of two neurons, going round.
    let mut cleared = g.clear_stale_following_some(T0 + expires, expires, 2);
    cleared.extend(g.clear_stale_following_some(T0 + expires, expires, 2));
    assert_eq!(cleared, vec![me]);
    let n = g.neuron(me).unwrap();
    assert_eq!(n.followees.keys().copied().collect::<Vec<_>>(), vec![1]);
    assert_eq!(g.proposals.followers_of(leader, 4), vec![fresh]);
    assert_eq!(g.proposals.followers_of(leader, 1), vec![me, fresh]);
    assert_eq!(g.neuron(fresh).unwrap().followees.len(), 3);
}

/// A neuron whose proposal is open owes the reject cost until it is
/// decided: neither it nor a neuron it would merge into may merge.
#[test]
fn a_merge_is_refused_while_either_neuron_has_an_open_proposal() {
    let mut g = Governance::with_voting_neurons(&[100 * ICP, 100 * ICP, 100 * ICP], T0);
    let owner = test_owner(1);
    let other = claimed_by(&mut g, owner, 10 * ICP);
    let (proposal, _) = g
        .make_proposal(
            &owner,
            1,
            crate::proposals::motion_for_tests(),
            &economics(),
            T0,
        )
        .unwrap();
    for (target, source) in [(1, other), (other, 1)] {
        assert_eq!(
            kind(g.begin_merge(&owner, target, source, FEE, T0)),
            ErrorType::PreconditionFailed as i32
        );
    }
    // Decided (rejected here): the merge goes ahead.
    for voter in [2, 3] {
        g.register_vote(
            &test_owner(voter),
            voter,
            proposal,
            nns_api::governance::Vote::No,
            T0,
        )
        .unwrap();
    }
    assert!(g.proposals.state(proposal).unwrap().is_decided());
    let plan = g.begin_merge(&owner, other, 1, FEE, T0).unwrap();
    g.unlock(plan.source_id);
    g.unlock(plan.target_id);
}

fn claimed_by(g: &mut Governance<VectorMemory>, owner: Principal, stake: u64) -> u64 {
    let mut n = Neuron::new(4, owner, [4; 32], stake, T0);
    n.dissolve_state = DissolveState::DissolveDelaySeconds(ONE_YEAR_SECONDS);
    g.insert_for_tests(n);
    4
}

/// Spawns and maturity disbursements mint maturity × (1 + modulation), the
/// modulation the CMC gave last; their minimums hold at the worst one
/// (−5 %); a failed spawn mint gives back the maturity, not the modulated
/// amount.
#[test]
fn maturity_is_minted_modulated_and_checked_at_the_worst_modulation() {
    assert_eq!(apply_maturity_modulation(10_000, -500), 9_500);
    assert_eq!(apply_maturity_modulation(10_000, 250), 10_250);
    let mut g = governance();
    assert_eq!(g.maturity_modulation_basis_points(), 0);
    assert!(g.maturity_modulation_due(T0));
    g.set_maturity_modulation(9_999, T0);
    assert_eq!(
        g.maturity_modulation_basis_points(),
        500,
        "kept within bounds"
    );
    assert!(!g.maturity_modulation_due(T0 + 86_399));
    assert!(g.maturity_modulation_due(T0 + 86_400));
    g.set_maturity_modulation(-300, T0);
    let id = claimed(&mut g, 1, 10 * ICP);
    // 1.05 ICP is 0.9975 ICP at −5 %: below the minimum stake and the
    // minimum disbursement alike.
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 105_000_000);
    let spawn = Spawn {
        percentage_to_spawn: None,
        new_controller: None,
        nonce: Some(77),
    };
    assert_eq!(
        kind(g.spawn(&user(1), id, spawn, &economics(), T0)),
        ErrorType::InsufficientFunds as i32
    );
    assert_eq!(
        kind(g.disburse_maturity(&user(1), id, 100, None, T0)),
        ErrorType::PreconditionFailed as i32
    );
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 4 * ICP);
    let child = g.spawn(&user(1), id, spawn, &economics(), T0).unwrap();
    g.disburse_maturity(&user(1), id, 100, None, T0)
        .unwrap_err();
    set(&mut g, id, |n| n.maturity_e8s_equivalent = 2 * ICP);
    g.disburse_maturity(&user(1), id, 100, None, T0).unwrap();
    let later = T0 + 8 * 86_400;
    let mut mints = vec![];
    while let Some(mint) = g.take_next_due_mint(later) {
        g.unlock(mint.neuron_id());
        mints.push(mint);
    }
    let amounts: Vec<u64> = mints.iter().map(|m| m.transfer().amount_e8s).collect();
    // 4 ICP and 2 ICP, less 3 %.
    let mut sorted = amounts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![194_000_000, 388_000_000]);
    assert_eq!(
        g.neuron(child).unwrap().cached_neuron_stake_e8s,
        388_000_000
    );
    let spawn_mint = mints
        .iter()
        .find(|m| matches!(m, MaturityMint::Spawn { .. }))
        .unwrap();
    g.undo_maturity_mint(spawn_mint, later + 60);
    let child_after = g.neuron(child).unwrap();
    assert_eq!(
        (
            child_after.cached_neuron_stake_e8s,
            child_after.maturity_e8s_equivalent
        ),
        (0, 4 * ICP)
    );
}

/// Visibility and the Neurons' Fund, as the NNS: controller sets
/// visibility (1 or 2; a known neuron stays public); controller or hot key
/// joins and leaves the Fund, once each; Fund members do not merge; a split
/// child inherits membership.
#[test]
fn visibility_and_the_neurons_fund_follow_the_nns_rules() {
    use nns_api::governance::{KnownNeuronData, SetVisibility};
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    set(&mut g, id, |n| n.hot_keys.push(user(5)));
    assert_eq!(
        g.neuron(id).unwrap().visibility,
        crate::neuron::VISIBILITY_PRIVATE
    );
    let visibility = |v| Operation::SetVisibility(SetVisibility { visibility: v });
    for bad in [None, Some(0), Some(3)] {
        assert_eq!(
            kind(g.configure(&user(1), id, visibility(bad), &economics(), T0)),
            ErrorType::InvalidCommand as i32
        );
    }
    assert_eq!(
        kind(g.configure(&user(5), id, visibility(Some(2)), &economics(), T0)),
        ErrorType::NotAuthorized as i32
    );
    g.configure(&user(1), id, visibility(Some(2)), &economics(), T0)
        .unwrap();
    assert!(g.neuron(id).unwrap().is_public());
    // The Fund: a hot key may join and leave.
    g.configure(
        &user(5),
        id,
        Operation::JoinCommunityFund {},
        &economics(),
        T0 + 1,
    )
    .unwrap();
    assert_eq!(
        g.neuron(id)
            .unwrap()
            .joined_community_fund_timestamp_seconds,
        Some(T0 + 1)
    );
    assert_eq!(
        kind(g.configure(
            &user(1),
            id,
            Operation::JoinCommunityFund {},
            &economics(),
            T0
        )),
        ErrorType::AlreadyJoinedCommunityFund as i32
    );
    let other = claimed(&mut g, 2, 10 * ICP);
    assert_eq!(
        kind(g.begin_merge(&user(1), other, id, FEE, T0)),
        ErrorType::PreconditionFailed as i32
    );
    let plan = g
        .begin_split(&user(1), id, 3 * ICP, None, &economics(), T0)
        .unwrap();
    g.unlock(plan.parent_id);
    g.unlock(plan.child_id);
    assert_eq!(
        g.neuron(plan.child_id)
            .unwrap()
            .joined_community_fund_timestamp_seconds,
        Some(T0 + 1)
    );
    g.configure(
        &user(5),
        id,
        Operation::LeaveCommunityFund {},
        &economics(),
        T0,
    )
    .unwrap();
    assert_eq!(
        kind(g.configure(
            &user(1),
            id,
            Operation::LeaveCommunityFund {},
            &economics(),
            T0
        )),
        ErrorType::NotInTheCommunityFund as i32
    );
    // A known neuron is public and stays so.
    let data = KnownNeuronData {
        name: "Alpha".into(),
        description: None,
        links: Some(vec!["https://alpha.example".into()]),
    };
    g.configure(&user(1), other, visibility(Some(1)), &economics(), T0)
        .unwrap();
    g.register_known_neuron(other, data.clone()).unwrap();
    assert!(g.is_public(&g.neuron(other).unwrap()));
    assert_eq!(
        kind(g.configure(&user(1), other, visibility(Some(1)), &economics(), T0)),
        ErrorType::PreconditionFailed as i32
    );
    // Names are unique; bounds hold.
    assert_eq!(
        kind(g.check_known_neuron(id, &data)),
        ErrorType::PreconditionFailed as i32
    );
    let long = KnownNeuronData {
        name: "x".repeat(201),
        ..data.clone()
    };
    assert_eq!(
        kind(g.check_known_neuron(id, &long)),
        ErrorType::InvalidProposal as i32
    );
    let not_a_link = KnownNeuronData {
        name: "Beta".into(),
        links: Some(vec!["alpha.example".into()]),
        ..data.clone()
    };
    assert_eq!(
        kind(g.check_known_neuron(id, &not_a_link)),
        ErrorType::InvalidProposal as i32
    );
    assert_eq!(
        kind(g.check_known_neuron(999, &data)),
        ErrorType::NotFound as i32
    );
    assert_eq!(g.known_neurons(), vec![(other, data)]);
    g.deregister_known_neuron(other).unwrap();
    assert_eq!(
        kind(g.deregister_known_neuron(other)),
        ErrorType::PreconditionFailed as i32
    );
    // No longer known: as private as it chose, as on the NNS.
    assert!(!g.is_public(&g.neuron(other).unwrap()));
}

/// A private neuron is followed only by neurons of its controller or of a
/// hot key of it (neuron management aside); a public one by anyone.
#[test]
fn private_neurons_are_followed_only_by_their_own() {
    let mut g = governance();
    let mine = claimed(&mut g, 1, 10 * ICP);
    let read = g.begin_claim_or_refresh(user(2), 1, T0).unwrap();
    let theirs = g
        .finish_claim_or_refresh(read, 10 * ICP, &economics(), T0)
        .unwrap();
    assert_eq!(
        kind(g.follow(&user(2), theirs, 4, vec![mine], T0)),
        ErrorType::PreconditionFailed as i32
    );
    // Neuron management is not restricted.
    g.follow(&user(2), theirs, 1, vec![mine], T0).unwrap();
    // A hot key of mine: allowed.
    set(&mut g, mine, |n| n.hot_keys.push(user(2)));
    g.follow(&user(2), theirs, 4, vec![mine], T0).unwrap();
    // Once followed, it stays followable; another topic checks again.
    set(&mut g, mine, |n| n.hot_keys.clear());
    g.follow(&user(2), theirs, 4, vec![mine], T0).unwrap();
    assert_eq!(
        kind(g.follow(&user(2), theirs, 14, vec![mine], T0)),
        ErrorType::PreconditionFailed as i32
    );
    set(&mut g, mine, |n| {
        n.visibility = crate::neuron::VISIBILITY_PUBLIC
    });
    g.follow(&user(2), theirs, 14, vec![mine], T0).unwrap();
}

/// `DisburseToNeuron`: from a dissolved neuron, by its controller, to a
/// new neuron of another controller, locked as asked (capped).
#[test]
fn disburse_to_neuron_stakes_a_dissolved_neurons_icp_in_a_new_neuron() {
    use nns_api::governance::DisburseToNeuron;
    let mut g = governance();
    let id = claimed(&mut g, 1, 10 * ICP);
    let request = |amount| DisburseToNeuron {
        dissolve_delay_seconds: 9 * ONE_YEAR_SECONDS,
        kyc_verified: true,
        amount_e8s: amount,
        new_controller: Some(user(3)),
        nonce: 5,
    };
    assert_eq!(
        kind(g.begin_disburse_to_neuron(&user(1), id, request(4 * ICP), &economics(), T0)),
        ErrorType::PreconditionFailed as i32,
        "not dissolved"
    );
    set(&mut g, id, |n| {
        n.dissolve_state = DissolveState::DissolveDelaySeconds(0)
    });
    assert_eq!(
        kind(g.begin_disburse_to_neuron(&user(2), id, request(4 * ICP), &economics(), T0)),
        ErrorType::NotAuthorized as i32
    );
    assert_eq!(
        kind(g.begin_disburse_to_neuron(&user(1), id, request(ICP), &economics(), T0)),
        ErrorType::InsufficientFunds as i32
    );
    assert_eq!(
        kind(g.begin_disburse_to_neuron(&user(1), id, request(9 * ICP + 1), &economics(), T0)),
        ErrorType::InsufficientFunds as i32
    );
    let plan = g
        .begin_disburse_to_neuron(&user(1), id, request(4 * ICP), &economics(), T0)
        .unwrap();
    let child = g.neuron(plan.child_id).unwrap();
    assert_eq!(child.controller, user(3));
    assert_eq!(child.subaccount, staking_subaccount(&user(3), 5));
    // Nothing staked (no voting power) until the transfer lands.
    assert_eq!(child.cached_neuron_stake_e8s, 0);
    g.finish_disburse_to_neuron(&plan);
    assert_eq!(
        g.neuron(plan.child_id).unwrap().cached_neuron_stake_e8s,
        4 * ICP - FEE
    );
    assert_eq!(
        child.dissolve_state,
        DissolveState::DissolveDelaySeconds(2 * ONE_YEAR_SECONDS)
    );
    assert_eq!(g.neuron(id).unwrap().cached_neuron_stake_e8s, 6 * ICP);
    // A failed transfer undoes it all.
    g.undo_split(&plan);
    g.unlock(plan.parent_id);
    assert!(g.neuron(plan.child_id).is_err());
    assert_eq!(g.neuron(id).unwrap().cached_neuron_stake_e8s, 10 * ICP);
}

/// A neuron's recent ballots are its votes on the latest proposals, newest
/// first; ballots it did not cast are left out.
#[test]
fn recent_ballots_are_the_votes_cast_newest_first() {
    use nns_api::governance::Vote;
    let mut g = Governance::with_voting_neurons(&[100 * ICP, 100 * ICP, 100 * ICP], T0);
    let motion = crate::proposals::motion_for_tests;
    let (first, _) = g
        .make_proposal(&test_owner(1), 1, motion(), &economics(), T0)
        .unwrap();
    let (second, _) = g
        .make_proposal(&test_owner(1), 1, motion(), &economics(), T0)
        .unwrap();
    g.register_vote(&test_owner(2), 2, second, Vote::No, T0)
        .unwrap();
    let votes = |g: &Governance<VectorMemory>, id| {
        g.recent_ballots(id, &g.recent_proposals(), &mut Default::default())
            .into_iter()
            .map(|b| (b.proposal_id.unwrap().id, b.vote))
            .collect::<Vec<_>>()
    };
    assert_eq!(votes(&g, 1), vec![(second, 1), (first, 1)]);
    assert_eq!(votes(&g, 2), vec![(second, 2)]);
    assert!(votes(&g, 3).is_empty());
}

/// `get_metrics`' figures: neurons by state, stakes by half-year bucket of
/// dissolve delay, the Neurons' Fund, totals.
#[test]
fn cached_metrics_count_neurons_by_state_and_delay() {
    let mut g = governance();
    let locked = claimed(&mut g, 1, 10 * ICP);
    let dissolving = claimed(&mut g, 2, 20 * ICP);
    let dissolved = claimed(&mut g, 3, 30 * ICP);
    set(&mut g, locked, |n| {
        n.dissolve_state = DissolveState::DissolveDelaySeconds(ONE_YEAR_SECONDS);
        n.staked_maturity_e8s_equivalent = 7;
        n.joined_community_fund_timestamp_seconds = Some(T0);
        n.maturity_e8s_equivalent = 5;
    });
    set(&mut g, dissolving, |n| {
        n.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(T0 + 86_400);
    });
    set(&mut g, dissolved, |n| {
        n.dissolve_state = DissolveState::DissolveDelaySeconds(0);
    });
    let m = g.cached_metrics(T0, 1_000 * ICP, ICP);
    assert_eq!(m.total_supply_icp, 1_000);
    assert_eq!(
        (
            m.not_dissolving_neurons_count,
            m.dissolving_neurons_count,
            m.dissolved_neurons_count
        ),
        (1, 1, 1)
    );
    assert_eq!(
        m.not_dissolving_neurons_e8s_buckets,
        vec![(2, (10 * ICP) as f64)]
    );
    assert_eq!(m.not_dissolving_neurons_count_buckets, vec![(2, 1)]);
    assert_eq!(
        m.not_dissolving_neurons_staked_maturity_e8s_equivalent_sum,
        7
    );
    assert_eq!(
        m.dissolving_neurons_e8s_buckets,
        vec![(0, (20 * ICP) as f64)]
    );
    assert_eq!(m.dissolved_neurons_e8s, 30 * ICP);
    assert_eq!(m.total_staked_e8s, 60 * ICP);
    assert_eq!(m.total_locked_e8s, 30 * ICP);
    assert_eq!(m.neurons_with_less_than_6_months_dissolve_delay_count, 2);
    assert_eq!(
        (
            m.neurons_fund_total_active_neurons,
            m.community_fund_total_staked_e8s,
            m.community_fund_total_maturity_e8s_equivalent
        ),
        (1, 10 * ICP, 5)
    );
    assert_eq!(m.timestamp_seconds, T0);
}
