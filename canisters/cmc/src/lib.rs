//! The cycles-minting canister. This file holds the endpoints and the
//! notification flows (which await other canisters); the rules they apply
//! live in the modules below, which unit-test without a runtime.
//!
//! Where each flow commits: a block is marked `Processing` before the first
//! await (fetching the block), so a concurrent notify answers `Processing`.
//! Cycles are minted and sent in the same execution; the reply to that call
//! records the final status before anything else is awaited, so a block can
//! never be converted twice. The ICP is burned afterwards; a burn that fails
//! stays pending and is retried by a timer.

pub mod config;
pub mod ledger_client;
pub mod limiter;
pub mod mint;
pub mod notifications;
pub mod payment;
pub mod rates;
pub mod state;

use candid::{Nat, Principal};
use canister_common::candid_reader;
use canister_common::metrics::Metrics;
use config::Config;
use ic_cdk::api::{canister_self, certified_data_set, data_certificate, msg_caller, time};
use ic_cdk::call::Call;
use ic_cdk::{init, post_upgrade, query, trap, update};
use ic_management_canister_types::{CanisterIdRecord, CanisterSettings, CreateCanisterArgs};
use nns_api::cmc::{
    CreateCanisterArg, CreateCanisterError, CreateCanisterResult, CyclesCanisterInitPayload,
    IcpXdrConversionRateResponse, MEMO_CREATE_CANISTER, MEMO_TOP_UP, NotifyCreateCanisterArg,
    NotifyCreateCanisterResult, NotifyError, NotifyTopUpArg, NotifyTopUpResult,
    UpdateIcpXdrConversionRatePayload, cycles_for_e8s, notify_error_code,
};
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::{AccountIdentifier, Subaccount, account_identifier::principal_to_subaccount};
use notifications::{Begin, NotificationStatus};
use payment::Payment;
use serde_bytes::ByteBuf;
use state::PendingBurn;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

nns_api::embed_candid_metadata!(
    "../../../candid/cmc.did",
    b"(opt CyclesCanisterInitPayload)"
);

/// Extra fees kept from a refund, as the real CMC: they pay for the work done.
const TOP_UP_REFUND_EXTRA_FEES: u64 = 2;
const CREATE_REFUND_EXTRA_FEES: u64 = 4;
const BURN_RETRY_INTERVAL: Duration = Duration::from_secs(600);
const MAX_BURNS_PER_RETRY: usize = 50;

#[init]
fn init(payload: Option<CyclesCanisterInitPayload>) {
    let config = Config::from_init(payload).unwrap_or_else(|e| trap(e));
    state::mutate(|s| s.configure(config));
    certify_rates();
    start_timers();
}

/// As the real CMC: an upgrade argument replaces the configuration. Only
/// small cells are touched, whatever the history's size.
#[post_upgrade]
fn post_upgrade(payload: Option<CyclesCanisterInitPayload>) {
    if payload.is_some() {
        let config = Config::from_init(payload).unwrap_or_else(|e| trap(e));
        state::mutate(|s| s.configure(config));
    }
    certify_rates();
    start_timers();
}

fn start_timers() {
    ic_cdk_timers::set_timer_interval(BURN_RETRY_INTERVAL, || async {
        let pending = state::read(|s| s.pending_burns(MAX_BURNS_PER_RETRY));
        for (block_index, _) in pending {
            burn(block_index).await;
        }
    });
}

fn certify_rates() {
    if let Some(root) = state::read(|s| s.rates().map(|r| r.root_hash())) {
        certified_data_set(root);
    }
}

// ---- Notifications ----

/// A block this call is working on. Dropped unfinished — on an error path,
/// or by the cleanup after a trap in a callback — it is forgotten, so that
/// a later notify can try again.
struct InFlight {
    block_index: u64,
    finished: bool,
}

impl InFlight {
    fn finish(mut self, status: NotificationStatus) {
        state::mutate(|s| s.finish(self.block_index, status));
        self.finished = true;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.finished {
            state::mutate(|s| s.abandon(self.block_index));
        }
    }
}

