//! The NNS-style governance canister. This file holds only the endpoints;
//! the logic lives in the modules below, which unit-test without a runtime.

pub mod ballots;
pub mod codec;
pub mod config;
pub mod credits;
pub mod economics;
pub mod execution;
pub mod follow_index;
pub mod fund;
pub mod genesis;
pub mod genesis_arg;
pub mod governance;
pub mod limits;
pub mod manage;
pub mod metrics;
pub mod neuron;
pub mod neuron_codec;
pub mod neuron_store;
pub mod node_provider_rewards;
pub mod node_providers;
pub mod pages;
pub mod proposals;
pub mod rewards;
pub mod sns;
pub mod sns_deploy;
pub mod state;
pub mod views;

use candid::Principal;
use canister_common::fast_candid::KnownTypes;
use config::Config;
use ic_cdk::api::msg_caller;
use ic_cdk::{init, post_upgrade, query, trap, update};
use manage::now_seconds;
use nns_api::governance::{
    ClaimOrRefreshNeuronFromAccount, ClaimOrRefreshNeuronFromAccountResponse, ClaimOrRefreshResult,
    ErrorType, GetMetricsResult, GetPendingProposalsRequest, GovernanceArg, GovernanceError,
    KnownNeuron, ListKnownNeuronsResponse, ListNeuronVotesRequest, ListNeuronVotesResponse,
    ListNeurons, ListNeuronsResponse, ListNodeProviderRewardsRequest,
    ListNodeProviderRewardsResponse, ListNodeProvidersResponse, ListProposalInfoRequest,
    ListProposalInfoResponse, ManageNeuronCommandResponse, ManageNeuronRequest,
    ManageNeuronResponse, MonthlyNodeProviderRewards, NetworkEconomics, Neuron, NeuronId,
    NeuronIdOrSubaccount, NeuronInfo, NodeProvider, ProposalInfo, RewardEvent, UpdateNodeProvider,
};
use nns_api::http::{HttpRequest, HttpResponse};
use std::time::Duration;

/// How often due spawns and maturity disbursements are looked for.
const MATURITY_TIMER_INTERVAL: Duration = Duration::from_secs(60);
/// How often proposals past their deadline are decided (and adopted ones
/// whose execution failed to start are executed).
const PROPOSAL_TIMER_INTERVAL: Duration = Duration::from_secs(60);
/// How often vote cascades left unfinished (their command's messages were
/// interrupted) are looked for.
const CASCADE_TIMER_INTERVAL: Duration = Duration::from_secs(60);

/// How often the staked maturity of dissolved neurons is made maturity
/// again, as on the NNS.
const UNSTAKE_TIMER_INTERVAL: Duration = Duration::from_secs(60);
/// Neurons unstaked per run, as on the NNS.
const MAX_NEURONS_TO_UNSTAKE: usize = 100;

nns_api::embed_candid_metadata!("../../../candid/governance.did", b"(GovernanceArg)");

/// The init argument as the interface declares it: `init` decodes it
/// itself (`genesis_arg`), which ic-cdk would declare as a blob.
#[candid::candid_method(init)]
#[allow(dead_code)]
fn init_interface(_: GovernanceArg) {}

/// The argument's neurons are decoded after the rest, one at a time, as
/// they are inserted (`genesis_arg`).
#[init(decode_with = "genesis_arg::decode", hidden = true)]
fn init(arg: GovernanceArg) {
    let providers = node_providers::initial(arg.node_providers.clone().unwrap_or_default())
        .unwrap_or_else(|e| trap(e));
    for provider in providers {
        state::put_node_provider(provider.id.expect("checked"), provider);
    }
    let mut config = Config::from_init(arg).unwrap_or_else(|e| trap(e));
    let now = now_seconds();
    let genesis = *config.genesis_timestamp_seconds.get_or_insert(now);
    state::set_config(config);
    state::mutate(|g| g.start_rewards(genesis, now));
    let max_delay = state::read_config(|c| {
        economics::VotingPowerRules::of(&c.economics).max_dissolve_delay_seconds
    });
    let intake = std::rc::Rc::new(std::cell::RefCell::new(genesis::Intake::new(
        max_delay, now,
    )));
    let taking = intake.clone();
    genesis_arg::take_neurons(move |neuron| state::mutate(|g| taking.borrow_mut().take(g, neuron)))
        .unwrap_or_else(|e| trap(e));
    let intake = std::rc::Rc::into_inner(intake).expect("the decoder let go of it");
    state::mutate(|g| intake.into_inner().finish(g)).unwrap_or_else(|e| trap(e));
    start_timers();
    prepare_query_replies();
}

