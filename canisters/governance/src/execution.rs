//! Proposals in and out: what a submitted proposal may contain, and how an
//! adopted one is carried out, each action over a Candid call to the
//! canister it changes.

use crate::config::Config;
use crate::proposals::ProposalBody;
use crate::state;
use candid::Principal;
use canister_common::ledger_client;
use ic_cdk::call::Call;
use nns_api::AccountIdentifier;
use nns_api::cmc::UpdateIcpXdrConversionRatePayload;
use nns_api::governance::sns::{AddWasmRequest, CreateServiceNervousSystem, sns_canister_type};
use nns_api::governance::{
    Action, ErrorType, GovernanceError, InstallCode, MakeProposalRequest, NetworkEconomics,
    Proposal, ProposalActionRequest, RewardMode, nns_function,
};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

type Result<T> = std::result::Result<T, GovernanceError>;

pub const MAX_TITLE_BYTES: usize = 256;
pub const MAX_SUMMARY_BYTES: usize = 30_000;
pub const MAX_URL_BYTES: usize = 2_048;
pub const MAX_MOTION_TEXT_BYTES: usize = 10_000;
/// As the NNS: an `ExecuteNnsFunction` payload is at most 70 000 bytes.
pub const MAX_NNS_FUNCTION_PAYLOAD_BYTES: usize = 70_000;
/// A module to install travels in the proposal, within the ingress limit.
pub const MAX_WASM_MODULE_BYTES: usize = 2 * 1024 * 1024 - 64 * 1024;

fn invalid(message: impl Into<String>) -> GovernanceError {
    GovernanceError::new(ErrorType::InvalidProposal, message)
}

fn check_len(what: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(invalid(format!(
            "the {what} has {len} bytes; at most {max}"
        )));
    }
    Ok(())
}

