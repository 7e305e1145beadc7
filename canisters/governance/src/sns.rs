//! Decentralization sales opened by `CreateServiceNervousSystem`: the
//! checks of the proposal (the NNS's, `docs/sns-swap.md` §6, for what the
//! project's sales use), the sale's window, and the install arguments of
//! the project's token ledger and of its sale. Plain Rust: execution
//! (`execution.rs`) makes the calls.
//!
//! The project has no SNS: no root, no SNS governance, no index. The
//! project's treasury is its first fallback controller, which receives the
//! sale's ICP and the treasury's tokens; developer neurons are paid to
//! their controllers' accounts; the sale releases buyers' basket neurons
//! on the token ledger as they unlock.

use candid::Principal;
use icrc_ledger_types::icrc1::account::Account;
use nns_api::governance::sns::{CreateServiceNervousSystem, SwapParameters, Tokens};
use nns_api::swap::{Countries, Init, NeuronBasketConstructionParameters};
use nns_api::token_ledger::InitArgs as TokenInit;

const DAY: u64 = 86_400;
/// The most a sale may take (1 B ICP), the least per participant
/// (0.01 ICP), as the NNS.
const MAX_DIRECT_E8S: u64 = 1_000_000_000 * 100_000_000;
const MIN_PARTICIPANT_E8S: u64 = 1_000_000;
const MAX_FALLBACK_CONTROLLERS: usize = 15;
const MAX_CONFIRMATION_TEXT_CHARS: usize = 1_000;
const MAX_CONFIRMATION_TEXT_BYTES: usize = 8_000;
/// The SNS default longest dissolve delay (8 years), which bounds a basket.
const MAX_DISSOLVE_DELAY_SECONDS: u64 = 8 * 365 * DAY + 2 * DAY;

/// The subaccount of the sale that is the token's minting account: only
/// the sale can mint or burn the project's tokens.
pub const MINTING_SUBACCOUNT: [u8; 32] = {
    let mut s = [0u8; 32];
    s[31] = 1;
    s
};

/// What a checked proposal asks for, with every required field present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleRequest {
    pub token_name: String,
    pub token_symbol: String,
    pub transaction_fee_e8s: u64,
    pub treasury: Principal,
    pub fallback_controllers: Vec<Principal>,
    pub developers: Vec<(Principal, u64)>,
    pub treasury_e8s: u64,
    pub sale_tokens_e8s: u64,
    pub min_participants: u32,
    pub min_direct_e8s: u64,
    pub max_direct_e8s: u64,
    pub min_participant_e8s: u64,
    pub max_participant_e8s: u64,
    pub basket_count: u64,
    pub basket_interval_seconds: u64,
    pub duration_seconds: u64,
    pub start_time_of_day_seconds: Option<u64>,
    pub confirmation_text: Option<String>,
    pub restricted_countries: Option<Vec<String>>,
    pub neurons_fund_participation: bool,
}

fn e8s(tokens: Option<Tokens>, what: &str) -> Result<u64, String> {
    tokens
        .and_then(|t| t.e8s)
        .ok_or_else(|| format!("{what} is required"))
}

fn check(ok: bool, message: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(message.into()) }
}