fn begin(block_index: u64) -> Result<InFlight, Result<NotificationStatus, NotifyError>> {
    match state::mutate(|s| s.begin(block_index)) {
        Begin::Started => Ok(InFlight {
            block_index,
            finished: false,
        }),
        Begin::Processing => Err(Err(NotifyError::Processing)),
        Begin::Finished(status) => Err(Ok(status)),
        Begin::TooOld { last_purged } => Err(Err(NotifyError::TransactionTooOld(last_purged))),
    }
}

/// Fetches the block and reads the payment into `subaccount`.
async fn fetch_payment(block_index: u64, subaccount: &Subaccount) -> Result<Payment, NotifyError> {
    let ledger = state::read(|s| s.config().ledger_canister_id);
    let block = ledger_client::fetch_block(ledger, block_index)
        .await
        .map_err(|e| NotifyError::Other {
            error_code: notify_error_code::FAILED_TO_FETCH_BLOCK,
            error_message: format!("could not fetch block {block_index}: {}", e.message),
        })?
        .ok_or_else(|| {
            NotifyError::InvalidTransaction(format!("block {block_index} does not exist"))
        })?;
    let expected = AccountIdentifier::new(&canister_self(), Some(subaccount));
    payment::read(&block, &expected).map_err(NotifyError::InvalidTransaction)
}

/// The payment into `beneficiary`'s subaccount, if its memo names this
/// operation and its amount can pay for something; otherwise the call's
/// answer: a refund for another memo, a final refusal for an amount below
/// the fee, or (unfinished, so retryable) a failure to read the block.
async fn checked_payment<T: Clone>(
    in_flight: InFlight,
    beneficiary: &Principal,
    memo: u64,
    memo_name: &str,
    status: fn(Result<T, NotifyError>) -> NotificationStatus,
) -> Result<(InFlight, Subaccount, Payment), Result<T, NotifyError>> {
    let subaccount = principal_to_subaccount(beneficiary);
    let payment = fetch_payment(in_flight.block_index, &subaccount)
        .await
        .map_err(Err)?;
    if payment.memo != Some(memo) {
        let reason = format!("the memo is not {memo_name} ({memo:#x})");
        return Err(refund(in_flight, subaccount, &payment, 0, reason, status).await);
    }
    if payment.amount_e8s < payment.fee_e8s {
        let result = Err(NotifyError::InvalidTransaction(
            "the amount is below the ledger fee: it can be neither converted nor refunded".into(),
        ));
        in_flight.finish(status(result.clone()));
        return Err(result);
    }
    Ok((in_flight, subaccount, payment))
}

/// Reserves the cycles under the hourly limit and mints them.
fn mint(payment: &Payment) -> Result<u128, NotifyError> {
    let rate =
        state::read(|s| s.rates().map(|r| r.current.xdr_permyriad_per_icp)).ok_or_else(|| {
            NotifyError::Other {
                error_code: notify_error_code::INTERNAL,
                error_message: "no ICP/XDR conversion rate is set".into(),
            }
        })?;
    let cycles = cycles_for_e8s(payment.amount_e8s, rate);
    let limit = state::read(|s| s.config().cycles_limit_per_hour);
    let now = time() / 1_000_000_000;
    state::mutate(|s| s.limiter(|l| l.reserve(now, cycles, limit))).map_err(|used| {
        NotifyError::Other {
            error_code: notify_error_code::MINTING_LIMIT,
            error_message: format!(
                "minting {cycles} cycles would exceed the limit of {limit} per hour \
                 ({used} minted in the last hour); the ICP stays, try again later"
            ),
        }
    })?;
    mint::mint_cycles(cycles);
    Ok(cycles)
}

/// Gives back cycles that were minted but came back from a failed call.
fn unmint(cycles: u128) {
    ic_cdk::api::cycles_burn(ic_cdk::api::msg_cycles_refunded());
    state::mutate(|s| {
        let _ = s.limiter(|l| {
            l.release(cycles);
            Ok(())
        });
    });
}

