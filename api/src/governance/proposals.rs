//! Proposals: the types of `MakeProposal`, `RegisterVote` and the proposal
//! queries, named, shaped and numbered as the real NNS governance's. The
//! actions are the subset this governance executes.

use super::{AccountIdentifier, GovernanceError, NetworkEconomics, NeuronId, ProposalId};
use candid::{CandidType, Deserialize, Principal};
use serde_bytes::ByteBuf;

/// What a proposal is about; neurons follow per topic (`Unspecified` is the
/// catch-all). Numbered as the real `Topic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Topic {
    Unspecified = 0,
    NeuronManagement = 1,
    ExchangeRate = 2,
    NetworkEconomics = 3,
    Governance = 4,
    NodeAdmin = 5,
    ParticipantManagement = 6,
    SubnetManagement = 7,
    ApplicationCanisterManagement = 8,
    Kyc = 9,
    NodeProviderRewards = 10,
    IcOsVersionDeployment = 12,
    IcOsVersionElection = 13,
    SnsAndCommunityFund = 14,
    ApiBoundaryNodeManagement = 15,
    SubnetRental = 16,
    ProtocolCanisterManagement = 17,
    ServiceNervousSystemManagement = 18,
}

/// `ProposalInfo.status`, numbered as the real `ProposalStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ProposalStatus {
    Open = 1,
    Rejected = 2,
    Adopted = 3,
    Executed = 4,
    Failed = 5,
}

/// `ProposalInfo.reward_status`, numbered as the real one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ProposalRewardStatus {
    AcceptVotes = 1,
    ReadyToSettle = 2,
    Settled = 3,
    Ineligible = 4,
}

/// A ballot's vote, numbered as the real `Vote`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Vote {
    Unspecified = 0,
    Yes = 1,
    No = 2,
}

