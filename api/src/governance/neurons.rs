//! Neurons: the types of `manage_neuron`, `list_neurons` and the neuron
//! queries, named and shaped as the real NNS governance's.

use candid::{CandidType, Deserialize, Principal};
use sha2::{Digest, Sha256};

/// The subaccount of the governance canister that holds a neuron's stake:
/// SHA-256(0x0c ‖ "neuron-stake" ‖ controller ‖ nonce as big-endian u64).
pub fn staking_subaccount(controller: &Principal, nonce: u64) -> [u8; 32] {
    domain_subaccount(b"neuron-stake", controller, nonce)
}

/// The subaccount of a neuron split off with a memo:
/// SHA-256(0x0c ‖ "split-neuron" ‖ controller ‖ memo as big-endian u64).
pub fn split_subaccount(controller: &Principal, memo: u64) -> [u8; 32] {
    domain_subaccount(b"split-neuron", controller, memo)
}

fn domain_subaccount(domain: &[u8], controller: &Principal, nonce: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([domain.len() as u8]);
    hasher.update(domain);
    hasher.update(controller.as_slice());
    hasher.update(nonce.to_be_bytes());
    hasher.finalize().into()
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NeuronId {
    pub id: u64,
}

/// Governance's account identifier: the 32 bytes in a record (the ledger's
/// is a bare blob).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccountIdentifier {
    pub hash: serde_bytes::ByteBuf,
}

/// An ICRC-1 account as governance spells it (the owner is optional).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub owner: Option<Principal>,
    pub subaccount: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount {
    pub e8s: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum NeuronIdOrSubaccount {
    Subaccount(serde_bytes::ByteBuf),
    NeuronId(NeuronId),
}

/// `GovernanceError.error_type`, numbered as the real `ErrorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorType {
    Unspecified = 0,
    Ok = 1,
    Unavailable = 2,
    NotAuthorized = 3,
    NotFound = 4,
    InvalidCommand = 5,
    RequiresNotDissolving = 6,
    RequiresDissolving = 7,
    RequiresDissolved = 8,
    HotKey = 9,
    ResourceExhausted = 10,
    PreconditionFailed = 11,
    External = 12,
    LedgerUpdateOngoing = 13,
    InsufficientFunds = 14,
    InvalidPrincipal = 15,
    InvalidProposal = 16,
    AlreadyJoinedCommunityFund = 17,
    NotInTheCommunityFund = 18,
    NeuronAlreadyVoted = 19,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GovernanceError {
    pub error_message: String,
    pub error_type: i32,
}

impl GovernanceError {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        Self {
            error_message: message.into(),
            error_type: error_type as i32,
        }
    }

    pub fn is(&self, error_type: ErrorType) -> bool {
        self.error_type == error_type as i32
    }
}

impl std::fmt::Display for GovernanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error {}: {}", self.error_type, self.error_message)
    }
}