/// Refunds a payment less the transfer fee and `extra_fees`, records the
/// final status and burns what was kept.
async fn refund<T: Clone>(
    in_flight: InFlight,
    subaccount: Subaccount,
    payment: &Payment,
    extra_fees: u64,
    reason: String,
    status: fn(Result<T, NotifyError>) -> NotificationStatus,
) -> Result<T, NotifyError> {
    let block_index = in_flight.block_index;
    let fee = payment.fee_e8s;
    let kept = (extra_fees * fee).min(payment.amount_e8s);
    let refund = payment.amount_e8s.saturating_sub(kept + fee);
    let ledger = state::read(|s| s.config().ledger_canister_id);
    let refund_block = if refund == 0 {
        None
    } else {
        let sent = ledger_client::transfer(
            ledger,
            Some(subaccount),
            payment.from,
            refund,
            fee,
            block_index,
        )
        .await;
        match sent {
            Ok(Ok(index)) => Some(index),
            Ok(Err(e)) => {
                return Err(NotifyError::Other {
                    error_code: notify_error_code::REFUND_FAILED,
                    error_message: format!("the ledger refused the refund: {e:?}"),
                });
            }
            Err(e) if e.clean => {
                return Err(NotifyError::Other {
                    error_code: notify_error_code::REFUND_FAILED,
                    error_message: format!("the refund failed, try again: {}", e.message),
                });
            }
            Err(e) => {
                // The ledger may have refunded: never risk paying twice.
                let result = Err(NotifyError::Other {
                    error_code: notify_error_code::REFUND_FAILED,
                    error_message: format!("the refund's outcome is unknown: {}", e.message),
                });
                in_flight.finish(status(result.clone()));
                return result;
            }
        }
    };
    let result = Err(NotifyError::Refunded {
        reason,
        block_index: refund_block,
    });
    let left = if refund == 0 {
        payment.amount_e8s
    } else {
        kept
    };
    state::mutate(|s| {
        s.update_totals(|t| t.icp_refunded_e8s += refund);
        if left >= fee && left > 0 {
            s.add_pending_burn(
                block_index,
                PendingBurn {
                    subaccount,
                    amount_e8s: left,
                },
            );
        }
    });
    in_flight.finish(status(result.clone()));
    burn(block_index).await;
    result
}

thread_local! {
    /// Burns with a call in flight; another attempt must wait for it.
    static BURNING: RefCell<BTreeSet<u64>> = const { RefCell::new(BTreeSet::new()) };
}

/// Burns the ICP of a converted (or partly refunded) payment. A failed burn
/// stays pending; the timer retries it.
async fn burn(block_index: u64) {
    let Some(pending) = state::read(|s| s.pending_burn(block_index)) else {
        return;
    };
    if !BURNING.with(|b| b.borrow_mut().insert(block_index)) {
        return;
    }
    let (ledger, minting_account) = state::read(|s| {
        let c = s.config();
        (c.ledger_canister_id, c.minting_account_id)
    });
    let burned = ledger_client::transfer(
        ledger,
        Some(pending.subaccount),
        minting_account,
        pending.amount_e8s,
        0,
        block_index,
    )
    .await;
    BURNING.with(|b| b.borrow_mut().remove(&block_index));
    match burned {
        Ok(Ok(_)) => state::mutate(|s| {
            s.remove_pending_burn(block_index);
            s.update_totals(|t| t.icp_burned_e8s += pending.amount_e8s);
        }),
        Ok(Err(e)) => ic_cdk::api::debug_print(format!(
            "burning {} e8s for block {block_index} was refused: {e:?}",
            pending.amount_e8s
        )),
        Err(e) => ic_cdk::api::debug_print(format!(
            "burning for block {block_index} failed, will retry: {}",
            e.message
        )),
    }
}

#[update]
async fn notify_top_up(arg: NotifyTopUpArg) -> NotifyTopUpResult {
    let in_flight = match begin(arg.block_index) {
        Ok(in_flight) => in_flight,
        Err(done) => return done.and_then(NotificationStatus::top_up_result),
    };
    let status = NotificationStatus::NotifiedTopUp;
    let (in_flight, subaccount, payment) =
        match checked_payment(in_flight, &arg.canister_id, MEMO_TOP_UP, "TPUP", status).await {
            Ok(paid) => paid,
            Err(answer) => return answer,
        };
    let cycles = mint(&payment)?;
    let deposit = Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
        .with_arg(CanisterIdRecord {
            canister_id: arg.canister_id,
        })
        .with_cycles(cycles)
        .await;
    if let Err(e) = deposit {
        unmint(cycles);
        let reason = format!("depositing cycles into {} failed: {e}", arg.canister_id);
        return refund(
            in_flight,
            subaccount,
            &payment,
            TOP_UP_REFUND_EXTRA_FEES,
            reason,
            status,
        )
        .await;
    }
    let result = Ok(Nat::from(cycles));
    converted(arg.block_index, subaccount, &payment, cycles, |t| {
        t.top_ups += 1
    });
    in_flight.finish(status(result.clone()));
    burn(arg.block_index).await;
    result
}

