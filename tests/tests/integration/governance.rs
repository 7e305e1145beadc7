//! Governance's neurons end to end with the real ledger, on both backends:
//! staking, claiming, dissolving, disbursing, splitting and merging, with
//! every balance checked to the e8s on the ledger, the permission matrix,
//! concurrency, a stopped ledger and bad input.

use candid::{Encode, Nat, Principal};
use integration_tests::env::{Backend, update_candid_as};
use integration_tests::nns::{
    FEE, ICP, NEURON_CREATION_SPIKE, NnsEnv as Env, ONE_WEEK, ONE_YEAR, SECONDS_PER_NEW_NEURON,
    configure, disburse_all, error_type, neuron_account, request, user,
};
use integration_tests::on_both_backends;
use nns_api::AccountIdentifier;
use nns_api::governance::{
    AddHotKey, Amount, By, ChangeAutoStakeMaturity, ClaimOrRefresh,
    ClaimOrRefreshNeuronFromAccount, ClaimOrRefreshNeuronFromAccountResponse, ClaimOrRefreshResult,
    Disburse, DisburseMaturity, ErrorType, Follow, GovernanceError, IncreaseDissolveDelay,
    ListNeurons, ListNeuronsResponse, MakeProposalRequest, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, ManageNeuronRequest, ManageNeuronResponse, Merge, Motion,
    NeuronId, NeuronIdOrSubaccount, NeuronState, Operation, ProposalActionRequest, ProposalId,
    RefreshVotingPower, RegisterVote, RemoveHotKey, SetDissolveTimestamp, Spawn, Split,
    StakeMaturity, Vote, staking_subaccount,
};
use nns_api::ids::{GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};
use std::time::Duration;

on_both_backends!(
    should_stake_claim_dissolve_and_disburse_to_the_e8s,
    should_take_a_top_up_on_refresh_without_its_age,
    should_split_and_merge_with_the_ledger_agreeing,
    should_enforce_the_permission_matrix,
    should_pay_once_for_two_interleaved_disburses,
    should_lose_nothing_when_the_ledger_is_stopped_during_a_disburse,
    should_refuse_bad_input_and_change_nothing,
    should_list_the_callers_neurons_page_by_page,
    should_refuse_new_neurons_beyond_the_allowance_until_it_builds_up,
    should_start_with_the_neurons_of_its_init_argument,
);

fn setup(backend: Backend) -> Env {
    Env::new(backend)
}

fn should_stake_claim_dissolve_and_disburse_to_the_e8s(backend: Backend) {
    let mut env = setup(backend);
    let me = user(1);
    let supply = env.total_supply();
    env.stake(me, 1, 10 * ICP);
    let id = env.claim(me, 1).unwrap();
    let neuron = env.neuron(id);
    assert_eq!(neuron.cached_neuron_stake_e8s, 10 * ICP);
    assert_eq!(neuron.controller, Some(me));
    assert_eq!(env.neuron_info(id).dissolve_delay_seconds, ONE_WEEK);

    let extend = IncreaseDissolveDelay {
        additional_dissolve_delay_seconds: (ONE_YEAR - ONE_WEEK) as u32,
    };
    env.manage(me, id, configure(Operation::IncreaseDissolveDelay(extend)))
        .unwrap();
    let info = env.neuron_info(id);
    assert_eq!(info.dissolve_delay_seconds, ONE_YEAR);
    assert_eq!(info.state, NeuronState::NotDissolving as i32);
    // A year's delay of two, no age: 10 ICP × (1 + 2 · (1/2)²).
    assert_eq!(info.potential_voting_power, Some(1_500_000_000));

    env.manage(me, id, configure(Operation::StartDissolving {}))
        .unwrap();
    assert_eq!(env.neuron_info(id).state, NeuronState::Dissolving as i32);
    assert_eq!(
        error_type(env.manage(me, id, disburse_all())),
        ErrorType::PreconditionFailed as i32
    );
    env.pic.advance_time(Duration::from_secs(ONE_YEAR));
    env.pic.tick();
    assert_eq!(env.neuron_info(id).state, NeuronState::Dissolved as i32);
    // Part of it to another account; the amount asked for includes the fee.
    let theirs = AccountIdentifier::new(&user(2), None);
    let part = Disburse {
        to_account: Some(nns_api::governance::AccountIdentifier {
            hash: theirs.as_bytes().to_vec().into(),
        }),
        amount: Some(Amount { e8s: 3 * ICP }),
    };
    env.manage(me, id, Command::Disburse(part)).unwrap();
    assert_eq!(env.balance(theirs), 1_003 * ICP - FEE);
    assert_eq!(env.neuron(id).cached_neuron_stake_e8s, 7 * ICP);
    // The rest to the controller.
    let Reply::Disburse(d) = env.manage(me, id, disburse_all()).unwrap() else {
        panic!("not a disburse reply")
    };
    assert!(d.transfer_block_height > 0);

    let mine = AccountIdentifier::new(&me, None);
    assert_eq!(env.balance(mine), 997 * ICP - 2 * FEE);
    assert_eq!(env.balance(neuron_account(me, 1)), 0);
    assert_eq!(env.neuron(id).cached_neuron_stake_e8s, 0);
    assert_eq!(env.total_supply(), supply - 3 * FEE);
}