/// Checks a submitted proposal and turns it into what is stored: the
/// proposal as shown (an `InstallCode` by its hashes) and the body that
/// keeps what execution needs.
pub fn validate(request: MakeProposalRequest, config: &Config) -> Result<ProposalBody> {
    let title = request.title.unwrap_or_default();
    if title.trim().is_empty() {
        return Err(invalid("the proposal needs a title"));
    }
    check_len("title", title.len(), MAX_TITLE_BYTES)?;
    check_len("summary", request.summary.len(), MAX_SUMMARY_BYTES)?;
    check_len("url", request.url.len(), MAX_URL_BYTES)?;
    if !request.url.is_empty() && !request.url.starts_with("https://") {
        return Err(invalid("the url must start with https://"));
    }
    let mut install = None;
    let action = match request
        .action
        .ok_or_else(|| invalid("the proposal has no action"))?
    {
        ProposalActionRequest::Motion(m) => {
            check_len("motion text", m.motion_text.len(), MAX_MOTION_TEXT_BYTES)?;
            Action::Motion(m)
        }
        ProposalActionRequest::ManageNetworkEconomics(e) => {
            validate_economics(&config.economics, &e)?;
            Action::ManageNetworkEconomics(e)
        }
        ProposalActionRequest::ExecuteNnsFunction(f)
            if f.nns_function == nns_function::ADD_SNS_WASM =>
        {
            check_len("payload", f.payload.len(), MAX_WASM_MODULE_BYTES)?;
            validate_add_sns_wasm(&f.payload)?;
            Action::ExecuteNnsFunction(f)
        }
        ProposalActionRequest::CreateServiceNervousSystem(csns) => {
            check_create_sns_texts(&csns)?;
            crate::sns::validate(&csns).map_err(invalid)?;
            Action::CreateServiceNervousSystem(csns)
        }
        ProposalActionRequest::ExecuteNnsFunction(f) => {
            check_len("payload", f.payload.len(), MAX_NNS_FUNCTION_PAYLOAD_BYTES)?;
            if f.nns_function != nns_function::ICP_XDR_CONVERSION_RATE {
                return Err(invalid(format!(
                    "NNS function {} is not supported; {} (the ICP/XDR rate) and {} (AddSnsWasm) are",
                    f.nns_function,
                    nns_function::ICP_XDR_CONVERSION_RATE,
                    nns_function::ADD_SNS_WASM
                )));
            }
            let rate: UpdateIcpXdrConversionRatePayload = candid::decode_one(&f.payload)
                .map_err(|e| invalid(format!("the payload is not a rate update: {e}")))?;
            let minimum = config.economics.minimum_icp_xdr_rate;
            if rate.xdr_permyriad_per_icp < minimum {
                return Err(invalid(format!(
                    "the rate {} is below the minimum {minimum}",
                    rate.xdr_permyriad_per_icp
                )));
            }
            Action::ExecuteNnsFunction(f)
        }
        ProposalActionRequest::InstallCode(i) => {
            let canister_id = i
                .canister_id
                .ok_or_else(|| invalid("InstallCode needs a canister_id"))?;
            let installable = [
                config.ledger_canister_id,
                config.cmc_canister_id,
                nns_api::ids::NODE_REWARDS_CANISTER_ID,
            ];
            if canister_id == nns_api::ids::NODE_REWARDS_CANISTER_ID && i.install_mode == Some(2) {
                return Err(invalid(
                    "the node-rewards canister is not reinstalled: its table's version would go back; upgrade it with a new table",
                ));
            }
            if !installable.contains(&canister_id) {
                return Err(invalid(format!(
                    "governance installs code only on the ledger, the CMC and the node-rewards canister, not {canister_id}"
                )));
            }
            let mode = i.install_mode.unwrap_or(3);
            if !(1..=3).contains(&mode) {
                return Err(invalid(format!(
                    "install mode {mode}: 1 install, 2 reinstall, 3 upgrade"
                )));
            }
            let wasm = i
                .wasm_module
                .ok_or_else(|| invalid("InstallCode needs a wasm_module"))?;
            check_len("wasm module", wasm.len(), MAX_WASM_MODULE_BYTES)?;
            let arg = i.arg.unwrap_or_default();
            let shown = InstallCode {
                canister_id: Some(canister_id),
                install_mode: Some(mode),
                wasm_module_hash: Some(ByteBuf::from(Sha256::digest(&wasm).to_vec())),
                arg_hash: Some(ByteBuf::from(Sha256::digest(&arg).to_vec())),
                skip_stopping_before_installing: i.skip_stopping_before_installing,
            };
            install = Some((wasm, arg));
            Action::InstallCode(shown)
        }
        // Checked against the neurons by `make_proposal`.
        ProposalActionRequest::RegisterKnownNeuron(k) => Action::RegisterKnownNeuron(k),
        ProposalActionRequest::DeregisterKnownNeuron(d) => Action::DeregisterKnownNeuron(d),
        ProposalActionRequest::ManageNeuron(_)
        | ProposalActionRequest::UpdateCanisterSettings(_)
        | ProposalActionRequest::StopOrStartCanister(_)
        | ProposalActionRequest::ApproveGenesisKyc(_)
        | ProposalActionRequest::FulfillSubnetRentalRequest(_)
        | ProposalActionRequest::BlessAlternativeGuestOsVersion(_)
        | ProposalActionRequest::TakeCanisterSnapshot(_)
        | ProposalActionRequest::LoadCanisterSnapshot(_)
        | ProposalActionRequest::CreateCanisterAndInstallCode(_) => {
            return Err(invalid(
                "this proposal action is not supported here: Motion, ManageNetworkEconomics, ExecuteNnsFunction (the ICP/XDR rate, AddSnsWasm), InstallCode, RewardNodeProvider, RewardNodeProviders (registry-derived), AddOrRemoveNodeProvider, RegisterKnownNeuron, DeregisterKnownNeuron and CreateServiceNervousSystem are",
            ));
        }
        ProposalActionRequest::AddOrRemoveNodeProvider(a) => {
            crate::node_providers::validate_change(a.change.as_ref())?;
            let change = a.change.as_ref().expect("validated");
            crate::node_providers::check_change_against(
                change,
                |id| state::node_provider(id).is_some(),
                state::node_provider_count(),
                ErrorType::InvalidProposal,
            )?;
            Action::AddOrRemoveNodeProvider(a)
        }
        ProposalActionRequest::RewardNodeProviders(r) => {
            if r.use_registry_derived_rewards != Some(true) || !r.rewards.is_empty() {
                return Err(invalid(
                    "RewardNodeProviders is supported with use_registry_derived_rewards = opt true and no rewards listed: it mints the month's rewards as the node-rewards canister computes them",
                ));
            }
            Action::RewardNodeProviders(r)
        }
        ProposalActionRequest::RewardNodeProvider(r) => {
            let maximum = config.economics.maximum_node_provider_rewards_e8s;
            if r.amount_e8s == 0 || r.amount_e8s > maximum {
                return Err(invalid(format!(
                    "a node provider reward is between 1 and {maximum} e8s"
                )));
            }
            match &r.reward_mode {
                Some(RewardMode::RewardToAccount(a)) => {
                    let to = a
                        .to_account
                        .as_ref()
                        .ok_or_else(|| invalid("RewardToAccount needs an account"))?;
                    AccountIdentifier::from_slice(&to.hash)
                        .map_err(|e| invalid(format!("bad account identifier: {e:?}")))?;
                }
                Some(RewardMode::RewardToNeuron(_)) => {
                    return Err(invalid(
                        "rewards to a neuron are not supported; reward to an account",
                    ));
                }
                None => return Err(invalid("RewardNodeProvider needs a reward_mode")),
            }
            Action::RewardNodeProvider(r)
        }
    };
    Ok(ProposalBody {
        proposal: Proposal {
            url: request.url,
            title: Some(title),
            action: Some(action),
            summary: request.summary,
        },
        failure_reason: None,
        install,
    })
}