/// A vote as `list_neuron_votes` reports it (a variant there, as on the
/// NNS; abstentions are `Unspecified`).
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordedVote {
    Unspecified,
    Yes,
    No,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListNeuronVotesRequest {
    pub neuron_id: Option<super::NeuronId>,
    /// Only votes on proposals before this one (the next page's token).
    pub before_proposal: Option<super::ProposalId>,
    /// At most 500 (also when unset).
    pub limit: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeuronVote {
    pub proposal_id: Option<super::ProposalId>,
    pub vote: Option<RecordedVote>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NeuronVotes {
    pub votes: Option<Vec<NeuronVote>>,
    /// Proposals before this one keep no more ballots to report.
    pub all_finalized_before_proposal: Option<super::ProposalId>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ListNeuronVotesResponse {
    Ok(NeuronVotes),
    Err(super::GovernanceError),
}

impl Vote {
    pub fn from_i32(vote: i32) -> Option<Self> {
        match vote {
            0 => Some(Self::Unspecified),
            1 => Some(Self::Yes),
            2 => Some(Self::No),
            _ => None,
        }
    }
}

/// `ExecuteNnsFunction.nns_function` values this governance executes.
pub mod nns_function {
    /// Set the ICP/XDR conversion rate on the CMC; the payload is a
    /// Candid-encoded `UpdateIcpXdrConversionRatePayload`.
    pub const ICP_XDR_CONVERSION_RATE: i32 = 10;
    /// Add a module for the sales governance opens (SNS-W's `add_wasm`,
    /// kept by governance here); the payload is a Candid-encoded
    /// `sns::AddWasmRequest`.
    pub const ADD_SNS_WASM: i32 = 30;
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Motion {
    pub motion_text: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExecuteNnsFunction {
    pub nns_function: i32,
    pub payload: ByteBuf,
}

/// `InstallCode` as a proposal shows it: hashes, not the module.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InstallCode {
    pub canister_id: Option<Principal>,
    pub install_mode: Option<i32>,
    pub wasm_module_hash: Option<ByteBuf>,
    pub arg_hash: Option<ByteBuf>,
    pub skip_stopping_before_installing: Option<bool>,
}

/// `InstallCode` as a proposer submits it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InstallCodeRequest {
    pub canister_id: Option<Principal>,
    /// 1 install, 2 reinstall, 3 upgrade.
    pub install_mode: Option<i32>,
    pub wasm_module: Option<ByteBuf>,
    pub arg: Option<ByteBuf>,
    pub skip_stopping_before_installing: Option<bool>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeProvider {
    pub id: Option<Principal>,
    pub reward_account: Option<AccountIdentifier>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewardToNeuron {
    pub dissolve_delay_seconds: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RewardToAccount {
    pub to_account: Option<AccountIdentifier>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RewardMode {
    RewardToNeuron(RewardToNeuron),
    RewardToAccount(RewardToAccount),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RewardNodeProvider {
    pub node_provider: Option<NodeProvider>,
    pub reward_mode: Option<RewardMode>,
    pub amount_e8s: u64,
}

/// `AddOrRemoveNodeProvider`'s change.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Change {
    ToRemove(NodeProvider),
    ToAdd(NodeProvider),
}

/// Adds a node provider to governance's list (which monthly rewards are
/// paid to) or removes one.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AddOrRemoveNodeProvider {
    pub change: Option<Change>,
}

/// Rewards for many providers: here only `use_registry_derived_rewards =
/// opt true`, which mints the month's rewards as the monthly task does
/// (and starts that task's clock).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RewardNodeProviders {
    pub use_registry_derived_rewards: Option<bool>,
    pub rewards: Vec<RewardNodeProvider>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateUtc {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdrConversionRate {
    pub xdr_permyriad_per_icp: Option<u64>,
    pub timestamp_seconds: Option<u64>,
}

/// One month of node-provider rewards, as governance minted them.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MonthlyNodeProviderRewards {
    pub minimum_xdr_permyriad_per_icp: Option<u64>,
    pub registry_version: Option<u64>,
    pub algorithm_version: Option<u32>,
    pub node_providers: Vec<NodeProvider>,
    pub timestamp: u64,
    pub start_date: Option<DateUtc>,
    pub end_date: Option<DateUtc>,
    pub rewards: Vec<RewardNodeProvider>,
    pub xdr_conversion_rate: Option<XdrConversionRate>,
    pub maximum_node_provider_rewards_e8s: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateRangeFilter {
    pub start_timestamp_seconds: Option<u64>,
    pub end_timestamp_seconds: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListNodeProviderRewardsRequest {
    pub date_filter: Option<DateRangeFilter>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListNodeProviderRewardsResponse {
    pub rewards: Vec<MonthlyNodeProviderRewards>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListNodeProvidersResponse {
    pub node_providers: Vec<NodeProvider>,
}

/// What a node provider may change of its own record.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateNodeProvider {
    pub reward_account: Option<AccountIdentifier>,
}

/// What an adopted proposal does.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Motion(Motion),
    ManageNetworkEconomics(NetworkEconomics),
    ExecuteNnsFunction(ExecuteNnsFunction),
    InstallCode(InstallCode),
    RewardNodeProvider(RewardNodeProvider),
    RegisterKnownNeuron(super::KnownNeuron),
    DeregisterKnownNeuron(DeregisterKnownNeuron),
    CreateServiceNervousSystem(Box<super::sns::CreateServiceNervousSystem>),
    AddOrRemoveNodeProvider(AddOrRemoveNodeProvider),
    RewardNodeProviders(RewardNodeProviders),
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeregisterKnownNeuron {
    pub id: Option<super::NeuronId>,
}

/// What a proposer asks for.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ProposalActionRequest {
    Motion(Motion),
    ManageNetworkEconomics(NetworkEconomics),
    ExecuteNnsFunction(ExecuteNnsFunction),
    InstallCode(InstallCodeRequest),
    RewardNodeProvider(RewardNodeProvider),
    RegisterKnownNeuron(super::KnownNeuron),
    DeregisterKnownNeuron(DeregisterKnownNeuron),
    // The NNS's other actions: accepted, so that every client's request
    // decodes, and refused as not supported here.
    ManageNeuron(candid::Reserved),
    UpdateCanisterSettings(candid::Reserved),
    StopOrStartCanister(candid::Reserved),
    CreateServiceNervousSystem(Box<super::sns::CreateServiceNervousSystem>),
    RewardNodeProviders(RewardNodeProviders),
    ApproveGenesisKyc(candid::Reserved),
    AddOrRemoveNodeProvider(AddOrRemoveNodeProvider),
    FulfillSubnetRentalRequest(candid::Reserved),
    BlessAlternativeGuestOsVersion(candid::Reserved),
    TakeCanisterSnapshot(candid::Reserved),
    LoadCanisterSnapshot(candid::Reserved),
    CreateCanisterAndInstallCode(candid::Reserved),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub url: String,
    pub title: Option<String>,
    pub action: Option<Action>,
    pub summary: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MakeProposalRequest {
    pub url: String,
    pub title: Option<String>,
    pub action: Option<ProposalActionRequest>,
    pub summary: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MakeProposalResponse {
    pub message: Option<String>,
    pub proposal_id: Option<ProposalId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterVote {
    /// A [`Vote`].
    pub vote: i32,
    pub proposal: Option<ProposalId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ballot {
    /// A [`Vote`].
    pub vote: i32,
    pub voting_power: u64,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub no: u64,
    pub yes: u64,
    pub total: u64,
    pub timestamp_seconds: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProposalInfo {
    pub id: Option<ProposalId>,
    pub proposer: Option<NeuronId>,
    pub proposal: Option<Box<Proposal>>,
    /// A [`Topic`].
    pub topic: i32,
    /// A [`ProposalStatus`].
    pub status: i32,
    /// A [`ProposalRewardStatus`].
    pub reward_status: i32,
    pub ballots: Vec<(u64, Ballot)>,
    pub latest_tally: Option<Tally>,
    pub proposal_timestamp_seconds: u64,
    pub deadline_timestamp_seconds: Option<u64>,
    pub decided_timestamp_seconds: u64,
    pub executed_timestamp_seconds: u64,
    pub failed_timestamp_seconds: u64,
    pub failure_reason: Option<GovernanceError>,
    pub reject_cost_e8s: u64,
    pub reward_event_round: u64,
    pub total_potential_voting_power: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListProposalInfoRequest {
    pub include_reward_status: Vec<i32>,
    pub omit_large_fields: Option<bool>,
    pub before_proposal: Option<ProposalId>,
    pub limit: u32,
    pub exclude_topic: Vec<i32>,
    pub include_all_manage_neuron_proposals: Option<bool>,
    pub include_status: Vec<i32>,
    pub return_self_describing_action: Option<bool>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListProposalInfoResponse {
    pub proposal_info: Vec<ProposalInfo>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetPendingProposalsRequest {
    pub return_self_describing_action: Option<bool>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RewardEvent {
    pub day_after_genesis: u64,
    pub actual_timestamp_seconds: u64,
    pub total_available_e8s_equivalent: u64,
    pub distributed_e8s_equivalent: u64,
    pub settled_proposals: Vec<ProposalId>,
    pub rounds_since_last_distribution: Option<u64>,
    pub latest_round_available_e8s_equivalent: Option<u64>,
}
