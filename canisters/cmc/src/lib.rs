//! The cycles-minting canister. This file holds the endpoints and the
//! notification flows (which await other canisters); the rules they apply
//! live in the modules below, which unit-test without a runtime.
//!
//! A notification first reads the block and checks that it pays for this
//! request (a transfer into the target's subaccount, with this operation's
//! memo); only then is the block marked `Processing`, so that nobody can
//! hold another's payment. Cycles are minted and sent in the same execution
//! that marks it; the reply to that call records the final status before
//! anything else is awaited, so a block can never be converted twice. The
//! ICP is burned afterwards, and a refund is recorded before it is sent:
//! both are retried (by a timer and by later notifies) with the same
//! `created_at_time`, so that the ledger deduplicates a repeat, until the
//! ledger confirms them.
//!
//! The CMC refuses to be upgraded while it awaits other canisters (a reply
//! would find no callback and its block would stay `Processing`): stop it
//! first, as governance does.
//!
//! Where the real CMC's answers are matched (its `rs/nns/cmc/src/main.rs`):
//! a notification that would pass the hourly minting limit is refunded as
//! a failed top-up or creation is; a block's cached answer is given only to
//! requests that the block pays for (its subaccount names the canister or
//! controller, its memo the operation), whatever else they ask; a payment
//! notified to the other operation's endpoint is refused and recorded
//! nowhere; `TransactionTooOld` names the oldest block still notifiable.

pub mod config;
pub mod ledger_client;
pub mod limiter;
pub mod mint;
pub mod notifications;
pub mod payment;
pub mod rates;
pub mod state;
pub mod subnets;

use candid::{Nat, Principal};
use canister_common::calls::{self, returned_cycles};
use canister_common::candid_reader;
use canister_common::metrics::Metrics;
use config::Config;
use ic_cdk::api::{canister_self, certified_data_set, data_certificate, msg_caller, time};
use ic_cdk::call::Call;
use ic_cdk::{init, post_upgrade, pre_upgrade, query, trap, update};
use ic_management_canister_types::{CanisterIdRecord, CanisterSettings, CreateCanisterArgs};
use nns_api::cmc::{
    ChangeSubnetTypeAssignmentArgs, CreateCanisterArg, CreateCanisterError, CreateCanisterResult,
    CyclesCanisterInitPayload, IcpXdrConversionRateResponse, MEMO_CREATE_CANISTER,
    MEMO_MINT_CYCLES, MEMO_TOP_UP, NotifyCreateCanisterArg, NotifyCreateCanisterResult,
    NotifyError, NotifyMintCyclesArg, NotifyMintCyclesResult, NotifyMintCyclesSuccess,
    NotifyTopUpArg, NotifyTopUpResult, PrincipalsAuthorizedToCreateCanistersToSubnetsResponse,
    SetAuthorizedSubnetworkListArgs, SubnetTypesToSubnetsResponse,
    UpdateIcpXdrConversionRatePayload, UpdateSubnetTypeArgs, cycles_for_e8s, notify_error_code,
};
use nns_api::cycles_ledger::{DepositArgs, DepositResult};
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::ledger::TransferError;
use nns_api::{AccountIdentifier, Subaccount, account_identifier::principal_to_subaccount};
use notifications::{Begin, NotificationStatus};
use payment::Payment;
use serde_bytes::ByteBuf;
use state::{Operation, PendingTransfer, Refund};
use std::cell::Cell;
use std::time::Duration;

nns_api::embed_candid_metadata!(
    "../../../candid/cmc.did",
    b"(opt CyclesCanisterInitPayload)"
);

/// Extra fees kept from a refund, as the real CMC: they pay for the work done.
const TOP_UP_REFUND_EXTRA_FEES: u64 = 2;
const CREATE_REFUND_EXTRA_FEES: u64 = 4;
const MINT_REFUND_EXTRA_FEES: u64 = 2;
/// `create_canister` turns away fewer cycles attached, as the real CMC.
pub const CREATE_CANISTER_MIN_CYCLES: u128 = 100_000_000_000;
/// What a failed `create_canister` keeps of the cycles attached.
pub const BAD_REQUEST_CYCLES_PENALTY: u128 = 100_000_000;
/// The longest `deposit_memo` passed on to the cycles ledger.
const MAX_DEPOSIT_MEMO_BYTES: usize = 32;
const RETRY_INTERVAL: Duration = Duration::from_secs(600);
/// Burns and refunds retried per timer run, taken in turn from all.
const MAX_RETRIES_PER_RUN: usize = 50;
/// What creating a canister costs on a 13-node application subnet: no
/// canister is created with fewer cycles (the real CMC turns away fewer
/// than 10¹¹ at once and leaves the rest to the subnet's fee; here the
/// canister lands on this subnet, which charges no fee, so the CMC applies
/// it).
pub const CANISTER_CREATION_FEE_CYCLES: u128 = 500_000_000_000;
/// The minting limit's window, as the real CMC names it in its refusals.
const MINTING_LIMIT_WINDOW_SECONDS: u64 = 3_600;