#[post_upgrade]
fn post_upgrade() {
    // No message of the old code runs on: an execution it began and did
    // not end is over.
    state::mutate(|g| g.fail_interrupted_executions(now_seconds()));
    let mut migrated = false;
    state::update_config(|c| migrated = c.adopt_mission_70());
    if migrated {
        let max_delay = state::read_config(|c| {
            economics::VotingPowerRules::of(&c.economics).max_dissolve_delay_seconds
        });
        state::mutate(|g| g.cut_dissolve_delays(now_seconds(), max_delay));
    }
    start_timers();
    prepare_query_replies();
    if !state::read(|g| g.neurons().counts_complete()) {
        ic_cdk_timers::set_timer(Duration::ZERO, count_neuron_index());
    }
}

/// Counts an index written before the per-principal counts existed, one
/// bounded step per message; `list_neurons` reads the whole index until
/// it is done.
async fn count_neuron_index() {
    if state::mutate(|g| g.count_neuron_index()) {
        ic_cdk_timers::set_timer(Duration::ZERO, count_neuron_index());
    }
}

/// Bounded work per message: one step of indexing an older store, then up
/// to [`MAX_NEURONS_TO_UNSTAKE`] neurons.
async fn unstake_maturity_of_dissolved_neurons() {
    let now = now_seconds();
    state::mutate(|g| {
        g.index_unstake_some();
        g.unstake_maturity_of_dissolved_neurons(now, MAX_NEURONS_TO_UNSTAKE);
    });
}

/// One step of the sweep that clears stale following, in a message of its
/// own.
async fn clear_stale_following() {
    let expires_after = state::read_config(|c| {
        economics::VotingPowerRules::of(&c.economics).following_expires_after_seconds()
    });
    state::mutate(|g| {
        g.clear_stale_following_some(now_seconds(), expires_after, NEURONS_SWEPT_PER_RUN)
    });
}

/// Neurons the stale-following sweep looks at per run (a minute): 100 000
/// neurons in under two hours, a small part of a message's instructions.
const NEURONS_SWEPT_PER_RUN: usize = 1_000;

fn start_timers() {
    ic_cdk_timers::set_timer_interval(MATURITY_TIMER_INTERVAL, manage::mint_due_maturity);
    ic_cdk_timers::set_timer_interval(
        UNSTAKE_TIMER_INTERVAL,
        unstake_maturity_of_dissolved_neurons,
    );
    ic_cdk_timers::set_timer_interval(PROPOSAL_TIMER_INTERVAL, execution::process_proposals);
    ic_cdk_timers::set_timer_interval(UNSTAKE_TIMER_INTERVAL, clear_stale_following);
    ic_cdk_timers::set_timer_interval(CASCADE_TIMER_INTERVAL, manage::continue_cascades);
    ic_cdk_timers::set_timer_interval(
        NODE_PROVIDER_REWARDS_TIMER_INTERVAL,
        node_provider_rewards::mint_if_due,
    );
}

/// How often governance looks whether a month of node-provider rewards is
/// due (the NNS looks at every heartbeat).
const NODE_PROVIDER_REWARDS_TIMER_INTERVAL: Duration = Duration::from_secs(60);

/// The rewards of the month as they would be minted now (nothing minted).
#[update]
async fn get_monthly_node_provider_rewards() -> Result<MonthlyNodeProviderRewards, GovernanceError>
{
    node_provider_rewards::read_month().await
}

#[query]
fn get_most_recent_monthly_node_provider_rewards() -> Option<MonthlyNodeProviderRewards> {
    state::most_recent_node_provider_rewards()
}

#[query]
fn list_node_provider_rewards(
    request: ListNodeProviderRewardsRequest,
) -> ListNodeProviderRewardsResponse {
    ListNodeProviderRewardsResponse {
        rewards: state::list_node_provider_rewards(request.date_filter),
    }
}

#[query]
fn list_node_providers() -> ListNodeProvidersResponse {
    ListNodeProvidersResponse {
        node_providers: state::node_providers(),
    }
}

