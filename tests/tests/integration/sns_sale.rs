//! A decentralization sale opened by the NNS, end to end: the sale's
//! modules come in by `AddSnsWasm` proposals, an adopted
//! `CreateServiceNervousSystem` installs the project's token ledger and
//! its sale, the sale's timer opens it at the time the NNS chose, buyers
//! take part, and it commits, finalizes and releases itself.

use candid::{Encode, Principal};
use icrc_ledger_types::icrc1::account::Account;
use integration_tests::env::{Backend, query_candid, update_candid_as};
use integration_tests::nns::{ICP, NnsEnv, user};
use integration_tests::on_both_backends;
use nns_api::AccountIdentifier;
use nns_api::governance::sns::{
    AddWasmRequest, CreateServiceNervousSystem, DeveloperDistribution, Duration, GlobalTimeOfDay,
    InitialTokenDistribution, LedgerParameters, ListDeployedSnsesResponse,
    NeuronBasketConstructionParameters, NeuronDistribution, SnsWasm, SwapDistribution,
    SwapParameters, Tokens, sns_canister_type,
};
use nns_api::governance::{
    ErrorType, ExecuteNnsFunction, MakeProposalRequest, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, ProposalActionRequest, ProposalId, ProposalInfo,
    ProposalStatus, RegisterVote, Topic, Vote, nns_function,
};
use nns_api::ids::GOVERNANCE_CANISTER_ID;
use nns_api::swap::{Empty, GetInitResponse, GetLifecycleResponse, RefreshBuyerTokensRequest};
use std::time::Duration as StdDuration;

on_both_backends!(
    should_open_a_sale_by_proposal_and_carry_it_out,
    should_match_a_sale_from_the_neurons_fund_and_settle_it,
    should_give_the_fund_its_maturity_back_when_a_sale_aborts,
);

const FEE: u64 = 10_000;
const TOKEN_FEE: u64 = 10_000;
const DAY: u64 = 86_400;

fn tokens(e8s: u64) -> Option<Tokens> {
    Some(Tokens { e8s: Some(e8s) })
}

/// The project: its developers' first principal is its treasury.
fn developers() -> Principal {
    Principal::from_slice(&[0xde, 0x5a, 1])
}