/// An `AddSnsWasm` payload: a module of a type the sales use, whose hash
/// is the one named.
fn validate_add_sns_wasm(payload: &[u8]) -> Result<AddWasmRequest> {
    let request: AddWasmRequest = candid::decode_one(payload)
        .map_err(|e| invalid(format!("the AddSnsWasm payload does not decode: {e}")))?;
    let wasm = request
        .wasm
        .as_ref()
        .ok_or_else(|| invalid("AddSnsWasm needs a wasm"))?;
    if ![sns_canister_type::LEDGER, sns_canister_type::SWAP].contains(&wasm.canister_type) {
        return Err(invalid(format!(
            "SNS canister type {} is not used by sales here: {} (ledger) and {} (swap) are",
            wasm.canister_type,
            sns_canister_type::LEDGER,
            sns_canister_type::SWAP
        )));
    }
    if Sha256::digest(&wasm.wasm).as_slice() != request.hash.as_slice() {
        return Err(invalid("AddSnsWasm: the hash is not the module's SHA-256"));
    }
    Ok(request)
}

/// Bounds on a `CreateServiceNervousSystem`'s free texts (the SNS's), so
/// that a proposal stays listable.
fn check_create_sns_texts(csns: &CreateServiceNervousSystem) -> Result<()> {
    const MAX_LOGO_BASE64_BYTES: usize = 341_334;
    let logo = |image: &Option<nns_api::governance::sns::Image>| {
        image
            .as_ref()
            .and_then(|i| i.base64_encoding.as_ref())
            .map_or(0, String::len)
    };
    check_len("name", csns.name.as_ref().map_or(0, String::len), 255)?;
    check_len(
        "description",
        csns.description.as_ref().map_or(0, String::len),
        2_000,
    )?;
    check_len("url", csns.url.as_ref().map_or(0, String::len), 512)?;
    check_len("logo", logo(&csns.logo), MAX_LOGO_BASE64_BYTES)?;
    let token_logo = csns
        .ledger_parameters
        .as_ref()
        .map_or(0, |l| logo(&l.token_logo));
    check_len("token logo", token_logo, MAX_LOGO_BASE64_BYTES)?;
    check_len(
        "developer neurons",
        csns.initial_token_distribution
            .as_ref()
            .and_then(|d| d.developer_distribution.as_ref())
            .map_or(0, |d| d.developer_neurons.len()),
        100,
    )
}