#[query]
fn get_node_provider_by_caller(_: ()) -> Result<NodeProvider, GovernanceError> {
    let caller = msg_caller();
    state::node_provider(&caller).ok_or_else(|| {
        GovernanceError::new(
            ErrorType::NotFound,
            format!("Node Provider {caller} is not known by the NNS"),
        )
    })
}

/// A node provider changes its own reward account.
#[update]
fn update_node_provider(update: UpdateNodeProvider) -> Result<(), GovernanceError> {
    let caller = msg_caller();
    let Some(mut provider) = state::node_provider(&caller) else {
        return Err(GovernanceError::new(
            ErrorType::NotFound,
            format!("Node Provider {caller} is not known by the NNS"),
        ));
    };
    let account = update.reward_account.ok_or_else(|| {
        GovernanceError::new(
            ErrorType::PreconditionFailed,
            "reward_account not specified",
        )
    })?;
    node_providers::check_reward_account(&account)?;
    provider.reward_account = Some(account);
    state::put_node_provider(caller, provider);
    Ok(())
}

#[query]
fn get_latest_reward_event() -> RewardEvent {
    state::read(|g| g.latest_reward_event())
}

#[query]
fn get_proposal_info(id: u64) -> Option<ProposalInfo> {
    state::read(|g| views::proposal_info(g, id, &msg_caller(), now_seconds(), false))
}

#[query(hidden = true, encode_with = "encode_list_proposals_response")]
fn list_proposals(request: ListProposalInfoRequest) -> ListProposalInfoResponse {
    state::read(|g| views::list_proposals(g, &msg_caller(), &request, now_seconds()))
}

/// Settles the Neurons' Fund's part in a sale (see
/// `sns_deploy::settle`): called by the sale once it has swept its ICP.
#[update]
async fn settle_neurons_fund_participation(
    request: nns_api::governance::sns::SettleNeuronsFundParticipationRequest,
) -> nns_api::governance::sns::SettleNeuronsFundParticipationResponse {
    use nns_api::governance::sns::{
        NeuronsFundNeuron, SettleNeuronsFundParticipationResponse, SettleResult, SettledPortions,
    };
    let config = state::read_config(config::Config::clone);
    let result = sns_deploy::settle(msg_caller(), request, &config).await;
    SettleNeuronsFundParticipationResponse {
        result: Some(match result {
            Ok(portions) => SettleResult::Ok(SettledPortions {
                neurons_fund_neuron_portions: portions
                    .into_iter()
                    .map(|p| NeuronsFundNeuron {
                        controller: Some(p.member.controller),
                        hotkeys: Some(nns_api::swap::Principals {
                            principals: p.member.hotkeys,
                        }),
                        is_capped: Some(p.is_capped),
                        nns_neuron_id: Some(p.member.id),
                        amount_icp_e8s: Some(p.amount_e8s),
                    })
                    .collect(),
            }),
            Err(e) => SettleResult::Err(e),
        }),
    }
}

/// The sales `CreateServiceNervousSystem` proposals made, as SNS-W's
/// `list_deployed_snses` lists SNSes (a sale has only its swap and token
/// ledger; the other ids are unset).
#[query]
fn list_deployed_snses(
    _: nns_api::swap::Empty,
) -> nns_api::governance::sns::ListDeployedSnsesResponse {
    nns_api::governance::sns::ListDeployedSnsesResponse {
        instances: state::deployed_sales(),
    }
}

#[query]
fn get_pending_proposals(_: Option<GetPendingProposalsRequest>) -> Vec<ProposalInfo> {
    state::read(|g| views::pending_proposals(g, &msg_caller(), now_seconds()))
}

/// Replies with large types are encoded with their type tables cached
/// (for a full neuron, the table cost about 1.4 M instructions of a
/// `get_full_neuron`'s 1.6 M).
static MANAGE_NEURON_RESPONSE: KnownTypes<ManageNeuronResponse> = KnownTypes::new();
static LIST_NEURONS_RESPONSE: KnownTypes<ListNeuronsResponse> = KnownTypes::new();
static LIST_PROPOSALS_RESPONSE: KnownTypes<ListProposalInfoResponse> = KnownTypes::new();
static FULL_NEURON_REPLY: KnownTypes<Result<Neuron, GovernanceError>> = KnownTypes::new();
static NEURON_INFO_REPLY: KnownTypes<Result<NeuronInfo, GovernanceError>> = KnownTypes::new();

