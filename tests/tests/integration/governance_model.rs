//! Governance against a small model, with random operation sequences on the
//! real ledger, CMC and governance modules through the runtime: neuron
//! commands, proposals of every action, votes, timer rounds, time jumps and
//! upgrades. After every step:
//!
//! - every proposal executes at most once: a node provider holds its reward
//!   once the proposal shows `Executed` (nothing before it is adopted, never
//!   more), the economics are those of the last economics proposal
//!   executed, the CMC's rate that of the last rate proposal or reinstall
//!   executed (or of one whose execution's reply is on its way);
//! - the ledger's supply is the initial supply plus what was minted less
//!   what was burned and the fees, and governance minted no more than the
//!   node provider rewards paid plus the maturity it created less the
//!   maturity neurons still hold (exactly that once nothing is in flight):
//!   nothing is minted twice and no maturity is lost;
//! - the ballots of a proposal add up to the total taken when it was made,
//!   and its yes and no to the ballots that voted so;
//! - following works: after a vote and its cascade, no neuron that follows
//!   one that voted is left without a vote its followees decide.
//!
//! At the end of each case every neuron is dissolved, time passes and
//! everything is disbursed: every e8 staked and all maturity (but dust below
//! the smallest maturity disbursement) must have left governance.
//!
//! `PROPTEST_CASES` (default 64) and `PROPTEST_STEPS` (default 60) set the
//! number of cases and of steps per case; `PROPTEST_RNG_SEED` picks another
//! sequence of cases than the default, fixed one, and
//! `PROPTEST_MAX_SHRINK_ITERS` (default 16) how hard a failure is shrunk.

use candid::{Encode, Principal};
use integration_tests::env::{Backend, ErrorCode, TestEnv, query_candid, query_candid_as};
use integration_tests::nns::{FEE, ICP, NnsEnv, ONE_YEAR, configure, disburse_all, request, user};
use integration_tests::{install_cmc, install_ledger, wasm_gz_path};
use nns_api::AccountIdentifier;
use nns_api::cmc::{
    CyclesCanisterInitPayload, IcpXdrConversionRate, IcpXdrConversionRateResponse,
    UpdateIcpXdrConversionRatePayload,
};
use nns_api::governance::{
    ChangeAutoStakeMaturity, ClaimOrRefresh, DisburseMaturity, ExecuteNnsFunction, Follow,
    IncreaseDissolveDelay, InstallCodeRequest, ListNeurons, ListNeuronsResponse,
    MakeProposalRequest, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, Merge, Motion, NetworkEconomics, Neuron, NeuronId,
    Operation, ProposalActionRequest, ProposalId, ProposalInfo, ProposalStatus, RegisterVote,
    RewardEvent, RewardMode, RewardNodeProvider, RewardToAccount, Spawn, Split, StakeMaturity,
    Topic, Vote, nns_function,
};
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{CandidOperation, GetBlocksArgs, QueryBlocksResponse};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::time::Duration;

const USERS: u8 = 4;
const USER_ICP: u64 = 100_000;
const INITIAL_RATE: u64 = 35_000;
const DAY: u64 = 24 * 60 * 60;
/// Maturity below this cannot be disbursed (nor spawned).
const MINIMUM_MATURITY_DISBURSEMENT: u64 = ICP;
const FOLLOW_TOPICS: [Topic; 6] = [
    Topic::Unspecified,
    Topic::ExchangeRate,
    Topic::NetworkEconomics,
    Topic::Governance,
    Topic::NodeProviderRewards,
    Topic::ProtocolCanisterManagement,
];

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One step of a case. Neuron and proposal numbers are taken modulo the
/// number of neurons and proposals the case has made so far.
#[derive(Clone, Debug)]
enum Op {
    Stake {
        user: u8,
        icp: u64,
        lock_years: u8,
    },
    IncreaseDelay {
        n: usize,
        months: u8,
    },
    StartDissolving {
        n: usize,
    },
    StopDissolving {
        n: usize,
    },
    Follow {
        n: usize,
        topic: usize,
        followees: Vec<usize>,
    },
    Split {
        n: usize,
        percent: u64,
    },
    Merge {
        target: usize,
        source: usize,
    },
    Spawn {
        n: usize,
    },
    StakeMaturity {
        n: usize,
        percent: u32,
    },
    DisburseMaturity {
        n: usize,
        percent: u32,
        to_minting_account: bool,
    },
    Disburse {
        n: usize,
    },
    AutoStake {
        n: usize,
        on: bool,
    },
    Refresh {
        n: usize,
    },
    Propose {
        n: usize,
        kind: ProposalKind,
        amount_icp: u64,
    },
    Vote {
        n: usize,
        p: usize,
        yes: bool,
    },
    Tick {
        rounds: u8,
    },
    Advance {
        seconds: u64,
    },
    Upgrade,
}

#[derive(Clone, Copy, Debug)]
enum ProposalKind {
    Motion,
    Economics,
    Rate,
    ReinstallCmc,
    UpgradeLedger,
    Reward,
}