#[init]
fn init(payload: Option<CyclesCanisterInitPayload>) {
    let config = Config::from_init(payload).unwrap_or_else(|e| trap(e));
    state::mutate(|s| s.install(config));
    certify_rates();
    start_timers();
}

/// Refused while calls to other canisters are in flight: their replies
/// would find no callback. Stopping the canister first always satisfies it.
#[pre_upgrade]
fn pre_upgrade() {
    if CALLS_IN_FLIGHT.get() > 0
        && ic_cdk::api::canister_status() != ic_cdk::api::CanisterStatusCode::Stopped
    {
        trap("the CMC awaits calls to other canisters: stop it before upgrading it");
    }
}

/// An upgrade argument changes only the minting limit (see
/// [`Config::upgraded`]). Only small cells are touched, whatever the
/// history's size.
#[post_upgrade]
fn post_upgrade(payload: Option<CyclesCanisterInitPayload>) {
    state::mutate(|s| s.upgrade(payload)).unwrap_or_else(|e| trap(e));
    certify_rates();
    start_timers();
}

thread_local! {
    static CALLS_IN_FLIGHT: Cell<u64> = const { Cell::new(0) };
    /// Where the timer's next run starts, in the pending burns and refunds.
    static NEXT_BURN: Cell<u64> = const { Cell::new(0) };
    static NEXT_REFUND: Cell<u64> = const { Cell::new(0) };
}

/// Counts a message that may await other canisters while it runs. Dropped
/// when it ends, or by the cleanup after a trap in a callback.
struct OutCall;

impl OutCall {
    fn new() -> Self {
        CALLS_IN_FLIGHT.set(CALLS_IN_FLIGHT.get() + 1);
        Self
    }
}

impl Drop for OutCall {
    fn drop(&mut self) {
        CALLS_IN_FLIGHT.set(CALLS_IN_FLIGHT.get().saturating_sub(1));
    }
}

fn start_timers() {
    ic_cdk_timers::set_timer_interval(RETRY_INTERVAL, || async {
        let _awaiting = OutCall::new();
        let refunds = state::read(|s| s.refunds_from(NEXT_REFUND.get(), MAX_RETRIES_PER_RUN));
        if let Some(last) = refunds.last() {
            NEXT_REFUND.set(last.saturating_add(1));
        }
        for block_index in refunds {
            let _ = send_refund(block_index).await;
        }
        let burns = state::read(|s| s.pending_burns_from(NEXT_BURN.get(), MAX_RETRIES_PER_RUN));
        if let Some(last) = burns.last() {
            NEXT_BURN.set(last.saturating_add(1));
        }
        for block_index in burns {
            burn(block_index).await;
        }
    });
}

fn certify_rates() {
    certified_data_set(state::read(|s| s.rates().root_hash()));
}

fn now_seconds() -> u64 {
    time() / 1_000_000_000
}

// ---- Notifications ----

/// A block this call marked `Processing`. Dropped while armed — on an
/// early error, or by the cleanup after a trap — it is forgotten, so that
/// a later notify can try again. It is disarmed before any call that may
/// change something outside (a mint, a refund): from then on a trap leaves
/// the block marked rather than let it be converted or refunded twice.
struct InFlight {
    block_index: u64,
    armed: bool,
}

impl InFlight {
    fn finish(mut self, status: NotificationStatus) {
        state::mutate(|s| s.finish(self.block_index, status));
        self.armed = false;
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.armed {
            state::mutate(|s| s.abandon(self.block_index));
        }
    }
}

/// Marks the block unless it is in flight, finished or too old; a block
/// whose refund is pending gets another attempt at it.
async fn begin(block_index: u64) -> Result<InFlight, Result<NotificationStatus, NotifyError>> {
    match state::mutate(|s| s.begin(block_index)) {
        Begin::Started => Ok(InFlight {
            block_index,
            armed: true,
        }),
        Begin::Processing => Err(Err(NotifyError::Processing)),
        // One notify at a time sends a pending refund: overlapping attempts
        // would each stop the others from renewing a stale stamp. While one
        // is counted (in flight, or of unknown outcome) the timer retries.
        Begin::Refunding if state::read(|s| s.refund_attempt_counted(block_index)) => {
            Err(Err(NotifyError::Processing))
        }
        Begin::Refunding => Err(send_refund(block_index).await),
        Begin::Finished(status) => Err(Ok(status)),
        Begin::TooOld { oldest_notifiable } => {
            Err(Err(NotifyError::TransactionTooOld(oldest_notifiable)))
        }
    }
}

