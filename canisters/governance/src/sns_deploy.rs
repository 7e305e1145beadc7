//! Carries out an adopted `CreateServiceNervousSystem`, as SNS-W's
//! `deploy_new_sns` does for the NNS: creates the project's token ledger
//! and its sale, installs them with the modules added by `AddSnsWasm`
//! proposals, and lets the sale's timer open it at its start time. The
//! canisters are governance's to control; the sale finalizes itself once
//! over.

use crate::config::Config;
use crate::sns::{self, SaleIds};
use crate::state;
use candid::Principal;
use ic_cdk::call::Call;
use ic_management_canister_types::{
    CanisterInstallMode, CanisterSettings, CreateCanisterArgs, InstallCodeArgs,
};
use nns_api::governance::sns::{CreateServiceNervousSystem, DeployedSns, sns_canister_type};
use nns_api::governance::{ErrorType, GovernanceError};

type Result<T> = std::result::Result<T, GovernanceError>;

/// Cycles each new canister gets, when governance has them (on the NNS
/// subnet creation is free; elsewhere the canisters need cycles to run).
const CYCLES_PER_CANISTER: u128 = 2_000_000_000_000;

fn external(message: String) -> GovernanceError {
    GovernanceError::new(ErrorType::External, message)
}

fn module(canister_type: i32, name: &str) -> Result<Vec<u8>> {
    state::sns_wasm(canister_type)
        .map(|(_, wasm)| wasm)
        .ok_or_else(|| {
            GovernanceError::new(
                ErrorType::PreconditionFailed,
                format!(
                    "no {name} module to install: add one with an AddSnsWasm proposal (NNS function 30, canister type {canister_type})"
                ),
            )
        })
}

pub async fn deploy(
    proposal_id: u64,
    csns: &CreateServiceNervousSystem,
    config: &Config,
) -> Result<()> {
    let request =
        sns::validate(csns).map_err(|e| GovernanceError::new(ErrorType::InvalidProposal, e))?;
    let ledger_wasm = module(sns_canister_type::LEDGER, "token ledger")?;
    let sale_wasm = module(sns_canister_type::SWAP, "sale")?;
    let governance = ic_cdk::api::canister_self();
    let window = sns::sale_window(
        crate::manage::now_seconds(),
        request.start_time_of_day_seconds,
        proposal_id,
        request.duration_seconds,
    );
    let constraints = if request.neurons_fund_participation {
        Some(reserve_neurons_fund(proposal_id, &request, config).await?)
    } else {
        None
    };
    // A deployment that fails or traps from here gives the Fund back what
    // it drew.
    let mut undo = FundUndo(constraints.is_some().then_some(proposal_id));
    let token_ledger = create_canister(governance).await?;
    let sale = create_canister(governance).await?;
    // Recorded before the installs: a failed install leaves the canisters
    // listed, with the proposal's failure saying why.
    state::record_sale(
        proposal_id,
        DeployedSns {
            swap_canister_id: Some(sale),
            ledger_canister_id: Some(token_ledger),
            ..DeployedSns::default()
        },
    );
    let ledger_init = sns::token_ledger_init(&request, sale, governance);
    install(
        token_ledger,
        ledger_wasm,
        candid::encode_one(nns_api::token_ledger::LedgerArg::Init(ledger_init)),
    )
    .await?;
    let ids = SaleIds {
        governance,
        icp_ledger: config.ledger_canister_id,
        token_ledger,
    };
    let mut sale_init = sns::sale_init(&request, proposal_id, window, &ids);
    sale_init.neurons_fund_participation_constraints = constraints;
    install(sale, sale_wasm, candid::encode_one(sale_init)).await?;
    undo.0 = None;
    Ok(())
}

/// Gives the Fund back everything a sale's proposal drew, once, if the
/// deployment did not complete.
struct FundUndo(Option<u64>);

impl Drop for FundUndo {
    fn drop(&mut self) {
        if let Some(proposal_id) = self.0 {
            settle_aborted(proposal_id);
        }
    }
}

/// Refunds a reservation in full and records it settled (nothing given).
pub fn settle_aborted(proposal_id: u64) {
    let Some(mut reservation) = state::fund_reservation(proposal_id) else {
        return;
    };
    if reservation.settlement.is_some() {
        return;
    }
    let refunds = reservation.refunds(&[]);
    state::mutate(|g| g.refund_neurons_fund(&refunds));
    reservation.settlement = Some(crate::fund::Settlement {
        portions: Vec::new(),
        treasury: None,
        mint_stamp_nanos: 0,
        minted: true,
    });
    state::set_fund_reservation(proposal_id, reservation);
}