/// Checks a `ManageNetworkEconomics` proposal: the economics it would
/// leave in force (every field it leaves unset keeps its value).
pub fn validate_economics(current: &NetworkEconomics, update: &NetworkEconomics) -> Result<()> {
    let merged = crate::economics::merge(current, update);
    crate::economics::validate(&merged).map_err(invalid)?;
    crate::economics::validate_change(current, &merged).map_err(invalid)
}

/// Decides the proposals whose deadline has passed, executes every
/// adopted one not yet executed, distributes the day's rewards and forgets
/// the oldest proposals beyond `max_proposals_to_keep_per_topic`.
pub async fn process_proposals() {
    if state::read(|g| !g.to_restart().is_empty()) {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, restart_stopped_canisters());
    }
    let now = crate::manage::now_seconds();
    state::mutate(|g| g.decide_due_proposals(now));
    for id in state::read(|g| g.adopted_unexecuted()) {
        execute(id).await;
    }
    distribute_rewards().await;
    refresh_maturity_modulation().await;
    refresh_cached_metrics().await;
    let keep = state::read_config(|c| c.economics.max_proposals_to_keep_per_topic).max(1);
    state::mutate(|g| g.prune_proposals(keep, BALLOT_PAGES_PRUNED_PER_RUN));
}

thread_local! {
    /// When the CMC was last asked for the maturity modulation (on the heap:
    /// after an upgrade it is asked again, once).
    static MODULATION_ASKED_AT: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

thread_local! {
    /// `get_metrics`' figures, counted once a day (on the heap: after an
    /// upgrade they are counted again at the next run, and `get_metrics`
    /// answers `Unavailable` until then, as the NNS).
    pub(crate) static CACHED_METRICS: std::cell::RefCell<Option<nns_api::governance::GovernanceCachedMetrics>> =
        const { std::cell::RefCell::new(None) };
}

thread_local! {
    /// When the ledger was last asked for the supply behind the cached
    /// metrics.
    static METRICS_ASKED_AT: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Counts the cached metrics when a day old (or never counted), with the
/// ledger's total supply; a failed read is tried again an hour later.
async fn refresh_cached_metrics() {
    let now = crate::manage::now_seconds();
    let due = CACHED_METRICS.with(|m| {
        m.borrow()
            .as_ref()
            .is_none_or(|m| now >= m.timestamp_seconds.saturating_add(24 * 60 * 60))
    });
    // Timers overlap while the supply is read: one count at a time.
    let asked_recently = METRICS_ASKED_AT
        .with(|a| a.get())
        .is_some_and(|at| now < at.saturating_add(MODULATION_RETRY_SECONDS));
    if !due || asked_recently {
        return;
    }
    METRICS_ASKED_AT.with(|a| a.set(Some(now)));
    let (ledger, minimum) =
        state::read_config(|c| (c.ledger_canister_id, c.economics.neuron_minimum_stake_e8s));
    let Ok(supply) = ledger_client::total_supply(ledger).await else {
        return;
    };
    let now = crate::manage::now_seconds();
    let metrics = state::read(|g| g.cached_metrics(now, supply, minimum));
    CACHED_METRICS.with(|m| *m.borrow_mut() = Some(metrics));
}

/// A failed read of the modulation (or of the metrics' supply) is tried
/// again an hour later.
const MODULATION_RETRY_SECONDS: u64 = 60 * 60;

/// Reads the maturity modulation from the CMC once a day, as the NNS does;
/// a failed read keeps the last value.
pub(crate) async fn refresh_maturity_modulation() {
    let now = crate::manage::now_seconds();
    let asked_recently = MODULATION_ASKED_AT
        .with(|a| a.get())
        .is_some_and(|at| now < at.saturating_add(MODULATION_RETRY_SECONDS));
    if asked_recently || !state::read(|g| g.maturity_modulation_due(now)) {
        return;
    }
    MODULATION_ASKED_AT.with(|a| a.set(Some(now)));
    let cmc = state::read_config(|c| c.cmc_canister_id);
    // A read: a bounded wait, so that governance can always be stopped.
    let Ok(reply) = Call::bounded_wait(cmc, "neuron_maturity_modulation").await else {
        return;
    };
    if let Ok(Ok(basis_points)) = reply.candid::<std::result::Result<i32, String>>() {
        state::mutate(|g| g.set_maturity_modulation(basis_points, crate::manage::now_seconds()));
    }
}

/// Ballot pages of old proposals removed per run: about 130 000 ballots,
/// far below a message's instruction limit.
const BALLOT_PAGES_PRUNED_PER_RUN: usize = 2_000;

/// Starts the day's reward distribution if one is due, and credits one
/// chunk of neurons; the next chunk runs in a message of its own.
pub async fn distribute_rewards() {
    let now = crate::manage::now_seconds();
    let config = state::read_config(Config::clone);
    let genesis = config.genesis_timestamp_seconds.unwrap_or_default();
    if let Some(day) = state::read(|g| g.reward_day_due(genesis, now)) {
        // A failed read of the supply is retried on the next run.
        let Ok(supply) = ledger_client::total_supply(config.ledger_canister_id).await else {
            return;
        };
        let adjustment =
            crate::economics::voting_rewards_adjustment_basis_points(&config.economics);
        let round_end = genesis.saturating_add(day * crate::rewards::ONE_DAY_SECONDS);
        state::mutate(|g| g.start_distribution(day, supply, adjustment, round_end, now));
    }
    let more = state::mutate(|g| g.credit_rewards(crate::rewards::BALLOTS_PER_CHUNK));
    if more {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, distribute_rewards());
    }
}

/// Executes adopted proposal `id`, if its execution has not begun, and
/// records the outcome. The start is committed before the first await, so a
/// proposal executes at most once whatever votes, timers and upgrades come
/// in between.
pub async fn execute(id: u64) {
    let Some(body) = state::mutate(|g| g.start_execution(id)) else {
        return;
    };
    /// Records the execution as failed if it never ends: its future is
    /// dropped when a callback traps.
    struct Unfinished(Option<u64>);
    impl Drop for Unfinished {
        fn drop(&mut self) {
            if let Some(id) = self.0 {
                let now = crate::manage::now_seconds();
                state::mutate(|g| {
                    g.record_execution(id, Err(crate::proposals::execution_interrupted()), now)
                });
            }
        }
    }
    let mut unfinished = Unfinished(Some(id));
    let result = perform(id, body).await;
    unfinished.0 = None;
    state::mutate(|g| g.record_execution(id, result, crate::manage::now_seconds()));
}

async fn perform(id: u64, body: ProposalBody) -> Result<()> {
    let config = state::read_config(Config::clone);
    let external = |e: String| GovernanceError::new(ErrorType::External, e);
    match body.proposal.action {
        None | Some(Action::Motion(_)) => Ok(()),
        Some(Action::ManageNetworkEconomics(update)) => {
            let current = config.economics;
            let economics = crate::economics::merge(&current, &update);
            crate::economics::validate(&economics).map_err(invalid)?;
            crate::economics::validate_change(&current, &economics).map_err(invalid)?;
            state::update_config(|c| c.economics = economics);
            Ok(())
        }
        Some(Action::ExecuteNnsFunction(f)) if f.nns_function == nns_function::ADD_SNS_WASM => {
            let request = validate_add_sns_wasm(&f.payload)?;
            let wasm = request.wasm.expect("checked");
            let hash: [u8; 32] = Sha256::digest(&wasm.wasm).into();
            state::add_sns_wasm(wasm.canister_type, hash, &wasm.wasm);
            Ok(())
        }
        Some(Action::CreateServiceNervousSystem(csns)) => {
            crate::sns_deploy::deploy(id, &csns, &config).await
        }
        Some(Action::ExecuteNnsFunction(f)) => {
            let payload: UpdateIcpXdrConversionRatePayload =
                candid::decode_one(&f.payload).map_err(|e| invalid(e.to_string()))?;
            let reply = Call::unbounded_wait(config.cmc_canister_id, "set_icp_xdr_conversion_rate")
                .with_arg(payload)
                .await
                .map_err(|e| external(format!("the CMC did not answer: {e}")))?;
            let result: std::result::Result<(), String> =
                reply.candid().map_err(|e| external(e.to_string()))?;
            result.map_err(|e| external(format!("the CMC refused the rate: {e}")))
        }
        Some(Action::InstallCode(code)) => {
            use ic_management_canister_types::{CanisterInstallMode, InstallCodeArgs};
            let (wasm_module, arg) = body
                .install
                .ok_or_else(|| invalid("the proposal holds no module"))?;
            let mode = match code.install_mode {
                Some(1) => CanisterInstallMode::Install,
                Some(2) => CanisterInstallMode::Reinstall,
                _ => CanisterInstallMode::Upgrade(None),
            };
            let canister_id = code.canister_id.ok_or_else(|| invalid("no canister"))?;
            let args = InstallCodeArgs {
                mode,
                canister_id,
                wasm_module: wasm_module.into_vec(),
                arg: arg.into_vec(),
                sender_canister_version: None,
            };
            let stop = !code.skip_stopping_before_installing.unwrap_or(false);
            install_stopped(canister_id, args, stop)
                .await
                .map_err(external)
        }
        Some(Action::RegisterKnownNeuron(k)) => {
            let (id, data) = crate::governance::known_neuron_request(&k)?;
            state::mutate(|g| g.register_known_neuron(id, data))
        }
        Some(Action::DeregisterKnownNeuron(d)) => {
            let id =
                d.id.ok_or_else(|| invalid("DeregisterKnownNeuron needs a neuron id"))?
                    .id;
            state::mutate(|g| g.deregister_known_neuron(id))
        }
        Some(Action::AddOrRemoveNodeProvider(a)) => {
            let provider = crate::node_providers::validate_change(a.change.as_ref())?.clone();
            let id = provider.id.expect("validated");
            let change = a.change.as_ref().expect("validated");
            crate::node_providers::check_change_against(
                change,
                |id| state::node_provider(id).is_some(),
                state::node_provider_count(),
                ErrorType::PreconditionFailed,
            )?;
            match change {
                nns_api::governance::Change::ToAdd(_) => state::put_node_provider(id, provider),
                nns_api::governance::Change::ToRemove(_) => {
                    state::remove_node_provider(&id);
                }
            }
            Ok(())
        }
        Some(Action::RewardNodeProviders(_)) => crate::node_provider_rewards::mint_monthly()
            .await
            .map(|_| ()),
        Some(Action::RewardNodeProvider(r)) => {
            let provider = r.node_provider.as_ref().and_then(|p| p.id);
            match provider {
                Some(id) if state::node_provider(&id).is_some() => {}
                Some(id) => {
                    return Err(GovernanceError::new(
                        ErrorType::NotFound,
                        format!("Node provider with id {id} not found."),
                    ));
                }
                None => {
                    return Err(GovernanceError::new(
                        ErrorType::NotFound,
                        "the reward names no node provider",
                    ));
                }
            }
            // The maximum may have been lowered since the proposal was made.
            let maximum = config.economics.maximum_node_provider_rewards_e8s;
            if r.amount_e8s > maximum {
                return Err(GovernanceError::new(
                    ErrorType::PreconditionFailed,
                    format!(
                        "Proposed reward {} greater than maximum {maximum}",
                        r.amount_e8s
                    ),
                ));
            }
            let Some(RewardMode::RewardToAccount(a)) = r.reward_mode else {
                return Err(invalid("only rewards to an account are supported"));
            };
            let hash = a.to_account.ok_or_else(|| invalid("no account"))?.hash;
            let to = AccountIdentifier::from_slice(&hash)
                .map_err(|e| invalid(format!("bad account identifier: {e:?}")))?;
            // A mint: from governance's own account, the minting account.
            let mint = crate::governance::Transfer {
                from_subaccount: None,
                to,
                amount_e8s: r.amount_e8s,
                fee_e8s: 0,
            };
            crate::manage::send_or_undo(mint, id, |_| {})
                .await
                .map(|_| ())
        }
    }
}

/// As the NNS root does by default: stops the canister (so that no call is
/// in flight when its code changes), installs, and starts it again —
/// whatever the install's outcome, and after a failed stop too. The outcome
/// is the install's: a canister the start leaves stopped (the start failed,
/// or governance was upgraded meanwhile) stays in governance's set of
/// canisters to restart, which the proposal timer works off.
async fn install_stopped(
    canister_id: Principal,
    args: ic_management_canister_types::InstallCodeArgs,
    stop: bool,
) -> std::result::Result<(), String> {
    let installing = stop.then(|| Installing::begin(canister_id));
    let stopped = if stop {
        change_status(canister_id, "stop_canister").await
    } else {
        Ok(())
    };
    let installed = match stopped {
        Ok(()) => Call::unbounded_wait(Principal::management_canister(), "install_code")
            .with_arg(args)
            .await
            .map(|_| ())
            .map_err(|e| format!("install_code failed: {e}")),
        Err(e) => Err(format!("stopping {canister_id} failed: {e}")),
    };
    if let Some(mut installing) = installing {
        // A failed start is retried by the timer.
        installing.started = change_status(canister_id, "start_canister").await.is_ok();
    }
    installed
}

async fn change_status(
    canister_id: Principal,
    method: &'static str,
) -> std::result::Result<(), ic_cdk::call::CallFailed> {
    use ic_management_canister_types::CanisterIdRecord;
    Call::unbounded_wait(Principal::management_canister(), method)
        .with_arg(CanisterIdRecord { canister_id })
        .await
        .map(|_| ())
}

/// An `InstallCode` execution in flight on a canister it stops; over when
/// dropped (also when a callback traps).
struct Installing {
    canister_id: Principal,
    started: bool,
}

impl Installing {
    fn begin(canister_id: Principal) -> Self {
        state::mutate(|g| g.begin_install(canister_id));
        Self {
            canister_id,
            started: false,
        }
    }
}

impl Drop for Installing {
    fn drop(&mut self) {
        state::mutate(|g| g.end_install(self.canister_id, self.started));
    }
}

/// Starts again the canisters an `InstallCode` execution left stopped
/// (starting a running canister changes nothing, so this may repeat).
pub async fn restart_stopped_canisters() {
    for canister_id in state::read(|g| g.to_restart()) {
        // An install may have begun while an earlier start was awaited:
        // starting its target now would undo that install's stop.
        if !state::read(|g| g.to_restart().contains(&canister_id)) {
            continue;
        }
        if change_status(canister_id, "start_canister").await.is_ok() {
            state::mutate(|g| g.restarted(canister_id));
        }
    }
}