/// Fetches the block and reads the payment into `subaccount`.
async fn fetch_payment(block_index: u64, subaccount: &Subaccount) -> Result<Payment, NotifyError> {
    let ledger = state::read(|s| s.config().ledger_canister_id);
    let block = ledger_client::fetch_block(ledger, block_index)
        .await
        .map_err(|e| NotifyError::Other {
            error_code: notify_error_code::FAILED_TO_FETCH_BLOCK,
            error_message: format!("Failed to fetch block: {}", e.message),
        })?
        .ok_or_else(|| NotifyError::InvalidTransaction(format!("Block {block_index} not found")))?;
    let expected = AccountIdentifier::new(&canister_self(), Some(subaccount));
    payment::read(&block, &expected, subaccount).map_err(NotifyError::InvalidTransaction)
}

/// A payment into `beneficiary`'s subaccount with this operation's memo,
/// and the block marked for this call; otherwise the call's answer. The
/// block is read and checked before it is marked, as the real CMC's
/// `fetch_transaction` does: a request that the payment is not for (another
/// canister or controller, whose subaccount it is not in; the other
/// operation, whose memo it lacks) is `InvalidTransaction` and changes
/// nothing, so a cached answer goes only to requests the block pays for. A
/// payment with a memo that means nothing here is refunded.
async fn checked_payment(
    block_index: u64,
    beneficiary: &Principal,
    operation: Operation,
) -> Result<(InFlight, Subaccount, Payment), Result<NotificationStatus, NotifyError>> {
    let memo = match operation {
        Operation::TopUp => MEMO_TOP_UP,
        Operation::CreateCanister => MEMO_CREATE_CANISTER,
        Operation::MintCycles => MEMO_MINT_CYCLES,
    };
    let subaccount = principal_to_subaccount(beneficiary);
    let payment = fetch_payment(block_index, &subaccount).await.map_err(Err)?;
    let meaningful = payment::MEANINGFUL_MEMOS.contains(&payment.memo);
    if meaningful {
        payment::check_memo(payment.memo, memo)
            .map_err(|e| Err(NotifyError::InvalidTransaction(e)))?;
    }
    if meaningful && payment.amount_e8s < payment.fee_e8s {
        return Err(Err(NotifyError::InvalidTransaction(
            "the amount is below the ledger fee: it can be neither converted nor refunded".into(),
        )));
    }
    let in_flight = match begin(block_index).await {
        Ok(in_flight) => in_flight,
        // A refunded payment whose memo means nothing here answers its
        // refund, whichever endpoint was notified, as the real CMC's.
        Err(Ok(
            NotificationStatus::NotifiedTopUp(Err(e))
            | NotificationStatus::NotifiedCreateCanister(Err(e))
            | NotificationStatus::NotifiedMint(Err(e)),
        )) if !meaningful => return Err(Err(e)),
        Err(done) => return Err(done),
    };
    if !meaningful {
        let reason = payment::not_meaningful_reason(payment.memo);
        return Err(start_refund(in_flight, operation, subaccount, &payment, 0, reason).await);
    }
    Ok((in_flight, subaccount, payment))
}

fn refunded_status(operation: Operation, error: NotifyError) -> NotificationStatus {
    match operation {
        Operation::TopUp => NotificationStatus::NotifiedTopUp(Err(error)),
        Operation::CreateCanister => NotificationStatus::NotifiedCreateCanister(Err(error)),
        Operation::MintCycles => NotificationStatus::NotifiedMint(Err(error)),
    }
}

fn current_rate() -> u64 {
    state::read(|s| s.rates().current.xdr_permyriad_per_icp)
}

/// Cycles reserved under the hourly limit and minted, with the limiter's
/// bucket they count in; past the limit, the real CMC's reason, for the
/// refund.
fn mint(payment: &Payment) -> Result<(u128, u64), String> {
    let cycles = cycles_for_e8s(payment.amount_e8s, current_rate());
    let limit = state::read(|s| s.config().cycles_limit_per_hour);
    let bucket = state::mutate(|s| s.limiter(|l| l.reserve(now_seconds(), cycles, limit)))
        .map_err(|_| minting_limit_reason(limit))?;
    mint::mint_cycles(cycles);
    Ok((cycles, bucket))
}

/// Burns minted cycles that a failed call did not deliver (`back`), and
/// gives the mint back to the hourly limit.
fn unmint(cycles: u128, bucket: u64, back: u128) {
    ic_cdk::api::cycles_burn(back);
    state::mutate(|s| s.limiter(|l| l.release(bucket, cycles)));
}