fn should_take_a_top_up_on_refresh_without_its_age(backend: Backend) {
    let mut env = setup(backend);
    let me = user(1);
    env.stake(me, 5, 10 * ICP);
    let id = env.claim(me, 5).unwrap();
    let aging_since = env.neuron(id).aging_since_timestamp_seconds;
    env.pic.advance_time(Duration::from_secs(1_000));
    env.stake(me, 5, 10 * ICP);
    // Anyone may refresh a neuron: it only reads the ledger.
    let refresh = ManageNeuronRequest {
        neuron_id_or_subaccount: Some(NeuronIdOrSubaccount::Subaccount(
            staking_subaccount(&me, 5).to_vec().into(),
        )),
        command: Some(Command::ClaimOrRefresh(ClaimOrRefresh {
            by: Some(By::NeuronIdOrSubaccount {}),
        })),
        id: None,
    };
    env.manage_as(user(3), refresh).unwrap();
    let now = env.now_seconds();
    let neuron = env.neuron(id);
    assert_eq!(neuron.cached_neuron_stake_e8s, 20 * ICP);
    assert_eq!(
        neuron.aging_since_timestamp_seconds,
        now - (now - aging_since) / 2
    );
    // The other endpoint names the same neuron.
    let (r,): (ClaimOrRefreshNeuronFromAccountResponse,) = update_candid_as(
        &mut env.pic,
        GOVERNANCE_CANISTER_ID,
        me,
        "claim_or_refresh_neuron_from_account",
        (ClaimOrRefreshNeuronFromAccount {
            controller: None,
            memo: 5,
        },),
    )
    .unwrap();
    assert_eq!(
        r.result,
        Some(ClaimOrRefreshResult::NeuronId(NeuronId { id }))
    );
}

fn should_split_and_merge_with_the_ledger_agreeing(backend: Backend) {
    let mut env = setup(backend);
    let me = user(2);
    let supply = env.total_supply();
    env.stake(me, 1, 10 * ICP);
    let parent = env.claim(me, 1).unwrap();
    let Reply::Split(split) = env
        .manage(
            me,
            parent,
            Command::Split(Split {
                amount_e8s: 4 * ICP,
                memo: None,
            }),
        )
        .unwrap()
    else {
        panic!("not a split reply")
    };
    let child = split.created_neuron_id.unwrap().id;
    let (p, c) = (env.neuron(parent), env.neuron(child));
    assert_eq!(p.cached_neuron_stake_e8s, 6 * ICP);
    assert_eq!(c.cached_neuron_stake_e8s, 4 * ICP - FEE);
    assert_eq!(c.dissolve_state, p.dissolve_state);
    assert_eq!(env.stake_of_account(&p), 6 * ICP);
    assert_eq!(env.stake_of_account(&c), 4 * ICP - FEE);

    let Reply::Merge(merge) = env
        .manage(
            me,
            parent,
            Command::Merge(Merge {
                source_neuron_id: Some(NeuronId { id: child }),
            }),
        )
        .unwrap()
    else {
        panic!("not a merge reply")
    };
    let (p, c) = (env.neuron(parent), env.neuron(child));
    assert_eq!(merge.target_neuron, Some(p.clone()));
    assert_eq!(p.cached_neuron_stake_e8s, 10 * ICP - 2 * FEE);
    assert_eq!(c.cached_neuron_stake_e8s, 0);
    assert_eq!(env.stake_of_account(&p), 10 * ICP - 2 * FEE);
    assert_eq!(env.stake_of_account(&c), 0);
    assert_eq!(env.total_supply(), supply - 3 * FEE);
}

