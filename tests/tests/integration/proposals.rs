//! Proposals end to end with the real ledger and CMC, on both backends:
//! neurons propose and vote (directly and through following), adopted
//! proposals change the other canisters over Candid calls, rejected ones
//! cost their proposer, deadlines pass on the timer, and bad proposals are
//! refused with nothing changed.

use candid::{Encode, Nat, Principal};
use integration_tests::env::{Backend, TestEnv, query_candid, query_candid_as, update_candid_as};
use integration_tests::nns::{ICP, NnsEnv, ONE_WEEK, ONE_YEAR, configure, user};
use integration_tests::on_both_backends;
use integration_tests::{certified_icp_xdr_rate, install_cmc, install_governance, install_ledger};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    MEMO_TOP_UP, NotifyError, NotifyTopUpArg, UpdateIcpXdrConversionRatePayload, cycles_for_e8s,
};
use nns_api::governance::{
    ErrorType, ExecuteNnsFunction, Follow, GovernanceArg, InstallCodeRequest,
    ListProposalInfoRequest, ListProposalInfoResponse, MakeProposalRequest,
    ManageNeuronCommandRequest as Command, ManageNeuronCommandResponse as Reply,
    MonthlyNodeProviderRewards, Motion, NetworkEconomics, NeuronId, Operation,
    ProposalActionRequest, ProposalId, ProposalInfo, ProposalStatus, RegisterVote, RewardEvent,
    Topic, Vote, nns_function,
};
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID};
use std::time::Duration;

on_both_backends!(
    should_change_the_cmc_rate_through_an_adopted_proposal,
    should_charge_the_reject_cost_when_rejected,
    should_decide_at_the_deadline_on_the_timer,
    should_keep_open_proposals_across_an_upgrade,
    should_refuse_bad_proposals_and_votes,
    should_change_network_economics_and_mint_node_provider_rewards,
    should_reward_voters_by_the_formula_and_turn_maturity_into_icp,
    should_upgrade_the_ledger_through_an_install_code_proposal,
    should_list_pending_and_failed_proposals,
    should_forget_old_proposals_beyond_the_limit_per_topic,
    should_cascade_through_a_chain_and_a_cycle_and_wait_for_quiet,
    should_reject_at_the_deadline_a_majority_under_three_percent,
    should_decide_exactly_half_for_no_and_ties_against_the_proposal,
    should_execute_an_adopted_proposal_once_whatever_comes_after,
    should_unstake_the_maturity_of_dissolved_neurons,
    should_let_split_and_spawned_neurons_vote_by_following,
    should_keep_proposal_listings_within_the_reply_limit,
    should_start_the_ledger_again_after_an_upgrade_of_governance_interrupts_its_install,
    should_mint_node_provider_rewards_monthly,
);

const RATE: u64 = 35_000;
const FEE: u64 = 10_000;

struct Env {
    nns: NnsEnv,
    /// Neurons of users 1, 2 and 3 with 40, 30 and 30 ICP, locked a year.
    neurons: [u64; 3],
}

fn setup(backend: Backend) -> Env {
    let mut nns = NnsEnv::new(backend);
    install_cmc(&mut nns.pic, RATE, None);
    let neurons = [(1, 40), (2, 30), (3, 30)].map(|(n, icp)| locked_neuron(&mut nns, user(n), icp));
    Env { nns, neurons }
}

fn locked_neuron(nns: &mut NnsEnv, owner: Principal, icp: u64) -> u64 {
    locked_neuron_with_memo(nns, owner, 0, icp)
}

fn locked_neuron_with_memo(nns: &mut NnsEnv, owner: Principal, memo: u64, icp: u64) -> u64 {
    nns.locked_neuron(owner, memo, icp * ICP)
}

fn motion(text: &str) -> MakeProposalRequest {
    MakeProposalRequest {
        url: "https://forum.example/motion".into(),
        title: Some("A motion".into()),
        action: Some(ProposalActionRequest::Motion(Motion {
            motion_text: text.into(),
        })),
        summary: "Decide something.".into(),
    }
}

fn rate_proposal(rate: u64, timestamp_seconds: u64) -> MakeProposalRequest {
    let payload = UpdateIcpXdrConversionRatePayload {
        data_source: "test".into(),
        timestamp_seconds,
        xdr_permyriad_per_icp: rate,
        reason: None,
    };
    MakeProposalRequest {
        url: String::new(),
        title: Some("Set the ICP/XDR rate".into()),
        action: Some(ProposalActionRequest::ExecuteNnsFunction(
            ExecuteNnsFunction {
                nns_function: nns_function::ICP_XDR_CONVERSION_RATE,
                payload: Encode!(&payload).unwrap().into(),
            },
        )),
        summary: String::new(),
    }
}

impl Env {
    fn now_seconds(&self) -> u64 {
        self.nns.pic.get_time().as_nanos_since_unix_epoch() / 1_000_000_000
    }

    fn propose(&mut self, who: usize, proposal: MakeProposalRequest) -> Result<u64, i32> {
        self.propose_as(user(who as u8 + 1), self.neurons[who], proposal)
    }

    fn propose_as(
        &mut self,
        caller: Principal,
        neuron: u64,
        proposal: MakeProposalRequest,
    ) -> Result<u64, i32> {
        let reply = self
            .nns
            .manage(caller, neuron, Command::MakeProposal(Box::new(proposal)))
            .map_err(|e| e.error_type)?;
        let Reply::MakeProposal(r) = reply else {
            panic!("not a proposal reply: {reply:?}")
        };
        Ok(r.proposal_id.unwrap().id)
    }

    fn vote(&mut self, who: usize, proposal: u64, vote: Vote) -> Result<(), i32> {
        self.vote_as(user(who as u8 + 1), self.neurons[who], proposal, vote)
    }

    fn vote_as(
        &mut self,
        caller: Principal,
        neuron: u64,
        proposal: u64,
        vote: Vote,
    ) -> Result<(), i32> {
        let command = Command::RegisterVote(RegisterVote {
            vote: vote as i32,
            proposal: Some(ProposalId { id: proposal }),
        });
        self.nns
            .manage(caller, neuron, command)
            .map(|_| ())
            .map_err(|e| e.error_type)
    }

    /// The proposal as `caller` sees it: with the ballots of its neurons.
    fn info_as(&mut self, caller: Principal, id: u64) -> ProposalInfo {
        let (info,): (Option<ProposalInfo>,) = query_candid_as(
            &mut self.nns.pic,
            GOVERNANCE_CANISTER_ID,
            caller,
            "get_proposal_info",
            (id,),
        )
        .unwrap();
        info.expect("the proposal exists")
    }

    fn info(&mut self, id: u64) -> ProposalInfo {
        self.info_as(Principal::anonymous(), id)
    }

    /// The ids of the proposals still open, in order.
    fn pending(&mut self) -> Vec<u64> {
        let (pending,): (Vec<ProposalInfo>,) = query_candid(
            &mut self.nns.pic,
            GOVERNANCE_CANISTER_ID,
            "get_pending_proposals",
            (None::<()>,),
        )
        .unwrap();
        let mut ids: Vec<u64> = pending.iter().map(|p| p.id.unwrap().id).collect();
        ids.sort();
        ids
    }

    /// Lets timers (the execution of adopted proposals) run: an install
    /// takes a few rounds (stop, install, start).
    fn settle(&mut self) {
        for _ in 0..10 {
            self.nns.pic.tick();
        }
    }

    /// Adds `id` to governance's node providers by an adopted proposal.
    fn add_node_provider(&mut self, id: Principal, reward_account: Option<AccountIdentifier>) {
        let id = self
            .propose(0, add_or_remove_node_provider(id, reward_account, true))
            .unwrap();
        self.vote(1, id, Vote::Yes).unwrap();
        self.settle();
        assert_eq!(self.info(id).status, ProposalStatus::Executed as i32);
    }
}

fn add_or_remove_node_provider(
    id: Principal,
    reward_account: Option<AccountIdentifier>,
    add: bool,
) -> MakeProposalRequest {
    use nns_api::governance::{AddOrRemoveNodeProvider, Change, NodeProvider};
    let provider = NodeProvider {
        id: Some(id),
        reward_account: reward_account.map(|a| nns_api::governance::AccountIdentifier {
            hash: a.as_bytes().to_vec().into(),
        }),
    };
    let mut proposal = motion("");
    proposal.action = Some(ProposalActionRequest::AddOrRemoveNodeProvider(
        AddOrRemoveNodeProvider {
            change: Some(if add {
                Change::ToAdd(provider)
            } else {
                Change::ToRemove(provider)
            }),
        },
    ));
    proposal
}

