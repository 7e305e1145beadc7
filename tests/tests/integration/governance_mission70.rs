//! Governance under today's NNS rules ("Mission 70"), on both backends: the
//! two-year maximum delay and the quadratic bonus seen through the
//! canister's own answers, and the upgrade from the release before them
//! (a committed module of that release), which cuts every delay and
//! records the eight-year gang without losing anything else.

use candid::{Encode, Principal};
use integration_tests::env::{Backend, query_candid, query_candid_as};
use integration_tests::nns::{ICP, NnsEnv, ONE_WEEK, ONE_YEAR, configure, user};
use integration_tests::on_both_backends;
use nns_api::governance::{
    DissolveState, GovernanceArg, IncreaseDissolveDelay, MakeProposalRequest,
    ManageNeuronCommandRequest as Command, ManageNeuronCommandResponse as Reply, Motion,
    NetworkEconomics, Neuron, NeuronInfo, Operation, ProposalActionRequest, ProposalInfo,
    SetDissolveTimestamp,
};
use nns_api::ids::GOVERNANCE_CANISTER_ID;
use std::time::Duration;

on_both_backends!(
    should_answer_bad_calls_to_the_new_endpoints_with_clear_errors_and_change_nothing,
    should_register_known_neurons_by_proposal_and_show_private_neurons_as_the_nns,
    should_cap_delays_at_two_years_and_give_337_5_icp_for_the_worked_check,
    should_upgrade_from_release_edc9bc9_cutting_delays_and_recording_the_gang,
);

const TWO_YEARS: u64 = 2 * ONE_YEAR;

fn increase(env: &mut NnsEnv, owner: Principal, id: u64, seconds: u64) {
    let delay = IncreaseDissolveDelay {
        additional_dissolve_delay_seconds: u32::try_from(seconds).unwrap(),
    };
    env.manage(
        owner,
        id,
        configure(Operation::IncreaseDissolveDelay(delay)),
    )
    .unwrap();
}

fn claimed(env: &mut NnsEnv, owner: Principal, memo: u64, e8s: u64) -> u64 {
    env.stake(owner, memo, e8s);
    env.claim(owner, memo).unwrap()
}

/// 100 ICP, a dissolve delay of four years asked (two given: the maximum),
/// aged two years: 100 × 3 × 1.125 = 337.5 ICP of voting power. A dissolve
/// time beyond the maximum is capped too, not refused.
fn should_cap_delays_at_two_years_and_give_337_5_icp_for_the_worked_check(backend: Backend) {
    let mut env = NnsEnv::new(backend);
    let me = user(1);
    let id = claimed(&mut env, me, 1, 100 * ICP);
    increase(&mut env, me, id, 4 * ONE_YEAR);
    assert_eq!(env.neuron_info(id).dissolve_delay_seconds, TWO_YEARS);
    env.pic.advance_time(Duration::from_secs(TWO_YEARS));
    env.pic.tick();
    let info = env.neuron_info(id);
    assert_eq!(info.potential_voting_power, Some(33_750_000_000));
    assert_eq!(info.stake_e8s, 100 * ICP);

    let other = claimed(&mut env, me, 2, 10 * ICP);
    let far = env.now_seconds() + 8 * ONE_YEAR;
    env.manage(
        me,
        other,
        configure(Operation::SetDissolveTimestamp(SetDissolveTimestamp {
            dissolve_timestamp_seconds: far,
        })),
    )
    .unwrap();
    assert_eq!(env.neuron_info(other).dissolve_delay_seconds, TWO_YEARS);

    assert_todays_voting_economics(&mut env);
}

/// Two weeks' delay to vote; following cleared a twelfth of a year after
/// voting power starts fading.
fn assert_todays_voting_economics(env: &mut NnsEnv) {
    let (economics,): (NetworkEconomics,) = query_candid(
        &mut env.pic,
        GOVERNANCE_CANISTER_ID,
        "get_network_economics_parameters",
        (),
    )
    .unwrap();
    let power = economics.voting_power_economics.unwrap();
    assert_eq!(
        power.neuron_minimum_dissolve_delay_to_vote_seconds,
        Some(14 * 86_400)
    );
    assert_eq!(power.clear_following_after_seconds, Some(2_629_800));
}