fn op() -> impl Strategy<Value = Op> {
    let n = || 0..64usize;
    let kind = prop_oneof![
        Just(ProposalKind::Motion),
        Just(ProposalKind::Economics),
        Just(ProposalKind::Rate),
        Just(ProposalKind::ReinstallCmc),
        Just(ProposalKind::UpgradeLedger),
        Just(ProposalKind::Reward),
    ];
    let seconds = prop_oneof![
        Just(1u64),
        Just(61),
        Just(3_600),
        Just(DAY / 2 + 60),
        Just(DAY),
        Just(4 * DAY + 60),
        Just(8 * DAY),
    ];
    prop_oneof![
        6 => (1..=USERS, 2..200u64, prop_oneof![1 => Just(0u8), 3 => Just(1u8), 2 => Just(2u8)])
            .prop_map(|(user, icp, lock_years)| Op::Stake { user, icp, lock_years }),
        2 => (n(), 1..12u8).prop_map(|(n, months)| Op::IncreaseDelay { n, months }),
        2 => n().prop_map(|n| Op::StartDissolving { n }),
        1 => n().prop_map(|n| Op::StopDissolving { n }),
        8 => (n(), prop_oneof![1 => Just(0usize), 1 => 0..FOLLOW_TOPICS.len()], proptest::collection::vec(n(), 1..3))
            .prop_map(|(n, topic, followees)| Op::Follow { n, topic, followees }),
        4 => (n(), 10..70u64).prop_map(|(n, percent)| Op::Split { n, percent }),
        1 => (n(), n()).prop_map(|(target, source)| Op::Merge { target, source }),
        2 => n().prop_map(|n| Op::Spawn { n }),
        2 => (n(), 1..=100u32).prop_map(|(n, percent)| Op::StakeMaturity { n, percent }),
        2 => (n(), 1..=100u32, prop::bool::weighted(0.1)).prop_map(
            |(n, percent, to_minting_account)| Op::DisburseMaturity { n, percent, to_minting_account }
        ),
        2 => n().prop_map(|n| Op::Disburse { n }),
        2 => (n(), any::<bool>()).prop_map(|(n, on)| Op::AutoStake { n, on }),
        1 => n().prop_map(|n| Op::Refresh { n }),
        6 => (n(), kind, 1..50u64)
            .prop_map(|(n, kind, amount_icp)| Op::Propose { n, kind, amount_icp }),
        16 => (n(), 0..32usize, prop::bool::weighted(0.75))
            .prop_map(|(n, p, yes)| Op::Vote { n, p, yes }),
        4 => (1..4u8).prop_map(|rounds| Op::Tick { rounds }),
        4 => seconds.prop_map(|seconds| Op::Advance { seconds }),
        1 => Just(Op::Upgrade),
    ]
}

/// What a proposal does when it is executed, as the model sees it.
#[derive(Clone, Debug)]
enum Effect {
    None,
    Economics(NetworkEconomics),
    Rate(u64),
    Reward { to: AccountIdentifier, amount: u64 },
}

#[derive(Clone, Debug)]
struct ProposalModel {
    id: u64,
    effect: Effect,
    /// The ballots' total when it was made.
    total: u64,
    executed: bool,
    /// The tally as last checked against the ballots.
    checked_tally: Option<(u64, u64)>,
    /// Forgotten by governance (pruned).
    gone: bool,
}

struct World {
    nns: NnsEnv,
    /// (id, controller) of every neuron made.
    neurons: Vec<(u64, Principal)>,
    proposals: Vec<ProposalModel>,
    next_memo: u64,
    serial: u64,
    economics: NetworkEconomics,
    rate: u64,
    maturity_created: u64,
    reward_day: u64,
    initial_supply: u64,
    blocks_read: u64,
    minted: u64,
    burned: u64,
    fees: u64,
    governance_wasm: Vec<u8>,
    ledger_wasm: Vec<u8>,
    cmc_wasm: Vec<u8>,
}

fn initial_economics() -> NetworkEconomics {
    NetworkEconomics {
        reject_cost_e8s: ICP,
        ..NetworkEconomics::default()
    }
}

impl World {
    fn new(wasms: &(Vec<u8>, Vec<u8>, Vec<u8>)) -> Self {
        let mut pic = TestEnv::new(Backend::Runtime);
        install_ledger(&mut pic, (1..=USERS).map(|n| (user(n), USER_ICP * ICP)));
        // The node providers rewards name, known from the start.
        integration_tests::install_governance_with(
            &mut pic,
            nns_api::governance::GovernanceArg {
                economics: Some(initial_economics()),
                node_providers: Some(
                    (0..PROVIDERS)
                        .map(|n| nns_api::governance::NodeProvider {
                            id: Some(provider(n)),
                            reward_account: None,
                        })
                        .collect(),
                ),
                ..Default::default()
            },
        );
        install_cmc(&mut pic, INITIAL_RATE, None);
        let nns = NnsEnv { pic };
        let mut world = Self {
            nns,
            neurons: vec![],
            proposals: vec![],
            next_memo: 0,
            serial: 0,
            economics: initial_economics(),
            rate: INITIAL_RATE,
            maturity_created: 0,
            reward_day: 0,
            initial_supply: u64::from(USERS) * USER_ICP * ICP,
            blocks_read: 0,
            minted: 0,
            burned: 0,
            fees: 0,
            governance_wasm: wasms.0.clone(),
            ledger_wasm: wasms.1.clone(),
            cmc_wasm: wasms.2.clone(),
        };
        world.reward_day = world.reward_event().day_after_genesis;
        // The initial balances are mints of their own.
        world.read_blocks();
        world.initial_supply = world.minted;
        world.minted = 0;
        world
    }