fn should_change_the_cmc_rate_through_an_adopted_proposal(backend: Backend) {
    let mut env = setup(backend);
    // Neuron 2 follows neuron 1 on exchange-rate proposals: 1's vote brings
    // 70 % of the voting power, a majority, at once.
    let follow = Command::Follow(Follow {
        topic: Topic::ExchangeRate as i32,
        followees: vec![NeuronId { id: env.neurons[0] }],
    });
    env.nns.manage(user(2), env.neurons[1], follow).unwrap();
    // Newer than the rate the CMC was installed with.
    let id = env
        .propose(0, rate_proposal(50_000, env.now_seconds() + 60))
        .unwrap();
    env.settle();
    let info = env.info(id);
    assert_eq!(info.topic, Topic::ExchangeRate as i32);
    assert_eq!(info.status, ProposalStatus::Executed as i32, "{info:?}");
    let tally = info.latest_tally.unwrap();
    // 70 % of the stake, give or take the voting power's rounding.
    assert_eq!(tally.no, 0);
    assert!(
        (69..=70).contains(&(tally.yes * 100 / tally.total)),
        "{tally:?}"
    );
    assert_eq!(
        certified_icp_xdr_rate(&mut env.nns.pic).xdr_permyriad_per_icp,
        50_000
    );

    // A top-up now converts at the new rate.
    let app = env.nns.pic.create_canister();
    let amount = 2 * ICP;
    let paid = env.nns.transfer_with_memo(
        user(4),
        AccountIdentifier::new(
            &CYCLES_MINTING_CANISTER_ID,
            Some(&principal_to_subaccount(&app)),
        ),
        amount,
        MEMO_TOP_UP,
    );
    let (cycles,): (Result<Nat, NotifyError>,) = update_candid_as(
        &mut env.nns.pic,
        CYCLES_MINTING_CANISTER_ID,
        user(4),
        "notify_top_up",
        (NotifyTopUpArg {
            block_index: paid,
            canister_id: app,
        },),
    )
    .unwrap();
    assert_eq!(cycles.unwrap(), Nat::from(cycles_for_e8s(amount, 50_000)));
}

fn should_charge_the_reject_cost_when_rejected(backend: Backend) {
    let mut env = setup(backend);
    let id = env.propose(0, motion("Reject me")).unwrap();
    let cost = NetworkEconomics::default().reject_cost_e8s;
    assert_eq!(env.nns.neuron(env.neurons[0]).neuron_fees_e8s, cost);
    env.vote(1, id, Vote::No).unwrap();
    assert_eq!(env.info(id).status, ProposalStatus::Open as i32, "30 % no");
    env.vote(2, id, Vote::No).unwrap();
    let info = env.info(id);
    assert_eq!(info.status, ProposalStatus::Rejected as i32);
    assert_eq!(
        info.ballots.len(),
        0,
        "user 3 sees only its own neurons' ballots"
    );
    assert_eq!(env.nns.neuron(env.neurons[0]).neuron_fees_e8s, cost);
    // The fees are burned when the neuron is disbursed.
    let supply = env.nns.total_supply();
    env.nns
        .manage(
            user(1),
            env.neurons[0],
            configure(Operation::StartDissolving {}),
        )
        .unwrap();
    env.nns
        .pic
        .advance_time(Duration::from_secs(ONE_YEAR + ONE_WEEK + 1));
    env.nns
        .manage(
            user(1),
            env.neurons[0],
            integration_tests::nns::disburse_all(),
        )
        .unwrap();
    let mine = AccountIdentifier::new(&user(1), None);
    assert_eq!(
        env.nns.balance(mine),
        1_000 * ICP - 40 * ICP - FEE + 40 * ICP - cost - FEE
    );
    assert_eq!(env.nns.total_supply(), supply - cost - FEE);
}

fn should_decide_at_the_deadline_on_the_timer(backend: Backend) {
    let mut env = setup(backend);
    let id = env.propose(0, motion("Quietly")).unwrap();
    let info = env.info(id);
    let deadline = info.deadline_timestamp_seconds.unwrap();
    assert_eq!(deadline, info.proposal_timestamp_seconds + 4 * 24 * 3600);
    env.nns
        .pic
        .advance_time(Duration::from_secs(4 * 24 * 3600 - 120));
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Open as i32);
    env.nns.pic.advance_time(Duration::from_secs(240));
    env.settle();
    // 40 % yes, no no: yes wins, and it is over 3 %.
    let info = env.info(id);
    assert_eq!(info.status, ProposalStatus::Executed as i32, "{info:?}");
    assert_eq!(env.nns.neuron(env.neurons[0]).neuron_fees_e8s, 0);
    assert_eq!(
        env.vote(1, id, Vote::Yes),
        Err(ErrorType::PreconditionFailed as i32)
    );
}

fn should_keep_open_proposals_across_an_upgrade(backend: Backend) {
    let mut env = setup(backend);
    let id = env.propose(0, motion("Survive")).unwrap();
    env.vote(1, id, Vote::No).unwrap();
    let before = env.info(id);
    let wasm = std::fs::read(integration_tests::wasm_gz_path("governance")).unwrap();
    env.nns
        .pic
        .upgrade_canister(
            GOVERNANCE_CANISTER_ID,
            wasm,
            Encode!(&GovernanceArg::default()).unwrap(),
            None,
        )
        .unwrap();
    assert_eq!(env.info(id), before);
    // Voting goes on: 3's no makes 60 %.
    env.vote(2, id, Vote::No).unwrap();
    assert_eq!(env.info(id).status, ProposalStatus::Rejected as i32);
}

fn should_refuse_bad_proposals_and_votes(backend: Backend) {
    let mut env = setup(backend);
    let invalid = ErrorType::InvalidProposal as i32;
    let now = env.nns.now_seconds();
    // Malformed payload; unsupported function; payload over the limit.
    let mut bad = rate_proposal(50_000, now);
    bad.action = Some(ProposalActionRequest::ExecuteNnsFunction(
        ExecuteNnsFunction {
            nns_function: nns_function::ICP_XDR_CONVERSION_RATE,
            payload: vec![1, 2, 3].into(),
        },
    ));
    assert_eq!(env.propose(0, bad), Err(invalid));
    let mut other = rate_proposal(50_000, now);
    if let Some(ProposalActionRequest::ExecuteNnsFunction(f)) = other.action.as_mut() {
        f.nns_function = 4;
    }
    assert_eq!(env.propose(0, other), Err(invalid));
    let mut huge = rate_proposal(50_000, now);
    if let Some(ProposalActionRequest::ExecuteNnsFunction(f)) = huge.action.as_mut() {
        f.payload = vec![0; 70_001].into();
    }
    assert_eq!(env.propose(0, huge), Err(invalid));
    assert_eq!(env.propose(0, motion(&"x".repeat(10_001))), Err(invalid));
    let mut untitled = motion("No title");
    untitled.title = None;
    assert_eq!(env.propose(0, untitled), Err(invalid));
    // Nothing was made and nothing was charged.
    assert!(env.pending().is_empty());
    assert_eq!(env.nns.neuron(env.neurons[0]).neuron_fees_e8s, 0);

    // Votes: twice, by a stranger, on a closed or unknown proposal.
    let id = env.propose(0, motion("Vote on me")).unwrap();
    assert_eq!(
        env.vote(0, id, Vote::No),
        Err(ErrorType::NeuronAlreadyVoted as i32)
    );
    let neuron = env.neurons[1];
    assert_eq!(
        env.vote_as(user(4), neuron, id, Vote::Yes),
        Err(ErrorType::NotAuthorized as i32)
    );
    assert_eq!(env.vote(1, 999, Vote::Yes), Err(ErrorType::NotFound as i32));
    env.vote(1, id, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Executed as i32);
    // Votes still count (for rewards) until the deadline, then no more.
    env.vote(2, id, Vote::No).unwrap();
    assert_eq!(env.info(id).status, ProposalStatus::Executed as i32);
    env.nns.pic.advance_time(Duration::from_secs(4 * 24 * 3600));
    assert_eq!(
        env.vote(2, id, Vote::Yes),
        Err(ErrorType::PreconditionFailed as i32)
    );
    // A hot key votes for its neuron.
    let id = env.propose(0, motion("Hot keys vote")).unwrap();
    let add = nns_api::governance::AddHotKey {
        new_hot_key: Some(user(4)),
    };
    env.nns
        .manage(
            user(3),
            env.neurons[2],
            configure(Operation::AddHotKey(add)),
        )
        .unwrap();
    let neuron = env.neurons[2];
    env.vote_as(user(4), neuron, id, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Executed as i32);
}