/// Decides a refund of the payment less the transfer fee and `extra_fees`
/// fees (which are burned), records it, and sends it. A refund of nothing
/// is final at once.
async fn start_refund(
    mut in_flight: InFlight,
    operation: Operation,
    subaccount: Subaccount,
    payment: &Payment,
    extra_fees: u64,
    reason: String,
) -> Result<NotificationStatus, NotifyError> {
    let block_index = in_flight.block_index;
    let fee = payment.fee_e8s;
    let kept = (extra_fees * fee).min(payment.amount_e8s);
    let refund = payment.amount_e8s.saturating_sub(kept + fee);
    let now = time();
    if refund == 0 {
        let status = refunded_status(
            operation,
            NotifyError::Refunded {
                reason,
                block_index: None,
            },
        );
        if payment.amount_e8s >= fee {
            let left = PendingTransfer::burn(subaccount, payment.amount_e8s, now);
            state::mutate(|s| s.add_pending_burn(block_index, left));
        }
        in_flight.finish(status.clone());
        burn(block_index).await;
        return Ok(status);
    }
    let answer = refunded_status(
        operation,
        NotifyError::Refunded {
            reason,
            block_index: None,
        },
    );
    state::mutate(|s| {
        let details = Refund {
            to: payment.from,
            fee_e8s: fee,
            answer,
        };
        s.add_refund(
            block_index,
            PendingTransfer::refund(subaccount, refund, now, &details),
        );
        if kept > 0 {
            s.add_pending_burn(block_index, PendingTransfer::burn(subaccount, kept, now));
        }
    });
    // The block stays marked while the refund is pending.
    in_flight.disarm();
    let sent = send_refund(block_index).await;
    burn(block_index).await;
    sent
}

/// Sends the pending refund of `block_index`, if any: the block's final
/// status once the ledger confirms it, else why it is still pending (it
/// is retried with the same stamp, so it is made at most once).
async fn send_refund(block_index: u64) -> Result<NotificationStatus, NotifyError> {
    let Some((amount, mut answer)) = state::read(|s| s.refund(block_index))
        .and_then(|p| p.details().map(|r| (p.amount_e8s, r.answer)))
    else {
        // Gone: another attempt just made it and is recording it.
        return Err(NotifyError::Processing);
    };
    if amount == 0 {
        // A fee raised above the refund left nothing to send.
        state::mutate(|s| s.refund_of_nothing(block_index, answer.clone()));
        return Ok(answer);
    }
    let sent = attempt(block_index, true).await;
    match sent {
        Ok(refund_block) => {
            if let NotificationStatus::NotifiedTopUp(Err(NotifyError::Refunded {
                block_index,
                ..
            }))
            | NotificationStatus::NotifiedCreateCanister(Err(NotifyError::Refunded {
                block_index,
                ..
            }))
            | NotificationStatus::NotifiedMint(Err(NotifyError::Refunded {
                block_index,
                ..
            })) = &mut answer
            {
                *block_index = Some(refund_block);
            }
            let status = answer;
            state::mutate(|s| s.refunded(block_index, status.clone()));
            Ok(status)
        }
        Err(e) => Err(NotifyError::Other {
            error_code: notify_error_code::REFUND_FAILED,
            error_message: format!("the refund is not made yet, and is retried: {e}"),
        }),
    }
}

/// Changes a block's pending refund (`refund`) or burn.
fn modify(block_index: u64, refund: bool, f: &dyn Fn(&mut PendingTransfer)) {
    state::mutate(|s| {
        let pending = if refund {
            s.refund(block_index)
        } else {
            s.pending_burn(block_index)
        };
        if let Some(mut p) = pending {
            f(&mut p);
            if refund {
                s.add_refund(block_index, p);
            } else {
                s.add_pending_burn(block_index, p);
            }
        }
    })
}

/// One attempt at a block's pending refund (`refund`) or burn, sent with
/// its stamp: the ledger's block index when it is done (now, or before:
/// `TxDuplicate`). The attempt is counted as of unknown outcome before it
/// is sent, and uncounted only on an answer that says it was not made: a
/// trap after the ledger made it leaves it counted. A stamp too old for the
/// ledger's deduplication is renewed, and a refund whose fee the ledger no
/// longer charges is re-priced, only when no attempt is counted: any of
/// them may have been made, and a changed transfer would then be made a
/// second time. Otherwise the transfer waits for a look by hand.
async fn attempt(block_index: u64, refund: bool) -> Result<u64, String> {
    let Some((p, to, fee, ledger)) = state::read(|s| {
        let p = if refund {
            s.refund(block_index)
        } else {
            s.pending_burn(block_index)
        }?;
        let (to, fee) = match p.details() {
            Some(r) => (r.to, r.fee_e8s),
            None => (s.config().minting_account_id, 0),
        };
        Some((p, to, fee, s.config().ledger_canister_id))
    }) else {
        return Err("nothing is pending".into());
    };
    // A burn recorded before stamps existed has 0: the ledger finds it too
    // old, and it is stamped anew below.
    let stamp = p.created_at_time;
    modify(block_index, refund, &|q| q.unconfirmed_attempts += 1);
    let answer = ledger_client::transfer(
        ledger,
        p.subaccount,
        to,
        p.amount_e8s,
        fee,
        block_index,
        stamp,
    )
    .await;
    match answer {
        Ok(Ok(index))
        | Ok(Err(TransferError::TxDuplicate {
            duplicate_of: index,
        })) => Ok(index),
        Ok(Err(e)) => {
            let now = time();
            modify(block_index, refund, &|q| {
                q.unconfirmed_attempts = q.unconfirmed_attempts.saturating_sub(1);
                q.after_refusal(&p, &e, now)
            });
            Err(match e {
                TransferError::BadFee { .. } => "the ledger refused its fee",
                TransferError::InsufficientFunds { .. } => "the subaccount lacks the funds",
                _ => "the ledger refused its created_at_time",
            }
            .into())
        }
        Err(e) => {
            if !e.may_have_acted {
                modify(block_index, refund, &|q| {
                    q.unconfirmed_attempts = q.unconfirmed_attempts.saturating_sub(1)
                });
            }
            Err(e.message)
        }
    }
}