/// Draws the Fund's participation for the sale's maximum from its
/// neurons' maturity (at the CMC's average ICP/XDR rate), records it, and
/// returns the constraints the sale is told.
async fn reserve_neurons_fund(
    proposal_id: u64,
    request: &sns::SaleRequest,
    config: &Config,
) -> Result<nns_api::swap::NeuronsFundParticipationConstraints> {
    let reply = Call::unbounded_wait(
        config.cmc_canister_id,
        "get_average_icp_xdr_conversion_rate",
    )
    .await
    .map_err(|e| external(format!("the CMC's rate: {e}")))?;
    let rate: nns_api::cmc::IcpXdrConversionRateResponse = reply
        .candid()
        .map_err(|e| external(format!("the CMC's rate: {e}")))?;
    let rate = rate.data.xdr_permyriad_per_icp;
    // No await from here to the record: the maturity drawn and the
    // reservation are one change.
    let members = state::read(|g| g.neurons_fund_members());
    let reservation = crate::fund::Reservation::new(
        request.treasury,
        members,
        rate,
        request.min_participant_e8s,
        request.max_participant_e8s,
        request.max_direct_e8s,
    );
    state::mutate(|g| g.draw_from_neurons_fund(&reservation.portions))?;
    let constraints = constraints(&reservation, request);
    state::set_fund_reservation(proposal_id, reservation);
    Ok(constraints)
}

fn constraints(
    reservation: &crate::fund::Reservation,
    request: &sns::SaleRequest,
) -> nns_api::swap::NeuronsFundParticipationConstraints {
    use nns_api::swap::{LinearScalingCoefficient, NeuronsFundParticipationConstraints};
    let uncapped: u64 = reservation
        .portions
        .iter()
        .filter(|p| !p.is_capped)
        .map(|p| p.member.maturity_e8s)
        .fold(0, u64::saturating_add);
    let capped = reservation.portions.iter().filter(|p| p.is_capped).count() as u64;
    NeuronsFundParticipationConstraints {
        coefficient_intervals: vec![LinearScalingCoefficient {
            from_direct_participation_icp_e8s: Some(0),
            to_direct_participation_icp_e8s: Some(u64::MAX),
            slope_numerator: Some(uncapped),
            slope_denominator: Some(reservation.total_maturity_e8s.max(1)),
            intercept_icp_e8s: Some(capped.saturating_mul(request.max_participant_e8s)),
        }],
        max_neurons_fund_participation_icp_e8s: Some(crate::fund::Reservation::total_e8s(
            &reservation.portions,
        )),
        // As the NNS tells a sale: its minimum direct participation (the
        // function itself adds nothing below its threshold t1).
        min_direct_participation_threshold_icp_e8s: Some(request.min_direct_e8s),
        ideal_matched_participation_function: None,
    }
}

async fn create_canister(controller: Principal) -> Result<Principal> {
    let cycles = CYCLES_PER_CANISTER.min(ic_cdk::api::canister_cycle_balance() / 4);
    let reply = Call::unbounded_wait(Principal::management_canister(), "create_canister")
        .with_arg(CreateCanisterArgs {
            settings: Some(CanisterSettings {
                controllers: Some(vec![controller]),
                ..CanisterSettings::default()
            }),
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        })
        .with_cycles(cycles)
        .await
        .map_err(|e| external(format!("creating a canister failed: {e}")))?;
    let created: ic_management_canister_types::CanisterIdRecord = reply
        .candid()
        .map_err(|e| external(format!("create_canister's reply: {e}")))?;
    Ok(created.canister_id)
}

async fn install(
    canister_id: Principal,
    wasm_module: Vec<u8>,
    arg: std::result::Result<Vec<u8>, candid::Error>,
) -> Result<()> {
    let arg = arg.map_err(|e| external(format!("encoding the install argument: {e}")))?;
    Call::unbounded_wait(Principal::management_canister(), "install_code")
        .with_arg(InstallCodeArgs {
            mode: CanisterInstallMode::Install,
            canister_id,
            wasm_module,
            arg,
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        })
        .await
        .map(|_| ())
        .map_err(|e| external(format!("installing {canister_id} failed: {e}")))
}