/// Who may do what, as a table: for each command, the outcome for a
/// stranger, the anonymous principal, a hot key and the controller, tried in
/// that order on one neuron.
fn should_enforce_the_permission_matrix(backend: Backend) {
    let mut env = setup(backend);
    let (controller, hot_key, stranger) = (user(1), user(2), user(3));
    env.stake(controller, 1, 20 * ICP);
    let id = env.claim(controller, 1).unwrap();
    env.stake(controller, 2, 5 * ICP);
    let other = env.claim(controller, 2).unwrap();
    env.manage(
        controller,
        id,
        configure(Operation::AddHotKey(AddHotKey {
            new_hot_key: Some(hot_key),
        })),
    )
    .unwrap();

    const OK: &str = "ok";
    let commands: Vec<(&str, Command)> = vec![
        (
            "IncreaseDissolveDelay",
            configure(Operation::IncreaseDissolveDelay(IncreaseDissolveDelay {
                additional_dissolve_delay_seconds: 1,
            })),
        ),
        (
            "AddHotKey",
            configure(Operation::AddHotKey(AddHotKey {
                new_hot_key: Some(user(4)),
            })),
        ),
        (
            "ChangeAutoStakeMaturity",
            configure(Operation::ChangeAutoStakeMaturity(
                ChangeAutoStakeMaturity {
                    requested_setting_for_auto_stake_maturity: true,
                },
            )),
        ),
        ("Disburse", disburse_all()),
        (
            "Split",
            Command::Split(Split {
                amount_e8s: 2 * ICP,
                memo: None,
            }),
        ),
        (
            "Merge",
            Command::Merge(Merge {
                source_neuron_id: Some(NeuronId { id: other }),
            }),
        ),
        (
            "Spawn",
            Command::Spawn(Spawn {
                percentage_to_spawn: None,
                new_controller: None,
                nonce: None,
            }),
        ),
        (
            "StakeMaturity",
            Command::StakeMaturity(StakeMaturity {
                percentage_to_stake: None,
            }),
        ),
        (
            "DisburseMaturity",
            Command::DisburseMaturity(DisburseMaturity {
                percentage_to_disburse: 100,
                to_account: None,
                to_account_identifier: None,
            }),
        ),
        (
            "Follow",
            Command::Follow(Follow {
                topic: 4,
                followees: vec![NeuronId { id: other }],
            }),
        ),
        (
            "Follow(NeuronManagement)",
            Command::Follow(Follow {
                topic: 1,
                followees: vec![NeuronId { id: other }],
            }),
        ),
        (
            "RefreshVotingPower",
            Command::RefreshVotingPower(RefreshVotingPower {}),
        ),
        (
            "ClaimOrRefresh",
            Command::ClaimOrRefresh(ClaimOrRefresh {
                by: Some(By::NeuronIdOrSubaccount {}),
            }),
        ),
        ("StartDissolving", configure(Operation::StartDissolving {})),
        ("StopDissolving", configure(Operation::StopDissolving {})),
        (
            "SetDissolveTimestamp",
            configure(Operation::SetDissolveTimestamp(SetDissolveTimestamp {
                dissolve_timestamp_seconds: env.now_seconds() + ONE_YEAR,
            })),
        ),
        (
            "RemoveHotKey",
            configure(Operation::RemoveHotKey(RemoveHotKey {
                hot_key_to_remove: Some(user(4)),
            })),
        ),
        (
            "MakeProposal",
            Command::MakeProposal(Box::new(MakeProposalRequest {
                url: String::new(),
                title: Some("A motion".into()),
                action: Some(ProposalActionRequest::Motion(Motion {
                    motion_text: "Permissions".into(),
                })),
                summary: String::new(),
            })),
        ),
        (
            "RegisterVote",
            Command::RegisterVote(RegisterVote {
                vote: Vote::Yes as i32,
                proposal: Some(ProposalId { id: 999 }),
            }),
        ),
    ];
    let name = |r: Result<Reply, GovernanceError>| match r {
        Ok(_) => OK.to_string(),
        Err(e) => error_type_name(e.error_type).to_string(),
    };
    let callers = [stranger, Principal::anonymous(), hot_key, controller];
    let mut actual = vec![];
    for (command_name, command) in &commands {
        let row: Vec<String> = callers
            .iter()
            .map(|&caller| name(env.manage(caller, id, command.clone())))
            .collect();
        actual.push((command_name.to_string(), row));
    }
    let read_row: Vec<String> = callers
        .iter()
        .map(|&caller| match env.full_neuron(caller, id) {
            Ok(_) => OK.to_string(),
            Err(e) => error_type_name(e.error_type).to_string(),
        })
        .collect();
    actual.push(("get_full_neuron".to_string(), read_row));

    let denied = "NotAuthorized";
    let expected: Vec<(&str, [&str; 4])> = vec![
        ("IncreaseDissolveDelay", [denied, denied, denied, OK]),
        ("AddHotKey", [denied, denied, denied, OK]),
        ("ChangeAutoStakeMaturity", [denied, denied, denied, OK]),
        ("Disburse", [denied, denied, denied, "PreconditionFailed"]),
        ("Split", [denied, denied, denied, OK]),
        ("Merge", [denied, denied, denied, OK]),
        ("Spawn", [denied, denied, denied, "InsufficientFunds"]),
        ("StakeMaturity", [denied, denied, denied, OK]),
        (
            "DisburseMaturity",
            [denied, denied, denied, "PreconditionFailed"],
        ),
        ("Follow", [denied, denied, OK, OK]),
        ("Follow(NeuronManagement)", [denied, denied, denied, OK]),
        ("RefreshVotingPower", [denied, denied, OK, OK]),
        ("ClaimOrRefresh", [OK, OK, OK, OK]),
        ("StartDissolving", [denied, denied, denied, OK]),
        ("StopDissolving", [denied, denied, denied, OK]),
        ("SetDissolveTimestamp", [denied, denied, denied, OK]),
        ("RemoveHotKey", [denied, denied, denied, OK]),
        // A hot key proposes and votes for its neuron, as on the NNS; this
        // one is locked too briefly to propose, and there is no proposal 999.
        (
            "MakeProposal",
            [denied, denied, "InsufficientFunds", "InsufficientFunds"],
        ),
        ("RegisterVote", [denied, denied, "NotFound", "NotFound"]),
        ("get_full_neuron", [denied, denied, OK, OK]),
    ];
    let expected: Vec<(String, Vec<String>)> = expected
        .into_iter()
        .map(|(c, row)| (c.to_string(), row.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(actual, expected);
}

fn error_type_name(code: i32) -> &'static str {
    const NAMES: [&str; 20] = [
        "Unspecified",
        "Ok",
        "Unavailable",
        "NotAuthorized",
        "NotFound",
        "InvalidCommand",
        "RequiresNotDissolving",
        "RequiresDissolving",
        "RequiresDissolved",
        "HotKey",
        "ResourceExhausted",
        "PreconditionFailed",
        "External",
        "LedgerUpdateOngoing",
        "InsufficientFunds",
        "InvalidPrincipal",
        "InvalidProposal",
        "AlreadyJoinedCommunityFund",
        "NotInTheCommunityFund",
        "NeuronAlreadyVoted",
    ];
    NAMES[usize::try_from(code).unwrap()]
}

fn should_pay_once_for_two_interleaved_disburses(backend: Backend) {
    let mut env = setup(backend);
    let me = user(1);
    let id = env.dissolved_neuron(me, 1, 10 * ICP);
    let mine = AccountIdentifier::new(&me, None);
    let before = env.balance(mine);
    let payload = Encode!(&request(Some(id), disburse_all())).unwrap();
    let first = env
        .pic
        .submit_call(GOVERNANCE_CANISTER_ID, me, "manage_neuron", payload.clone())
        .unwrap();
    let second = env
        .pic
        .submit_call(GOVERNANCE_CANISTER_ID, me, "manage_neuron", payload)
        .unwrap();
    let outcome = |bytes: Vec<u8>| {
        let response: ManageNeuronResponse = candid::decode_one(&bytes).unwrap();
        response.command.unwrap()
    };
    let replies = [
        outcome(env.pic.await_call(first).unwrap()),
        outcome(env.pic.await_call(second).unwrap()),
    ];
    let paid = replies
        .iter()
        .filter(|r| matches!(r, Reply::Disburse(_)))
        .count();
    assert_eq!(paid, 1, "{replies:?}");
    let refused = replies
        .iter()
        .find_map(|r| match r {
            Reply::Error(e) => Some(e.error_type),
            _ => None,
        })
        .unwrap();
    assert!(
        refused == ErrorType::LedgerUpdateOngoing as i32
            || refused == ErrorType::InsufficientFunds as i32,
        "{replies:?}"
    );
    assert_eq!(env.balance(mine), before + 10 * ICP - FEE);
    assert_eq!(env.balance(neuron_account(me, 1)), 0);
}

fn should_lose_nothing_when_the_ledger_is_stopped_during_a_disburse(backend: Backend) {
    let mut env = setup(backend);
    let me = user(1);
    let id = env.dissolved_neuron(me, 1, 10 * ICP);
    let before = env.neuron(id);
    env.pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
    assert_eq!(
        error_type(env.manage(me, id, disburse_all())),
        ErrorType::External as i32
    );
    assert_eq!(env.neuron(id), before);
    env.pic.start_canister(LEDGER_CANISTER_ID, None).unwrap();
    assert_eq!(env.balance(neuron_account(me, 1)), 10 * ICP);
    let mine = AccountIdentifier::new(&me, None);
    let balance = env.balance(mine);
    env.manage(me, id, disburse_all()).unwrap();
    assert_eq!(env.balance(mine), balance + 10 * ICP - FEE);
}

/// A disburse of a neuron with fees makes two ledger calls: the burn of
/// the fees, then the transfer of the stake. Here the ledger stops between
/// them: the fees stay burned, the transfer is rejected unexecuted, and
/// governance records the burn, undoes the rest and unlocks the neuron. On
/// the runtime only, where a round runs just the messages queued at its
/// start, so the stop can be placed between the two calls; a replica may
/// run both in one round.
#[test]
fn should_keep_the_burned_fees_when_the_ledger_stops_between_burn_and_transfer() {
    let mut env = setup(Backend::Runtime);
    let (me, other) = (user(1), user(2));
    let id = env.locked_neuron(me, 1, 30 * ICP);
    let opponent = env.locked_neuron(other, 1, 40 * ICP);
    // A rejected proposal leaves the reject cost as fees on the neuron.
    let Reply::MakeProposal(made) = env
        .manage(
            me,
            id,
            Command::MakeProposal(Box::new(MakeProposalRequest {
                url: String::new(),
                title: Some("Rejected".into()),
                action: Some(ProposalActionRequest::Motion(Motion {
                    motion_text: "no".into(),
                })),
                summary: String::new(),
            })),
        )
        .unwrap()
    else {
        panic!("not a proposal reply")
    };
    let vote = Command::RegisterVote(RegisterVote {
        vote: Vote::No as i32,
        proposal: made.proposal_id,
    });
    env.manage(other, opponent, vote).unwrap();
    let fees = env.neuron(id).neuron_fees_e8s;
    assert!(fees > 0);
    env.manage(me, id, configure(Operation::StartDissolving {}))
        .unwrap();
    env.pic
        .advance_time(Duration::from_secs(ONE_YEAR + ONE_WEEK + 1));

    let mine = AccountIdentifier::new(&me, None);
    let balance = env.balance(mine);
    let supply = env.total_supply();
    let payload = Encode!(&request(Some(id), disburse_all())).unwrap();
    let call = env
        .pic
        .submit_call(GOVERNANCE_CANISTER_ID, me, "manage_neuron", payload)
        .unwrap();
    // Round 1: governance sends the burn. Round 2: the ledger burns. Then
    // the stop: its round first delivers the burn's reply, on which
    // governance sends the transfer, which finds the ledger stopped.
    env.pic.tick();
    env.pic.tick();
    env.pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
    let reply: ManageNeuronResponse =
        candid::decode_one(&env.pic.await_call(call).unwrap()).unwrap();
    let Some(Reply::Error(e)) = reply.command else {
        panic!("the transfer cannot have happened: {reply:?}")
    };
    assert_eq!(e.error_type, ErrorType::External as i32, "{e:?}");
    env.pic.start_canister(LEDGER_CANISTER_ID, None).unwrap();

    // The burn happened and is recorded; the stake is where it was.
    assert_eq!(env.total_supply(), supply - fees);
    let neuron = env.neuron(id);
    assert_eq!(neuron.neuron_fees_e8s, 0);
    assert_eq!(neuron.cached_neuron_stake_e8s, 30 * ICP - fees);
    assert_eq!(env.balance(neuron_account(me, 1)), 30 * ICP - fees);
    assert_eq!(env.balance(mine), balance);
    // The neuron is unlocked: the retry pays what is left, once.
    env.manage(me, id, disburse_all()).unwrap();
    assert_eq!(env.balance(mine), balance + 30 * ICP - fees - FEE);
    assert_eq!(env.balance(neuron_account(me, 1)), 0);
    assert_eq!(env.total_supply(), supply - fees - FEE);
}

fn should_refuse_bad_input_and_change_nothing(backend: Backend) {
    let mut env = setup(backend);
    let me = user(1);
    // Unknown neuron; no command; a subaccount of the wrong length.
    assert_eq!(
        error_type(env.manage(me, 999, configure(Operation::StartDissolving {}))),
        ErrorType::NotFound as i32
    );
    let no_command = ManageNeuronRequest {
        command: None,
        ..request(Some(1), disburse_all())
    };
    assert_eq!(
        error_type(env.manage_as(me, no_command)),
        ErrorType::InvalidCommand as i32
    );
    let short = ManageNeuronRequest {
        neuron_id_or_subaccount: Some(NeuronIdOrSubaccount::Subaccount(vec![1; 31].into())),
        ..request(None, disburse_all())
    };
    assert_eq!(
        error_type(env.manage_as(me, short)),
        ErrorType::InvalidCommand as i32
    );
    // A stake below the minimum makes no neuron.
    env.stake(me, 1, ICP / 2);
    assert_eq!(
        env.claim(me, 1).unwrap_err().error_type,
        ErrorType::InsufficientFunds as i32
    );
    let (ids,): (Vec<u64>,) = integration_tests::env::query_candid_as(
        &mut env.pic,
        GOVERNANCE_CANISTER_ID,
        me,
        "get_neuron_ids",
        (),
    )
    .unwrap();
    assert!(ids.is_empty());
    // The same controller and nonce name the same neuron, whoever claims.
    env.stake(me, 1, ICP);
    let id = env.claim(me, 1).unwrap();
    assert_eq!(env.claim(me, 1), Ok(id));
    // A second split with the same memo would reuse the first one's
    // subaccount: refused, and nothing changes.
    env.stake(me, 7, 10 * ICP);
    let parent = env.claim(me, 7).unwrap();
    let split = Command::Split(Split {
        amount_e8s: 2 * ICP,
        memo: Some(5),
    });
    env.manage(me, parent, split.clone()).unwrap();
    let parent_before = env.neuron(parent);
    assert_eq!(
        error_type(env.manage(me, parent, split)),
        ErrorType::PreconditionFailed as i32
    );
    assert_eq!(env.neuron(parent), parent_before);
    assert_eq!(env.balance(neuron_account(me, 7)), 8 * ICP);
    let by_other = By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
        controller: Some(me),
        memo: 1,
    });
    let reply = env
        .manage_as(
            user(2),
            request(
                None,
                Command::ClaimOrRefresh(ClaimOrRefresh { by: Some(by_other) }),
            ),
        )
        .unwrap();
    assert!(
        matches!(reply, Reply::ClaimOrRefresh(r) if r.refreshed_neuron_id == Some(NeuronId { id }))
    );
    assert_eq!(env.neuron(id).cached_neuron_stake_e8s, ICP + ICP / 2);

    // The dissolve delay stops at two years; a timestamp past that is
    // capped to it, which at the maximum changes nothing and is refused.
    let huge = IncreaseDissolveDelay {
        additional_dissolve_delay_seconds: u32::MAX,
    };
    env.manage(me, id, configure(Operation::IncreaseDissolveDelay(huge)))
        .unwrap();
    env.manage(me, id, configure(Operation::IncreaseDissolveDelay(huge)))
        .unwrap();
    assert_eq!(env.neuron_info(id).dissolve_delay_seconds, 2 * ONE_YEAR);
    let before = env.neuron(id);
    let too_late = SetDissolveTimestamp {
        dissolve_timestamp_seconds: env.now_seconds() + 9 * ONE_YEAR,
    };
    assert_eq!(
        error_type(env.manage(me, id, configure(Operation::SetDissolveTimestamp(too_late)))),
        ErrorType::InvalidCommand as i32
    );
    // Ten hot keys at most; fifteen followees per topic at most.
    for n in 0..10u8 {
        let key = Principal::from_slice(&[n, 0x77]);
        env.manage(
            me,
            id,
            configure(Operation::AddHotKey(AddHotKey {
                new_hot_key: Some(key),
            })),
        )
        .unwrap();
    }
    let eleventh = AddHotKey {
        new_hot_key: Some(user(4)),
    };
    assert_eq!(
        error_type(env.manage(me, id, configure(Operation::AddHotKey(eleventh)))),
        ErrorType::ResourceExhausted as i32
    );
    let mut followees = vec![];
    for memo in 10..26 {
        env.stake(user(2), memo, ICP);
        followees.push(NeuronId {
            id: env.claim(user(2), memo).unwrap(),
        });
    }
    assert_eq!(
        error_type(env.manage(
            me,
            id,
            Command::Follow(Follow {
                topic: 4,
                followees
            })
        )),
        ErrorType::InvalidCommand as i32
    );
    let after = env.neuron(id);
    assert_eq!(after.hot_keys.len(), 10);
    assert_eq!(
        (after.dissolve_state, after.followees.clone()),
        (before.dissolve_state, before.followees)
    );
    // A request that is not Candid for the method is rejected.
    let reject = env
        .pic
        .update_call(
            GOVERNANCE_CANISTER_ID,
            me,
            "manage_neuron",
            b"DIDL\x00\x01\x7f".to_vec(),
        )
        .unwrap_err();
    assert!(!reject.reject_message.is_empty());
}