/// Burns the ICP of a converted (or partly refunded) payment. A failed burn
/// stays pending; the timer retries it.
async fn burn(block_index: u64) {
    let Some(pending) = state::read(|s| s.pending_burn(block_index)) else {
        return;
    };
    let burned = attempt(block_index, false).await;
    // A failed burn stays pending.
    if burned.is_ok() {
        // Two attempts may both be answered done (the second as a
        // duplicate): the burn is counted once.
        state::mutate(|s| {
            if s.remove_pending_burn(block_index) {
                s.update_totals(|t| t.icp_burned_e8s += pending.amount_e8s);
            }
        })
    }
}

#[update]
async fn notify_top_up(arg: NotifyTopUpArg) -> NotifyTopUpResult {
    let _awaiting = OutCall::new();
    let operation = Operation::TopUp;
    let (mut in_flight, subaccount, payment) =
        match checked_payment(arg.block_index, &arg.canister_id, operation).await {
            Ok(paid) => paid,
            Err(done) => return done.and_then(NotificationStatus::top_up_result),
        };
    let extra = TOP_UP_REFUND_EXTRA_FEES;
    let (cycles, bucket) = match mint(&payment) {
        Ok(minted) => minted,
        // Refunded as a failed deposit is, as on the real CMC.
        Err(reason) => {
            return start_refund(in_flight, operation, subaccount, &payment, extra, reason)
                .await
                .and_then(NotificationStatus::top_up_result);
        }
    };
    in_flight.disarm();
    let deposit = Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
        .with_arg(CanisterIdRecord {
            canister_id: arg.canister_id,
        })
        .with_cycles(cycles)
        .await;
    if let Err(e) = deposit {
        unmint(cycles, bucket, returned_cycles(cycles, &e));
        let reason = format!("depositing cycles into {} failed: {e}", arg.canister_id);
        return start_refund(in_flight, operation, subaccount, &payment, extra, reason)
            .await
            .and_then(NotificationStatus::top_up_result);
    }
    converted(arg.block_index, subaccount, &payment, cycles, |t| {
        t.top_ups += 1
    });
    let result = Ok(Nat::from(cycles));
    in_flight.finish(NotificationStatus::NotifiedTopUp(result.clone()));
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
            PendingTransfer::burn(subaccount, payment.amount_e8s, time()),
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

/// Why no canister was created.
enum CreateFailure {
    /// Nothing was created; every cycle attached came back.
    Refused(String),
    /// A subnet answered, but unreadably: a canister may exist.
    Unreadable(String),
}

/// Creates a canister with `cycles` on a subnet `controller` may use for
/// `selection`, as the real CMC: random bytes first, then the eligible
/// subnets in a random order, each subnet's management canister asked in
/// turn until one creates it. A CMC whose subnet lists were never set
/// (a fresh local deployment) asks its own subnet's management canister.
/// How the cycles a creation sends are paid for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Funding {
    /// Minted already (a notified payment).
    Minted,
    /// From the CMC's balance, minting what it lacks right before the
    /// first attempt (`create_canister`: the caller's cycles are taken
    /// only once the canister exists).
    Balance,
}

async fn create_on_a_subnet(
    controller: Principal,
    selection: Option<nns_api::cmc::SubnetSelection>,
    settings: CanisterSettings,
    cycles: u128,
    funding: Funding,
) -> Result<Principal, CreateFailure> {
    let seed: [u8; 32] = match Call::unbounded_wait(Principal::management_canister(), "raw_rand")
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.candid::<ByteBuf>().map_err(|e| e.to_string()))
    {
        Ok(bytes) if bytes.len() >= 32 => bytes[..32].try_into().expect("32 bytes"),
        Ok(_) => return Err(CreateFailure::Refused("Getting random bytes failed".into())),
        Err(e) => {
            return Err(CreateFailure::Refused(format!(
                "Getting random bytes failed: {e}"
            )));
        }
    };
    let mut subnets = state::read(|s| {
        s.subnets().eligible_or_own(
            &controller,
            selection.as_ref(),
            Principal::management_canister(),
        )
    })
    .map_err(CreateFailure::Refused)?;
    subnets::shuffle(&mut subnets, &seed);
    // No await between minting and the first attempt: what is minted is
    // what this creation sends.
    if funding == Funding::Balance {
        let lacking = cycles.saturating_sub(ic_cdk::api::canister_cycle_balance());
        if lacking > 0 {
            let limit = state::read(|s| s.config().cycles_limit_per_hour);
            state::mutate(|s| s.limiter(|l| l.reserve(now_seconds(), lacking, limit)))
                .map_err(|_| CreateFailure::Refused(minting_limit_reason(limit)))?;
            mint::mint_cycles(lacking);
            state::mutate(|s| s.update_totals(|t| t.cycles_minted += lacking));
        }
    }
    let mut last_error = String::from("Unknown problem attempting to create a canister.");
    for subnet in subnets {
        let created = Call::unbounded_wait(subnet, "create_canister")
            .with_arg(CreateCanisterArgs {
                settings: Some(settings.clone()),
                sender_canister_version: Some(ic_cdk::api::canister_version()),
            })
            .with_cycles(cycles)
            .await;
        match created {
            // `record { canister_id : principal }`
            Ok(response) => {
                return candid_reader::decode_first(&response, |c, ty| {
                    c.field(ty, "canister_id", |c, ty| c.principal(ty))
                })
                .map_err(|e| CreateFailure::Unreadable(e.to_string()));
            }
            Err(e) => {
                let (code, message) = calls::reject_code_and_message(&e);
                last_error = format!(
                    "Creating canister in subnet {subnet} failed with code {code}: {message}"
                );
            }
        }
    }
    Err(CreateFailure::Refused(last_error))
}