fn should_change_network_economics_and_mint_node_provider_rewards(backend: Backend) {
    let mut env = setup(backend);
    let economics = NetworkEconomics {
        reject_cost_e8s: 10 * ICP,
        ..NetworkEconomics::default()
    };
    let mut proposal = motion("");
    proposal.action = Some(ProposalActionRequest::ManageNetworkEconomics(
        economics.clone(),
    ));
    let id = env.propose(0, proposal).unwrap();
    env.vote(1, id, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Executed as i32);
    let (now,): (NetworkEconomics,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "get_network_economics_parameters",
        (),
    )
    .unwrap();
    assert_eq!(now, economics);

    let provider = AccountIdentifier::new(&user(9), None);
    // A reward to a provider governance does not know fails.
    let unknown = env
        .propose(0, node_provider_reward(provider, 123 * ICP))
        .unwrap();
    env.vote(1, unknown, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(unknown).status, ProposalStatus::Failed as i32);
    assert_eq!(env.nns.balance(provider), 0);

    env.add_node_provider(user(9), None);
    let supply = env.nns.total_supply();
    let id = env
        .propose(0, node_provider_reward(provider, 123 * ICP))
        .unwrap();
    env.vote(1, id, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Executed as i32);
    assert_eq!(env.nns.balance(provider), 123 * ICP);
    assert_eq!(env.nns.total_supply(), supply + 123 * ICP);
}

/// The day's pool as the reward formula gives it, computed here
/// independently: supply × (5 % + 5 % × ((8y − t)/8y)²) / 365.25 with t in
/// days since genesis (8y = 2 922 days), × 0.6329 since "Mission 70".
fn formula_pool(supply: u64, day: u64) -> u64 {
    let eight_years = 2_922u128;
    let left = eight_years - u128::from(day).min(eight_years);
    // 0.05 × (1 + (left/8y)²) / 365.25 = (8y² + left²) / (7 305 × 8y²).
    let fraction_numerator = eight_years * eight_years + left * left;
    let pool = u128::from(supply) * fraction_numerator / (7_305 * eight_years * eight_years);
    u64::try_from(pool * 6_329 / 10_000).unwrap()
}

fn should_reward_voters_by_the_formula_and_turn_maturity_into_icp(backend: Backend) {
    let mut env = setup(backend);
    let id = env.propose(0, motion("Reward us")).unwrap();
    env.vote(1, id, Vote::Yes).unwrap();
    env.vote(2, id, Vote::No).unwrap();
    let supply = env.nns.total_supply();
    // Six days on, the proposal's voting has closed (the first distribution
    // after the close settles it) and six days' pools add up: enough
    // maturity, at 0.6329 of the old pool, to disburse below.
    env.nns
        .pic
        .advance_time(Duration::from_secs(6 * 24 * 3600 + 60));
    env.settle();
    let (event,): (RewardEvent,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "get_latest_reward_event",
        (),
    )
    .unwrap();
    // Each round at the rate of the day that started it, as the NNS.
    let pool: u64 = (0..6).map(|day| formula_pool(supply, day)).sum();
    assert_eq!(event.day_after_genesis, 6);
    assert_eq!(event.total_available_e8s_equivalent, pool);
    assert_eq!(event.settled_proposals, vec![ProposalId { id }]);
    // Each voter's share of the pool is its ballot's share of the eligible
    // neurons' potential voting power (no one's power has faded here).
    let total = u128::from(env.info(id).total_potential_voting_power.unwrap());
    assert_eq!(total, u128::from(env.info(id).latest_tally.unwrap().total));
    let mut maturities = vec![];
    for who in 0..3 {
        let (info,): (Option<ProposalInfo>,) = query_candid_as(
            &mut env.nns.pic,
            GOVERNANCE_CANISTER_ID,
            user(who as u8 + 1),
            "get_proposal_info",
            (id,),
        )
        .unwrap();
        let ballot = info.unwrap().ballots[0].1;
        let expected = u128::from(pool) * u128::from(ballot.voting_power) / total;
        let neuron = env.nns.neuron(env.neurons[who]);
        assert_eq!(
            u128::from(neuron.maturity_e8s_equivalent),
            expected,
            "neuron {who}"
        );
        maturities.push(neuron.maturity_e8s_equivalent);
    }
    assert_eq!(
        event.distributed_e8s_equivalent,
        maturities.iter().sum::<u64>()
    );
    assert!(maturities[0] > ICP, "enough to spawn: {maturities:?}");

    // Maturity into ICP: spawn (minted a week later), disburse (minted a
    // week later), stake (counts as stake at once).
    let supply = env.nns.total_supply();
    let Reply::Spawn(spawned) = env
        .nns
        .manage(
            user(1),
            env.neurons[0],
            Command::Spawn(nns_api::governance::Spawn {
                percentage_to_spawn: None,
                new_controller: None,
                nonce: Some(77),
            }),
        )
        .unwrap()
    else {
        panic!("not a spawn reply")
    };
    let child = spawned.created_neuron_id.unwrap().id;
    assert_eq!(
        env.nns.neuron_info(child).state,
        nns_api::governance::NeuronState::Spawning as i32
    );
    env.nns
        .manage(
            user(2),
            env.neurons[1],
            Command::DisburseMaturity(nns_api::governance::DisburseMaturity {
                percentage_to_disburse: 100,
                to_account: None,
                to_account_identifier: None,
            }),
        )
        .unwrap();
    env.nns
        .manage(
            user(3),
            env.neurons[2],
            Command::StakeMaturity(nns_api::governance::StakeMaturity {
                percentage_to_stake: Some(50),
            }),
        )
        .unwrap();
    let staked = env.nns.neuron(env.neurons[2]);
    assert_eq!(
        (
            staked.maturity_e8s_equivalent,
            staked.staked_maturity_e8s_equivalent
        ),
        (maturities[2] - maturities[2] / 2, Some(maturities[2] / 2))
    );
    let balance_2 = env.nns.balance(AccountIdentifier::new(&user(2), None));
    env.nns
        .pic
        .advance_time(Duration::from_secs(7 * 24 * 3600 + 60));
    env.settle();
    let spawned = env.nns.neuron(child);
    assert_eq!(spawned.cached_neuron_stake_e8s, maturities[0]);
    assert_eq!(spawned.maturity_e8s_equivalent, 0);
    assert_eq!(env.nns.stake_of_account(&spawned), maturities[0]);
    assert_eq!(
        env.nns.balance(AccountIdentifier::new(&user(2), None)),
        balance_2 + maturities[1]
    );
    assert_eq!(env.nns.neuron(env.neurons[1]).maturity_e8s_equivalent, 0);
    // Minted: the supply grew by exactly what was spawned and disbursed
    // (no new reward day has passed with a settled proposal).
    assert_eq!(
        env.nns.total_supply(),
        supply + maturities[0] + maturities[1]
    );
}

/// The ledger's `/metrics` value of `name`.
fn ledger_metric(env: &mut Env, name: &str) -> f64 {
    integration_tests::metrics(&mut env.nns.pic, nns_api::ids::LEDGER_CANISTER_ID)[name]
}