fn should_list_the_callers_neurons_page_by_page(backend: Backend) {
    let mut env = setup(backend);
    let (me, friend) = (user(1), user(2));
    let mut mine = vec![];
    for memo in 0..5 {
        env.stake(me, memo, 2 * ICP);
        mine.push(env.claim(me, memo).unwrap());
    }
    env.stake(friend, 0, 2 * ICP);
    let theirs = env.claim(friend, 0).unwrap();
    // The friend holds a hot key of one of mine.
    env.manage(
        me,
        mine[4],
        configure(Operation::AddHotKey(AddHotKey {
            new_hot_key: Some(friend),
        })),
    )
    .unwrap();
    let list = |env: &mut Env, caller, page| {
        let (r,): (ListNeuronsResponse,) = integration_tests::env::query_candid_as(
            &mut env.pic,
            GOVERNANCE_CANISTER_ID,
            caller,
            "list_neurons",
            (ListNeurons {
                neuron_ids: vec![theirs],
                include_neurons_readable_by_caller: true,
                page_number: Some(page),
                page_size: Some(2),
                ..Default::default()
            },),
        )
        .unwrap();
        r
    };
    let mut seen = vec![];
    for page in 0..3 {
        let r = list(&mut env, me, page);
        assert_eq!(r.total_pages_available, Some(3));
        seen.extend(r.neuron_infos.iter().map(|(id, _)| *id));
        // The friend's neuron is listed, but only mine in full.
        assert!(r.full_neurons.iter().all(|n| n.controller == Some(me)));
    }
    let mut expected = mine.clone();
    expected.push(theirs);
    expected.sort_unstable();
    assert_eq!(seen, expected);
    let r = list(&mut env, friend, 0);
    let full: Vec<u64> = r.full_neurons.iter().map(|n| n.id.unwrap().id).collect();
    assert_eq!(full, vec![theirs.min(mine[4]), theirs.max(mine[4])]);
}