/// The query replies' tables, computed where the heap persists (a query
/// computing them would lose them).
fn prepare_query_replies() {
    LIST_NEURONS_RESPONSE.prepare();
    LIST_PROPOSALS_RESPONSE.prepare();
    FULL_NEURON_REPLY.prepare();
    NEURON_INFO_REPLY.prepare();
}

fn encode_full_neuron_reply(reply: Result<Neuron, GovernanceError>) -> Vec<u8> {
    FULL_NEURON_REPLY.encode(&reply)
}

fn encode_neuron_info_reply(reply: Result<NeuronInfo, GovernanceError>) -> Vec<u8> {
    NEURON_INFO_REPLY.encode(&reply)
}

fn encode_list_proposals_response(response: ListProposalInfoResponse) -> Vec<u8> {
    LIST_PROPOSALS_RESPONSE.encode(&response)
}

fn encode_manage_neuron_response(response: ManageNeuronResponse) -> Vec<u8> {
    MANAGE_NEURON_RESPONSE.encode(&response)
}

fn encode_list_neurons_response(response: ListNeuronsResponse) -> Vec<u8> {
    LIST_NEURONS_RESPONSE.encode(&response)
}

#[update(
    hidden = true,
    decode_with = "codec::decode_manage_neuron",
    encode_with = "encode_manage_neuron_response"
)]
async fn manage_neuron(request: ManageNeuronRequest) -> ManageNeuronResponse {
    let reply = manage::manage_neuron(msg_caller(), request)
        .await
        .unwrap_or_else(ManageNeuronCommandResponse::Error);
    ManageNeuronResponse {
        command: Some(reply),
    }
}

/// What a `Merge` would leave, without making it.
#[update]
fn simulate_manage_neuron(request: ManageNeuronRequest) -> ManageNeuronResponse {
    let reply = manage::simulate_manage_neuron(msg_caller(), request)
        .unwrap_or_else(ManageNeuronCommandResponse::Error);
    ManageNeuronResponse {
        command: Some(reply),
    }
}

/// A known neuron's votes, newest first.
#[query]
fn list_neuron_votes(request: ListNeuronVotesRequest) -> ListNeuronVotesResponse {
    state::read(|g| views::list_neuron_votes(g, &request))
}

#[update]
async fn claim_or_refresh_neuron_from_account(
    request: ClaimOrRefreshNeuronFromAccount,
) -> ClaimOrRefreshNeuronFromAccountResponse {
    let result =
        manage::claim_or_refresh_from_account(msg_caller(), request.controller, request.memo).await;
    ClaimOrRefreshNeuronFromAccountResponse {
        result: Some(match result {
            Ok(id) => ClaimOrRefreshResult::NeuronId(NeuronId { id }),
            Err(e) => ClaimOrRefreshResult::Error(e),
        }),
    }
}

#[query(hidden = true, encode_with = "encode_list_neurons_response")]
fn list_neurons(request: ListNeurons) -> ListNeuronsResponse {
    let economics = state::read_config(|c| c.economics.clone());
    state::read(|g| views::list_neurons(g, &msg_caller(), &request, &economics, now_seconds()))
}

/// The ids of the neurons the caller controls or holds a hot key of
/// (bounded: see [`views::MAX_NEURON_IDS`]).
#[query]
fn get_neuron_ids() -> Vec<u64> {
    let caller = msg_caller();
    state::read(|g| views::neuron_ids(g, &caller))
}

