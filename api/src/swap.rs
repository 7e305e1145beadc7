//! The decentralization sale's Candid types, as the SNS swap's interface has them
//! (`sns_swap.did`), for the methods this canister offers. Field names,
//! option-ness and numeric types are the official ones, so that the NNS
//! dapp's client decodes every reply.

use candid::{CandidType, Deserialize, Principal};

/// `record {}`: the argument of the swap's methods that take none.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Empty {}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NeuronBasketConstructionParameters {
    pub count: u64,
    pub dissolve_delay_interval_seconds: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Countries {
    pub iso_codes: Vec<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LinearScalingCoefficient {
    pub from_direct_participation_icp_e8s: Option<u64>,
    pub to_direct_participation_icp_e8s: Option<u64>,
    pub slope_numerator: Option<u64>,
    pub slope_denominator: Option<u64>,
    pub intercept_icp_e8s: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct IdealMatchedParticipationFunction {
    pub serialized_representation: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NeuronsFundParticipationConstraints {
    pub coefficient_intervals: Vec<LinearScalingCoefficient>,
    pub max_neurons_fund_participation_icp_e8s: Option<u64>,
    pub min_direct_participation_threshold_icp_e8s: Option<u64>,
    pub ideal_matched_participation_function: Option<IdealMatchedParticipationFunction>,
}

/// The swap's install argument.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Init {
    pub nns_proposal_id: Option<u64>,
    pub sns_root_canister_id: String,
    pub neurons_fund_participation: Option<bool>,
    pub min_participant_icp_e8s: Option<u64>,
    pub neuron_basket_construction_parameters: Option<NeuronBasketConstructionParameters>,
    pub fallback_controller_principal_ids: Vec<String>,
    pub max_icp_e8s: Option<u64>,
    pub neuron_minimum_stake_e8s: Option<u64>,
    pub confirmation_text: Option<String>,
    pub swap_start_timestamp_seconds: Option<u64>,
    pub swap_due_timestamp_seconds: Option<u64>,
    pub min_participants: Option<u32>,
    pub sns_token_e8s: Option<u64>,
    pub nns_governance_canister_id: String,
    pub transaction_fee_e8s: Option<u64>,
    pub icp_ledger_canister_id: String,
    pub sns_ledger_canister_id: String,
    pub neurons_fund_participation_constraints: Option<NeuronsFundParticipationConstraints>,
    pub should_auto_finalize: Option<bool>,
    pub max_participant_icp_e8s: Option<u64>,
    pub sns_governance_canister_id: String,
    pub min_direct_participation_icp_e8s: Option<u64>,
    pub restricted_countries: Option<Countries>,
    pub min_icp_e8s: Option<u64>,
    pub max_direct_participation_icp_e8s: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Icrc1Account {
    pub owner: Option<Principal>,
    pub subaccount: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ticket {
    pub creation_time: u64,
    pub ticket_id: u64,
    pub account: Option<Icrc1Account>,
    pub amount_icp_e8s: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSaleTicketRequest {
    pub subaccount: Option<serde_bytes::ByteBuf>,
    pub amount_icp_e8s: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct InvalidUserAmount {
    pub min_amount_icp_e8s_included: u64,
    pub max_amount_icp_e8s_included: u64,
}

/// `Ok_2`: a ticket, or none.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketOk {
    pub ticket: Option<Ticket>,
}

/// `Err_2`: why `new_sale_ticket` refused.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSaleTicketErr {
    pub invalid_user_amount: Option<InvalidUserAmount>,
    pub existing_ticket: Option<Ticket>,
    pub error_type: i32,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum NewSaleTicketResult {
    Ok(TicketOk),
    Err(NewSaleTicketErr),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSaleTicketResponse {
    pub result: Option<NewSaleTicketResult>,
}

/// `Err_1`: why `get_open_ticket` refused.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenTicketErr {
    pub error_type: Option<i32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum OpenTicketResult {
    Ok(TicketOk),
    Err(OpenTicketErr),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetOpenTicketResponse {
    pub result: Option<OpenTicketResult>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshBuyerTokensRequest {
    pub confirmation_text: Option<String>,
    pub buyer: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshBuyerTokensResponse {
    pub icp_accepted_participation_e8s: u64,
    pub icp_ledger_account_balance_e8s: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferableAmount {
    pub transfer_fee_paid_e8s: Option<u64>,
    pub transfer_start_timestamp_seconds: u64,
    pub amount_e8s: u64,
    pub amount_transferred_e8s: Option<u64>,
    pub transfer_success_timestamp_seconds: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BuyerState {
    pub icp: Option<TransferableAmount>,
    pub has_created_neuron_recipes: Option<bool>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetBuyerStateRequest {
    pub principal_id: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetBuyerStateResponse {
    pub buyer_state: Option<BuyerState>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetBuyersTotalResponse {
    pub buyers_total: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetLifecycleResponse {
    pub decentralization_sale_open_timestamp_seconds: Option<u64>,
    pub lifecycle: Option<i32>,
    pub decentralization_swap_termination_timestamp_seconds: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct GetDerivedStateResponse {
    pub sns_tokens_per_icp: Option<f64>,
    pub buyer_total_icp_e8s: Option<u64>,
    pub cf_participant_count: Option<u64>,
    pub neurons_fund_participation_icp_e8s: Option<u64>,
    pub direct_participation_icp_e8s: Option<u64>,
    pub direct_participant_count: Option<u64>,
    pub cf_neuron_count: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListDirectParticipantsRequest {
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Participant {
    pub participation: Option<BuyerState>,
    pub participant_id: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListDirectParticipantsResponse {
    pub participants: Vec<Participant>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorRefundIcpRequest {
    pub source_principal_id: Option<Principal>,
}

/// `Ok`: the refund's block.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundOk {
    pub block_height: Option<u64>,
}

/// `Err`: why `error_refund_icp` refused.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundErr {
    pub description: Option<String>,
    pub error_type: Option<i32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RefundResult {
    Ok(RefundOk),
    Err(RefundErr),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorRefundIcpResponse {
    pub result: Option<RefundResult>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetInitResponse {
    pub init: Option<Init>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepResult {
    pub failure: u32,
    pub skipped: u32,
    pub invalid: u32,
    pub success: u32,
    pub global_failures: u32,
}

/// `Ok_1`: the Neurons' Fund's settled participation.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SettledOk {
    pub neurons_fund_participation_icp_e8s: Option<u64>,
    pub neurons_fund_neurons_count: Option<u64>,
}

/// `Error`.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SettleError {
    pub message: Option<String>,
}

/// `Possibility_2`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SettlePossibility {
    Ok(SettledOk),
    Err(SettleError),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SettleNeuronsFundParticipationResult {
    pub possibility: Option<SettlePossibility>,
}

/// What `finalize_swap` did. The project's sales have no SNS root or
/// governance: the steps about dapp controllers, SNS modes and neuron
/// claims are never taken and their fields stay empty.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalizeSwapResponse {
    pub create_sns_neuron_recipes_result: Option<SweepResult>,
    pub error_message: Option<String>,
    pub settle_neurons_fund_participation_result: Option<SettleNeuronsFundParticipationResult>,
    pub sweep_icp_result: Option<SweepResult>,
    pub claim_neuron_result: Option<SweepResult>,
    pub sweep_sns_result: Option<SweepResult>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetAutoFinalizationStatusResponse {
    pub auto_finalize_swap_response: Option<FinalizeSwapResponse>,
    pub has_auto_finalize_been_attempted: Option<bool>,
    pub is_auto_finalize_enabled: Option<bool>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pub min_participant_icp_e8s: u64,
    pub neuron_basket_construction_parameters: Option<NeuronBasketConstructionParameters>,
    pub max_icp_e8s: u64,
    pub swap_due_timestamp_seconds: u64,
    pub min_participants: u32,
    pub sns_token_e8s: u64,
    pub sale_delay_seconds: Option<u64>,
    pub max_participant_icp_e8s: u64,
    pub min_direct_participation_icp_e8s: Option<u64>,
    pub min_icp_e8s: u64,
    pub max_direct_participation_icp_e8s: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetSaleParametersResponse {
    pub params: Option<Params>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSnsNeuronRecipesRequest {
    pub offset: Option<u64>,
    pub limit: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NeuronId {
    pub id: serde_bytes::ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NeuronAttributes {
    pub dissolve_delay_seconds: u64,
    pub memo: u64,
    pub followees: Vec<NeuronId>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectInvestment {
    pub buyer_principal: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CfInvestment {
    pub controller: Option<Principal>,
    pub hotkey_principal: String,
    pub hotkeys: Option<Principals>,
    pub nns_neuron_id: u64,
}

/// `Investor`: a direct participant, or a Neurons' Fund neuron.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Investor {
    CommunityFund(CfInvestment),
    Direct(DirectInvestment),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SnsNeuronRecipe {
    pub sns: Option<TransferableAmount>,
    pub claimed_status: Option<i32>,
    pub neuron_attributes: Option<NeuronAttributes>,
    pub investor: Option<Investor>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSnsNeuronRecipesResponse {
    pub sns_neuron_recipes: Vec<SnsNeuronRecipe>,
}

/// `DerivedState` (within `get_state`): the token price as the swap gives
/// it there, in 32 bits.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct DerivedState {
    pub sns_tokens_per_icp: f32,
    pub buyer_total_icp_e8s: u64,
    pub cf_participant_count: Option<u64>,
    pub neurons_fund_participation_icp_e8s: Option<u64>,
    pub direct_participation_icp_e8s: Option<u64>,
    pub direct_participant_count: Option<u64>,
    pub cf_neuron_count: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Principals {
    pub principals: Vec<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CfNeuron {
    pub has_created_neuron_recipes: Option<bool>,
    pub hotkeys: Option<Principals>,
    pub nns_neuron_id: u64,
    pub amount_icp_e8s: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CfParticipant {
    pub controller: Option<Principal>,
    pub hotkey_principal: String,
    pub cf_neurons: Vec<CfNeuron>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListCommunityFundParticipantsRequest {
    pub offset: Option<u64>,
    pub limit: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListCommunityFundParticipantsResponse {
    pub cf_participants: Vec<CfParticipant>,
}

/// `Swap`, the sale's whole state as `get_state` shows it. The fields
/// about SNS timers and the old ticket purge are left out (optional).
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Swap {
    pub auto_finalize_swap_response: Option<FinalizeSwapResponse>,
    pub neuron_recipes: Vec<SnsNeuronRecipe>,
    pub next_ticket_id: Option<u64>,
    pub decentralization_sale_open_timestamp_seconds: Option<u64>,
    pub finalize_swap_in_progress: Option<bool>,
    pub cf_participants: Vec<CfParticipant>,
    pub init: Option<Init>,
    pub already_tried_to_auto_finalize: Option<bool>,
    pub neurons_fund_participation_icp_e8s: Option<u64>,
    pub direct_participation_icp_e8s: Option<u64>,
    pub lifecycle: i32,
    pub decentralization_swap_termination_timestamp_seconds: Option<u64>,
    pub buyers: Vec<(String, BuyerState)>,
    pub params: Option<Params>,
    pub open_sns_token_swap_proposal_id: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct GetStateResponse {
    pub swap: Option<Swap>,
    pub derived: Option<DerivedState>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::types::subtype::{OptReport, subtype_with_config};
    use candid_parser::utils::CandidSource;

    /// The official interface (`@icp-sdk/canisters`' `sns/swap.did`, which
    /// the test command installs with `npm ci --prefix tests/js`), if there.
    fn official() -> Option<(candid::TypeEnv, String)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/js/node_modules/@icp-sdk/canisters/declarations/sns/swap.did"
        );
        let Ok(did) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is missing; run `npm ci --prefix tests/js`");
            return None;
        };
        let (env, _) = CandidSource::Text(&did)
            .load()
            .expect("the official interface parses");
        Some((env, did))
    }

    /// Ours is a subtype of the official type `name`, without Candid's
    /// special rule for `opt` fields (a mismatch would decode as `null`).
    fn assert_subtype<T: CandidType>(name: &str) {
        let Some((mut env, _)) = official() else {
            return;
        };
        let theirs = env.find_type(name).expect("a named official type").clone();
        let ours = env.merge_type(candid::TypeEnv::new(), T::ty());
        let mut gamma = std::collections::HashSet::new();
        subtype_with_config(OptReport::Error, &mut gamma, &env, &ours, &theirs)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    /// The official type `name` is a subtype of ours: what a client sends
    /// decodes into ours.
    fn assert_supertype<T: CandidType>(name: &str) {
        let Some((mut env, _)) = official() else {
            return;
        };
        let theirs = env.find_type(name).expect("a named official type").clone();
        let ours = env.merge_type(candid::TypeEnv::new(), T::ty());
        let mut gamma = std::collections::HashSet::new();
        subtype_with_config(OptReport::Error, &mut gamma, &env, &theirs, &ours)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    #[test]
    fn every_request_of_the_official_clients_decodes() {
        assert_supertype::<Init>("Init");
        assert_supertype::<NewSaleTicketRequest>("NewSaleTicketRequest");
        assert_supertype::<RefreshBuyerTokensRequest>("RefreshBuyerTokensRequest");
        assert_supertype::<GetBuyerStateRequest>("GetBuyerStateRequest");
        assert_supertype::<ListDirectParticipantsRequest>("ListDirectParticipantsRequest");
        assert_supertype::<ErrorRefundIcpRequest>("ErrorRefundIcpRequest");
        assert_supertype::<ListSnsNeuronRecipesRequest>("ListSnsNeuronRecipesRequest");
    }

    #[test]
    fn every_reply_is_a_subtype_of_the_official_one() {
        assert_subtype::<Init>("Init");
        assert_subtype::<NewSaleTicketResponse>("NewSaleTicketResponse");
        assert_subtype::<GetOpenTicketResponse>("GetOpenTicketResponse");
        assert_subtype::<RefreshBuyerTokensResponse>("RefreshBuyerTokensResponse");
        assert_subtype::<GetBuyerStateResponse>("GetBuyerStateResponse");
        assert_subtype::<GetBuyersTotalResponse>("GetBuyersTotalResponse");
        assert_subtype::<GetLifecycleResponse>("GetLifecycleResponse");
        assert_subtype::<GetDerivedStateResponse>("GetDerivedStateResponse");
        assert_subtype::<ListDirectParticipantsResponse>("ListDirectParticipantsResponse");
        assert_subtype::<ErrorRefundIcpResponse>("ErrorRefundIcpResponse");
        assert_subtype::<GetInitResponse>("GetInitResponse");
        assert_subtype::<FinalizeSwapResponse>("FinalizeSwapResponse");
        assert_subtype::<GetAutoFinalizationStatusResponse>("GetAutoFinalizationStatusResponse");
        assert_subtype::<GetSaleParametersResponse>("GetSaleParametersResponse");
        assert_subtype::<ListSnsNeuronRecipesResponse>("ListSnsNeuronRecipesResponse");
    }
}