/// The NNS's checks of a `CreateServiceNervousSystem` at submission, for
/// the fields the project's sales use; the proposal as a `SaleRequest`.
pub fn validate(csns: &CreateServiceNervousSystem) -> Result<SaleRequest, String> {
    check(
        csns.dapp_canisters.is_empty(),
        "dapp_canisters: a sale here hands no dapp to an SNS; leave it empty",
    )?;
    let fallback = &csns.fallback_controller_principal_ids;
    check(
        (1..=MAX_FALLBACK_CONTROLLERS).contains(&fallback.len()),
        "fallback_controller_principal_ids: 1 to 15 principals",
    )?;
    let mut unique = fallback.clone();
    unique.sort();
    unique.dedup();
    check(
        unique.len() == fallback.len(),
        "fallback_controller_principal_ids: duplicates",
    )?;
    let nns = [
        nns_api::ids::GOVERNANCE_CANISTER_ID,
        nns_api::ids::LEDGER_CANISTER_ID,
        nns_api::ids::CYCLES_MINTING_CANISTER_ID,
        nns_api::ids::CYCLES_LEDGER_CANISTER_ID,
    ];
    check(
        fallback.iter().all(|p| {
            *p != Principal::anonymous()
                && *p != Principal::management_canister()
                && !nns.contains(p)
        }),
        "fallback_controller_principal_ids: the anonymous principal, the management canister and the NNS canisters cannot control a project (the first is its treasury)",
    )?;
    let ledger = csns
        .ledger_parameters
        .as_ref()
        .ok_or("ledger_parameters is required")?;
    let name = ledger.token_name.clone().ok_or("token_name is required")?;
    let symbol = ledger
        .token_symbol
        .clone()
        .ok_or("token_symbol is required")?;
    check(
        (4..=255).contains(&name.chars().count()) && name.trim() == name,
        "token_name: 4 to 255 characters, no surrounding whitespace",
    )?;
    let squashed: String = name
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    check(
        squashed != "internetcomputer" && squashed != "internetcomputerprotocol",
        "token_name: that name is the ICP's",
    )?;
    check(
        (3..=10).contains(&symbol.chars().count()) && symbol.trim() == symbol,
        "token_symbol: 3 to 10 characters, no surrounding whitespace",
    )?;
    check(
        !["icp", "dfinity"].contains(&symbol.to_lowercase().as_str()),
        "token_symbol: that symbol is the ICP's",
    )?;
    let fee = e8s(ledger.transaction_fee, "ledger_parameters.transaction_fee")?;
    let distribution = csns
        .initial_token_distribution
        .as_ref()
        .ok_or("initial_token_distribution is required")?;
    let sale_tokens = e8s(
        distribution.swap_distribution.and_then(|d| d.total),
        "swap_distribution.total",
    )?;
    let treasury_tokens = e8s(
        distribution.treasury_distribution.and_then(|d| d.total),
        "treasury_distribution.total",
    )?;
    let mut developers = Vec::new();
    for neuron in distribution
        .developer_distribution
        .iter()
        .flat_map(|d| &d.developer_neurons)
    {
        let controller = neuron
            .controller
            .ok_or("developer_neurons: a controller is required")?;
        developers.push((controller, e8s(neuron.stake, "developer_neurons: stake")?));
    }
    let mut supply = sale_tokens.checked_add(treasury_tokens);
    for (_, stake) in &developers {
        supply = supply.and_then(|s| s.checked_add(*stake));
    }
    check(
        supply.is_some(),
        "initial_token_distribution: the total exceeds 2^64 - 1 e8s",
    )?;
    let swap = csns
        .swap_parameters
        .as_ref()
        .ok_or("swap_parameters is required")?;
    let request = sale_request(swap, sale_tokens, fee)?;
    Ok(SaleRequest {
        token_name: name,
        token_symbol: symbol,
        transaction_fee_e8s: fee,
        treasury: fallback[0],
        fallback_controllers: fallback.clone(),
        developers,
        treasury_e8s: treasury_tokens,
        ..request
    })
}