    fn neuron_at(&self, n: usize) -> Option<(u64, Principal)> {
        (!self.neurons.is_empty()).then(|| self.neurons[n % self.neurons.len()])
    }

    fn manage(&mut self, n: usize, command: Command) -> Option<Reply> {
        let (id, owner) = self.neuron_at(n)?;
        self.nns.manage(owner, id, command).ok()
    }

    fn now(&self) -> u64 {
        self.nns.now_seconds()
    }

    fn serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn apply(&mut self, op: &Op) {
        self.wait_until_running();
        match op.clone() {
            Op::Stake {
                user: who,
                icp,
                lock_years,
            } => {
                let owner = user(who);
                self.next_memo += 1;
                let memo = self.next_memo;
                self.nns.stake(owner, memo, icp * ICP);
                // A claim made while an InstallCode proposal has the
                // ledger stopped fails, and is made again once it runs.
                let mut attempts = 0;
                let id = loop {
                    match self.nns.claim(owner, memo) {
                        Ok(id) => break id,
                        Err(e) if e.error_message.contains("is stopped") && attempts < 20 => {
                            attempts += 1;
                            self.nns.pic.tick();
                        }
                        Err(e) => panic!("a fresh stake is claimed: {e:?}"),
                    }
                };
                self.neurons.push((id, owner));
                // Public, so that the other users' neurons may follow it.
                self.nns.make_public(owner, id);
                if lock_years > 0 {
                    let delay = IncreaseDissolveDelay {
                        additional_dissolve_delay_seconds: (u64::from(lock_years) * ONE_YEAR)
                            as u32,
                    };
                    self.nns
                        .manage(
                            owner,
                            id,
                            configure(Operation::IncreaseDissolveDelay(delay)),
                        )
                        .expect("a new neuron's delay can grow");
                }
            }
            Op::IncreaseDelay { n, months } => {
                let delay = IncreaseDissolveDelay {
                    additional_dissolve_delay_seconds: (u64::from(months) * ONE_YEAR / 12) as u32,
                };
                self.manage(n, configure(Operation::IncreaseDissolveDelay(delay)));
            }
            Op::StartDissolving { n } => {
                self.manage(n, configure(Operation::StartDissolving {}));
            }
            Op::StopDissolving { n } => {
                self.manage(n, configure(Operation::StopDissolving {}));
            }
            Op::Follow {
                n,
                topic,
                followees,
            } => {
                let followees = followees
                    .iter()
                    .filter_map(|&f| self.neuron_at(f))
                    .map(|(id, _)| NeuronId { id })
                    .collect();
                let follow = Follow {
                    topic: FOLLOW_TOPICS[topic] as i32,
                    followees,
                };
                self.manage(n, Command::Follow(follow));
            }
            Op::Split { n, percent } => {
                let Some((id, _)) = self.neuron_at(n) else {
                    return;
                };
                let stake = self.nns.neuron(id).cached_neuron_stake_e8s;
                let split = Split {
                    amount_e8s: stake * percent / 100,
                    memo: None,
                };
                if let Some(Reply::Split(r)) = self.manage(n, Command::Split(split)) {
                    let (_, owner) = self.neuron_at(n).unwrap();
                    self.neurons.push((r.created_neuron_id.unwrap().id, owner));
                }
            }
            Op::Merge { target, source } => {
                let (Some((_, a)), Some((source_id, b))) =
                    (self.neuron_at(target), self.neuron_at(source))
                else {
                    return;
                };
                if a == b {
                    let merge = Merge {
                        source_neuron_id: Some(NeuronId { id: source_id }),
                    };
                    self.manage(target, Command::Merge(merge));
                }
            }
            Op::Spawn { n } => {
                let spawn = Spawn {
                    percentage_to_spawn: None,
                    new_controller: None,
                    nonce: None,
                };
                if let Some(Reply::Spawn(r)) = self.manage(n, Command::Spawn(spawn)) {
                    let (_, owner) = self.neuron_at(n).unwrap();
                    self.neurons.push((r.created_neuron_id.unwrap().id, owner));
                }
            }
            Op::StakeMaturity { n, percent } => {
                let stake = StakeMaturity {
                    percentage_to_stake: Some(percent),
                };
                self.manage(n, Command::StakeMaturity(stake));
            }
            Op::DisburseMaturity {
                n,
                percent,
                to_minting_account,
            } => {
                let to_account_identifier =
                    to_minting_account.then(|| nns_api::governance::AccountIdentifier {
                        hash: AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, None)
                            .as_bytes()
                            .to_vec()
                            .into(),
                    });
                let disburse = DisburseMaturity {
                    percentage_to_disburse: percent,
                    to_account: None,
                    to_account_identifier,
                };
                self.manage(n, Command::DisburseMaturity(disburse));
            }
            Op::Disburse { n } => {
                self.manage(n, disburse_all());
            }
            Op::AutoStake { n, on } => {
                let change = ChangeAutoStakeMaturity {
                    requested_setting_for_auto_stake_maturity: on,
                };
                self.manage(n, configure(Operation::ChangeAutoStakeMaturity(change)));
            }
            Op::Refresh { n } => {
                let Some((id, owner)) = self.neuron_at(n) else {
                    return;
                };
                let refresh = Command::ClaimOrRefresh(ClaimOrRefresh {
                    by: Some(nns_api::governance::By::NeuronIdOrSubaccount {}),
                });
                let _ = self.nns.manage_as(owner, request(Some(id), refresh));
            }
            Op::Propose {
                n,
                kind,
                amount_icp,
            } => self.propose(n, kind, amount_icp),
            Op::Vote { n, p, yes } => {
                if self.proposals.is_empty() {
                    return;
                }
                let proposal = self.proposals[p % self.proposals.len()].id;
                let vote = if yes { Vote::Yes } else { Vote::No };
                let command = Command::RegisterVote(RegisterVote {
                    vote: vote as i32,
                    proposal: Some(ProposalId { id: proposal }),
                });
                self.manage(n, command);
            }
            Op::Tick { rounds } => {
                for _ in 0..rounds {
                    self.nns.pic.tick();
                }
            }
            Op::Advance { seconds } => {
                self.advance(seconds);
                for _ in 0..3 {
                    self.nns.pic.tick();
                }
            }
            Op::Upgrade => self.upgrade_governance(),
        }
    }

    /// Moves time on once the work in flight is over and its reward event,
    /// if any, is counted: each distribution is then seen on its own (a day
    /// passes between two).
    fn advance(&mut self, seconds: u64) {
        for _ in 0..10 {
            self.nns.pic.tick();
        }
        self.count_reward_event();
        self.nns.pic.advance_time(Duration::from_secs(seconds));
    }

    fn count_reward_event(&mut self) {
        let event = self.reward_event();
        if event.day_after_genesis != self.reward_day {
            self.reward_day = event.day_after_genesis;
            self.maturity_created += event.distributed_e8s_equivalent;
        }
    }

    /// Stopped, upgraded and started again, as the NNS root upgrades.
    fn upgrade_governance(&mut self) {
        let pic = &mut self.nns.pic;
        pic.stop_canister(GOVERNANCE_CANISTER_ID, None)
            .expect("governance stops");
        pic.upgrade_canister(
            GOVERNANCE_CANISTER_ID,
            self.governance_wasm.clone(),
            Encode!(&nns_api::governance::GovernanceArg::default()).unwrap(),
            None,
        )
        .expect("governance upgrades");
        pic.start_canister(GOVERNANCE_CANISTER_ID, None)
            .expect("governance starts");
    }

    fn propose(&mut self, n: usize, kind: ProposalKind, amount_icp: u64) {
        let serial = self.serial();
        let now = self.now();
        let (action, effect) = match kind {
            ProposalKind::Motion => (
                ProposalActionRequest::Motion(Motion {
                    motion_text: format!("motion {serial}"),
                }),
                Effect::None,
            ),
            ProposalKind::Economics => {
                let economics = NetworkEconomics {
                    max_proposals_to_keep_per_topic: 100 + serial as u32,
                    ..initial_economics()
                };
                (
                    ProposalActionRequest::ManageNetworkEconomics(economics.clone()),
                    Effect::Economics(economics),
                )
            }
            ProposalKind::Rate => {
                let rate = 20_000 + serial;
                let payload = UpdateIcpXdrConversionRatePayload {
                    data_source: "model".into(),
                    timestamp_seconds: now,
                    xdr_permyriad_per_icp: rate,
                    reason: None,
                };
                (
                    ProposalActionRequest::ExecuteNnsFunction(ExecuteNnsFunction {
                        nns_function: nns_function::ICP_XDR_CONVERSION_RATE,
                        payload: Encode!(&payload).unwrap().into(),
                    }),
                    Effect::Rate(rate),
                )
            }
            ProposalKind::ReinstallCmc => {
                let rate = 40_000 + serial;
                let init = Some(CyclesCanisterInitPayload {
                    exchange_rate: Some(IcpXdrConversionRate {
                        timestamp_seconds: now,
                        xdr_permyriad_per_icp: rate,
                    }),
                    ..Default::default()
                });
                (
                    ProposalActionRequest::InstallCode(InstallCodeRequest {
                        canister_id: Some(CYCLES_MINTING_CANISTER_ID),
                        install_mode: Some(2),
                        wasm_module: Some(self.cmc_wasm.clone().into()),
                        arg: Some(Encode!(&init).unwrap().into()),
                        skip_stopping_before_installing: None,
                    }),
                    Effect::Rate(rate),
                )
            }
            ProposalKind::UpgradeLedger => (
                ProposalActionRequest::InstallCode(InstallCodeRequest {
                    canister_id: Some(LEDGER_CANISTER_ID),
                    install_mode: Some(3),
                    wasm_module: Some(self.ledger_wasm.clone().into()),
                    arg: Some(Encode!(&None::<nns_api::ledger::LedgerArg>).unwrap().into()),
                    skip_stopping_before_installing: None,
                }),
                Effect::None,
            ),
            ProposalKind::Reward => {
                // Each reward to an account of its own, so that each
                // proposal's payment is seen apart.
                let to = AccountIdentifier::new(&reward_account(serial), None);
                let amount = amount_icp * ICP;
                (
                    ProposalActionRequest::RewardNodeProvider(RewardNodeProvider {
                        node_provider: Some(nns_api::governance::NodeProvider {
                            id: Some(provider(serial % PROVIDERS)),
                            reward_account: None,
                        }),
                        reward_mode: Some(RewardMode::RewardToAccount(RewardToAccount {
                            to_account: Some(nns_api::governance::AccountIdentifier {
                                hash: to.as_bytes().to_vec().into(),
                            }),
                        })),
                        amount_e8s: amount,
                    }),
                    Effect::Reward { to, amount },
                )
            }
        };
        let proposal = MakeProposalRequest {
            url: String::new(),
            title: Some(format!("proposal {serial}")),
            action: Some(action),
            summary: String::new(),
        };
        let Some(Reply::MakeProposal(r)) =
            self.manage(n, Command::MakeProposal(Box::new(proposal)))
        else {
            return;
        };
        let id = r.proposal_id.expect("a proposal id").id;
        // The tally as made (a vote may already have come, never a ballot).
        let total = self
            .info(Principal::anonymous(), id)
            .and_then(|i| i.latest_tally)
            .map_or(0, |t| t.total);
        self.proposals.push(ProposalModel {
            id,
            effect,
            total,
            executed: false,
            checked_tally: None,
            gone: false,
        });
    }

    fn info(&mut self, caller: Principal, id: u64) -> Option<ProposalInfo> {
        let (info,): (Option<ProposalInfo>,) = query_candid_as(
            &mut self.nns.pic,
            GOVERNANCE_CANISTER_ID,
            caller,
            "get_proposal_info",
            (id,),
        )
        .unwrap();
        info
    }

    fn reward_event(&mut self) -> RewardEvent {
        let (event,): (RewardEvent,) = query_candid(
            &mut self.nns.pic,
            GOVERNANCE_CANISTER_ID,
            "get_latest_reward_event",
            (),
        )
        .unwrap();
        event
    }

    fn economics_now(&mut self) -> NetworkEconomics {
        let (economics,): (NetworkEconomics,) = query_candid(
            &mut self.nns.pic,
            GOVERNANCE_CANISTER_ID,
            "get_network_economics_parameters",
            (),
        )
        .unwrap();
        economics
    }

    fn rate_now(&mut self) -> u64 {
        let (rate,): (IcpXdrConversionRateResponse,) = query_candid(
            &mut self.nns.pic,
            CYCLES_MINTING_CANISTER_ID,
            "get_icp_xdr_conversion_rate",
            (),
        )
        .unwrap();
        rate.data.xdr_permyriad_per_icp
    }

    /// Every neuron of the test users, in full.
    fn all_neurons(&mut self) -> Vec<Neuron> {
        let mut all = vec![];
        for n in 1..=USERS {
            let mut page = 0;
            loop {
                let request = ListNeurons {
                    neuron_ids: vec![],
                    include_neurons_readable_by_caller: true,
                    include_empty_neurons_readable_by_caller: Some(true),
                    include_public_neurons_in_full_neurons: None,
                    page_number: Some(page),
                    page_size: None,
                    neuron_subaccounts: None,
                };
                let (r,): (ListNeuronsResponse,) = query_candid_as(
                    &mut self.nns.pic,
                    GOVERNANCE_CANISTER_ID,
                    user(n),
                    "list_neurons",
                    (request,),
                )
                .unwrap();
                all.extend(r.full_neurons);
                page += 1;
                if page >= r.total_pages_available.unwrap_or(0) {
                    break;
                }
            }
        }
        all
    }

    /// Reads the ledger's new blocks into the mint, burn and fee totals.
    fn read_blocks(&mut self) {
        loop {
            let args = GetBlocksArgs {
                start: self.blocks_read,
                length: 1_000,
            };
            let (r,): (QueryBlocksResponse,) = query_candid(
                &mut self.nns.pic,
                LEDGER_CANISTER_ID,
                "query_blocks",
                (args,),
            )
            .unwrap();
            for block in &r.blocks {
                match &block.transaction.operation {
                    Some(CandidOperation::Mint { amount, .. }) => self.minted += amount.e8s,
                    Some(CandidOperation::Burn { amount, .. }) => self.burned += amount.e8s,
                    Some(CandidOperation::Transfer { fee, .. })
                    | Some(CandidOperation::Approve { fee, .. }) => self.fees += fee.e8s,
                    None => {}
                }
            }
            self.blocks_read += r.blocks.len() as u64;
            if r.blocks.is_empty() || self.blocks_read >= r.chain_length {
                break;
            }
        }
    }

    fn check(&mut self) -> Result<(), String> {
        self.check_with(false)
    }

    /// The proposal a step votes on, if it does (a new proposal is voted
    /// on by its proposer).
    fn proposal_voted_on(&self, op: &Op) -> Option<u64> {
        match op {
            Op::Vote { p, .. } if !self.proposals.is_empty() => {
                Some(self.proposals[p % self.proposals.len()].id)
            }
            // Not made yet: nothing has voted on it.
            Op::Propose { .. } => Some(u64::MAX),
            _ => None,
        }
    }

    /// Every ballot of `proposal`, by neuron: its vote.
    fn ballots(&mut self, proposal: u64) -> std::collections::BTreeMap<u64, i32> {
        let mut all = std::collections::BTreeMap::new();
        for n in 1..=USERS {
            if let Some(info) = self.info(user(n), proposal) {
                all.extend(info.ballots.iter().map(|(id, b)| (*id, b.vote)));
            }
        }
        all
    }

    /// Following, as the NNS defines it: once a vote and its cascade are
    /// over, no neuron whose followees (on the proposal's topic, else on
    /// all topics where the catch-all applies) include one that voted in this step may be left without
    /// a vote while its followees' votes decide one (yes by more than half
    /// of them, no by at least half).
    fn check_following(
        &mut self,
        proposal: u64,
        before: &std::collections::BTreeMap<u64, i32>,
    ) -> Result<(), String> {
        let Some(info) = self.info(Principal::anonymous(), proposal) else {
            return Ok(());
        };
        let topic = info.topic;
        let after = self.ballots(proposal);
        let unspecified = Vote::Unspecified as i32;
        let voted_now: std::collections::BTreeSet<u64> = after
            .iter()
            .filter(|(id, v)| {
                **v != unspecified && before.get(id).is_none_or(|b| *b == unspecified)
            })
            .map(|(id, _)| *id)
            .collect();
        if voted_now.is_empty() {
            return Ok(());
        }
        for neuron in self.all_neurons() {
            let id = neuron.id.unwrap().id;
            if after.get(&id) != Some(&unspecified) {
                continue;
            }
            let followees: Vec<u64> = neuron
                .followees
                .iter()
                .find(|(t, _)| *t == topic)
                .or_else(|| {
                    // The catch-all decides every topic but neuron
                    // management, motions and SNS & Neurons' Fund.
                    let catch_all = ![
                        Topic::NeuronManagement,
                        Topic::Governance,
                        Topic::SnsAndCommunityFund,
                    ]
                    .iter()
                    .any(|t| *t as i32 == topic);
                    catch_all
                        .then(|| neuron.followees.iter().find(|(t, _)| *t == 0))
                        .flatten()
                })
                .map(|(_, f)| f.followees.iter().map(|n| n.id).collect())
                .unwrap_or_default();
            if followees.is_empty() || !followees.iter().any(|f| voted_now.contains(f)) {
                continue;
            }
            let count = |vote: Vote| {
                followees
                    .iter()
                    .filter(|f| after.get(f) == Some(&(vote as i32)))
                    .count()
            };
            let (yes, no) = (count(Vote::Yes), count(Vote::No));
            if 2 * yes > followees.len() || 2 * no >= followees.len() {
                return Err(format!(
                    "proposal {proposal}: neuron {id} follows {followees:?} on topic {topic}, \
                     of which {yes} voted yes and {no} no, and it did not vote"
                ));
            }
        }
        Ok(())
    }

    /// The invariants, checked after every step; `exact` when no message
    /// is in flight.
    /// An InstallCode proposal stops its target while it installs: steps
    /// and checks use the ledger and the CMC once both run again.
    fn wait_until_running(&mut self) {
        // An execution adopted by the last step starts in these rounds.
        for _ in 0..3 {
            self.nns.pic.tick();
        }
        for canister in [LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID] {
            for _ in 0..20 {
                let probe: Result<(String,), _> =
                    query_candid(&mut self.nns.pic, canister, "__probe_running", ());
                match probe {
                    Err(e) if e.error_code == ErrorCode::CanisterStopped => self.nns.pic.tick(),
                    _ => break,
                }
            }
        }
    }

    fn check_with(&mut self, exact: bool) -> Result<(), String> {
        self.wait_until_running();
        // Proposals: executions seen, ballots against tallies.
        let mut newly_executed = vec![];
        // Rates of proposals adopted but not yet seen executed: the CMC
        // may show one while the execution's reply is on its way.
        let mut rates_in_flight = vec![];
        for k in 0..self.proposals.len() {
            let model = self.proposals[k].clone();
            if model.gone {
                continue;
            }
            let Some(info) = self.info(Principal::anonymous(), model.id) else {
                self.proposals[k].gone = true;
                continue;
            };
            let executed = info.status == ProposalStatus::Executed as i32;
            if let (true, Effect::Rate(r)) =
                (info.status == ProposalStatus::Adopted as i32, &model.effect)
            {
                rates_in_flight.push(*r);
            }
            if model.executed && !executed {
                return Err(format!(
                    "proposal {} was executed and now shows status {}",
                    model.id, info.status
                ));
            }
            if executed && !model.executed {
                self.proposals[k].executed = true;
                newly_executed.push(k);
            }
            let tally = info.latest_tally.expect("a tally");
            if tally.total != model.total {
                return Err(format!(
                    "proposal {}: the total moved from {} to {}",
                    model.id, model.total, tally.total
                ));
            }
            if model.checked_tally != Some((tally.yes, tally.no)) {
                self.proposals[k].checked_tally = Some((tally.yes, tally.no));
                let (mut total, mut yes, mut no) = (0u64, 0u64, 0u64);
                for n in 1..=USERS {
                    let mine = self.info(user(n), model.id).expect("still there");
                    for (_, ballot) in mine.ballots {
                        total += ballot.voting_power;
                        if ballot.vote == Vote::Yes as i32 {
                            yes += ballot.voting_power;
                        } else if ballot.vote == Vote::No as i32 {
                            no += ballot.voting_power;
                        }
                    }
                }
                if (total, yes, no) != (model.total, tally.yes, tally.no) {
                    return Err(format!(
                        "proposal {}: ballots add up to (total {total}, yes {yes}, no {no}), \
                         the tally says (total {}, yes {}, no {})",
                        model.id, model.total, tally.yes, tally.no
                    ));
                }
            }
        }
        // The effects of the proposals executed since the last step; of two
        // that set the same thing in one step, either may be the later one.
        let mut economics_candidates = vec![];
        let mut rate_candidates = vec![];
        for &k in &newly_executed {
            match self.proposals[k].effect.clone() {
                Effect::None | Effect::Reward { .. } => {}
                Effect::Economics(e) => economics_candidates.push(e),
                Effect::Rate(r) => rate_candidates.push(r),
            }
        }
        let economics = self.economics_now();
        if economics_candidates.contains(&economics) {
            self.economics = economics.clone();
        }
        if economics != self.economics {
            return Err(format!(
                "the economics are {economics:?}, the last executed proposal set {:?}",
                self.economics
            ));
        }
        let rate = self.rate_now();
        if rate_candidates.contains(&rate) {
            self.rate = rate;
        }
        if rate != self.rate && !rates_in_flight.contains(&rate) {
            return Err(format!(
                "the CMC's rate is {rate}, the last executed proposal set {}",
                self.rate
            ));
        }
        // A node provider holds its reward once the proposal is executed,
        // nothing before it is adopted, and never more than the reward
        // (while the execution's reply is on its way, either may show).
        let mut rewards_paid = 0;
        for model in self.proposals.clone() {
            if let Effect::Reward { to, amount } = model.effect {
                let held = self.nns.balance(to);
                let status = match self.info(Principal::anonymous(), model.id) {
                    Some(info) => info.status,
                    None => ProposalStatus::Executed as i32,
                };
                let allowed: &[u64] = if model.executed {
                    &[amount]
                } else if status == ProposalStatus::Adopted as i32 {
                    &[0, amount]
                } else {
                    &[0]
                };
                if !allowed.contains(&held) {
                    return Err(format!(
                        "node provider of proposal {} holds {held} e8s, the reward is {amount} \
                         and the proposal's status {status}",
                        model.id
                    ));
                }
                rewards_paid += held;
            }
        }

        // Supply and minting.
        self.count_reward_event();
        self.read_blocks();
        let supply = self.nns.total_supply();
        let expected = self.initial_supply + self.minted - self.burned - self.fees;
        if supply != expected {
            return Err(format!(
                "the supply is {supply}; initial + minted - burned - fees is {expected}"
            ));
        }
        let held: u64 = self
            .all_neurons()
            .iter()
            .map(|n| {
                n.maturity_e8s_equivalent
                    + n.staked_maturity_e8s_equivalent.unwrap_or(0)
                    + n.maturity_disbursements_in_progress
                        .iter()
                        .flatten()
                        .map(|d| d.amount_e8s.unwrap_or(0))
                        .sum::<u64>()
            })
            .sum();
        // Mints in flight (taken from the neurons, not yet on the ledger)
        // may make it less; once all is quiet, exactly.
        let entitled =
            i128::from(rewards_paid) + i128::from(self.maturity_created) - i128::from(held);
        let minted = i128::from(self.minted);
        if minted > entitled || (exact && minted != entitled) {
            return Err(format!(
                "governance minted {} e8s; node provider rewards paid ({rewards_paid}) plus \
                 maturity created ({}) less maturity held ({held}) is {entitled}",
                self.minted, self.maturity_created
            ));
        }
        Ok(())
    }

    /// Dissolves every neuron, lets time pass and disburses everything:
    /// then no stake and no maturity (but dust) may be left.
    fn drain(&mut self) -> Result<(), String> {
        let ids: Vec<(u64, Principal)> = self.neurons.clone();
        for &(id, owner) in &ids {
            let _ = self
                .nns
                .manage(owner, id, configure(Operation::StartDissolving {}));
        }
        self.advance(8 * ONE_YEAR + 2 * DAY);
        for _ in 0..5 {
            self.nns.pic.tick();
        }
        self.check()?;
        for _round in 0..3 {
            for &(id, owner) in &ids {
                let neuron = self.nns.full_neuron(owner, id).expect("the neuron exists");
                if neuron.spawn_at_timestamp_seconds.is_some() {
                    continue;
                }
                if neuron
                    .cached_neuron_stake_e8s
                    .saturating_sub(neuron.neuron_fees_e8s)
                    > FEE
                {
                    self.nns
                        .manage(owner, id, disburse_all())
                        .map_err(|e| format!("neuron {id} cannot be disbursed: {e:?}"))?;
                }
                if neuron.maturity_e8s_equivalent >= MINIMUM_MATURITY_DISBURSEMENT {
                    let disburse = DisburseMaturity {
                        percentage_to_disburse: 100,
                        to_account: None,
                        to_account_identifier: None,
                    };
                    self.nns
                        .manage(owner, id, Command::DisburseMaturity(disburse))
                        .map_err(|e| format!("neuron {id}'s maturity stays: {e:?}"))?;
                }
            }
            self.advance(8 * DAY);
            for _ in 0..30 {
                self.nns.pic.tick();
            }
            self.check_with(true)?;
        }
        for &(id, owner) in &ids {
            let n = self.nns.full_neuron(owner, id).expect("the neuron exists");
            let on_ledger = self.nns.stake_of_account(&n);
            let minted_stake = n.cached_neuron_stake_e8s.saturating_sub(n.neuron_fees_e8s);
            let in_progress = n.maturity_disbursements_in_progress.unwrap_or_default();
            if n.staked_maturity_e8s_equivalent.unwrap_or(0) > 0
                || n.maturity_e8s_equivalent >= MINIMUM_MATURITY_DISBURSEMENT
                || !in_progress.is_empty()
                || n.spawn_at_timestamp_seconds.is_some()
                || minted_stake > FEE
                || on_ledger != n.cached_neuron_stake_e8s
            {
                return Err(format!(
                    "neuron {id} still holds something once dissolved and disbursed: stake {} \
                     (fees {}, ledger {on_ledger}), maturity {}, staked maturity {:?}, \
                     disbursements {in_progress:?}, spawning {:?}",
                    n.cached_neuron_stake_e8s,
                    n.neuron_fees_e8s,
                    n.maturity_e8s_equivalent,
                    n.staked_maturity_e8s_equivalent,
                    n.spawn_at_timestamp_seconds
                ));
            }
        }
        Ok(())
    }
}