fn should_upgrade_the_ledger_through_an_install_code_proposal(backend: Backend) {
    let mut env = setup(backend);
    env.nns
        .transfer(user(4), AccountIdentifier::new(&user(9), None), 7 * ICP);
    let accounts: Vec<AccountIdentifier> = (1..=9)
        .map(|n| AccountIdentifier::new(&user(n), None))
        .collect();
    let snapshot = |env: &mut Env| {
        let balances: Vec<u64> = accounts.iter().map(|a| env.nns.balance(*a)).collect();
        (balances, env.nns.total_supply())
    };
    let before = snapshot(&mut env);
    assert_eq!(
        ledger_metric(&mut env, "ledger_last_upgrade_instructions"),
        0.0
    );
    let wasm = std::fs::read(integration_tests::wasm_gz_path("ledger")).unwrap();
    let mut upgrade = motion("");
    upgrade.action = Some(ProposalActionRequest::InstallCode(InstallCodeRequest {
        canister_id: Some(nns_api::ids::LEDGER_CANISTER_ID),
        install_mode: Some(3),
        wasm_module: Some(wasm.clone().into()),
        arg: Some(Encode!(&None::<nns_api::ledger::LedgerArg>).unwrap().into()),
        skip_stopping_before_installing: None,
    }));
    let id = env.propose(0, upgrade).unwrap();
    let info = env.info(id);
    let Some(nns_api::governance::Action::InstallCode(shown)) =
        info.proposal.as_ref().and_then(|p| p.action.clone())
    else {
        panic!("not an InstallCode proposal: {info:?}")
    };
    // The proposal shows the module by its hash.
    use sha2::Digest;
    assert_eq!(
        shown.wasm_module_hash.unwrap().into_vec(),
        sha2::Sha256::digest(&wasm).to_vec()
    );
    assert_eq!(info.topic, Topic::ProtocolCanisterManagement as i32);
    env.vote(1, id, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Executed as i32);
    assert!(ledger_metric(&mut env, "ledger_last_upgrade_instructions") > 0.0);
    assert_eq!(snapshot(&mut env), before);
    // Governance may install only on the canisters it runs.
    let mut elsewhere = motion("");
    elsewhere.action = Some(ProposalActionRequest::InstallCode(InstallCodeRequest {
        canister_id: Some(user(5)),
        install_mode: Some(3),
        wasm_module: Some(wasm.into()),
        arg: None,
        skip_stopping_before_installing: None,
    }));
    assert_eq!(
        env.propose(0, elsewhere),
        Err(ErrorType::InvalidProposal as i32)
    );
}

fn list(env: &mut Env, request: ListProposalInfoRequest) -> Vec<u64> {
    let (r,): (ListProposalInfoResponse,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "list_proposals",
        (request,),
    )
    .unwrap();
    r.proposal_info.iter().map(|p| p.id.unwrap().id).collect()
}

fn request(limit: u32) -> ListProposalInfoRequest {
    ListProposalInfoRequest {
        include_reward_status: vec![],
        omit_large_fields: None,
        before_proposal: None,
        limit,
        exclude_topic: vec![],
        include_all_manage_neuron_proposals: None,
        include_status: vec![],
        return_self_describing_action: None,
    }
}

fn should_list_pending_and_failed_proposals(backend: Backend) {
    let mut env = setup(backend);
    // Neither proposer holds a majority: both stay open.
    let rate = env
        .propose(0, rate_proposal(50_000, env.now_seconds() + 60))
        .unwrap();
    let motion = env.propose(1, motion("Open")).unwrap();
    let info = env.info(rate);
    assert_eq!(
        info.deadline_timestamp_seconds,
        Some(info.proposal_timestamp_seconds + 12 * 60 * 60),
        "exchange-rate proposals are open 12 hours"
    );
    let info = env.info(motion);
    assert_eq!(
        info.deadline_timestamp_seconds,
        Some(info.proposal_timestamp_seconds + 4 * 24 * 60 * 60)
    );
    assert_eq!(env.pending(), vec![rate, motion]);

    // Newest first, a page at a time; by topic and by status.
    assert_eq!(list(&mut env, request(10)), vec![motion, rate]);
    assert_eq!(list(&mut env, request(1)), vec![motion]);
    let before = ListProposalInfoRequest {
        before_proposal: Some(ProposalId { id: motion }),
        ..request(10)
    };
    assert_eq!(list(&mut env, before), vec![rate]);
    let no_rates = ListProposalInfoRequest {
        exclude_topic: vec![Topic::ExchangeRate as i32],
        ..request(10)
    };
    assert_eq!(list(&mut env, no_rates), vec![motion]);
    let adopted = ListProposalInfoRequest {
        include_status: vec![ProposalStatus::Adopted as i32],
        ..request(10)
    };
    assert_eq!(list(&mut env, adopted), Vec::<u64>::new());

    // A rate older than the CMC's is adopted, but the CMC refuses it: the
    // proposal fails, with the reason recorded, and the rate stays.
    let stale = env
        .propose(2, rate_proposal(60_000, 1_600_000_000))
        .unwrap();
    env.vote(0, stale, Vote::Yes).unwrap();
    env.settle();
    let info = env.info(stale);
    assert_eq!(info.status, ProposalStatus::Failed as i32);
    assert!(info.decided_timestamp_seconds > 0 && info.failed_timestamp_seconds > 0);
    assert_eq!(info.executed_timestamp_seconds, 0);
    let reason = info.failure_reason.expect("a failure has a reason");
    assert!(!reason.error_message.is_empty(), "{reason:?}");
    assert_eq!(
        certified_icp_xdr_rate(&mut env.nns.pic).xdr_permyriad_per_icp,
        RATE
    );
    let failed = ListProposalInfoRequest {
        include_status: vec![ProposalStatus::Failed as i32],
        ..request(10)
    };
    assert_eq!(list(&mut env, failed), vec![stale]);
}

fn should_forget_old_proposals_beyond_the_limit_per_topic(backend: Backend) {
    let mut env = setup(backend);
    let mut keep_one = motion("");
    keep_one.action = Some(ProposalActionRequest::ManageNetworkEconomics(
        NetworkEconomics {
            max_proposals_to_keep_per_topic: 1,
            ..NetworkEconomics::default()
        },
    ));
    let economics = env.propose(0, keep_one).unwrap();
    env.vote(1, economics, Vote::Yes).unwrap();
    env.settle();
    let [first, second] = ["First", "Second"].map(|text| {
        let id = env.propose(0, motion(text)).unwrap();
        env.vote(1, id, Vote::Yes).unwrap();
        id
    });
    env.settle();
    assert_eq!(env.info(first).status, ProposalStatus::Executed as i32);
    // Until their voters are rewarded, both motions stay.
    assert_eq!(list(&mut env, request(10)), vec![second, first, economics]);
    env.nns
        .pic
        .advance_time(Duration::from_secs(4 * 24 * 3600 + 60));
    env.settle();
    assert!(env.info(second).reward_event_round > 0);
    // One proposal a topic is kept: the older motion is gone, ballots and all.
    assert_eq!(list(&mut env, request(10)), vec![second, economics]);
    let (gone,): (Option<ProposalInfo>,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "get_proposal_info",
        (first,),
    )
    .unwrap();
    assert_eq!(gone, None);
}

/// Following and wait-for-quiet end to end: a vote runs down a chain of 15
/// followers, a cycle of two follows itself once, and a late flip of the
/// outcome moves the deadline out.
fn should_cascade_through_a_chain_and_a_cycle_and_wait_for_quiet(backend: Backend) {
    let mut nns = NnsEnv::new(backend);
    let owner = user(4);
    let mut memo = 0;
    let mut neuron = |nns: &mut NnsEnv, icp: u64| {
        memo += 1;
        locked_neuron_with_memo(nns, owner, memo, icp)
    };
    // Voting power is in proportion to stake: all are locked a year, none aged.
    let proposer = neuron(&mut nns, 25);
    let voter = neuron(&mut nns, 1);
    let chain: Vec<u64> = (0..15).map(|_| neuron(&mut nns, 1)).collect();
    let (x, y) = (neuron(&mut nns, 1), neuron(&mut nns, 1));
    let opponent = neuron(&mut nns, 45);
    let _abstainer = neuron(&mut nns, 20);
    let follow = |nns: &mut NnsEnv, follower: u64, followee: u64| {
        let command = Command::Follow(Follow {
            topic: Topic::Governance as i32,
            followees: vec![NeuronId { id: followee }],
        });
        nns.manage(owner, follower, command).unwrap();
    };
    let mut leader = voter;
    for &link in &chain {
        follow(&mut nns, link, leader);
        leader = link;
    }
    follow(&mut nns, x, y);
    follow(&mut nns, y, x);

    let mut env = Env {
        nns,
        neurons: [proposer, voter, opponent],
    };
    let vote = |env: &mut Env, proposal: u64, neuron: u64, vote: Vote| {
        env.vote_as(owner, neuron, proposal, vote).unwrap();
    };
    let id = env
        .propose_as(owner, proposer, motion("Follow me"))
        .unwrap();
    let deadline = env.info(id).deadline_timestamp_seconds.unwrap();
    vote(&mut env, id, voter, Vote::Yes);
    let info = env.info_as(owner, id);
    let yes_votes = info
        .ballots
        .iter()
        .filter(|(_, b)| b.vote == Vote::Yes as i32)
        .count();
    assert_eq!(
        yes_votes,
        2 + 15,
        "the proposer, the voter and the whole chain"
    );
    let tally = info.latest_tally.unwrap();
    let share = tally.yes as f64 / tally.total as f64;
    assert!((share - 41.0 / 108.0).abs() < 1e-6, "{tally:?}");
    assert_eq!(
        info.deadline_timestamp_seconds,
        Some(deadline),
        "no flip yet"
    );

    // Late in the period the opponent's no overtakes yes: the deadline
    // moves to now + W (2 days) + half the voting period - half the time
    // elapsed.
    env.nns
        .pic
        .advance_time(Duration::from_secs(3 * 24 * 3600 + 12 * 3600));
    let now = env.nns.now_seconds();
    let created = info.proposal_timestamp_seconds;
    vote(&mut env, id, opponent, Vote::No);
    let moved = env.info(id).deadline_timestamp_seconds.unwrap();
    assert_eq!(moved, now + 4 * 24 * 3600 - (now - created) / 2);
    assert!(moved > deadline);

    // The cycle: x votes, y follows it, and x is not asked again.
    vote(&mut env, id, x, Vote::Yes);
    let info = env.info_as(owner, id);
    let ballot = |id: u64| info.ballots.iter().find(|(n, _)| *n == id).unwrap().1.vote;
    assert_eq!((ballot(x), ballot(y)), (Vote::Yes as i32, Vote::Yes as i32));
    assert_eq!(info.status, ProposalStatus::Open as i32);

    // Past the old deadline it is still open; past the new one, 43 yes
    // against 45 no rejects it.
    env.nns
        .pic
        .advance_time(Duration::from_secs(deadline - now + 60));
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Open as i32);
    env.nns
        .pic
        .advance_time(Duration::from_secs(moved - deadline));
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Rejected as i32);
}