/// Upgrades cost the same whatever governance holds, and every neuron
/// survives one unchanged: 100 000 neurons, staked through the ledger's
/// batch transfers and claimed one by one (over months, at the pace the
/// allowance for new neurons permits).
#[test]
fn should_upgrade_with_100_000_neurons_unchanged() {
    use icrc_ledger_types::icrc1::account::Account;
    use icrc_ledger_types::icrc1::transfer::TransferArg;
    use nns_api::governance::GovernanceArg;
    use nns_api::ledger::TransferBatchResult;

    const NEURONS: u64 = 100_000;
    const BATCH: u64 = 1_000;
    // On the runtime only: it counts the instructions an upgrade uses.
    let mut env = setup(Backend::Runtime);
    let owner = user(1);
    let upgrade = |env: &mut Env| {
        let wasm = std::fs::read(integration_tests::wasm_gz_path("governance")).unwrap();
        env.pic
            .upgrade_canister(
                GOVERNANCE_CANISTER_ID,
                wasm,
                Encode!(&GovernanceArg::default()).unwrap(),
                None,
            )
            .unwrap();
        env.pic
            .as_runtime()
            .last_execution_instructions(GOVERNANCE_CANISTER_ID)
    };
    let empty_upgrade = upgrade(&mut env);
    // The owner's ICP, moved to user(1)'s staking subaccounts 1 ICP each.
    let (minted,): (Result<u64, TransferError>,) = update_candid_as(
        &mut env.pic,
        LEDGER_CANISTER_ID,
        GOVERNANCE_CANISTER_ID,
        "transfer",
        (TransferArgs {
            memo: Memo(0),
            amount: Tokens::from_e8s(NEURONS * (ICP + FEE)),
            fee: Tokens::from_e8s(0),
            from_subaccount: None,
            to: AccountIdentifier::new(&owner, None),
            created_at_time: None,
        },),
    )
    .unwrap();
    minted.unwrap();
    for first in (0..NEURONS).step_by(BATCH as usize) {
        let batch: Vec<TransferArg> = (first..first + BATCH)
            .map(|memo| TransferArg {
                from_subaccount: None,
                to: Account {
                    owner: GOVERNANCE_CANISTER_ID,
                    subaccount: Some(staking_subaccount(&owner, memo)),
                },
                fee: None,
                created_at_time: None,
                memo: None,
                amount: Nat::from(ICP),
            })
            .collect();
        let (results,): (Vec<Option<TransferBatchResult>>,) = update_candid_as(
            &mut env.pic,
            LEDGER_CANISTER_ID,
            owner,
            "icrc4_transfer_batch",
            (batch,),
        )
        .unwrap();
        assert!(results.iter().all(|r| matches!(r, Some(Ok(_)))));
        // Claims submitted together run interleaved, as on the IC, as many
        // at once as the allowance for new neurons lets through; then time
        // passes until it is full again.
        let memos: Vec<u64> = (first..first + BATCH).collect();
        for spike in memos.chunks(NEURON_CREATION_SPIKE as usize) {
            let claims: Vec<_> = spike
                .iter()
                .map(|&memo| {
                    let arg = ClaimOrRefreshNeuronFromAccount {
                        controller: Some(owner),
                        memo,
                    };
                    env.pic
                        .submit_call(
                            GOVERNANCE_CANISTER_ID,
                            owner,
                            "claim_or_refresh_neuron_from_account",
                            Encode!(&arg).unwrap(),
                        )
                        .unwrap()
                })
                .collect();
            for claim in claims {
                let reply = env.pic.await_call(claim).unwrap();
                let r: ClaimOrRefreshNeuronFromAccountResponse =
                    candid::decode_one(&reply).unwrap();
                assert!(matches!(r.result, Some(ClaimOrRefreshResult::NeuronId(_))));
            }
            env.pic.advance_time(Duration::from_secs(
                NEURON_CREATION_SPIKE * SECONDS_PER_NEW_NEURON,
            ));
        }
    }
    let snapshot = |env: &mut Env| {
        let mut neurons = vec![];
        for page in 0.. {
            let (r,): (ListNeuronsResponse,) = integration_tests::env::query_candid_as(
                &mut env.pic,
                GOVERNANCE_CANISTER_ID,
                owner,
                "list_neurons",
                (ListNeurons {
                    include_neurons_readable_by_caller: true,
                    include_empty_neurons_readable_by_caller: Some(true),
                    page_number: Some(page),
                    ..Default::default()
                },),
            )
            .unwrap();
            neurons.extend(r.full_neurons);
            if page + 1 >= r.total_pages_available.unwrap() {
                return neurons;
            }
        }
        unreachable!()
    };
    let before = snapshot(&mut env);
    assert_eq!(before.len() as u64, NEURONS);
    assert!(before.iter().all(|n| n.cached_neuron_stake_e8s == ICP));
    let full_upgrade = upgrade(&mut env);
    assert_eq!(snapshot(&mut env), before);
    // Not a timing: instruction counts are deterministic.
    assert!(
        full_upgrade < 2 * empty_upgrade,
        "upgrade used {empty_upgrade} instructions with no neurons, {full_upgrade} with {NEURONS}"
    );
}