/// Records cycles delivered and the ICP to burn for them.
fn converted(
    block_index: u64,
    subaccount: Subaccount,
    payment: &Payment,
    cycles: u128,
    count: impl FnOnce(&mut state::Totals),
) {
    state::mutate(|s| {
        s.update_totals(|t| {
            t.cycles_minted += cycles;
            count(t);
        });
        s.add_pending_burn(
            block_index,
            PendingBurn {
                subaccount,
                amount_e8s: payment.amount_e8s,
            },
        );
    });
}

fn settings_for(controller: Principal, settings: Option<CanisterSettings>) -> CanisterSettings {
    let mut settings = settings.unwrap_or_default();
    if settings.controllers.is_none() {
        settings.controllers = Some(vec![controller]);
    }
    settings
}

async fn create_with_cycles(settings: CanisterSettings, cycles: u128) -> Result<Principal, String> {
    let response = Call::unbounded_wait(Principal::management_canister(), "create_canister")
        .with_arg(CreateCanisterArgs {
            settings: Some(settings),
            sender_canister_version: Some(ic_cdk::api::canister_version()),
        })
        .with_cycles(cycles)
        .await
        .map_err(|e| e.to_string())?;
    // `record { canister_id : principal }`
    candid_reader::decode_first(&response, |c, ty| {
        c.field(ty, "canister_id", |c, ty| c.principal(ty))
    })
    .map_err(|e| e.to_string())
}

#[update]
async fn notify_create_canister(arg: NotifyCreateCanisterArg) -> NotifyCreateCanisterResult {
    if msg_caller() != arg.controller {
        return Err(NotifyError::Other {
            error_code: notify_error_code::UNAUTHORIZED,
            error_message: "only the controller named in the request may notify it".into(),
        });
    }
    let in_flight = match begin(arg.block_index) {
        Ok(in_flight) => in_flight,
        Err(done) => return done.and_then(NotificationStatus::create_canister_result),
    };
    let status = NotificationStatus::NotifiedCreateCanister;
    let (in_flight, subaccount, payment) = match checked_payment(
        in_flight,
        &arg.controller,
        MEMO_CREATE_CANISTER,
        "CREA",
        status,
    )
    .await
    {
        Ok(paid) => paid,
        Err(answer) => return answer,
    };
    let cycles = mint(&payment)?;
    let created = create_with_cycles(settings_for(arg.controller, arg.settings), cycles).await;
    let canister_id = match created {
        Ok(id) => id,
        Err(e) => {
            unmint(cycles);
            let reason = format!("creating the canister failed: {e}");
            return refund(
                in_flight,
                subaccount,
                &payment,
                CREATE_REFUND_EXTRA_FEES,
                reason,
                status,
            )
            .await;
        }
    };
    let result = Ok(canister_id);
    converted(arg.block_index, subaccount, &payment, cycles, |t| {
        t.canisters_created += 1
    });
    in_flight.finish(status(result.clone()));
    burn(arg.block_index).await;
    result
}

/// Creates a canister paid with the cycles attached to this call; the
/// caller becomes its controller unless the settings name others.
#[update]
async fn create_canister(arg: CreateCanisterArg) -> CreateCanisterResult {
    let caller = msg_caller();
    let cycles = ic_cdk::api::msg_cycles_accept(ic_cdk::api::msg_cycles_available());
    match create_with_cycles(settings_for(caller, arg.settings), cycles).await {
        Ok(id) => {
            state::mutate(|s| s.update_totals(|t| t.canisters_created += 1));
            Ok(id)
        }
        Err(e) => {
            // The cycles came back to this canister: return them to the caller.
            let back = ic_cdk::api::msg_cycles_refunded();
            let returned = Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
                .with_arg(CanisterIdRecord {
                    canister_id: caller,
                })
                .with_cycles(back)
                .await;
            let refund_amount = if returned.is_ok() { back } else { 0 };
            Err(CreateCanisterError::Refunded {
                refund_amount: Nat::from(refund_amount),
                create_error: e,
            })
        }
    }
}