/// `settle_neurons_fund_participation`, called by a sale once it has
/// swept its ICP: on commit, the Fund's final portions for the direct
/// participation reached (the rest of the maturity drawn goes back to the
/// neurons) and their total minted to the project's treasury; on abort,
/// everything back. Only the sale the proposal made may call it; calling
/// it again answers the same (the mint is stamped, so a retry after a
/// lost answer is not a second mint).
pub async fn settle(
    caller: Principal,
    request: nns_api::governance::sns::SettleNeuronsFundParticipationRequest,
    config: &Config,
) -> Result<Vec<crate::fund::Portion>> {
    use nns_api::governance::sns::SaleResult;
    let invalid = |m: &str| GovernanceError::new(ErrorType::InvalidCommand, m);
    let proposal_id = request
        .nns_proposal_id
        .ok_or_else(|| invalid("nns_proposal_id is required"))?;
    let sale = state::deployed_sale(proposal_id).and_then(|d| d.swap_canister_id);
    if sale != Some(caller) {
        return Err(GovernanceError::new(
            ErrorType::NotAuthorized,
            format!(
                "only the sale made by proposal {proposal_id} settles its Neurons' Fund participation"
            ),
        ));
    }
    let Some(mut reservation) = state::fund_reservation(proposal_id) else {
        return Err(GovernanceError::new(
            ErrorType::NotFound,
            format!("proposal {proposal_id} drew nothing from the Neurons' Fund"),
        ));
    };
    match request
        .result
        .ok_or_else(|| invalid("result is required"))?
    {
        SaleResult::Aborted(_) => {
            if reservation
                .settlement
                .as_ref()
                .is_some_and(|s| s.treasury.is_some())
            {
                return Err(GovernanceError::new(
                    ErrorType::PreconditionFailed,
                    "the participation was already settled as committed",
                ));
            }
            settle_aborted(proposal_id);
            Ok(Vec::new())
        }
        SaleResult::Committed(committed) => {
            if reservation.settlement.is_none() {
                // The treasury the proposal named, whatever the sale says.
                let treasury = reservation.treasury;
                if committed.sns_governance_canister_id != Some(treasury) {
                    return Err(invalid(
                        "sns_governance_canister_id is not the sale's treasury",
                    ));
                }
                let direct = committed
                    .total_direct_participation_icp_e8s
                    .ok_or_else(|| invalid("total_direct_participation_icp_e8s is required"))?;
                let portions = reservation.final_portions(direct);
                let refunds = reservation.refunds(&portions);
                state::mutate(|g| g.refund_neurons_fund(&refunds));
                reservation.settlement = Some(crate::fund::Settlement {
                    portions,
                    treasury: Some(treasury),
                    mint_stamp_nanos: ic_cdk::api::time(),
                    minted: false,
                });
                state::set_fund_reservation(proposal_id, reservation.clone());
            }
            let settlement = reservation.settlement.clone().expect("set above");
            let Some(treasury) = settlement.treasury else {
                return Err(GovernanceError::new(
                    ErrorType::PreconditionFailed,
                    "the participation was already settled as aborted",
                ));
            };
            let total = crate::fund::Reservation::total_e8s(&settlement.portions);
            if !settlement.minted && total > 0 {
                let outcome = mint_to_treasury(
                    config,
                    proposal_id,
                    treasury,
                    total,
                    settlement.mint_stamp_nanos,
                )
                .await;
                if let Some(mut latest) = state::fund_reservation(proposal_id)
                    && let Some(s) = latest.settlement.as_mut()
                {
                    match &outcome {
                        Mint::Made => s.minted = true,
                        // Certainly not made: the next try is a new
                        // transaction (a stamp too old would refuse it).
                        Mint::Refused(_) => s.mint_stamp_nanos = ic_cdk::api::time(),
                        // May have been made: only the same transaction
                        // may be sent again.
                        Mint::Unknown(_) => {}
                    }
                    state::set_fund_reservation(proposal_id, latest);
                }
                match outcome {
                    Mint::Made => {}
                    Mint::Refused(e) | Mint::Unknown(e) => {
                        return Err(external(format!("minting the Neurons' Fund's ICP: {e}")));
                    }
                }
            }
            Ok(settlement.portions)
        }
    }
}

enum Mint {
    Made,
    Refused(String),
    Unknown(String),
}

/// Mints the Fund's participation to the treasury's ICP account, stamped,
/// with the sale's proposal id as memo (two sales' mints are never one
/// transaction).
async fn mint_to_treasury(
    config: &Config,
    proposal_id: u64,
    treasury: Principal,
    e8s: u64,
    stamp_nanos: u64,
) -> Mint {
    use nns_api::ledger::TransferError;
    let sent = canister_common::ledger_client::transfer_at(
        config.ledger_canister_id,
        None,
        nns_api::AccountIdentifier::new(&treasury, None),
        e8s,
        0,
        proposal_id,
        Some(stamp_nanos),
    )
    .await;
    match sent {
        Ok(Ok(_)) | Ok(Err(TransferError::TxDuplicate { .. })) => Mint::Made,
        // Too old to tell whether an earlier sending was made.
        Ok(Err(e @ TransferError::TxTooOld { .. })) => Mint::Unknown(format!("{e:?}")),
        Ok(Err(e)) => Mint::Refused(format!("{e:?}")),
        Err(e) if e.may_have_acted => Mint::Unknown(e.to_string()),
        Err(e) => Mint::Refused(e.to_string()),
    }
}