fn create_sale(neurons_fund: bool) -> CreateServiceNervousSystem {
    CreateServiceNervousSystem {
        name: Some("Project".into()),
        description: Some("A project selling a share of its token".into()),
        url: Some("https://project.example".into()),
        fallback_controller_principal_ids: vec![developers()],
        ledger_parameters: Some(LedgerParameters {
            transaction_fee: tokens(TOKEN_FEE),
            token_symbol: Some("PRJ".into()),
            token_name: Some("Project token".into()),
            token_logo: None,
        }),
        initial_token_distribution: Some(InitialTokenDistribution {
            treasury_distribution: Some(SwapDistribution {
                total: tokens(5_000_000 * ICP),
            }),
            developer_distribution: Some(DeveloperDistribution {
                developer_neurons: vec![NeuronDistribution {
                    controller: Some(user(9)),
                    stake: tokens(1_000_000 * ICP),
                    ..Default::default()
                }],
            }),
            swap_distribution: Some(SwapDistribution {
                total: tokens(1_000_000 * ICP),
            }),
        }),
        swap_parameters: Some(SwapParameters {
            minimum_participants: Some(2),
            neurons_fund_participation: Some(neurons_fund),
            duration: Some(Duration {
                seconds: Some(7 * DAY),
            }),
            neuron_basket_construction_parameters: Some(NeuronBasketConstructionParameters {
                dissolve_delay_interval: Some(Duration { seconds: Some(DAY) }),
                count: Some(3),
            }),
            minimum_direct_participation_icp: tokens(50 * ICP),
            maximum_direct_participation_icp: tokens(300 * ICP),
            minimum_participant_icp: tokens(ICP),
            maximum_participant_icp: tokens(120 * ICP),
            start_time: Some(GlobalTimeOfDay {
                seconds_after_utc_midnight: Some(12 * 3_600),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn proposal(title: &str, action: ProposalActionRequest) -> MakeProposalRequest {
    MakeProposalRequest {
        url: "https://forum.example/sale".into(),
        title: Some(title.into()),
        action: Some(action),
        summary: String::new(),
    }
}

fn add_wasm(canister: &str, canister_type: i32) -> MakeProposalRequest {
    use sha2::Digest;
    let wasm = std::fs::read(integration_tests::wasm_gz_path(canister)).unwrap();
    let request = AddWasmRequest {
        hash: sha2::Sha256::digest(&wasm).to_vec().into(),
        wasm: Some(SnsWasm {
            wasm: wasm.into(),
            proposal_id: None,
            canister_type,
        }),
    };
    proposal(
        &format!("Add the {canister} module"),
        ProposalActionRequest::ExecuteNnsFunction(ExecuteNnsFunction {
            nns_function: nns_function::ADD_SNS_WASM,
            payload: Encode!(&request).unwrap().into(),
        }),
    )
}

struct Env {
    nns: NnsEnv,
    /// Users 1 and 2's neurons: 40 and 30 ICP, locked a year.
    neurons: [u64; 2],
}

impl Env {
    fn propose(&mut self, proposal: MakeProposalRequest) -> Result<u64, i32> {
        let reply = self
            .nns
            .manage(
                user(1),
                self.neurons[0],
                Command::MakeProposal(Box::new(proposal)),
            )
            .map_err(|e| {
                eprintln!("refused: {}", e.error_message);
                e.error_type
            })?;
        let Reply::MakeProposal(r) = reply else {
            panic!("not a proposal reply: {reply:?}")
        };
        Ok(r.proposal_id.unwrap().id)
    }

    /// Proposed by user 1, adopted by user 2's vote, executed.
    fn adopt(&mut self, proposal: MakeProposalRequest) -> ProposalInfo {
        let id = self.propose(proposal).expect("a valid proposal");
        let vote = Command::RegisterVote(RegisterVote {
            vote: Vote::Yes as i32,
            proposal: Some(ProposalId { id }),
        });
        self.nns.manage(user(2), self.neurons[1], vote).unwrap();
        for _ in 0..10 {
            self.nns.pic.tick();
        }
        let (info,): (Option<ProposalInfo>,) = query_candid(
            &mut self.nns.pic,
            GOVERNANCE_CANISTER_ID,
            "get_proposal_info",
            (id,),
        )
        .unwrap();
        info.unwrap()
    }

    /// The sales governance made, as `list_deployed_snses` lists them.
    fn deployed(&mut self) -> ListDeployedSnsesResponse {
        let (deployed,): (ListDeployedSnsesResponse,) = query_candid(
            &mut self.nns.pic,
            GOVERNANCE_CANISTER_ID,
            "list_deployed_snses",
            (Empty {},),
        )
        .unwrap();
        deployed
    }

    fn token_balance(&mut self, ledger: Principal, account: Account) -> u64 {
        let (balance,): (candid::Nat,) =
            query_candid(&mut self.nns.pic, ledger, "icrc1_balance_of", (account,)).unwrap();
        u64::try_from(&balance.0).unwrap()
    }

    fn lifecycle(&mut self, sale: Principal) -> i32 {
        let (reply,): (GetLifecycleResponse,) =
            query_candid(&mut self.nns.pic, sale, "get_lifecycle", (Empty {},)).unwrap();
        reply.lifecycle.unwrap()
    }

    fn buy(&mut self, sale: Principal, buyer: Principal, e8s: u64) {
        let subaccount = nns_api::account_identifier::principal_to_subaccount(&buyer);
        self.nns
            .transfer(buyer, AccountIdentifier::new(&sale, Some(&subaccount)), e8s);
        let request = RefreshBuyerTokensRequest {
            buyer: String::new(),
            confirmation_text: None,
        };
        let _: (nns_api::swap::RefreshBuyerTokensResponse,) = update_candid_as(
            &mut self.nns.pic,
            sale,
            buyer,
            "refresh_buyer_tokens",
            (request,),
        )
        .expect("the participation is accepted");
    }
}

fn should_open_a_sale_by_proposal_and_carry_it_out(backend: Backend) {
    let mut nns = NnsEnv::new(backend);
    let neurons = [(1, 40), (2, 30)].map(|(n, icp)| nns.locked_neuron(user(n), 0, icp * ICP));
    let mut env = Env { nns, neurons };

    // Bad sales are refused at submission.
    let mut bad = create_sale(false);
    bad.swap_parameters.as_mut().unwrap().maximum_icp = tokens(ICP);
    let mut no_fund_choice = create_sale(false);
    no_fund_choice
        .swap_parameters
        .as_mut()
        .unwrap()
        .neurons_fund_participation = None;
    let invalid = ErrorType::InvalidProposal as i32;
    for csns in [bad, no_fund_choice] {
        let action = ProposalActionRequest::CreateServiceNervousSystem(Box::new(csns));
        assert_eq!(env.propose(proposal("A bad sale", action)), Err(invalid));
    }

    // Without the modules, an adopted sale fails, saying what is missing.
    let action = || ProposalActionRequest::CreateServiceNervousSystem(Box::new(create_sale(false)));
    let early = env.adopt(proposal("A sale too early", action()));
    assert_eq!(early.status, ProposalStatus::Failed as i32);
    let reason = early.failure_reason.unwrap().error_message;
    assert!(reason.contains("AddSnsWasm"), "{reason}");

    // A module whose hash is not its SHA-256, or of a type sales do not
    // use, is refused at submission.
    for (hash, canister_type) in [(vec![0u8; 32], sns_canister_type::SWAP), (Vec::new(), 1)] {
        let mut request = add_wasm("swap", sns_canister_type::SWAP);
        let Some(ProposalActionRequest::ExecuteNnsFunction(f)) = request.action.as_mut() else {
            unreachable!()
        };
        let mut payload: AddWasmRequest = candid::decode_one(&f.payload).unwrap();
        if !hash.is_empty() {
            payload.hash = hash.into();
        }
        payload.wasm.as_mut().unwrap().canister_type = canister_type;
        f.payload = Encode!(&payload).unwrap().into();
        assert_eq!(env.propose(request), Err(invalid));
    }

    // The modules, by proposal.
    for info in env.add_sale_modules() {
        assert_eq!(info.status, ProposalStatus::Executed as i32, "{info:?}");
        assert_eq!(info.topic, Topic::ServiceNervousSystemManagement as i32);
    }

    // The sale.
    let adopted_at = env.nns.now_seconds();
    let info = env.adopt(proposal("Sell a share of PRJ", action()));
    assert_eq!(info.status, ProposalStatus::Executed as i32, "{info:?}");
    assert_eq!(info.topic, Topic::SnsAndCommunityFund as i32);
    let deployed = env.deployed();
    let made = deployed.instances.last().unwrap();
    let (sale, ledger) = (
        made.swap_canister_id.unwrap(),
        made.ledger_canister_id.unwrap(),
    );

    // The token: the sale's tokens to the sale, the treasury to the
    // developers, a developer's stake to its controller; only the sale
    // mints.
    let total = 7_000_000 * ICP;
    assert_eq!(
        env.token_balance(ledger, Account::from(sale)),
        1_000_000 * ICP
    );
    assert_eq!(
        env.token_balance(ledger, Account::from(developers())),
        5_000_000 * ICP
    );
    assert_eq!(
        env.token_balance(ledger, Account::from(user(9))),
        1_000_000 * ICP
    );
    let (minter,): (Option<Account>,) =
        query_candid(&mut env.nns.pic, ledger, "icrc1_minting_account", ()).unwrap();
    assert_eq!(minter.map(|m| m.owner), Some(sale));
    let (symbol,): (String,) = query_candid(&mut env.nns.pic, ledger, "icrc1_symbol", ()).unwrap();
    assert_eq!(symbol, "PRJ");

    // The sale: adopted, opening at noon UTC more than a day after the
    // adoption, for a week, finalizing itself.
    let (init,): (GetInitResponse,) =
        query_candid(&mut env.nns.pic, sale, "get_init", (Empty {},)).unwrap();
    let init = init.init.unwrap();
    let start = init.swap_start_timestamp_seconds.unwrap();
    assert_eq!(start % DAY, 12 * 3_600);
    assert!(start > adopted_at + DAY && start <= adopted_at + 2 * DAY + DAY);
    assert_eq!(init.swap_due_timestamp_seconds, Some(start + 7 * DAY));
    assert_eq!(init.nns_proposal_id, Some(info.id.unwrap().id));
    assert_eq!(init.sns_governance_canister_id, developers().to_text());
    assert_eq!(init.should_auto_finalize, Some(true));
    assert_eq!(env.lifecycle(sale), 5, "Adopted");

    // Opened by its timer; two buyers; committed at the deadline, the ICP
    // to the treasury, the first basket neurons released.
    let now = env.nns.now_seconds();
    env.nns
        .pic
        .advance_time(StdDuration::from_secs(start - now + 60));
    for _ in 0..3 {
        env.nns.pic.tick();
    }
    assert_eq!(env.lifecycle(sale), 2, "Open");
    env.buy(sale, user(3), 30 * ICP);
    env.buy(sale, user(4), 40 * ICP);
    env.nns.pic.advance_time(StdDuration::from_secs(7 * DAY));
    for _ in 0..12 {
        env.nns.pic.tick();
    }
    assert_eq!(env.lifecycle(sale), 3, "Committed");
    assert_eq!(
        env.nns.balance(AccountIdentifier::new(&developers(), None)),
        70 * ICP - 2 * FEE
    );
    let first_neurons = [user(3), user(4)].map(|u| env.token_balance(ledger, Account::from(u)));
    let tokens = 1_000_000 * ICP;
    let shares = [tokens * 30 / 70, tokens * 40 / 70];
    for (got, share) in first_neurons.iter().zip(shares) {
        // The first of three neurons, less the fee.
        assert!(got.abs_diff(share / 3 - TOKEN_FEE) <= 1, "{got} vs {share}");
    }
    let (supply,): (candid::Nat,) =
        query_candid(&mut env.nns.pic, ledger, "icrc1_total_supply", ()).unwrap();
    assert_eq!(supply, candid::Nat::from(total - 2 * TOKEN_FEE));
}

/// 100 XDR per ICP: the Fund starts matching at 750 ICP of direct
/// participation (75 000 XDR).
const FUND_RATE: u64 = 1_000_000;

/// The ledger (with `balances`), governance and the CMC at `FUND_RATE`;
/// users 1 and 2 hold neurons of 50 000 000 and 100 ICP.
fn fund_env(backend: Backend, balances: &[(u8, u64)]) -> Env {
    let mut pic = integration_tests::env::TestEnv::new(backend);
    integration_tests::install_ledger(
        &mut pic,
        balances.iter().map(|&(n, icp)| (user(n), icp * ICP)),
    );
    integration_tests::install_governance(&mut pic, None);
    integration_tests::install_cmc(&mut pic, FUND_RATE, None);
    let mut nns = NnsEnv { pic };
    let neurons =
        [(1, 50_000_000), (2, 100)].map(|(n, icp)| nns.locked_neuron(user(n), 0, icp * ICP));
    Env { nns, neurons }
}

impl Env {
    /// The sales' modules, each by an adopted `AddSnsWasm` proposal.
    fn add_sale_modules(&mut self) -> Vec<ProposalInfo> {
        [
            ("token-ledger", sns_canister_type::LEDGER),
            ("swap", sns_canister_type::SWAP),
        ]
        .map(|(canister, kind)| self.adopt(add_wasm(canister, kind)))
        .to_vec()
    }

    /// Six days of voting rewards.
    fn mature(&mut self) {
        self.nns
            .pic
            .advance_time(StdDuration::from_secs(6 * DAY + 60));
        for _ in 0..10 {
            self.nns.pic.tick();
        }
    }
}

/// A sale the Fund matches, taking `min_icp` to `max_icp` of direct
/// participation, at most `max_icp` from one participant.
fn fund_sale(min_icp: u64, max_icp: u64) -> ProposalActionRequest {
    let mut csns = create_sale(true);
    let swap = csns.swap_parameters.as_mut().unwrap();
    swap.minimum_direct_participation_icp = tokens(min_icp * ICP);
    swap.maximum_direct_participation_icp = tokens(max_icp * ICP);
    swap.maximum_participant_icp = tokens(max_icp * ICP);
    ProposalActionRequest::CreateServiceNervousSystem(Box::new(csns))
}

/// The Neurons' Fund matches a sale: at execution the Fund's participation
/// for the sale's maximum is drawn from the maturity of the neuron that
/// joined it; at the end, the sale settles it with governance for the
/// direct participation reached (the function of the NNS, at the CMC's
/// rate), the rest goes back to the neuron's maturity, the Fund's ICP is
/// minted to the treasury, and the sale lists the Fund's participant.
fn should_match_a_sale_from_the_neurons_fund_and_settle_it(backend: Backend) {
    use nns_api::governance::Operation;
    const RATE: u64 = FUND_RATE;
    let mut env = fund_env(
        backend,
        &[(1, 100_000_000), (2, 1_000), (3, 5_000), (4, 5_000)],
    );
    let neurons = env.neurons;
    env.nns
        .manage(
            user(1),
            neurons[0],
            integration_tests::nns::configure(Operation::JoinCommunityFund {}),
        )
        .unwrap();
    for info in env.add_sale_modules() {
        assert_eq!(info.status, ProposalStatus::Executed as i32);
    }
    // Voting rewards give the Fund's neuron maturity.
    env.mature();
    let maturity = env.nns.neuron(neurons[0]).maturity_e8s_equivalent;
    assert!(maturity > 50_000 * ICP, "the Fund has maturity: {maturity}");

    let info = env.adopt(proposal("A matched sale", fund_sale(1_000, 5_000)));
    assert_eq!(info.status, ProposalStatus::Executed as i32, "{info:?}");
    // Drawn at execution: the function at the sale's maximum.
    let function = neurons_fund::MatchingFunction::new(maturity, RATE, Default::default());
    let reserved = function.apply_e8s(5_000 * ICP);
    assert!(reserved > 0);
    assert_eq!(
        env.nns.neuron(neurons[0]).maturity_e8s_equivalent,
        maturity - reserved
    );
    let deployed = env.deployed();
    let sale = deployed.instances.last().unwrap().swap_canister_id.unwrap();
    let (init,): (GetInitResponse,) =
        query_candid(&mut env.nns.pic, sale, "get_init", (Empty {},)).unwrap();
    let init = init.init.unwrap();
    assert_eq!(init.neurons_fund_participation, Some(true));
    let constraints = init.neurons_fund_participation_constraints.unwrap();
    assert_eq!(
        constraints.max_neurons_fund_participation_icp_e8s,
        Some(reserved)
    );
    assert_eq!(
        constraints.min_direct_participation_threshold_icp_e8s,
        Some(1_000 * ICP),
        "the sale's minimum, as the NNS says"
    );

    // 3 500 ICP of direct participation; committed at the deadline.
    let start = init.swap_start_timestamp_seconds.unwrap();
    let now = env.nns.now_seconds();
    env.nns
        .pic
        .advance_time(StdDuration::from_secs(start - now + 60));
    for _ in 0..3 {
        env.nns.pic.tick();
    }
    env.buy(sale, user(3), 2_000 * ICP);
    env.buy(sale, user(4), 1_500 * ICP);
    let treasury_before = env.nns.balance(AccountIdentifier::new(&developers(), None));
    env.nns.pic.advance_time(StdDuration::from_secs(7 * DAY));
    for _ in 0..12 {
        env.nns.pic.tick();
    }
    assert_eq!(env.lifecycle(sale), 3, "Committed");
    let matched = function.apply_e8s(3_500 * ICP);
    assert!(matched > 0 && matched < reserved, "{matched} of {reserved}");
    // The treasury: the direct participation less fees, and the Fund's ICP.
    assert_eq!(
        env.nns.balance(AccountIdentifier::new(&developers(), None)) - treasury_before,
        3_500 * ICP - 2 * FEE + matched
    );
    // The rest of the maturity is back (and the neuron earned more meanwhile).
    let after = env.nns.neuron(neurons[0]).maturity_e8s_equivalent;
    assert!(
        after >= maturity - matched,
        "{after} vs {maturity} - {matched}"
    );
    // The sale lists the Fund's participant and counts its ICP.
    let (listed,): (nns_api::swap::ListCommunityFundParticipantsResponse,) = query_candid(
        &mut env.nns.pic,
        sale,
        "list_community_fund_participants",
        (nns_api::swap::ListCommunityFundParticipantsRequest::default(),),
    )
    .unwrap();
    assert_eq!(listed.cf_participants.len(), 1);
    let participant = &listed.cf_participants[0];
    assert_eq!(participant.controller, Some(user(1)));
    assert_eq!(participant.cf_neurons[0].nns_neuron_id, neurons[0]);
    assert_eq!(participant.cf_neurons[0].amount_icp_e8s, matched);
    let (derived,): (nns_api::swap::GetDerivedStateResponse,) =
        query_candid(&mut env.nns.pic, sale, "get_derived_state", (Empty {},)).unwrap();
    assert_eq!(derived.neurons_fund_participation_icp_e8s, Some(matched));
    assert_eq!(derived.cf_neuron_count, Some(1));
    // The recipes: the two participants' baskets, then the Fund neuron's.
    let (recipes,): (nns_api::swap::ListSnsNeuronRecipesResponse,) = query_candid(
        &mut env.nns.pic,
        sale,
        "list_sns_neuron_recipes",
        (nns_api::swap::ListSnsNeuronRecipesRequest::default(),),
    )
    .unwrap();
    let recipes = recipes.sns_neuron_recipes;
    assert_eq!(recipes.len(), 9);
    let Some(nns_api::swap::Investor::CommunityFund(fund)) = &recipes[6].investor else {
        panic!("the Fund's basket comes last: {:?}", recipes[6].investor)
    };
    assert_eq!(fund.nns_neuron_id, neurons[0]);
    let (page,): (nns_api::swap::ListSnsNeuronRecipesResponse,) = query_candid(
        &mut env.nns.pic,
        sale,
        "list_sns_neuron_recipes",
        (nns_api::swap::ListSnsNeuronRecipesRequest {
            offset: Some(5),
            limit: Some(3),
        },),
    )
    .unwrap();
    assert_eq!(
        page.sns_neuron_recipes,
        recipes[5..8].to_vec(),
        "a page across both"
    );
    // The Fund's share of the tokens: its first basket neuron released to
    // the controller's subaccount named by the NNS neuron.
    let ledger = env
        .deployed()
        .instances
        .last()
        .unwrap()
        .ledger_canister_id
        .unwrap();
    let mut subaccount = [0u8; 32];
    subaccount[24..].copy_from_slice(&neurons[0].to_be_bytes());
    let fund_account = Account {
        owner: user(1),
        subaccount: Some(subaccount),
    };
    let fund_tokens =
        u128::from(1_000_000 * ICP) * u128::from(matched) / u128::from(3_500 * ICP + matched);
    // The releases' round trips: a few more rounds.
    for _ in 0..20 {
        env.nns.pic.tick();
    }
    let first = env.token_balance(ledger, fund_account);

    assert!(
        (first + TOKEN_FEE).abs_diff((fund_tokens / 3) as u64) <= 2,
        "{first} of {fund_tokens}"
    );
    // A stranger cannot settle the sale's participation.
    let request = nns_api::governance::sns::SettleNeuronsFundParticipationRequest {
        result: Some(nns_api::governance::sns::SaleResult::Aborted(Empty {})),
        nns_proposal_id: info.id.map(|p| p.id),
    };
    let (reply,): (nns_api::governance::sns::SettleNeuronsFundParticipationResponse,) =
        update_candid_as(
            &mut env.nns.pic,
            GOVERNANCE_CANISTER_ID,
            user(3),
            "settle_neurons_fund_participation",
            (request,),
        )
        .unwrap();
    let Some(nns_api::governance::sns::SettleResult::Err(e)) = reply.result else {
        panic!("a stranger settled: {reply:?}")
    };
    assert_eq!(e.error_type, ErrorType::NotAuthorized as i32);
    // A request without its proposal is refused as such.
    let (reply,): (nns_api::governance::sns::SettleNeuronsFundParticipationResponse,) =
        update_candid_as(
            &mut env.nns.pic,
            GOVERNANCE_CANISTER_ID,
            sale,
            "settle_neurons_fund_participation",
            (nns_api::governance::sns::SettleNeuronsFundParticipationRequest::default(),),
        )
        .unwrap();
    let Some(nns_api::governance::sns::SettleResult::Err(e)) = reply.result else {
        panic!("settled without a proposal: {reply:?}")
    };
    assert_eq!(e.error_type, ErrorType::InvalidCommand as i32);
}

/// A matched sale that aborts gives the Fund everything it drew: two twin
/// neurons (same stake, delay and age, following the same neuron, so the
/// same rewards), one in the Fund; while the sale runs the Fund's twin has
/// less maturity by what was drawn, and once the sale has aborted and
/// settled the two are equal again; the treasury gets nothing.
fn should_give_the_fund_its_maturity_back_when_a_sale_aborts(backend: Backend) {
    use nns_api::governance::{FolloweesForTopic, NeuronId, Operation, SetFollowing};
    let mut env = fund_env(
        backend,
        &[
            (1, 100_000_000),
            (2, 1_000),
            (3, 5_000),
            (5, 20_000_000),
            (6, 20_000_000),
        ],
    );
    let (neurons, nns) = (env.neurons, &mut env.nns);
    let twins = [5, 6].map(|n| nns.locked_neuron(user(n), 0, 10_000_000 * ICP));
    for (n, twin) in [(5, twins[0]), (6, twins[1])] {
        let topic_following = [0, 4, 14]
            .into_iter()
            .map(|topic| FolloweesForTopic {
                topic: Some(topic),
                followees: Some(vec![NeuronId { id: neurons[0] }]),
            })
            .collect();
        nns.manage(
            user(n),
            twin,
            Command::SetFollowing(SetFollowing {
                topic_following: Some(topic_following),
            }),
        )
        .unwrap();
    }
    nns.manage(
        user(5),
        twins[0],
        integration_tests::nns::configure(Operation::JoinCommunityFund {}),
    )
    .unwrap();
    for info in env.add_sale_modules() {
        assert_eq!(info.status, ProposalStatus::Executed as i32);
    }
    env.mature();
    let maturity = |env: &mut Env, id: u64| env.nns.neuron(id).maturity_e8s_equivalent;
    let (fund_twin, other_twin) = (maturity(&mut env, twins[0]), maturity(&mut env, twins[1]));
    assert!(
        fund_twin > 1_000 * ICP,
        "the twins earned maturity: {fund_twin}"
    );
    assert_eq!(fund_twin, other_twin, "twins earn alike");

    // A sale no one reaches the minimum of.
    assert_eq!(
        env.adopt(proposal("A sale that fails", fund_sale(4_000, 5_000)))
            .status,
        ProposalStatus::Executed as i32
    );
    let drawn = maturity(&mut env, twins[1]) - maturity(&mut env, twins[0]);
    assert!(drawn > 0, "the Fund's twin gave maturity to the sale");
    let sale = env
        .deployed()
        .instances
        .last()
        .unwrap()
        .swap_canister_id
        .unwrap();
    let (init,): (GetInitResponse,) =
        query_candid(&mut env.nns.pic, sale, "get_init", (Empty {},)).unwrap();
    let init = init.init.unwrap();
    assert_eq!(
        init.neurons_fund_participation_constraints
            .unwrap()
            .max_neurons_fund_participation_icp_e8s,
        Some(drawn)
    );
    let start = init.swap_start_timestamp_seconds.unwrap();
    let now = env.nns.now_seconds();
    env.nns
        .pic
        .advance_time(StdDuration::from_secs(start - now + 60));
    for _ in 0..3 {
        env.nns.pic.tick();
    }
    env.buy(sale, user(2), 100 * ICP);
    env.buy(sale, user(3), 100 * ICP);
    env.nns.pic.advance_time(StdDuration::from_secs(7 * DAY));
    for _ in 0..12 {
        env.nns.pic.tick();
    }
    assert_eq!(env.lifecycle(sale), 4, "Aborted");
    assert_eq!(
        maturity(&mut env, twins[0]),
        maturity(&mut env, twins[1]),
        "all the maturity drawn is back"
    );
    assert_eq!(
        env.nns.balance(AccountIdentifier::new(&developers(), None)),
        0
    );
    let (listed,): (nns_api::swap::ListCommunityFundParticipantsResponse,) = query_candid(
        &mut env.nns.pic,
        sale,
        "list_community_fund_participants",
        (nns_api::swap::ListCommunityFundParticipantsRequest::default(),),
    )
    .unwrap();
    assert!(
        listed.cf_participants.is_empty(),
        "an aborted sale has no Fund participants"
    );
}