/// Moves past the proposal's deadline (as wait-for-quiet may have moved it)
/// and lets the timer decide.
fn pass_deadline(env: &mut Env, id: u64) {
    let deadline = env.info(id).deadline_timestamp_seconds.unwrap();
    let now = env.nns.now_seconds();
    env.nns
        .pic
        .advance_time(Duration::from_secs(deadline.saturating_sub(now) + 60));
    env.settle();
}

fn should_reject_at_the_deadline_a_majority_under_three_percent(backend: Backend) {
    let mut nns = NnsEnv::new(backend);
    let cost = NetworkEconomics::default().reject_cost_e8s;
    // The proposer can pay the reject cost, but holds under 3 % of the
    // voting power next to the whale.
    let proposer = locked_neuron(&mut nns, user(1), cost / ICP + 1);
    let whale = locked_neuron(&mut nns, user(2), 900);
    let mut env = Env {
        nns,
        neurons: [proposer, whale, whale],
    };
    let id = env.propose(0, motion("Too few care")).unwrap();
    let tally = env.info(id).latest_tally.unwrap();
    assert_eq!(tally.no, 0);
    assert!(
        tally.yes > 0 && tally.yes * 100 < 3 * tally.total,
        "{tally:?}"
    );
    pass_deadline(&mut env, id);
    // Yes beats no, 2.5 % to nothing, and still the proposal fails.
    let info = env.info(id);
    assert_eq!(info.status, ProposalStatus::Rejected as i32, "{info:?}");
    assert_eq!(info.latest_tally.unwrap().yes, tally.yes);
    assert_eq!(env.nns.neuron(proposer).neuron_fees_e8s, cost);
}

fn should_decide_exactly_half_for_no_and_ties_against_the_proposal(backend: Backend) {
    // No reject cost: fees would lower the voting power of proposers in
    // later ballots, and these ballots must be exact quarters.
    let mut pic = TestEnv::new(backend);
    install_ledger(&mut pic, (1..=4).map(|n| (user(n), 1_000 * ICP)));
    let economics = NetworkEconomics {
        reject_cost_e8s: 0,
        ..NetworkEconomics::default()
    };
    install_governance(&mut pic, Some(economics));
    let mut nns = NnsEnv { pic };
    // Four neurons with equal voting power: each a quarter of the total.
    let neurons: Vec<u64> = (1..=4)
        .map(|n| locked_neuron(&mut nns, user(n), 30))
        .collect();
    let mut env = Env {
        nns,
        neurons: [neurons[0], neurons[1], neurons[2]],
    };
    let propose = |env: &mut Env, who: usize, text: &str| {
        env.propose_as(user(who as u8 + 1), neurons[who], motion(text))
            .unwrap()
    };
    let vote = |env: &mut Env, who: usize, id: u64, vote: Vote| {
        env.vote_as(user(who as u8 + 1), neurons[who], id, vote)
            .unwrap()
    };
    let half_yes = propose(&mut env, 0, "Half say yes");
    let half_no = propose(&mut env, 1, "Half say no");
    let tie = propose(&mut env, 3, "A tie");
    let quarter = env.info(half_yes).latest_tally.unwrap().yes;
    assert_eq!(env.info(half_yes).latest_tally.unwrap().total, 4 * quarter);

    // Exactly half voting yes is not a majority: the proposal stays open.
    vote(&mut env, 1, half_yes, Vote::Yes);
    let tally = env.info(half_yes).latest_tally.unwrap();
    assert_eq!(2 * tally.yes, tally.total);
    assert_eq!(env.info(half_yes).status, ProposalStatus::Open as i32);
    vote(&mut env, 2, half_yes, Vote::No);

    // Exactly half voting no rejects at once.
    vote(&mut env, 2, half_no, Vote::No);
    assert_eq!(env.info(half_no).status, ProposalStatus::Open as i32);
    vote(&mut env, 3, half_no, Vote::No);
    let info = env.info(half_no);
    assert_eq!(
        2 * info.latest_tally.unwrap().no,
        info.latest_tally.unwrap().total
    );
    assert_eq!(info.status, ProposalStatus::Rejected as i32);

    // A quarter for, a quarter against.
    vote(&mut env, 0, tie, Vote::No);
    let tally = env.info(tie).latest_tally.unwrap();
    assert_eq!((tally.yes, tally.no), (quarter, quarter));

    pass_deadline(&mut env, tie);
    pass_deadline(&mut env, half_yes);
    // At the deadline yes must beat no: half to a quarter does, a tie does not.
    assert_eq!(env.info(half_yes).status, ProposalStatus::Executed as i32);
    assert_eq!(env.info(tie).status, ProposalStatus::Rejected as i32);
}

/// A reward for user 9, the provider these tests add.
fn node_provider_reward(to: AccountIdentifier, amount_e8s: u64) -> MakeProposalRequest {
    let mut reward = motion("");
    reward.action = Some(ProposalActionRequest::RewardNodeProvider(
        nns_api::governance::RewardNodeProvider {
            node_provider: Some(nns_api::governance::NodeProvider {
                id: Some(user(9)),
                reward_account: None,
            }),
            reward_mode: Some(nns_api::governance::RewardMode::RewardToAccount(
                nns_api::governance::RewardToAccount {
                    to_account: Some(nns_api::governance::AccountIdentifier {
                        hash: to.as_bytes().to_vec().into(),
                    }),
                },
            )),
            amount_e8s,
        },
    ));
    reward
}

fn economics_proposal(economics: NetworkEconomics) -> MakeProposalRequest {
    let mut proposal = motion("");
    proposal.action = Some(ProposalActionRequest::ManageNetworkEconomics(economics));
    proposal
}

fn network_economics(env: &mut Env) -> NetworkEconomics {
    let (economics,): (NetworkEconomics,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "get_network_economics_parameters",
        (),
    )
    .unwrap();
    economics
}

fn governance_upgrade(env: &mut Env) {
    let wasm = std::fs::read(integration_tests::wasm_gz_path("governance")).unwrap();
    let pic = &mut env.nns.pic;
    pic.stop_canister(GOVERNANCE_CANISTER_ID, None).unwrap();
    pic.upgrade_canister(
        GOVERNANCE_CANISTER_ID,
        wasm,
        Encode!(&GovernanceArg::default()).unwrap(),
        None,
    )
    .unwrap();
    pic.start_canister(GOVERNANCE_CANISTER_ID, None).unwrap();
}

