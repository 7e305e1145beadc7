//! The `CreateServiceNervousSystem` proposal action as governance takes it
//! (the official record; `governance_parameters`, which only an SNS's own
//! governance would use, is accepted and ignored), the SNS modules it
//! installs (`AddSnsWasm`, the SNS-W canister's request) and the sales it
//! made (`list_deployed_snses`, SNS-W's answer).

use candid::{CandidType, Deserialize, Principal};
use serde_bytes::ByteBuf;

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub e8s: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Duration {
    pub seconds: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalTimeOfDay {
    pub seconds_after_utc_midnight: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    pub base64_encoding: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Countries {
    pub iso_codes: Vec<String>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Canister {
    pub id: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeuronBasketConstructionParameters {
    pub dissolve_delay_interval: Option<Duration>,
    pub count: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SwapParameters {
    pub minimum_participants: Option<u64>,
    pub neurons_fund_participation: Option<bool>,
    pub duration: Option<Duration>,
    pub neuron_basket_construction_parameters: Option<NeuronBasketConstructionParameters>,
    pub confirmation_text: Option<String>,
    pub maximum_participant_icp: Option<Tokens>,
    pub minimum_icp: Option<Tokens>,
    pub minimum_direct_participation_icp: Option<Tokens>,
    pub minimum_participant_icp: Option<Tokens>,
    pub start_time: Option<GlobalTimeOfDay>,
    pub maximum_direct_participation_icp: Option<Tokens>,
    pub maximum_icp: Option<Tokens>,
    pub neurons_fund_investment_icp: Option<Tokens>,
    pub restricted_countries: Option<Countries>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerParameters {
    pub transaction_fee: Option<Tokens>,
    pub token_symbol: Option<String>,
    pub token_logo: Option<Image>,
    pub token_name: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeuronDistribution {
    pub controller: Option<Principal>,
    pub dissolve_delay: Option<Duration>,
    pub memo: Option<u64>,
    pub vesting_period: Option<Duration>,
    pub stake: Option<Tokens>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DeveloperDistribution {
    pub developer_neurons: Vec<NeuronDistribution>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwapDistribution {
    pub total: Option<Tokens>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct InitialTokenDistribution {
    pub treasury_distribution: Option<SwapDistribution>,
    pub developer_distribution: Option<DeveloperDistribution>,
    pub swap_distribution: Option<SwapDistribution>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateServiceNervousSystem {
    pub url: Option<String>,
    pub fallback_controller_principal_ids: Vec<Principal>,
    pub logo: Option<Image>,
    pub name: Option<String>,
    pub ledger_parameters: Option<LedgerParameters>,
    pub description: Option<String>,
    pub dapp_canisters: Vec<Canister>,
    pub swap_parameters: Option<SwapParameters>,
    pub initial_token_distribution: Option<InitialTokenDistribution>,
}

/// SNS-W's canister types, by which a module is added and installed.
pub mod sns_canister_type {
    pub const LEDGER: i32 = 3;
    pub const SWAP: i32 = 4;
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SnsWasm {
    pub wasm: ByteBuf,
    pub proposal_id: Option<u64>,
    pub canister_type: i32,
}

/// The payload of an `ExecuteNnsFunction` proposal with `nns_function`
/// 30 (`AddSnsWasm`): a module for the sales governance opens, by its
/// SHA-256.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AddWasmRequest {
    pub hash: ByteBuf,
    pub wasm: Option<SnsWasm>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeployedSns {
    pub root_canister_id: Option<Principal>,
    pub governance_canister_id: Option<Principal>,
    pub index_canister_id: Option<Principal>,
    pub swap_canister_id: Option<Principal>,
    pub ledger_canister_id: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListDeployedSnsesResponse {
    pub instances: Vec<DeployedSns>,
}

/// `Committed_1`: how a committed sale ended, for the Fund's settlement.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettleCommitted {
    pub total_direct_participation_icp_e8s: Option<u64>,
    pub total_neurons_fund_participation_icp_e8s: Option<u64>,
    pub sns_governance_canister_id: Option<Principal>,
}

/// `Result_9`.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaleResult {
    Committed(SettleCommitted),
    Aborted(crate::swap::Empty),
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettleNeuronsFundParticipationRequest {
    pub result: Option<SaleResult>,
    pub nns_proposal_id: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NeuronsFundNeuron {
    pub controller: Option<Principal>,
    pub hotkeys: Option<crate::swap::Principals>,
    pub is_capped: Option<bool>,
    pub nns_neuron_id: Option<u64>,
    pub amount_icp_e8s: Option<u64>,
}

/// `Ok_1`.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SettledPortions {
    pub neurons_fund_neuron_portions: Vec<NeuronsFundNeuron>,
}

/// `Result_10`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SettleResult {
    Ok(SettledPortions),
    Err(super::GovernanceError),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SettleNeuronsFundParticipationResponse {
    pub result: Option<SettleResult>,
}