/// The node provider a reward proposal pays.
/// Node providers governance knows from its install.
const PROVIDERS: u64 = 4;

fn provider(n: u64) -> Principal {
    Principal::from_slice(&[0xd1, n as u8, 7])
}

fn reward_account(serial: u64) -> Principal {
    Principal::from_slice(&[0xd0, (serial >> 8) as u8, serial as u8, 7])
}

fn run_case(wasms: &(Vec<u8>, Vec<u8>, Vec<u8>), ops: &[Op]) -> Result<(), TestCaseError> {
    let mut world = World::new(wasms);
    for (step, op) in ops.iter().enumerate() {
        let voted_on = world.proposal_voted_on(op);
        let before = voted_on.map(|p| world.ballots(p));
        let proposals_before = world.proposals.len();
        world.apply(op);
        let mut result = world.check();
        if let (Ok(()), Some(before)) = (&result, before) {
            let proposal = match op {
                Op::Propose { .. } if world.proposals.len() > proposals_before => {
                    world.proposals.last().map(|p| p.id)
                }
                Op::Propose { .. } => None,
                _ => voted_on,
            };
            if let Some(p) = proposal {
                result = world.check_following(p, &before);
            }
        }
        result.map_err(|e| TestCaseError::fail(format!("after step {step} ({op:?}): {e}")))?;
    }
    world
        .drain()
        .map_err(|e| TestCaseError::fail(format!("at the end: {e}")))
}

#[test]
fn governance_keeps_its_invariants_under_random_operations() {
    let cases = env_number("PROPTEST_CASES", 64);
    let steps = env_number("PROPTEST_STEPS", 60) as usize;
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: env_number("PROPTEST_MAX_SHRINK_ITERS", 16),
        ..Config::default()
    };
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5eed_0f90_5e5e);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let wasms = (
        std::fs::read(wasm_gz_path("governance")).expect("scripts/build-canisters.sh has run"),
        std::fs::read(wasm_gz_path("ledger")).expect("scripts/build-canisters.sh has run"),
        std::fs::read(wasm_gz_path("cmc")).expect("scripts/build-canisters.sh has run"),
    );
    let strategy = proptest::collection::vec(op(), steps..=steps);
    if let Err(e) = runner.run(&strategy, |ops| run_case(&wasms, &ops)) {
        panic!("{e}");
    }
}