fn motion() -> MakeProposalRequest {
    MakeProposalRequest {
        url: String::new(),
        title: Some("Keep going".into()),
        action: Some(ProposalActionRequest::Motion(Motion {
            motion_text: "Keep going.".into(),
        })),
        summary: String::new(),
    }
}

fn proposal(env: &mut NnsEnv, caller: Principal, id: u64) -> ProposalInfo {
    let (info,): (Option<ProposalInfo>,) = query_candid_as(
        &mut env.pic,
        GOVERNANCE_CANISTER_ID,
        caller,
        "get_proposal_info",
        (id,),
    )
    .unwrap();
    info.expect("the proposal is kept")
}

/// The release before today's rules (its module as built from commit
/// edc9bc9, checked in) holds neurons locked for eight years, four years
/// and one year, one dissolving with five years to go, and a proposal. Upgraded: delays above two years are two years, the
/// eight-year neuron's stake is its gang bonus base, the voting power is
/// today's, the economics take today's defaults, and everything else —
/// stakes, maturity, hot keys, followees, the proposal and its tally — is
/// as it was.
fn should_upgrade_from_release_edc9bc9_cutting_delays_and_recording_the_gang(backend: Backend) {
    let mut env = NnsEnv::new(backend);
    let old_module = std::fs::read(
        integration_tests::repo_root().join("tests/fixtures/governance-edc9bc9.wasm.gz"),
    )
    .expect("the fixture is checked in");
    env.pic
        .reinstall_canister(
            GOVERNANCE_CANISTER_ID,
            old_module,
            Encode!(&GovernanceArg::default()).unwrap(),
            None,
        )
        .unwrap();
    let me = user(1);
    let gang = claimed(&mut env, me, 1, 100 * ICP);
    increase(&mut env, me, gang, 8 * ONE_YEAR);
    let four = claimed(&mut env, me, 2, 20 * ICP);
    increase(&mut env, me, four, 4 * ONE_YEAR);
    let dissolving = claimed(&mut env, me, 3, 30 * ICP);
    increase(&mut env, me, dissolving, 5 * ONE_YEAR);
    env.manage(me, dissolving, configure(Operation::StartDissolving {}))
        .unwrap();
    let one = claimed(&mut env, user(2), 4, 40 * ICP);
    // A claimed neuron starts with a week: one year in all.
    increase(&mut env, user(2), one, ONE_YEAR - ONE_WEEK);
    env.manage(
        me,
        gang,
        configure(Operation::AddHotKey(nns_api::governance::AddHotKey {
            new_hot_key: Some(user(3)),
        })),
    )
    .unwrap();
    env.pic.advance_time(Duration::from_secs(ONE_YEAR / 4));
    env.pic.tick();
    let Reply::MakeProposal(made) = env
        .manage(me, gang, Command::MakeProposal(Box::new(motion())))
        .unwrap()
    else {
        panic!("not a proposal reply")
    };
    let proposal_id = made.proposal_id.unwrap().id;
    let ids = [gang, four, dissolving, one];
    let owners = [me, me, me, user(2)];
    let before: Vec<Neuron> = ids
        .iter()
        .zip(owners)
        .map(|(&id, owner)| env.full_neuron(owner, id).unwrap())
        .collect();
    let proposal_before = proposal(&mut env, me, proposal_id);

    let new_module = std::fs::read(integration_tests::wasm_gz_path("governance")).unwrap();
    env.pic
        .upgrade_canister(
            GOVERNANCE_CANISTER_ID,
            new_module,
            Encode!(&GovernanceArg::default()).unwrap(),
            None,
        )
        .unwrap();
    // The cut runs in timer steps right after the upgrade.
    for _ in 0..3 {
        env.pic.tick();
    }
    let now = env.now_seconds();
    let after: Vec<Neuron> = ids
        .iter()
        .zip(owners)
        .map(|(&id, owner)| env.full_neuron(owner, id).unwrap())
        .collect();
    let infos: Vec<NeuronInfo> = ids.iter().map(|&id| env.neuron_info(id)).collect();

    assert_eq!(
        after[0].dissolve_state,
        Some(DissolveState::DissolveDelaySeconds(TWO_YEARS))
    );
    // The proposal was adopted at once (the gang neuron held most of the
    // voting power), so no reject cost is owed: the base is all 100 ICP.
    assert_eq!(after[0].eight_year_gang_bonus_base_e8s, Some(100 * ICP));
    assert_eq!(infos[0].eight_year_gang_bonus_base_e8s, Some(100 * ICP));
    assert_eq!(
        after[1].dissolve_state,
        Some(DissolveState::DissolveDelaySeconds(TWO_YEARS))
    );
    assert_eq!(after[1].eight_year_gang_bonus_base_e8s, None);
    assert_eq!(infos[2].dissolve_delay_seconds, TWO_YEARS);
    assert_eq!(after[3].dissolve_state, before[3].dissolve_state);

    // Today's voting power: (stake + 10 % of the base) × 3 × the age bonus
    // (a quarter of a year of age: 1 + ¼ · 0.25/4).
    let age = infos[0].age_seconds;
    let expected_gang = u128::from(100 * ICP + 10 * ICP) * 3 * u128::from(16 * ONE_YEAR + age)
        / u128::from(16 * ONE_YEAR);
    assert_eq!(infos[0].potential_voting_power, Some(expected_gang as u64));
    let four_age = infos[1].age_seconds;
    assert_eq!(
        infos[1].potential_voting_power,
        Some(60 * ICP + 60 * ICP * four_age / (16 * ONE_YEAR))
    );
    // One year of two: 1 + 2 · ¼ = 1.5.
    let one_age = infos[3].age_seconds;
    let expected_one =
        u128::from(60 * ICP) * u128::from(16 * ONE_YEAR + one_age) / u128::from(16 * ONE_YEAR);
    assert_eq!(infos[3].potential_voting_power, Some(expected_one as u64));

    // Nothing else changed.
    for (old, new) in before.iter().zip(&after) {
        let comparable = |n: &Neuron| Neuron {
            dissolve_state: None,
            deciding_voting_power: None,
            potential_voting_power: None,
            eight_year_gang_bonus_base_e8s: None,
            visibility: None,
            recent_ballots: vec![],
            ..n.clone()
        };
        assert_eq!(comparable(old), comparable(new));
        // Written before visibility existed: private, as on the NNS.
        assert_eq!((old.visibility, new.visibility), (None, Some(1)));
    }
    // The old release listed no recent ballots; the proposer's vote shows.
    assert!(before[0].recent_ballots.is_empty());
    assert_eq!(after[0].recent_ballots.len(), 1);
    let proposal_after = proposal(&mut env, me, proposal_id);
    assert_eq!(proposal_after.latest_tally, proposal_before.latest_tally);
    assert_eq!(proposal_after.ballots, proposal_before.ballots);
    assert_eq!(
        proposal_after.deadline_timestamp_seconds,
        proposal_before.deadline_timestamp_seconds
    );

    assert_todays_voting_economics(&mut env);
    assert!(
        infos
            .iter()
            .all(|i| i.retrieved_at_timestamp_seconds == now)
    );
}