/// `NeuronInfo.state`, numbered as the real `NeuronState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum NeuronState {
    NotDissolving = 1,
    Dissolving = 2,
    Dissolved = 3,
    Spawning = 4,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DissolveState {
    DissolveDelaySeconds(u64),
    WhenDissolvedTimestampSeconds(u64),
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct BallotInfo {
    pub vote: i32,
    pub proposal_id: Option<ProposalId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProposalId {
    pub id: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Followees {
    pub followees: Vec<NeuronId>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MaturityDisbursement {
    pub amount_e8s: Option<u64>,
    pub timestamp_of_disbursement_seconds: Option<u64>,
    pub finalize_disbursement_timestamp_seconds: Option<u64>,
    pub account_to_disburse_to: Option<Account>,
    pub account_identifier_to_disburse_to: Option<AccountIdentifier>,
}

/// The full neuron, as its controller and hot keys see it.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Neuron {
    pub id: Option<NeuronId>,
    pub controller: Option<Principal>,
    pub hot_keys: Vec<Principal>,
    /// The staking subaccount (32 bytes).
    pub account: serde_bytes::ByteBuf,
    pub cached_neuron_stake_e8s: u64,
    pub neuron_fees_e8s: u64,
    pub created_timestamp_seconds: u64,
    pub aging_since_timestamp_seconds: u64,
    pub dissolve_state: Option<DissolveState>,
    pub maturity_e8s_equivalent: u64,
    pub staked_maturity_e8s_equivalent: Option<u64>,
    pub auto_stake_maturity: Option<bool>,
    pub followees: Vec<(i32, Followees)>,
    pub recent_ballots: Vec<BallotInfo>,
    pub kyc_verified: bool,
    pub not_for_profit: bool,
    pub neuron_type: Option<i32>,
    pub spawn_at_timestamp_seconds: Option<u64>,
    pub voting_power_refreshed_timestamp_seconds: Option<u64>,
    pub deciding_voting_power: Option<u64>,
    pub potential_voting_power: Option<u64>,
    pub maturity_disbursements_in_progress: Option<Vec<MaturityDisbursement>>,
    /// The stake recorded when the maximum dissolve delay was cut, if the
    /// neuron had eight years then: 10 % of it adds to the voting power.
    pub eight_year_gang_bonus_base_e8s: Option<u64>,
    pub visibility: Option<i32>,
    pub joined_community_fund_timestamp_seconds: Option<u64>,
    pub known_neuron_data: Option<KnownNeuronData>,
}

/// The public view of a neuron.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NeuronInfo {
    pub id: Option<NeuronId>,
    pub dissolve_delay_seconds: u64,
    pub recent_ballots: Vec<BallotInfo>,
    pub neuron_type: Option<i32>,
    pub created_timestamp_seconds: u64,
    /// A [`NeuronState`].
    pub state: i32,
    /// The ICP staked (less fees owed); staked maturity is apart.
    pub stake_e8s: u64,
    pub retrieved_at_timestamp_seconds: u64,
    pub age_seconds: u64,
    /// The deciding voting power (the field's historical name).
    pub voting_power: u64,
    pub voting_power_refreshed_timestamp_seconds: Option<u64>,
    pub deciding_voting_power: Option<u64>,
    pub potential_voting_power: Option<u64>,
    pub staked_maturity_e8s_equivalent: Option<u64>,
    pub eight_year_gang_bonus_base_e8s: Option<u64>,
    pub visibility: Option<i32>,
    pub joined_community_fund_timestamp_seconds: Option<u64>,
    pub known_neuron_data: Option<KnownNeuronData>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClaimOrRefreshNeuronFromAccount {
    pub controller: Option<Principal>,
    pub memo: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ClaimOrRefreshResult {
    Error(GovernanceError),
    NeuronId(NeuronId),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClaimOrRefreshNeuronFromAccountResponse {
    pub result: Option<ClaimOrRefreshResult>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum By {
    /// Refresh the neuron the request names.
    NeuronIdOrSubaccount {},
    MemoAndController(ClaimOrRefreshNeuronFromAccount),
    /// Claim or refresh the caller's neuron staked with this memo.
    Memo(u64),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClaimOrRefresh {
    pub by: Option<By>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncreaseDissolveDelay {
    pub additional_dissolve_delay_seconds: u32,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetDissolveTimestamp {
    pub dissolve_timestamp_seconds: u64,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddHotKey {
    pub new_hot_key: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoveHotKey {
    pub hot_key_to_remove: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeAutoStakeMaturity {
    pub requested_setting_for_auto_stake_maturity: bool,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    IncreaseDissolveDelay(IncreaseDissolveDelay),
    SetDissolveTimestamp(SetDissolveTimestamp),
    StartDissolving {},
    StopDissolving {},
    AddHotKey(AddHotKey),
    RemoveHotKey(RemoveHotKey),
    ChangeAutoStakeMaturity(ChangeAutoStakeMaturity),
    SetVisibility(SetVisibility),
    JoinCommunityFund {},
    LeaveCommunityFund {},
}

/// A [`Visibility`] as its number.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetVisibility {
    pub visibility: Option<i32>,
}

/// Who sees a neuron in full: its controller and hot keys only (private,
/// the default), or anyone (public; known neurons always are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Visibility {
    Unspecified = 0,
    Private = 1,
    Public = 2,
}

/// A neuron registered by proposal under a name, so that others find and
/// follow it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KnownNeuronData {
    pub name: String,
    pub description: Option<String>,
    pub links: Option<Vec<String>>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KnownNeuron {
    pub id: Option<NeuronId>,
    pub known_neuron_data: Option<KnownNeuronData>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListKnownNeuronsResponse {
    pub known_neurons: Vec<KnownNeuron>,
}

/// Stake part of a dissolved neuron's ICP into a new neuron.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisburseToNeuron {
    pub dissolve_delay_seconds: u64,
    pub kyc_verified: bool,
    pub amount_e8s: u64,
    pub new_controller: Option<Principal>,
    pub nonce: u64,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Configure {
    pub operation: Option<Operation>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Disburse {
    pub to_account: Option<AccountIdentifier>,
    pub amount: Option<Amount>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub amount_e8s: u64,
    /// Makes the new neuron's subaccount [`split_subaccount`] of the
    /// controller and this memo.
    pub memo: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merge {
    pub source_neuron_id: Option<NeuronId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spawn {
    pub percentage_to_spawn: Option<u32>,
    pub new_controller: Option<Principal>,
    pub nonce: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct StakeMaturity {
    pub percentage_to_stake: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DisburseMaturity {
    pub percentage_to_disburse: u32,
    pub to_account: Option<Account>,
    pub to_account_identifier: Option<AccountIdentifier>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Follow {
    pub topic: i32,
    pub followees: Vec<NeuronId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshVotingPower {}

/// The followees of several topics at once (the NNS dapp's follow flow).
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SetFollowing {
    pub topic_following: Option<Vec<FolloweesForTopic>>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FolloweesForTopic {
    pub followees: Option<Vec<NeuronId>>,
    pub topic: Option<i32>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetFollowingResponse {}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ManageNeuronCommandRequest {
    ClaimOrRefresh(ClaimOrRefresh),
    Configure(Configure),
    Disburse(Disburse),
    Split(Split),
    Merge(Merge),
    Spawn(Spawn),
    StakeMaturity(StakeMaturity),
    DisburseMaturity(DisburseMaturity),
    Follow(Follow),
    RefreshVotingPower(RefreshVotingPower),
    SetFollowing(SetFollowing),
    MakeProposal(Box<super::MakeProposalRequest>),
    RegisterVote(super::RegisterVote),
    DisburseToNeuron(DisburseToNeuron),
    /// Retired on the NNS (use `StakeMaturity`): accepted, refused.
    MergeMaturity(candid::Reserved),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ManageNeuronRequest {
    /// Which neuron to operate on (or `id`, its older spelling).
    pub neuron_id_or_subaccount: Option<NeuronIdOrSubaccount>,
    pub command: Option<ManageNeuronCommandRequest>,
    pub id: Option<NeuronId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimOrRefreshResponse {
    pub refreshed_neuron_id: Option<NeuronId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpawnResponse {
    pub created_neuron_id: Option<NeuronId>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisburseResponse {
    pub transfer_block_height: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MergeResponse {
    pub target_neuron: Option<Neuron>,
    pub source_neuron: Option<Neuron>,
    pub target_neuron_info: Option<NeuronInfo>,
    pub source_neuron_info: Option<NeuronInfo>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct StakeMaturityResponse {
    pub maturity_e8s: u64,
    pub staked_maturity_e8s: u64,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisburseMaturityResponse {
    pub amount_disbursed_e8s: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshVotingPowerResponse {}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Empty {}

/// The outcome of a `manage_neuron` command (the real interface's
/// `Command_1`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ManageNeuronCommandResponse {
    Error(GovernanceError),
    ClaimOrRefresh(ClaimOrRefreshResponse),
    Configure(Empty),
    Disburse(DisburseResponse),
    Split(SpawnResponse),
    Merge(Box<MergeResponse>),
    Spawn(SpawnResponse),
    StakeMaturity(StakeMaturityResponse),
    DisburseMaturity(DisburseMaturityResponse),
    Follow(Empty),
    RefreshVotingPower(RefreshVotingPowerResponse),
    SetFollowing(SetFollowingResponse),
    MakeProposal(super::MakeProposalResponse),
    RegisterVote(Empty),
    DisburseToNeuron(SpawnResponse),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ManageNeuronResponse {
    pub command: Option<ManageNeuronCommandResponse>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NeuronSubaccount {
    pub subaccount: serde_bytes::ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListNeurons {
    pub neuron_ids: Vec<u64>,
    pub include_neurons_readable_by_caller: bool,
    pub include_empty_neurons_readable_by_caller: Option<bool>,
    pub include_public_neurons_in_full_neurons: Option<bool>,
    pub page_number: Option<u64>,
    pub page_size: Option<u64>,
    pub neuron_subaccounts: Option<Vec<NeuronSubaccount>>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListNeuronsResponse {
    pub neuron_infos: Vec<(u64, NeuronInfo)>,
    pub full_neurons: Vec<Neuron>,
    pub total_pages_available: Option<u64>,
}

/// Governance's cached metrics, as the NNS's `GovernanceCachedMetrics`:
/// counted once a day over every neuron. Buckets are by dissolve delay in
/// half years (bucket k: k × 6 months ≤ delay < (k + 1) × 6 months). This
/// network has no seed or early-contributor neurons: their figures are 0.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct GovernanceCachedMetrics {
    pub timestamp_seconds: u64,
    pub total_supply_icp: u64,
    pub dissolving_neurons_count: u64,
    pub dissolving_neurons_e8s_buckets: Vec<(u64, f64)>,
    pub dissolving_neurons_count_buckets: Vec<(u64, u64)>,
    pub dissolving_neurons_staked_maturity_e8s_equivalent_buckets: Vec<(u64, f64)>,
    pub dissolving_neurons_staked_maturity_e8s_equivalent_sum: u64,
    pub not_dissolving_neurons_count: u64,
    pub not_dissolving_neurons_e8s_buckets: Vec<(u64, f64)>,
    pub not_dissolving_neurons_count_buckets: Vec<(u64, u64)>,
    pub not_dissolving_neurons_staked_maturity_e8s_equivalent_buckets: Vec<(u64, f64)>,
    pub not_dissolving_neurons_staked_maturity_e8s_equivalent_sum: u64,
    pub dissolved_neurons_count: u64,
    pub dissolved_neurons_e8s: u64,
    pub garbage_collectable_neurons_count: u64,
    pub neurons_with_invalid_stake_count: u64,
    pub total_staked_e8s: u64,
    pub neurons_with_less_than_6_months_dissolve_delay_count: u64,
    pub neurons_with_less_than_6_months_dissolve_delay_e8s: u64,
    pub community_fund_total_staked_e8s: u64,
    pub community_fund_total_maturity_e8s_equivalent: u64,
    pub neurons_fund_total_active_neurons: u64,
    pub total_locked_e8s: u64,
    pub total_maturity_e8s_equivalent: u64,
    pub total_staked_maturity_e8s_equivalent: u64,
    pub spawning_neurons_count: u64,
    pub total_maturity_disbursements_in_progress_e8s_equivalent: Option<u64>,
    pub seed_neuron_count: u64,
    pub ect_neuron_count: u64,
    pub total_staked_e8s_seed: u64,
    pub total_staked_e8s_ect: u64,
    pub total_staked_maturity_e8s_equivalent_seed: u64,
    pub total_staked_maturity_e8s_equivalent_ect: u64,
    pub dissolving_neurons_e8s_buckets_seed: Vec<(u64, f64)>,
    pub dissolving_neurons_e8s_buckets_ect: Vec<(u64, f64)>,
    pub not_dissolving_neurons_e8s_buckets_seed: Vec<(u64, f64)>,
    pub not_dissolving_neurons_e8s_buckets_ect: Vec<(u64, f64)>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub enum GetMetricsResult {
    Ok(Box<GovernanceCachedMetrics>),
    Err(GovernanceError),
}