/// As on the NNS, claims and splits draw on an allowance of 300 new neurons
/// that grows back by one every four minutes: a stake whose claim is
/// refused stays in its account and is claimed later.
fn should_refuse_new_neurons_beyond_the_allowance_until_it_builds_up(backend: Backend) {
    let mut env = setup(backend);
    let me = user(1);
    for memo in 0..=NEURON_CREATION_SPIKE {
        env.stake(me, memo, ICP + FEE);
    }
    let first = env.claim(me, 0).unwrap();
    for memo in 1..NEURON_CREATION_SPIKE {
        env.claim(me, memo).unwrap();
    }
    let refused = env.claim(me, NEURON_CREATION_SPIKE).unwrap_err();
    assert_eq!(
        refused.error_type,
        ErrorType::Unavailable as i32,
        "{refused:?}"
    );
    let split = Command::Split(Split {
        amount_e8s: ICP / 2,
        memo: None,
    });
    assert_eq!(
        error_type(env.manage(me, first, split)),
        ErrorType::InsufficientFunds as i32,
        "each part keeps the minimum stake"
    );
    // A refresh creates no neuron.
    assert_eq!(env.claim(me, 0), Ok(first));
    assert_eq!(
        env.balance(neuron_account(me, NEURON_CREATION_SPIKE)),
        ICP + FEE
    );
    env.pic
        .advance_time(Duration::from_secs(SECONDS_PER_NEW_NEURON));
    let last = env.claim(me, NEURON_CREATION_SPIKE).unwrap();
    assert_eq!(env.neuron(last).cached_neuron_stake_e8s, ICP + FEE);
    env.stake(me, 1_000, ICP);
    assert_eq!(
        env.claim(me, 1_000).unwrap_err().error_type,
        ErrorType::Unavailable as i32
    );
}