fn sale_request(swap: &SwapParameters, sale_tokens: u64, fee: u64) -> Result<SaleRequest, String> {
    for (obsolete, name) in [
        (swap.minimum_icp, "minimum_icp"),
        (swap.maximum_icp, "maximum_icp"),
        (
            swap.neurons_fund_investment_icp,
            "neurons_fund_investment_icp",
        ),
    ] {
        check(
            obsolete.is_none(),
            &format!("swap_parameters.{name} is obsolete and must be unset"),
        )?;
    }
    let min_participants = swap
        .minimum_participants
        .ok_or("minimum_participants is required")?;
    let min_direct = e8s(
        swap.minimum_direct_participation_icp,
        "minimum_direct_participation_icp",
    )?;
    let max_direct = e8s(
        swap.maximum_direct_participation_icp,
        "maximum_direct_participation_icp",
    )?;
    let min_participant = e8s(swap.minimum_participant_icp, "minimum_participant_icp")?;
    let max_participant = e8s(swap.maximum_participant_icp, "maximum_participant_icp")?;
    let basket = swap
        .neuron_basket_construction_parameters
        .ok_or("neuron_basket_construction_parameters is required")?;
    let count = basket
        .count
        .ok_or("neuron_basket_construction_parameters.count is required")?;
    let interval = basket
        .dissolve_delay_interval
        .and_then(|d| d.seconds)
        .ok_or("neuron_basket_construction_parameters.dissolve_delay_interval is required")?;
    let duration = swap
        .duration
        .and_then(|d| d.seconds)
        .ok_or("swap_parameters.duration is required")?;
    let neurons_fund = swap
        .neurons_fund_participation
        .ok_or("swap_parameters.neurons_fund_participation is required")?;
    check(
        min_participants > 0 && min_participants <= u64::from(u32::MAX),
        "minimum_participants: 1 to 2^32 - 1",
    )?;
    check(
        min_direct > 0,
        "minimum_direct_participation_icp must be positive",
    )?;
    check(
        min_participant >= MIN_PARTICIPANT_E8S,
        "minimum_participant_icp: at least 0.01 ICP",
    )?;
    check(
        max_direct >= min_direct,
        "maximum_direct_participation_icp is below the minimum",
    )?;
    check(
        max_participant >= min_participant,
        "maximum_participant_icp is below minimum_participant_icp",
    )?;
    check(
        max_participant <= max_direct,
        "maximum_participant_icp exceeds maximum_direct_participation_icp",
    )?;
    check(
        max_direct <= MAX_DIRECT_E8S,
        "maximum_direct_participation_icp: at most 1 000 000 000 ICP",
    )?;
    check(
        u128::from(max_direct) >= u128::from(min_participants) * u128::from(min_participant),
        "maximum_direct_participation_icp is below minimum_participants × minimum_participant_icp",
    )?;
    check(
        (2..=10).contains(&count),
        "neuron_basket_construction_parameters.count: 2 to 10",
    )?;
    check(
        interval >= 1 && (count - 1).saturating_mul(interval) <= MAX_DISSOLVE_DELAY_SECONDS,
        "neuron_basket_construction_parameters.dissolve_delay_interval: at least 1 s, the longest delay at most 8 years",
    )?;
    check(duration > 0, "swap_parameters.duration must be positive")?;
    check(sale_tokens > 0, "swap_distribution.total must be positive")?;
    // Each neuron of the smallest participant's basket gets more than the fee.
    let smallest_basket =
        u128::from(min_participant) * u128::from(sale_tokens) / u128::from(max_direct.max(1));
    check(
        smallest_basket >= u128::from(count) * u128::from(fee.saturating_add(1)),
        "the smallest participation buys too few tokens for its basket: each neuron must exceed the transaction fee",
    )?;
    if let Some(text) = &swap.confirmation_text {
        check(
            (1..=MAX_CONFIRMATION_TEXT_CHARS).contains(&text.chars().count())
                && text.len() <= MAX_CONFIRMATION_TEXT_BYTES,
            "confirmation_text: 1 to 1 000 characters, at most 8 000 bytes",
        )?;
    }
    let restricted = swap
        .restricted_countries
        .as_ref()
        .map(|c| check_countries(&c.iso_codes).map(|()| c.iso_codes.clone()))
        .transpose()?;
    let start = swap
        .start_time
        .map(|t| {
            t.seconds_after_utc_midnight
                .ok_or("start_time needs seconds_after_utc_midnight")
        })
        .transpose()?;
    if let Some(seconds) = start {
        check(seconds < DAY, "start_time: within a day")?;
    }
    Ok(SaleRequest {
        token_name: String::new(),
        token_symbol: String::new(),
        transaction_fee_e8s: fee,
        treasury: Principal::anonymous(),
        fallback_controllers: Vec::new(),
        developers: Vec::new(),
        treasury_e8s: 0,
        sale_tokens_e8s: sale_tokens,
        min_participants: min_participants as u32,
        min_direct_e8s: min_direct,
        max_direct_e8s: max_direct,
        min_participant_e8s: min_participant,
        max_participant_e8s: max_participant,
        basket_count: count,
        basket_interval_seconds: interval,
        duration_seconds: duration,
        start_time_of_day_seconds: start,
        confirmation_text: swap.confirmation_text.clone(),
        restricted_countries: restricted,
        neurons_fund_participation: neurons_fund,
    })
}

fn check_countries(codes: &[String]) -> Result<(), String> {
    check(!codes.is_empty(), "restricted_countries: empty")?;
    check(
        codes
            .iter()
            .all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase())),
        "restricted_countries: ISO 3166-1 alpha-2 codes",
    )?;
    let mut sorted = codes.to_vec();
    sorted.sort();
    sorted.dedup();
    check(
        sorted.len() == codes.len(),
        "restricted_countries: duplicates",
    )
}