#[update]
async fn notify_create_canister(arg: NotifyCreateCanisterArg) -> NotifyCreateCanisterResult {
    let _awaiting = OutCall::new();
    if msg_caller() != arg.controller {
        return Err(NotifyError::Other {
            error_code: notify_error_code::UNAUTHORIZED,
            error_message: "only the controller named in the request may notify it".into(),
        });
    }
    let selection = subnets::selection(arg.subnet_type, arg.subnet_selection).map_err(|e| {
        NotifyError::Other {
            error_code: notify_error_code::BAD_SUBNET_SELECTION,
            error_message: e,
        }
    })?;
    let operation = Operation::CreateCanister;
    let (mut in_flight, subaccount, payment) =
        match checked_payment(arg.block_index, &arg.controller, operation).await {
            Ok(paid) => paid,
            Err(done) => return done.and_then(NotificationStatus::create_canister_result),
        };
    let extra = CREATE_REFUND_EXTRA_FEES;
    let buys = cycles_for_e8s(payment.amount_e8s, current_rate());
    if buys < CANISTER_CREATION_FEE_CYCLES {
        let reason = "the payment buys fewer cycles than a canister's creation costs".into();
        return start_refund(in_flight, operation, subaccount, &payment, extra, reason)
            .await
            .and_then(NotificationStatus::create_canister_result);
    }
    let (cycles, bucket) = match mint(&payment) {
        Ok(minted) => minted,
        // Refunded as a failed creation is, as on the real CMC.
        Err(reason) => {
            return start_refund(in_flight, operation, subaccount, &payment, extra, reason)
                .await
                .and_then(NotificationStatus::create_canister_result);
        }
    };
    in_flight.disarm();
    let settings = settings_for(arg.controller, arg.settings);
    let created =
        create_on_a_subnet(arg.controller, selection, settings, cycles, Funding::Minted).await;
    let canister_id = match created {
        Ok(id) => id,
        Err(CreateFailure::Unreadable(e)) => {
            // The block stays marked rather than be refunded.
            return Err(NotifyError::Other {
                error_code: notify_error_code::INTERNAL,
                error_message: e,
            });
        }
        Err(CreateFailure::Refused(reason)) => {
            // Every attempt's cycles came back.
            unmint(cycles, bucket, cycles);
            return start_refund(in_flight, operation, subaccount, &payment, extra, reason)
                .await
                .and_then(NotificationStatus::create_canister_result);
        }
    };
    let result = Ok(canister_id);
    converted(arg.block_index, subaccount, &payment, cycles, |t| {
        t.canisters_created += 1
    });
    in_flight.finish(NotificationStatus::NotifiedCreateCanister(result.clone()));
    burn(arg.block_index).await;
    result
}

/// Creates a canister paid with the cycles attached to this call, as the
/// real CMC: the caller becomes its controller unless the settings name
/// others; fewer than [`CREATE_CANISTER_MIN_CYCLES`] are refused and none
/// are taken; a failed creation keeps [`BAD_REQUEST_CYCLES_PENALTY`] and
/// the rest goes back with the reply.
#[update]
async fn create_canister(arg: CreateCanisterArg) -> CreateCanisterResult {
    let _awaiting = OutCall::new();
    let caller = msg_caller();
    let available = ic_cdk::api::msg_cycles_available();
    let refused = |create_error: String| CreateCanisterError::Refunded {
        refund_amount: Nat::from(ic_cdk::api::msg_cycles_available()),
        create_error,
    };
    if available < CREATE_CANISTER_MIN_CYCLES {
        return Err(refused("Insufficient cycles attached.".into()));
    }
    let selection = subnets::selection(arg.subnet_type, arg.subnet_selection).map_err(refused)?;
    // The attached cycles are taken only once the canister exists: until
    // then the CMC pays from its own balance.
    let settings = settings_for(caller, arg.settings);
    match create_on_a_subnet(caller, selection, settings, available, Funding::Balance).await {
        Ok(id) => {
            ic_cdk::api::msg_cycles_accept(available);
            state::mutate(|s| s.update_totals(|t| t.canisters_created += 1));
            Ok(id)
        }
        Err(CreateFailure::Refused(e)) => {
            ic_cdk::api::msg_cycles_accept(BAD_REQUEST_CYCLES_PENALTY);
            Err(refused(e))
        }
        // The CMC's cycles went out and a canister may exist: the caller's
        // pay for them.
        Err(CreateFailure::Unreadable(e)) => {
            ic_cdk::api::msg_cycles_accept(available);
            Err(refused(format!("the subnet's answer is unreadable: {e}")))
        }
    }
}

