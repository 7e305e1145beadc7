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
    let sale_init = sns::sale_init(&request, proposal_id, window, &ids);
    install(sale, sale_wasm, candid::encode_one(sale_init)).await
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