// ---- Rates ----

/// NNS function 10: only governance may set the rate; it must be positive
/// and newer than the current one.
#[update]
fn set_icp_xdr_conversion_rate(payload: UpdateIcpXdrConversionRatePayload) -> Result<(), String> {
    let governance = state::read(|s| s.config().governance_canister_id);
    if msg_caller() != governance {
        return Err(format!(
            "only the governance canister ({governance}) may set the ICP/XDR rate"
        ));
    }
    state::mutate(|s| {
        s.set_rate(nns_api::cmc::IcpXdrConversionRate {
            timestamp_seconds: payload.timestamp_seconds,
            xdr_permyriad_per_icp: payload.xdr_permyriad_per_icp,
        })
    })?;
    certify_rates();
    Ok(())
}

fn certified_rate(
    pick: fn(&rates::Rates) -> nns_api::cmc::IcpXdrConversionRate,
) -> IcpXdrConversionRateResponse {
    let Some((data, hash_tree)) = state::read(|s| s.rates().map(|r| (pick(r), r.tree_cbor())))
    else {
        trap("no ICP/XDR conversion rate is set");
    };
    IcpXdrConversionRateResponse {
        data,
        hash_tree: ByteBuf::from(hash_tree),
        // Empty in replicated calls (from other canisters), as on the IC.
        certificate: ByteBuf::from(data_certificate().unwrap_or_default()),
    }
}

#[query]
fn get_icp_xdr_conversion_rate() -> IcpXdrConversionRateResponse {
    certified_rate(|r| r.current)
}

#[query]
fn get_average_icp_xdr_conversion_rate() -> IcpXdrConversionRateResponse {
    certified_rate(rates::Rates::average)
}

#[query]
fn total_cycles_minted() -> Nat {
    Nat::from(state::read(|s| s.totals().cycles_minted))
}

#[query]
fn get_build_metadata() -> String {
    format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
}

#[query(
    hidden = true,
    decode_with = "canister_common::http::decode_http_request"
)]
fn http_request(request: HttpRequest) -> HttpResponse {
    if request.path() != "/metrics" {
        return HttpResponse::not_found();
    }
    let mut m = Metrics::default();
    state::read(|s| {
        let t = s.totals();
        m.counter(
            "cmc_cycles_minted",
            "Cycles minted and delivered.",
            t.cycles_minted as f64,
        )
        .counter(
            "cmc_icp_burned_e8s",
            "ICP burned after conversion, in e8s.",
            t.icp_burned_e8s as f64,
        )
        .counter(
            "cmc_icp_refunded_e8s",
            "ICP refunded, in e8s.",
            t.icp_refunded_e8s as f64,
        )
        .counter("cmc_top_ups", "Canisters topped up.", t.top_ups as f64)
        .counter(
            "cmc_canisters_created",
            "Canisters created.",
            t.canisters_created as f64,
        )
        .gauge(
            "cmc_notifications",
            "Notifications remembered.",
            s.notifications() as f64,
        )
        .gauge(
            "cmc_pending_burns",
            "Payments whose ICP is still to be burned.",
            s.pending_burn_count() as f64,
        );
        if let Some(rates) = s.rates() {
            m.gauge(
                "cmc_icp_xdr_permyriad",
                "Current ICP/XDR rate, in 10^-4 XDR per ICP.",
                rates.current.xdr_permyriad_per_icp as f64,
            );
        }
    });
    HttpResponse::text(200, "text/plain; version=0.0.4", m.finish())
}

/// The Candid signature of the endpoint above that decodes by hand
/// (`hidden` keeps the macro from declaring it as blob to blob).
#[cfg(test)]
#[allow(dead_code)]
mod hand_coded_signatures {
    use super::*;

    #[candid::candid_method(query)]
    fn http_request(_: HttpRequest) -> HttpResponse {
        unreachable!("declares a signature only")
    }
}

#[cfg(test)]
mod candid_interface {
    use super::*;

    candid::export_service!();

    #[test]
    fn did_file_matches_the_code() {
        canister_common::assert_candid_interface(
            &__export_service(),
            include_str!("../../../candid/cmc.did"),
            CANDID_INIT_ARGS,
        );
    }
}