/// The real CMC's refusal past the hourly minting limit.
fn minting_limit_reason(limit: u128) -> String {
    format!(
        "More than {limit} cycles have been minted in the last \
         {MINTING_LIMIT_WINDOW_SECONDS} seconds, please try again later."
    )
}

// ---- Cycles for the cycles ledger ----

/// Converts a payment with the memo MINT into cycles deposited on the
/// cycles ledger for the caller's account (`to_subaccount` of it), as the
/// real CMC: the ICP went to the CMC's subaccount for the caller; a failed
/// deposit is refunded less two fees.
#[update]
async fn notify_mint_cycles(arg: NotifyMintCyclesArg) -> NotifyMintCyclesResult {
    let _awaiting = OutCall::new();
    let caller = msg_caller();
    if let Some(memo) = &arg.deposit_memo
        && memo.len() > MAX_DEPOSIT_MEMO_BYTES
    {
        return Err(NotifyError::Other {
            error_code: notify_error_code::DEPOSIT_MEMO_TOO_LONG,
            error_message: format!(
                "Memo length {} exceeds the maximum length of {MAX_DEPOSIT_MEMO_BYTES}",
                memo.len()
            ),
        });
    }
    let to_subaccount: Option<[u8; 32]> = arg.to_subaccount.as_ref().map(|bytes| {
        bytes
            .as_slice()
            .try_into()
            .unwrap_or_else(|_| trap("to_subaccount: a subaccount is 32 bytes"))
    });
    let operation = Operation::MintCycles;
    let (mut in_flight, subaccount, payment) =
        match checked_payment(arg.block_index, &caller, operation).await {
            Ok(paid) => paid,
            Err(done) => return done.and_then(NotificationStatus::mint_result),
        };
    let extra = MINT_REFUND_EXTRA_FEES;
    let (cycles, bucket) = match mint(&payment) {
        Ok(minted) => minted,
        Err(reason) => {
            return start_refund(in_flight, operation, subaccount, &payment, extra, reason)
                .await
                .and_then(NotificationStatus::mint_result);
        }
    };
    in_flight.disarm();
    let cycles_ledger = state::read(|s| s.config().cycles_ledger_canister_id);
    let deposit = Call::unbounded_wait(cycles_ledger, "deposit")
        .with_arg(DepositArgs {
            to: icrc_ledger_types::icrc1::account::Account {
                owner: caller,
                subaccount: to_subaccount,
            },
            memo: arg.deposit_memo,
        })
        .with_cycles(cycles)
        .await;
    let deposited = match deposit {
        Ok(response) => response.candid::<DepositResult>(),
        Err(e) => {
            unmint(cycles, bucket, returned_cycles(cycles, &e));
            let (code, message) = calls::reject_code_and_message(&e);
            let reason =
                format!("Cycles ledger rejected deposit call with code {code}: {message:?}");
            return start_refund(in_flight, operation, subaccount, &payment, extra, reason)
                .await
                .and_then(NotificationStatus::mint_result);
        }
    };
    // Cycles the cycles ledger did not take came back: they are burned,
    // and only what it took counts as minted.
    let returned = ic_cdk::api::msg_cycles_refunded();
    if returned > 0 {
        ic_cdk::api::cycles_burn(returned);
    }
    let delivered = cycles - returned.min(cycles);
    converted(arg.block_index, subaccount, &payment, delivered, |_| {});
    let result = match deposited {
        Ok(deposited) => Ok(NotifyMintCyclesSuccess {
            block_index: deposited.block_index,
            minted: Nat::from(delivered),
            balance: deposited.balance,
        }),
        // Delivered, but the answer is unreadable: final, so the payment
        // is neither refunded nor converted again.
        Err(e) => Err(NotifyError::Other {
            error_code: notify_error_code::INTERNAL,
            error_message: format!(
                "{delivered} cycles were deposited, but the cycles ledger's answer is unreadable: {e}"
            ),
        }),
    };
    in_flight.finish(NotificationStatus::NotifiedMint(result.clone()));
    burn(arg.block_index).await;
    result
}

// ---- Subnets ----