/// When a sale adopted at `now` opens and closes: at the time of day it
/// asks for (or one the NNS picks: a multiple of 15 minutes, here drawn
/// from the proposal id), on the first day that leaves more than a day
/// from now; open for its duration.
pub fn sale_window(
    now_seconds: u64,
    time_of_day: Option<u64>,
    proposal_id: u64,
    duration_seconds: u64,
) -> (u64, u64) {
    let time_of_day = time_of_day.unwrap_or_else(|| {
        use sha2::{Digest, Sha256};
        let hash = Sha256::digest(proposal_id.to_be_bytes());
        let pick = u64::from_be_bytes(hash[..8].try_into().expect("8 bytes"));
        pick % (DAY / 900) * 900
    });
    let tomorrow = now_seconds - now_seconds % DAY + DAY;
    let start = [tomorrow + time_of_day, tomorrow + DAY + time_of_day]
        .into_iter()
        .find(|start| *start > now_seconds + DAY)
        .expect("the second is always more than a day away");
    (start, start.saturating_add(duration_seconds))
}

/// The token ledger's install argument: the sale's tokens to the sale's
/// own account, the treasury's to the treasury, each developer's stake to
/// its controller; the sale is the minting account, through a subaccount
/// of its own.
pub fn token_ledger_init(
    request: &SaleRequest,
    sale: Principal,
    controller: Principal,
) -> TokenInit {
    let mut balances = vec![
        (Account::from(sale), request.sale_tokens_e8s),
        (Account::from(request.treasury), request.treasury_e8s),
    ];
    balances.extend(
        request
            .developers
            .iter()
            .map(|(owner, stake)| (Account::from(*owner), *stake)),
    );
    balances.retain(|(_, amount)| *amount > 0);
    TokenInit::new(
        &request.token_name,
        &request.token_symbol,
        request.transaction_fee_e8s,
        Account {
            owner: sale,
            subaccount: Some(MINTING_SUBACCOUNT),
        },
        balances,
        controller,
    )
}

/// The ids a sale's `Init` names.
pub struct SaleIds {
    pub governance: Principal,
    pub icp_ledger: Principal,
    pub token_ledger: Principal,
}

/// The sale's install argument: finalized by itself once over, as an SNS
/// swap opened by the NNS is.
pub fn sale_init(
    request: &SaleRequest,
    proposal_id: u64,
    (start, due): (u64, u64),
    ids: &SaleIds,
) -> Init {
    Init {
        nns_proposal_id: Some(proposal_id),
        sns_root_canister_id: ids.governance.to_text(),
        neurons_fund_participation: Some(request.neurons_fund_participation),
        min_participant_icp_e8s: Some(request.min_participant_e8s),
        max_participant_icp_e8s: Some(request.max_participant_e8s),
        neuron_basket_construction_parameters: Some(NeuronBasketConstructionParameters {
            count: request.basket_count,
            dissolve_delay_interval_seconds: request.basket_interval_seconds,
        }),
        fallback_controller_principal_ids: request
            .fallback_controllers
            .iter()
            .map(Principal::to_text)
            .collect(),
        confirmation_text: request.confirmation_text.clone(),
        swap_start_timestamp_seconds: Some(start),
        swap_due_timestamp_seconds: Some(due),
        min_participants: Some(request.min_participants),
        sns_token_e8s: Some(request.sale_tokens_e8s),
        nns_governance_canister_id: ids.governance.to_text(),
        transaction_fee_e8s: Some(request.transaction_fee_e8s),
        icp_ledger_canister_id: ids.icp_ledger.to_text(),
        sns_ledger_canister_id: ids.token_ledger.to_text(),
        should_auto_finalize: Some(true),
        sns_governance_canister_id: request.treasury.to_text(),
        min_direct_participation_icp_e8s: Some(request.min_direct_e8s),
        max_direct_participation_icp_e8s: Some(request.max_direct_e8s),
        restricted_countries: request
            .restricted_countries
            .clone()
            .map(|iso_codes| Countries { iso_codes }),
        ..Init::default()
    }
}

#[cfg(test)]
mod tests;