/// A known neuron registered by an adopted proposal is listed by
/// `list_known_neurons`, shown by `get_neuron_info` and public; a stranger
/// sees when a private neuron joined the Neurons' Fund only once it is
/// public; the NNS's actions this canister lacks are refused, not
/// undecodable.
fn should_register_known_neurons_by_proposal_and_show_private_neurons_as_the_nns(backend: Backend) {
    use nns_api::governance::{
        KnownNeuron, KnownNeuronData, ListKnownNeuronsResponse, NeuronId, ProposalStatus,
        SetVisibility,
    };
    let mut env = NnsEnv::new(backend);
    let me = user(1);
    let proposer = env.locked_neuron(me, 1, 100 * ICP);
    let candidate = claimed(&mut env, user(2), 2, 10 * ICP);
    let data = KnownNeuronData {
        name: "Candidate".into(),
        description: Some("Votes on everything.".into()),
        links: Some(vec!["https://candidate.example".into()]),
    };
    let register = MakeProposalRequest {
        action: Some(ProposalActionRequest::RegisterKnownNeuron(KnownNeuron {
            id: Some(NeuronId { id: candidate }),
            known_neuron_data: Some(data.clone()),
        })),
        ..motion()
    };
    let Reply::MakeProposal(made) = env
        .manage(me, proposer, Command::MakeProposal(Box::new(register)))
        .unwrap()
    else {
        panic!("not a proposal reply")
    };
    for _ in 0..3 {
        env.pic.tick();
    }
    let id = made.proposal_id.unwrap().id;
    assert_eq!(
        proposal(&mut env, me, id).status,
        ProposalStatus::Executed as i32
    );
    let (listed,): (ListKnownNeuronsResponse,) = query_candid(
        &mut env.pic,
        GOVERNANCE_CANISTER_ID,
        "list_known_neurons",
        (),
    )
    .unwrap();
    assert_eq!(
        listed.known_neurons,
        vec![KnownNeuron {
            id: Some(NeuronId { id: candidate }),
            known_neuron_data: Some(data.clone()),
        }]
    );
    let info = env.neuron_info(candidate);
    assert_eq!(info.known_neuron_data, Some(data));
    assert_eq!(info.visibility, Some(2), "known neurons are public");

    // The same name again: refused at submission.
    let again = MakeProposalRequest {
        action: Some(ProposalActionRequest::RegisterKnownNeuron(KnownNeuron {
            id: Some(NeuronId { id: proposer }),
            known_neuron_data: Some(KnownNeuronData {
                name: "Candidate".into(),
                description: None,
                links: None,
            }),
        })),
        ..motion()
    };
    let refused = env
        .manage(me, proposer, Command::MakeProposal(Box::new(again)))
        .unwrap_err();
    assert_eq!(
        refused.error_type,
        nns_api::governance::ErrorType::PreconditionFailed as i32
    );
    // An NNS action this canister does not carry: decoded, refused.
    let snapshot = MakeProposalRequest {
        action: Some(ProposalActionRequest::TakeCanisterSnapshot(
            candid::Reserved,
        )),
        ..motion()
    };
    let refused = env
        .manage(me, proposer, Command::MakeProposal(Box::new(snapshot)))
        .unwrap_err();
    assert_eq!(
        refused.error_type,
        nns_api::governance::ErrorType::InvalidProposal as i32
    );

    // The Neurons' Fund date of a private neuron: its own see it, a
    // stranger once it is public.
    env.manage(
        me,
        proposer,
        configure(Operation::SetVisibility(SetVisibility {
            visibility: Some(1),
        })),
    )
    .unwrap();
    env.manage(me, proposer, configure(Operation::JoinCommunityFund {}))
        .unwrap();
    let info_as = |env: &mut NnsEnv, caller| {
        let (info,): (Result<NeuronInfo, nns_api::governance::GovernanceError>,) = query_candid_as(
            &mut env.pic,
            GOVERNANCE_CANISTER_ID,
            caller,
            "get_neuron_info",
            (proposer,),
        )
        .unwrap();
        info.unwrap()
    };
    // Its recent ballot (the proposal it made) likewise.
    assert_eq!(info_as(&mut env, me).recent_ballots.len(), 1);
    assert!(info_as(&mut env, user(3)).recent_ballots.is_empty());
    let joined = env.now_seconds();
    assert_eq!(
        info_as(&mut env, me).joined_community_fund_timestamp_seconds,
        Some(joined)
    );
    assert_eq!(
        info_as(&mut env, user(3)).joined_community_fund_timestamp_seconds,
        None
    );
    env.manage(
        me,
        proposer,
        configure(Operation::SetVisibility(SetVisibility {
            visibility: Some(2),
        })),
    )
    .unwrap();
    assert_eq!(
        info_as(&mut env, user(3)).joined_community_fund_timestamp_seconds,
        Some(joined)
    );
    assert_eq!(info_as(&mut env, user(3)).recent_ballots.len(), 1);
}