/// Neurons in the init argument, as mainnet's genesis neurons: their
/// stakes on the ledger from its own init, found by their controllers,
/// refreshed by memo without becoming new neurons, followed and voting;
/// a neuron claimed afterwards gets the next id.
fn should_start_with_the_neurons_of_its_init_argument(backend: Backend) {
    use nns_api::governance::{DissolveState, Followees, GovernanceArg, Neuron};
    let mut pic = integration_tests::env::TestEnv::new(backend);
    let given = |id: u64, owner: Principal, stake: u64, following: &[u64]| Neuron {
        id: Some(NeuronId { id }),
        controller: Some(owner),
        account: staking_subaccount(&owner, 0).to_vec().into(),
        cached_neuron_stake_e8s: stake,
        dissolve_state: Some(DissolveState::DissolveDelaySeconds(ONE_YEAR)),
        // The catch-all (0) and motions (4), which the catch-all leaves out.
        followees: [0, 4]
            .into_iter()
            .filter(|_| !following.is_empty())
            .map(|topic| {
                let followees = following.iter().map(|&id| NeuronId { id }).collect();
                (topic, Followees { followees })
            })
            .collect(),
        visibility: Some(2),
        ..Neuron::default()
    };
    let neurons = vec![
        given(7, user(2), 50 * ICP, &[]),
        given(3, user(3), 20 * ICP, &[7]),
    ];
    integration_tests::install_ledger_with_accounts(
        &mut pic,
        [
            (AccountIdentifier::new(&user(1), None), 100 * ICP),
            (neuron_account(user(2), 0), 50 * ICP),
            (neuron_account(user(3), 0), 20 * ICP),
        ],
    );
    integration_tests::install_governance_with(
        &mut pic,
        GovernanceArg {
            neurons: Some(neurons),
            ..Default::default()
        },
    );
    let mut env = Env { pic };
    let seven = env.neuron(7);
    assert_eq!(seven.controller, Some(user(2)));
    assert_eq!(seven.cached_neuron_stake_e8s, 50 * ICP);
    assert_eq!(env.neuron_info(3).dissolve_delay_seconds, ONE_YEAR);
    // A refresh by memo finds the genesis neuron and its stake unchanged.
    assert_eq!(env.claim(user(3), 0), Ok(3));
    assert_eq!(env.neuron(3).cached_neuron_stake_e8s, 20 * ICP);
    env.stake(user(1), 0, 10 * ICP);
    assert_eq!(
        env.claim(user(1), 0),
        Ok(8),
        "new ids follow the given ones"
    );
    // Neuron 3 follows 7: 7's motion passes with both stakes behind it.
    let motion = MakeProposalRequest {
        url: String::new(),
        title: Some("Genesis".into()),
        action: Some(ProposalActionRequest::Motion(Motion {
            motion_text: "The genesis neurons decide.".into(),
        })),
        summary: "Made by a genesis neuron.".into(),
    };
    let Ok(Reply::MakeProposal(made)) =
        env.manage(user(2), 7, Command::MakeProposal(Box::new(motion)))
    else {
        panic!("the proposal is made");
    };
    let id = made.proposal_id.unwrap().id;
    let (info,): (Option<nns_api::governance::ProposalInfo>,) =
        integration_tests::env::query_candid(
            &mut env.pic,
            GOVERNANCE_CANISTER_ID,
            "get_proposal_info",
            (id,),
        )
        .unwrap();
    let tally = info.unwrap().latest_tally.unwrap();
    assert_eq!(tally.no, 0);
    assert_eq!(
        tally.yes, tally.total,
        "the follower voted with its followee"
    );
}