fn neuron_by_id_or_subaccount(by: NeuronIdOrSubaccount) -> Result<u64, GovernanceError> {
    match by {
        NeuronIdOrSubaccount::NeuronId(id) => Ok(id.id),
        NeuronIdOrSubaccount::Subaccount(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
            .ok()
            .and_then(|s| state::read(|g| g.neurons().id_by_subaccount(&s)))
            .ok_or_else(|| {
                GovernanceError::new(ErrorType::NotFound, "no neuron has that subaccount")
            }),
    }
}

/// The voting-power rules in force.
fn rules() -> economics::VotingPowerRules {
    state::read_config(|c| economics::VotingPowerRules::of(&c.economics))
}

fn full_neuron_for(caller: Principal, id: u64) -> Result<Neuron, GovernanceError> {
    state::read(|g| {
        let neuron = g.readable_by(&caller, id)?;
        let extras = views::extras(g, &neuron);
        Ok(views::full_neuron(&neuron, extras, &rules(), now_seconds()))
    })
}

fn neuron_info_of(caller: Principal, id: u64) -> Result<NeuronInfo, GovernanceError> {
    state::read(|g| {
        let neuron = g.neuron(id)?;
        let extras = views::extras(g, &neuron);
        let in_full = neuron.is_authorized_to_vote(&caller);
        Ok(views::neuron_info(
            &neuron,
            extras,
            in_full,
            &rules(),
            now_seconds(),
        ))
    })
}

/// The full neuron, for its controller and hot keys only.
#[query(hidden = true, encode_with = "encode_full_neuron_reply")]
fn get_full_neuron(id: u64) -> Result<Neuron, GovernanceError> {
    full_neuron_for(msg_caller(), id)
}

#[query(hidden = true, encode_with = "encode_full_neuron_reply")]
fn get_full_neuron_by_id_or_subaccount(
    by: NeuronIdOrSubaccount,
) -> Result<Neuron, GovernanceError> {
    full_neuron_for(msg_caller(), neuron_by_id_or_subaccount(by)?)
}

/// Figures over every neuron, counted once a day.
#[query]
fn get_metrics() -> GetMetricsResult {
    execution::CACHED_METRICS.with(|m| match m.borrow().clone() {
        Some(metrics) => GetMetricsResult::Ok(Box::new(metrics)),
        None => GetMetricsResult::Err(GovernanceError::new(
            ErrorType::Unavailable,
            "Metrics not available",
        )),
    })
}

/// The neurons registered by proposal under a name.
#[query]
fn list_known_neurons() -> ListKnownNeuronsResponse {
    let known_neurons = state::read(|g| g.known_neurons())
        .into_iter()
        .map(|(id, data)| KnownNeuron {
            id: Some(NeuronId { id }),
            known_neuron_data: Some(data),
        })
        .collect();
    ListKnownNeuronsResponse { known_neurons }
}

/// The public view of any neuron.
#[query(hidden = true, encode_with = "encode_neuron_info_reply")]
fn get_neuron_info(id: u64) -> Result<NeuronInfo, GovernanceError> {
    neuron_info_of(msg_caller(), id)
}

#[query(hidden = true, encode_with = "encode_neuron_info_reply")]
fn get_neuron_info_by_id_or_subaccount(
    by: NeuronIdOrSubaccount,
) -> Result<NeuronInfo, GovernanceError> {
    neuron_info_of(msg_caller(), neuron_by_id_or_subaccount(by)?)
}

#[query]
fn get_network_economics_parameters() -> NetworkEconomics {
    state::read_config(|c| c.economics.clone())
}

#[query(
    hidden = true,
    decode_with = "canister_common::http::decode_http_request"
)]
fn http_request(request: HttpRequest) -> HttpResponse {
    if request.path() != "/metrics" {
        return HttpResponse::not_found();
    }
    let now = now_seconds();
    let text = state::read(|g| {
        metrics::encode(
            &g.totals(now),
            g.latest_reward_event().day_after_genesis,
            now,
        )
    });
    HttpResponse::text(200, "text/plain; version=0.0.4", text)
}

#[query]
fn get_build_metadata() -> String {
    format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
}

/// The interface of the endpoints whose replies are encoded by hand
/// (`hidden` keeps the macro from declaring them as blob to blob).
#[cfg(test)]
#[allow(dead_code)]
mod hand_coded_signatures {
    use super::*;

    #[candid::candid_method(query)]
    fn http_request(_: HttpRequest) -> HttpResponse {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(update)]
    fn manage_neuron(_: ManageNeuronRequest) -> ManageNeuronResponse {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn list_neurons(_: ListNeurons) -> ListNeuronsResponse {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn list_proposals(_: ListProposalInfoRequest) -> ListProposalInfoResponse {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn get_full_neuron(_: u64) -> Result<Neuron, GovernanceError> {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn get_full_neuron_by_id_or_subaccount(
        _: NeuronIdOrSubaccount,
    ) -> Result<Neuron, GovernanceError> {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn get_neuron_info(_: u64) -> Result<NeuronInfo, GovernanceError> {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn get_neuron_info_by_id_or_subaccount(
        _: NeuronIdOrSubaccount,
    ) -> Result<NeuronInfo, GovernanceError> {
        unreachable!("declares a signature only")
    }
}

#[cfg(test)]
canister_common::candid_interface_test!("../../../candid/governance.did");