/// A proposal is adopted by the second vote and executed; the third vote
/// (allowed until the deadline, for rewards), the timer, an upgrade and the
/// deadline passing must not execute it again.
fn should_execute_an_adopted_proposal_once_whatever_comes_after(backend: Backend) {
    let mut env = setup(backend);
    let provider = AccountIdentifier::new(&user(9), None);
    env.add_node_provider(user(9), None);
    let supply = env.nns.total_supply();
    let reward = env
        .propose(0, node_provider_reward(provider, 123 * ICP))
        .unwrap();
    env.vote(1, reward, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(reward).status, ProposalStatus::Executed as i32);
    assert_eq!(env.nns.balance(provider), 123 * ICP);
    env.vote(2, reward, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.nns.balance(provider), 123 * ICP, "paid once");

    // Economics: a re-run of the older proposal would undo the newer one.
    let first = NetworkEconomics {
        max_proposals_to_keep_per_topic: 101,
        ..NetworkEconomics::default()
    };
    let second = NetworkEconomics {
        max_proposals_to_keep_per_topic: 102,
        ..NetworkEconomics::default()
    };
    let old = env.propose(0, economics_proposal(first.clone())).unwrap();
    env.vote(1, old, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(network_economics(&mut env), first);
    let new = env.propose(1, economics_proposal(second.clone())).unwrap();
    env.vote(0, new, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(network_economics(&mut env), second);
    env.vote(2, old, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(
        network_economics(&mut env),
        second,
        "the older one ran again"
    );

    // InstallCode: a reinstall of the CMC with a rate; a later rate
    // proposal; a late vote on the reinstall must not reinstall again.
    let now = env.nns.now_seconds();
    let init = Some(nns_api::cmc::CyclesCanisterInitPayload {
        exchange_rate: Some(nns_api::cmc::IcpXdrConversionRate {
            timestamp_seconds: now,
            xdr_permyriad_per_icp: 41_000,
        }),
        ..Default::default()
    });
    let mut reinstall = motion("");
    reinstall.action = Some(ProposalActionRequest::InstallCode(InstallCodeRequest {
        canister_id: Some(CYCLES_MINTING_CANISTER_ID),
        install_mode: Some(2),
        wasm_module: Some(
            std::fs::read(integration_tests::wasm_gz_path("cmc"))
                .unwrap()
                .into(),
        ),
        arg: Some(Encode!(&init).unwrap().into()),
        skip_stopping_before_installing: None,
    }));
    let install = env.propose(0, reinstall).unwrap();
    env.vote(1, install, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(install).status, ProposalStatus::Executed as i32);
    assert_eq!(
        certified_icp_xdr_rate(&mut env.nns.pic).xdr_permyriad_per_icp,
        41_000
    );
    let rate = env.propose(1, rate_proposal(52_000, now + 1)).unwrap();
    env.vote(0, rate, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(env.info(rate).status, ProposalStatus::Executed as i32);
    env.vote(2, install, Vote::Yes).unwrap();
    env.settle();
    assert_eq!(
        certified_icp_xdr_rate(&mut env.nns.pic).xdr_permyriad_per_icp,
        52_000,
        "the CMC was reinstalled again"
    );

    // Upgrades, timers and deadlines change nothing.
    governance_upgrade(&mut env);
    env.nns.pic.advance_time(Duration::from_secs(5 * 24 * 3600));
    env.settle();
    governance_upgrade(&mut env);
    env.settle();
    assert_eq!(env.nns.balance(provider), 123 * ICP);
    assert_eq!(network_economics(&mut env), second);
    assert_eq!(
        certified_icp_xdr_rate(&mut env.nns.pic).xdr_permyriad_per_icp,
        52_000
    );
    assert_eq!(env.nns.total_supply(), supply + 123 * ICP);
    for id in [reward, old, new, install, rate] {
        assert_eq!(env.info(id).status, ProposalStatus::Executed as i32);
    }
}

/// Auto-staked rewards go to staked maturity; once the neuron is dissolved,
/// a periodic task moves it back to maturity (as on the NNS), where it can
/// be disbursed.
fn should_unstake_the_maturity_of_dissolved_neurons(backend: Backend) {
    let mut env = setup(backend);
    let neuron = env.neurons[0];
    let auto = nns_api::governance::ChangeAutoStakeMaturity {
        requested_setting_for_auto_stake_maturity: true,
    };
    env.nns
        .manage(
            user(1),
            neuron,
            configure(Operation::ChangeAutoStakeMaturity(auto)),
        )
        .unwrap();
    let id = env.propose(0, motion("Reward me")).unwrap();
    env.vote(1, id, Vote::Yes).unwrap();
    env.nns
        .pic
        .advance_time(Duration::from_secs(4 * 24 * 3600 + 60));
    env.settle();
    let n = env.nns.neuron(neuron);
    let staked = n.staked_maturity_e8s_equivalent.unwrap_or(0);
    assert!(staked > ICP, "rewards were staked: {n:?}");
    assert_eq!(n.maturity_e8s_equivalent, 0);

    env.nns
        .manage(user(1), neuron, configure(Operation::StartDissolving {}))
        .unwrap();
    // Still dissolving (a week and a year of delay): the staked maturity
    // stays staked.
    env.nns
        .pic
        .advance_time(Duration::from_secs(ONE_YEAR + ONE_WEEK - 3600));
    env.settle();
    assert_eq!(
        env.nns.neuron(neuron).staked_maturity_e8s_equivalent,
        Some(staked)
    );
    // Dissolved: within about a minute it is maturity again.
    env.nns.pic.advance_time(Duration::from_secs(3600 + 60));
    env.settle();
    let n = env.nns.neuron(neuron);
    assert_eq!(n.staked_maturity_e8s_equivalent, None, "{n:?}");
    assert_eq!(n.maturity_e8s_equivalent, staked);
    let mine = AccountIdentifier::new(&user(1), None);
    let before = env.nns.balance(mine);
    env.nns
        .manage(
            user(1),
            neuron,
            Command::DisburseMaturity(nns_api::governance::DisburseMaturity {
                percentage_to_disburse: 100,
                to_account: None,
                to_account_identifier: None,
            }),
        )
        .unwrap();
    env.nns.pic.advance_time(Duration::from_secs(ONE_WEEK + 60));
    env.settle();
    assert_eq!(env.nns.balance(mine), before + staked);
}

/// A neuron split off a follower, and a neuron spawned from one, follow as
/// their parent does, and vote when their followee votes.
fn should_let_split_and_spawned_neurons_vote_by_following(backend: Backend) {
    let mut env = setup(backend);
    let [follower, leader, _] = env.neurons;
    let follow = Command::Follow(Follow {
        topic: Topic::Governance as i32,
        followees: vec![NeuronId { id: leader }],
    });
    env.nns.manage(user(1), follower, follow).unwrap();
    let split = Command::Split(nns_api::governance::Split {
        amount_e8s: 10 * ICP,
        memo: None,
    });
    let Reply::Split(r) = env.nns.manage(user(1), follower, split).unwrap() else {
        panic!("not a split reply")
    };
    let child = r.created_neuron_id.unwrap().id;
    let ballot = |info: &ProposalInfo, n: u64| {
        info.ballots
            .iter()
            .find(|(id, _)| *id == n)
            .map(|(_, b)| b.vote)
    };
    let id = env.propose(2, motion("Reward us")).unwrap();
    env.vote(1, id, Vote::Yes).unwrap();
    let info = env.info_as(user(1), id);
    assert_eq!(ballot(&info, follower), Some(Vote::Yes as i32));
    assert_eq!(
        ballot(&info, child),
        Some(Vote::Yes as i32),
        "the split neuron follows: {info:?}"
    );
    // A week of rewards for the follower, enough to spawn a neuron.
    env.nns
        .pic
        .advance_time(Duration::from_secs(ONE_WEEK + 24 * 3600));
    env.settle();
    let maturity = env.nns.neuron(follower).maturity_e8s_equivalent;
    assert!(maturity >= ICP, "enough to spawn: {maturity}");
    let Reply::Spawn(s) = env
        .nns
        .manage(
            user(1),
            follower,
            Command::Spawn(nns_api::governance::Spawn {
                percentage_to_spawn: None,
                new_controller: None,
                nonce: Some(5),
            }),
        )
        .unwrap()
    else {
        panic!("not a spawn reply")
    };
    let spawned = s.created_neuron_id.unwrap().id;
    env.nns.pic.advance_time(Duration::from_secs(ONE_WEEK + 60));
    env.settle();
    let delay = nns_api::governance::IncreaseDissolveDelay {
        additional_dissolve_delay_seconds: ONE_YEAR as u32,
    };
    env.nns
        .manage(
            user(1),
            spawned,
            configure(Operation::IncreaseDissolveDelay(delay)),
        )
        .unwrap();
    let id = env.propose(2, motion("Follow again")).unwrap();
    env.vote(1, id, Vote::Yes).unwrap();
    let info = env.info_as(user(1), id);
    assert_eq!(ballot(&info, child), Some(Vote::Yes as i32));
    assert_eq!(
        ballot(&info, spawned),
        Some(Vote::Yes as i32),
        "the spawned neuron follows: {info:?}"
    );
}

/// Encoded replies stay under the IC's limit for replies to other canisters
/// (2 MiB), whatever the proposals hold: large `ExecuteNnsFunction` payloads
/// are left out of listings (as on the NNS, above 1 000 bytes) and a page
/// ends before it would grow too large.
fn should_keep_proposal_listings_within_the_reply_limit(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    install_ledger(&mut pic, (1..=4).map(|n| (user(n), 100_000 * ICP)));
    let economics = NetworkEconomics {
        reject_cost_e8s: ICP,
        ..NetworkEconomics::default()
    };
    install_governance(&mut pic, Some(economics));
    let mut nns = NnsEnv { pic };
    let proposer = locked_neuron(&mut nns, user(1), 1_000);
    let whale = locked_neuron(&mut nns, user(2), 2_000);
    let mut env = Env {
        nns,
        neurons: [proposer, whale, whale],
    };
    let now = env.nns.now_seconds();
    let mut ids = vec![];
    for k in 0..60u64 {
        let mut proposal = if k % 2 == 0 {
            let payload = UpdateIcpXdrConversionRatePayload {
                data_source: "x".repeat(69_000),
                timestamp_seconds: now + k,
                xdr_permyriad_per_icp: 50_000,
                reason: None,
            };
            let mut p = rate_proposal(50_000, now);
            p.action = Some(ProposalActionRequest::ExecuteNnsFunction(
                ExecuteNnsFunction {
                    nns_function: nns_function::ICP_XDR_CONVERSION_RATE,
                    payload: Encode!(&payload).unwrap().into(),
                },
            ));
            p
        } else {
            motion(&"m".repeat(10_000))
        };
        proposal.summary = "s".repeat(30_000);
        proposal.url = format!("https://{}", "u".repeat(2_000));
        ids.push(env.propose(0, proposal).unwrap());
    }
    const LIMIT: usize = 2 * 1024 * 1024;
    let raw = |env: &mut Env, method: &str, arg: Vec<u8>| {
        env.nns
            .pic
            .query_call(GOVERNANCE_CANISTER_ID, user(1), method, arg)
            .unwrap()
    };
    // Page through everything with before_proposal: every proposal once.
    let mut seen = vec![];
    let mut before = None;
    loop {
        let request = ListProposalInfoRequest {
            before_proposal: before,
            ..request(100)
        };
        let bytes = raw(&mut env, "list_proposals", Encode!(&request).unwrap());
        assert!(
            bytes.len() < LIMIT,
            "list_proposals replied {} bytes",
            bytes.len()
        );
        let page = candid::decode_one::<ListProposalInfoResponse>(&bytes).unwrap();
        let Some(last) = page.proposal_info.last() else {
            break;
        };
        before = last.id;
        for info in &page.proposal_info {
            if let Some(nns_api::governance::Action::ExecuteNnsFunction(f)) =
                info.proposal.as_ref().and_then(|p| p.action.as_ref())
            {
                assert!(f.payload.is_empty(), "a large payload is left out");
            }
            seen.push(info.id.unwrap().id);
        }
    }
    seen.reverse();
    assert_eq!(seen, ids);
    let bytes = raw(
        &mut env,
        "get_pending_proposals",
        Encode!(&None::<()>).unwrap(),
    );
    assert!(
        bytes.len() < LIMIT,
        "get_pending_proposals replied {} bytes",
        bytes.len()
    );
    // One proposal shows its payload in full.
    let info = env.info(ids[0]);
    let Some(nns_api::governance::Action::ExecuteNnsFunction(f)) =
        info.proposal.as_ref().and_then(|p| p.action.as_ref())
    else {
        panic!("a rate proposal")
    };
    assert!(f.payload.len() > 69_000);
}

/// Whether the ledger answers queries (it does not while stopping or stopped).
fn ledger_runs(env: &mut Env) -> bool {
    env.nns
        .pic
        .query_call(
            nns_api::ids::LEDGER_CANISTER_ID,
            Principal::anonymous(),
            "icrc1_total_supply",
            Encode!().unwrap(),
        )
        .is_ok()
}

/// Governance is upgraded while an `InstallCode` execution has the ledger
/// stopped: the execution's messages are lost, and the proposal timer
/// starts the ledger again.
fn should_start_the_ledger_again_after_an_upgrade_of_governance_interrupts_its_install(
    backend: Backend,
) {
    let mut env = setup(backend);
    let wasm = std::fs::read(integration_tests::wasm_gz_path("ledger")).unwrap();
    let mut upgrade = motion("");
    upgrade.action = Some(ProposalActionRequest::InstallCode(InstallCodeRequest {
        canister_id: Some(nns_api::ids::LEDGER_CANISTER_ID),
        install_mode: Some(3),
        wasm_module: Some(wasm.into()),
        arg: Some(Encode!(&None::<nns_api::ledger::LedgerArg>).unwrap().into()),
        skip_stopping_before_installing: None,
    }));
    let id = env.propose(0, upgrade).unwrap();
    let vote = integration_tests::nns::request(
        Some(env.neurons[1]),
        Command::RegisterVote(RegisterVote {
            vote: Vote::Yes as i32,
            proposal: Some(ProposalId { id }),
        }),
    );
    env.nns
        .pic
        .submit_call(
            GOVERNANCE_CANISTER_ID,
            user(2),
            "manage_neuron",
            Encode!(&vote).unwrap(),
        )
        .unwrap();
    let mut rounds = 0;
    while ledger_runs(&mut env) {
        rounds += 1;
        assert!(rounds < 20, "the execution never stopped the ledger");
        env.nns.pic.tick();
    }
    // An upgrade that does not wait for the execution's calls.
    let governance = std::fs::read(integration_tests::wasm_gz_path("governance")).unwrap();
    env.nns
        .pic
        .upgrade_canister(
            GOVERNANCE_CANISTER_ID,
            governance,
            Encode!(&GovernanceArg::default()).unwrap(),
            None,
        )
        .unwrap();
    env.settle();
    assert_eq!(env.info(id).status, ProposalStatus::Failed as i32);
    env.nns.pic.advance_time(Duration::from_secs(120));
    env.settle();
    assert!(ledger_runs(&mut env), "the ledger was left stopped");
    assert_eq!(
        env.nns.balance(AccountIdentifier::new(&user(9), None)),
        0,
        "the ledger answers updates"
    );
}

fn monthly_rewards_proposal() -> MakeProposalRequest {
    let mut proposal = motion("");
    proposal.action = Some(ProposalActionRequest::RewardNodeProviders(
        nns_api::governance::RewardNodeProviders {
            use_registry_derived_rewards: Some(true),
            rewards: vec![],
        },
    ));
    proposal
}

fn most_recent_month(env: &mut Env) -> Option<MonthlyNodeProviderRewards> {
    let (month,): (Option<MonthlyNodeProviderRewards>,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "get_most_recent_monthly_node_provider_rewards",
        (),
    )
    .unwrap();
    month
}

fn average_rate(env: &mut Env) -> u64 {
    let (average,): (nns_api::cmc::IcpXdrConversionRateResponse,) = query_candid(
        &mut env.nns.pic,
        CYCLES_MINTING_CANISTER_ID,
        "get_average_icp_xdr_conversion_rate",
        (),
    )
    .unwrap();
    average.data.xdr_permyriad_per_icp
}

/// Proposes, adopts, and lets the execution's calls (up to a month's five
/// in a row) run out.
fn pass(env: &mut Env, proposal: MakeProposalRequest) -> u64 {
    let id = env.propose(0, proposal).unwrap();
    env.vote(1, id, Vote::Yes).unwrap();
    env.settle();
    env.settle();
    id
}

/// Node providers added by proposal are paid each month what the
/// node-rewards canister says they earned, at the CMC's average rate: the
/// first month by a `RewardNodeProviders` proposal (which fails, recording
/// nothing, while the node-rewards canister cannot answer), the next ones
/// by governance itself, once each — a second proposal within the month
/// fails, an upgrade changes nothing, a payment the ledger refused is paid
/// once the ledger is back; two providers paid the same amount to one
/// account are both paid; a provider changes its own reward account; a
/// removed one is not paid.
fn should_mint_node_provider_rewards_monthly(backend: Backend) {
    use nns_api::ids::{LEDGER_CANISTER_ID, NODE_REWARDS_CANISTER_ID};
    use nns_api::node_rewards::NodeProviderNodes;
    const MONTH: u64 = 2_629_800;
    let mut env = setup(backend);
    let (a, b, c, stranger) = (user(9), user(10), user(14), user(11));
    let nodes = |provider, rewardable_nodes, xdr: u64| NodeProviderNodes {
        node_provider: provider,
        rewardable_nodes,
        xdr_permyriad_per_node_per_month: xdr * 10_000,
    };
    integration_tests::install_node_rewards(
        &mut env.nns.pic,
        vec![
            nodes(a, 10, 1_000),
            nodes(b, 2, 873),
            nodes(c, 2, 873),
            nodes(stranger, 5, 900),
        ],
    );
    // Only governance may ask the node-rewards canister: a stranger's
    // ingress is turned away.
    let asked: Result<(nns_api::node_rewards::GetNodeProvidersMonthlyXdrRewardsResponse,), _> =
        update_candid_as(
            &mut env.nns.pic,
            NODE_REWARDS_CANISTER_ID,
            stranger,
            "get_node_providers_monthly_xdr_rewards",
            (nns_api::node_rewards::GetNodeProvidersMonthlyXdrRewardsRequest::default(),),
        );
    assert!(asked.is_err());

    // b and c are paid the same amount to the same account.
    let shared = AccountIdentifier::new(&user(12), None);
    env.add_node_provider(a, None);
    env.add_node_provider(b, Some(shared));
    env.add_node_provider(c, Some(shared));
    // Adding a provider again is refused at submission.
    assert_eq!(
        env.propose(0, add_or_remove_node_provider(a, None, true)),
        Err(ErrorType::InvalidProposal as i32)
    );
    let (listed,): (nns_api::governance::ListNodeProvidersResponse,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "list_node_providers",
        (),
    )
    .unwrap();
    assert_eq!(listed.node_providers.len(), 3);
    assert_eq!(
        most_recent_month(&mut env),
        None,
        "no month before the first"
    );
    // Explicit lists are refused at submission.
    let mut listed_rewards = monthly_rewards_proposal();
    if let Some(ProposalActionRequest::RewardNodeProviders(r)) = &mut listed_rewards.action {
        r.use_registry_derived_rewards = None;
    }
    assert_eq!(
        env.propose(0, listed_rewards),
        Err(ErrorType::InvalidProposal as i32)
    );

    // Without the node-rewards canister's answer nothing is recorded.
    env.nns
        .pic
        .stop_canister(NODE_REWARDS_CANISTER_ID, None)
        .unwrap();
    let failed = pass(&mut env, monthly_rewards_proposal());
    assert_eq!(env.info(failed).status, ProposalStatus::Failed as i32);
    assert_eq!(most_recent_month(&mut env), None);
    env.nns
        .pic
        .start_canister(NODE_REWARDS_CANISTER_ID, None)
        .unwrap();

    let rate = average_rate(&mut env);
    let a_month = 10 * 1_000 * 10_000 * ICP / rate;
    let b_month = 2 * 873 * 10_000 * ICP / rate;
    let a_account = AccountIdentifier::new(&a, None);
    let supply = env.nns.total_supply();
    let first = pass(&mut env, monthly_rewards_proposal());
    assert_eq!(env.info(first).status, ProposalStatus::Executed as i32);
    assert_eq!(env.nns.balance(a_account), a_month);
    assert_eq!(env.nns.balance(shared), 2 * b_month, "b's and c's");
    assert_eq!(
        env.nns.balance(AccountIdentifier::new(&stranger, None)),
        0,
        "not a provider governance knows"
    );
    assert_eq!(env.nns.total_supply(), supply + a_month + 2 * b_month);
    let month = most_recent_month(&mut env).expect("the month is recorded");
    assert_eq!(month.rewards.len(), 3);
    assert_eq!(
        month.xdr_conversion_rate.unwrap().xdr_permyriad_per_icp,
        Some(rate)
    );
    assert_eq!(month.registry_version, Some(1));
    // A second month within the month is refused.
    let again = pass(&mut env, monthly_rewards_proposal());
    assert_eq!(env.info(again).status, ProposalStatus::Failed as i32);
    assert_eq!(env.nns.total_supply(), supply + a_month + 2 * b_month);

    // Not before a month has passed, across an upgrade.
    env.nns.pic.advance_time(Duration::from_secs(MONTH - 3_600));
    env.settle();
    governance_upgrade(&mut env);
    env.settle();
    assert_eq!(
        env.nns.total_supply(),
        supply + a_month + 2 * b_month,
        "nothing before the month is over"
    );
    // A provider changes its account; a stranger cannot.
    let new_a_account = AccountIdentifier::new(&user(13), None);
    let update = nns_api::governance::UpdateNodeProvider {
        reward_account: Some(nns_api::governance::AccountIdentifier {
            hash: new_a_account.as_bytes().to_vec().into(),
        }),
    };
    let (refused,): (Result<(), nns_api::governance::GovernanceError>,) = update_candid_as(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        stranger,
        "update_node_provider",
        (update.clone(),),
    )
    .unwrap();
    assert_eq!(refused.unwrap_err().error_type, ErrorType::NotFound as i32);
    let (done,): (Result<(), nns_api::governance::GovernanceError>,) = update_candid_as(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        a,
        "update_node_provider",
        (update,),
    )
    .unwrap();
    done.unwrap();
    // The month comes due while the ledger is stopped: recorded, not paid;
    // paid once the ledger runs again, once.
    env.nns.pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
    env.nns.pic.advance_time(Duration::from_secs(3_600));
    let second_rate = average_rate(&mut env);
    env.settle();
    let second = most_recent_month(&mut env).expect("the second month");
    assert!(second.timestamp >= month.timestamp + MONTH);
    env.nns
        .pic
        .start_canister(LEDGER_CANISTER_ID, None)
        .unwrap();
    assert_eq!(env.nns.balance(new_a_account), 0, "not paid yet");
    env.nns.pic.advance_time(Duration::from_secs(120));
    env.settle();
    env.nns.pic.advance_time(Duration::from_secs(120));
    env.settle();
    let a_second = 10 * 1_000 * 10_000 * ICP / second_rate;
    let b_second = 2 * 873 * 10_000 * ICP / second_rate;
    assert_eq!(
        env.nns.balance(new_a_account),
        a_second,
        "to the new account"
    );
    assert_eq!(env.nns.balance(a_account), a_month, "the old one unchanged");
    assert_eq!(
        env.nns.total_supply(),
        supply + a_month + 2 * b_month + a_second + 2 * b_second,
        "each reward paid once"
    );
    let (listing,): (nns_api::governance::ListNodeProviderRewardsResponse,) = query_candid(
        &mut env.nns.pic,
        GOVERNANCE_CANISTER_ID,
        "list_node_provider_rewards",
        (nns_api::governance::ListNodeProviderRewardsRequest { date_filter: None },),
    )
    .unwrap();
    let times: Vec<u64> = listing.rewards.iter().map(|m| m.timestamp).collect();
    assert_eq!(times.len(), 2);
    assert!(times[0] >= times[1] + MONTH, "newest first, a month apart");

    // A removed provider is not paid the next month; removing it twice is
    // refused at submission.
    let remove = pass(&mut env, add_or_remove_node_provider(b, None, false));
    assert_eq!(env.info(remove).status, ProposalStatus::Executed as i32);
    assert_eq!(
        env.propose(0, add_or_remove_node_provider(b, None, false)),
        Err(ErrorType::InvalidProposal as i32)
    );
    let shared_before = env.nns.balance(shared);
    let third_rate = average_rate(&mut env);
    env.nns.pic.advance_time(Duration::from_secs(MONTH));
    env.settle();
    assert_eq!(
        env.nns.balance(shared),
        shared_before + 2 * 873 * 10_000 * ICP / third_rate,
        "c only"
    );
    assert_eq!(most_recent_month(&mut env).unwrap().rewards.len(), 2);
}