/// Malformed and unauthorised calls to what this change added: each gets a
/// typed error, and the neurons are as they were.
fn should_answer_bad_calls_to_the_new_endpoints_with_clear_errors_and_change_nothing(
    backend: Backend,
) {
    use nns_api::governance::{
        ErrorType, GetMetricsResult, KnownNeuron, KnownNeuronData, ListNeuronVotesRequest,
        ListNeuronVotesResponse, ManageNeuronCommandResponse, ManageNeuronResponse, Merge,
        NeuronId, ProposalInfo, SetVisibility,
    };
    let mut env = NnsEnv::new(backend);
    let me = user(1);
    let a = env.locked_neuron(me, 1, 100 * ICP);
    let b = env.locked_neuron(me, 2, 10 * ICP);
    // What the calls below may not change (voting power grows with age as
    // rounds pass, so it is left out).
    let state = |env: &mut NnsEnv| {
        [a, b].map(|id| nns_api::governance::Neuron {
            deciding_voting_power: None,
            potential_voting_power: None,
            ..env.neuron(id)
        })
    };
    let before = state(&mut env);

    // Counted by the first daily run: not yet.
    let (metrics,): (GetMetricsResult,) =
        query_candid(&mut env.pic, GOVERNANCE_CANISTER_ID, "get_metrics", ()).unwrap();
    assert!(
        matches!(&metrics, GetMetricsResult::Err(e) if e.error_type == ErrorType::Unavailable as i32),
        "{metrics:?}"
    );
    // Votes of no neuron, and of a neuron that is not known.
    for neuron_id in [None, Some(NeuronId { id: a })] {
        let request = ListNeuronVotesRequest {
            neuron_id,
            before_proposal: None,
            limit: None,
        };
        let (reply,): (ListNeuronVotesResponse,) = query_candid(
            &mut env.pic,
            GOVERNANCE_CANISTER_ID,
            "list_neuron_votes",
            (request,),
        )
        .unwrap();
        assert!(
            matches!(&reply, ListNeuronVotesResponse::Err(e) if e.error_type == ErrorType::PreconditionFailed as i32),
            "{reply:?}"
        );
    }
    // Simulations: not a merge, no source, a stranger's.
    let simulate = |env: &mut NnsEnv, caller, command| {
        let (reply,): (ManageNeuronResponse,) = integration_tests::env::update_candid_as(
            &mut env.pic,
            GOVERNANCE_CANISTER_ID,
            caller,
            "simulate_manage_neuron",
            (integration_tests::nns::request(Some(a), command),),
        )
        .unwrap();
        match reply.command {
            Some(ManageNeuronCommandResponse::Error(e)) => e.error_type,
            other => panic!("not refused: {other:?}"),
        }
    };
    let follow = Command::Follow(nns_api::governance::Follow {
        topic: 4,
        followees: vec![],
    });
    assert_eq!(
        simulate(&mut env, me, follow),
        ErrorType::InvalidCommand as i32
    );
    let no_source = Command::Merge(Merge {
        source_neuron_id: None,
    });
    assert_eq!(
        simulate(&mut env, me, no_source),
        ErrorType::InvalidCommand as i32
    );
    let merge = Command::Merge(Merge {
        source_neuron_id: Some(NeuronId { id: b }),
    });
    assert_eq!(
        simulate(&mut env, user(3), merge),
        ErrorType::NotAuthorized as i32
    );
    // Visibility by a stranger, and an invalid one.
    for (caller, visibility) in [(user(3), Some(2)), (me, Some(7)), (me, None)] {
        let set = configure(Operation::SetVisibility(SetVisibility { visibility }));
        assert!(env.manage(caller, a, set).is_err());
    }
    // A known neuron without a name: refused at submission, nothing stored.
    let nameless = MakeProposalRequest {
        action: Some(ProposalActionRequest::RegisterKnownNeuron(KnownNeuron {
            id: Some(NeuronId { id: b }),
            known_neuron_data: Some(KnownNeuronData {
                name: String::new(),
                description: None,
                links: None,
            }),
        })),
        ..motion()
    };
    let refused = env
        .manage(me, a, Command::MakeProposal(Box::new(nameless)))
        .unwrap_err();
    assert_eq!(refused.error_type, ErrorType::InvalidProposal as i32);
    let (pending,): (Vec<ProposalInfo>,) = query_candid(
        &mut env.pic,
        GOVERNANCE_CANISTER_ID,
        "get_pending_proposals",
        (None::<nns_api::governance::GetPendingProposalsRequest>,),
    )
    .unwrap();
    assert!(pending.is_empty());
    assert_eq!(state(&mut env), before);
}