fn require_governance(what: &str) {
    if msg_caller() != state::read(|s| s.config().governance_canister_id) {
        trap(format!("Only the governance canister can {what}."));
    }
}

/// Rejects the call with `e` (the real CMC's texts), or replies `()`.
fn reply_or_reject(result: Result<(), String>) {
    match result {
        Ok(()) => ic_cdk::api::msg_reply(candid::encode_args(()).expect("() encodes")),
        Err(e) => ic_cdk::api::msg_reject(e),
    }
}

/// The Subnet Rental Canister (`qvhpv-4qaaa-aaaaa-aaagq-cai`), which may
/// authorize subnets for a renter, as on the NNS.
const SUBNET_RENTAL_CANISTER_ID: Principal =
    Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 13, 1, 1]);

#[update]
fn set_authorized_subnetwork_list(args: SetAuthorizedSubnetworkListArgs) {
    let caller = msg_caller();
    if caller != state::read(|s| s.config().governance_canister_id)
        && caller != SUBNET_RENTAL_CANISTER_ID
    {
        trap(
            "Only the governance canister and subnet rental canister can set authorized subnetwork lists.",
        );
    }
    state::mutate(|s| s.update_subnets(|lists| lists.set_authorized(args)))
        .unwrap_or_else(|e| trap(e));
}

#[update(manual_reply = true)]
fn update_subnet_type(args: UpdateSubnetTypeArgs) {
    require_governance("update the available subnet types");
    reply_or_reject(state::mutate(|s| {
        s.update_subnets(|lists| lists.update_type(args))
    }));
}

#[update(manual_reply = true)]
fn change_subnet_type_assignment(args: ChangeSubnetTypeAssignmentArgs) {
    require_governance("change the assignment of subnets to subnet types");
    reply_or_reject(state::mutate(|s| {
        s.update_subnets(|lists| lists.change_assignment(args))
    }));
}

#[query]
fn get_default_subnets() -> Vec<Principal> {
    state::read(|s| s.subnets().default_subnets.clone())
}

#[query]
fn get_subnet_types_to_subnets() -> SubnetTypesToSubnetsResponse {
    state::read(|s| s.subnets().types_to_subnets())
}

#[query]
fn get_principals_authorized_to_create_canisters_to_subnets()
-> PrincipalsAuthorizedToCreateCanistersToSubnetsResponse {
    state::read(|s| s.subnets().authorized_lists())
}

/// For governance's rewards: how the 30-day average ICP price moved over
/// the last four weeks, in basis points (hidden, as on the real CMC).
#[query(hidden = true)]
fn neuron_maturity_modulation() -> Result<i32, String> {
    Ok(state::read(|s| s.rates().maturity_modulation_permyriad()))
}

// ---- Rates ----

/// NNS function 10: only governance may set the rate; it must be positive,
/// newer than the current one and at most a day ahead of the later of the
/// clock and the current rate.
#[update]
fn set_icp_xdr_conversion_rate(payload: UpdateIcpXdrConversionRatePayload) -> Result<(), String> {
    let governance = state::read(|s| s.config().governance_canister_id);
    if msg_caller() != governance {
        return Err(format!(
            "only the governance canister ({governance}) may set the ICP/XDR rate"
        ));
    }
    let rate = nns_api::cmc::IcpXdrConversionRate {
        timestamp_seconds: payload.timestamp_seconds,
        xdr_permyriad_per_icp: payload.xdr_permyriad_per_icp,
    };
    state::mutate(|s| s.set_rate(rate, now_seconds()))?;
    certify_rates();
    Ok(())
}

fn certified_rate(
    pick: fn(&rates::Rates) -> nns_api::cmc::IcpXdrConversionRate,
) -> IcpXdrConversionRateResponse {
    let (data, hash_tree) = state::read(|s| (pick(s.rates()), s.rates().tree_cbor()));
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
            t.cycles_minted,
        )
        .counter(
            "cmc_icp_burned_e8s",
            "ICP burned after conversion, in e8s.",
            t.icp_burned_e8s,
        )
        .counter(
            "cmc_icp_refunded_e8s",
            "ICP refunded, in e8s.",
            t.icp_refunded_e8s,
        )
        .counter("cmc_top_ups", "Canisters topped up.", t.top_ups as f64)
        .counter(
            "cmc_canisters_created",
            "Canisters created.",
            t.canisters_created,
        )
        .gauge(
            "cmc_notifications",
            "Notifications remembered.",
            s.notifications(),
        )
        .gauge(
            "cmc_pending_burns",
            "Payments whose ICP is still to be burned.",
            s.pending_burn_count(),
        )
        .gauge(
            "cmc_pending_refunds",
            "Refunds not yet made.",
            s.refund_count(),
        );
        m.gauge(
            "cmc_icp_xdr_permyriad",
            "Current ICP/XDR rate, in 10^-4 XDR per ICP.",
            s.rates().current.xdr_permyriad_per_icp,
        );
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
canister_common::candid_interface_test!("../../../candid/cmc.did");
