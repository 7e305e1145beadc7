//! The decentralization sale: a project sells a share of its tokens for
//! ICP, as the SNS swap canister does (the rules in `docs/sns-swap.md`).
//! Plain-Rust rules first: what a participant may put in, what they get
//! back, and what the Neurons' Fund adds.

pub mod basket;
mod fund;
pub mod lifecycle;
pub mod participation;
pub mod releases;
pub mod sale;
pub mod views;

// The canister: endpoints over the sale, its state in stable memory.
//
// Stable memory layout (one `MemoryId` per structure; ids are never reused):
//
// ```text
// MemoryManager
// ├── 0  init      StableCell  the install argument (Candid), for get_init and the ledger ids
// ├── 1  rules     StableCell  the sale's rules (sale::Rules)
// ├── 2  progress  StableCell  totals and stage (sale::Progress)
// ├── 3  buyers    BTreeMap    principal → participation
// ├── 4  order     BTreeMap    index → principal
// ├── 5  tickets   BTreeMap    principal → open ticket
// ├── 6  auto      StableCell  the automatic finalization: attempted, its answer (Candid)
// ├── 7  fund      StableCell  the Neurons' Fund's settled portions (Candid), see fund.rs
// └── 8  fund neurons BTreeMap  NNS neuron id → its part and its releases (sale::FundNeuron)
// ```

use candid::Principal;
use canister_common::Candid;
use ic_cdk::api::{canister_self, msg_caller, time};
use ic_cdk::{init, post_upgrade, query, trap, update};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableCell};
use lifecycle::Lifecycle;
use nns_api::ledger::TransferError;
use nns_api::swap::{
    Empty, GetBuyerStateRequest, GetBuyerStateResponse, GetBuyersTotalResponse,
    GetDerivedStateResponse, GetInitResponse, GetLifecycleResponse, GetOpenTicketResponse, Init,
    ListDirectParticipantsRequest, ListDirectParticipantsResponse, NewSaleTicketRequest,
    NewSaleTicketResponse, NewSaleTicketResult, OpenTicketErr, OpenTicketResult, Participant,
    RefreshBuyerTokensRequest, RefreshBuyerTokensResponse, TicketOk,
};
use nns_api::swap::{
    ErrorRefundIcpRequest, ErrorRefundIcpResponse, FinalizeSwapResponse,
    GetAutoFinalizationStatusResponse, GetSaleParametersResponse, ListSnsNeuronRecipesRequest,
    ListSnsNeuronRecipesResponse, RefundErr, RefundOk, RefundResult, SweepResult,
};
use sale::{Memories, Outcome, RefundError, Sale};
use std::cell::RefCell;

nns_api::embed_candid_metadata!("../../../candid/swap.did", b"(Init)");

pub(crate) type VM = VirtualMemory<DefaultMemoryImpl>;

/// Tickets removed per tick once the sale is over.
const TICKETS_PURGED_PER_TICK: usize = 1_000;
/// How often the timer moves the lifecycle (as the SNS swap's periodic task).
const TICK: std::time::Duration = std::time::Duration::from_secs(60);
/// `list_direct_participants` pages: default and largest.
const MAX_LIST_DIRECT_PARTICIPANTS: u32 = 20_000;

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> = MemoryManager::init(DefaultMemoryImpl::default());
    static INIT: RefCell<Option<StableCell<Candid<Init>, VM>>> = const { RefCell::new(None) };
    static SALE: RefCell<Option<Sale<VM>>> = const { RefCell::new(None) };
}

pub(crate) fn memory(id: u8) -> VM {
    MEMORY.with(|m| m.get(MemoryId::new(id)))
}

fn memories() -> Memories<VM> {
    Memories {
        rules: memory(1),
        progress: memory(2),
        buyers: memory(3),
        order: memory(4),
        tickets: memory(5),
        fund: memory(8),
    }
}

fn with_sale<T>(f: impl FnOnce(&mut Sale<VM>) -> T) -> T {
    SALE.with(|sale| {
        f(sale
            .borrow_mut()
            .as_mut()
            .expect("the sale is open after init"))
    })
}

fn installed() -> Init {
    INIT.with(|cell| cell.borrow().as_ref().expect("installed").get().0.clone())
}

fn now_seconds() -> u64 {
    time() / 1_000_000_000
}

/// Whether the sale finalized itself once it ended, and what that answered
/// (the swap's `already_tried_to_auto_finalize`, `auto_finalize_swap_response`).
#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, Default)]
struct AutoFinalization {
    attempted: bool,
    response: Option<FinalizeSwapResponse>,
}

fn auto_finalization() -> StableCell<Candid<AutoFinalization>, VM> {
    StableCell::init(memory(6), Candid(AutoFinalization::default()))
}

/// Every tick moves the lifecycle; once the sale has ended, a sale made
/// with `should_auto_finalize` finalizes itself, once (as the SNS swap
/// does; `finalize_swap` finishes what that attempt could not); once its
/// shares are fixed, basket neurons' tokens are released as they unlock.
fn start_timer() {
    ic_cdk_timers::set_timer_interval(TICK, || async {
        with_sale(|sale| sale.tick(now_seconds()));
        with_sale(|sale| sale.purge_tickets(TICKETS_PURGED_PER_TICK));
        auto_finalize_once().await;
        release_unlocked_tokens().await;
    });
}

async fn auto_finalize_once() {
    let over = with_sale(|sale| sale.lifecycle().is_over());
    let enabled = installed().should_auto_finalize == Some(true);
    if !over || !enabled || auto_finalization().get().0.attempted {
        return;
    }
    let Some(_lock) = FinalizeLock::take() else {
        return;
    };
    auto_finalization().set(Candid(AutoFinalization {
        attempted: true,
        response: None,
    }));
    let response = finalize().await;
    auto_finalization().set(Candid(AutoFinalization {
        attempted: true,
        response: Some(response),
    }));
}

#[init]
fn init(init: Init) {
    let rules = views::rules_of(&init).unwrap_or_else(|e| trap(e));
    INIT.with(|cell| *cell.borrow_mut() = Some(StableCell::init(memory(0), Candid(init))));
    let sale = Sale::open(Some(rules), memories()).unwrap_or_else(|e| trap(e));
    SALE.with(|cell| *cell.borrow_mut() = Some(sale));
    start_timer();
}

#[post_upgrade]
fn post_upgrade() {
    let init_memory = memory(0);
    if ic_stable_structures::Memory::size(&init_memory) == 0 {
        trap("no sale is installed in this canister's stable memory");
    }
    INIT.with(|cell| {
        *cell.borrow_mut() = Some(StableCell::init(init_memory, Candid(Init::default())))
    });
    let sale = Sale::open(None, memories()).unwrap_or_else(|e| trap(e));
    SALE.with(|cell| *cell.borrow_mut() = Some(sale));
    start_timer();
}

#[update]
fn new_sale_ticket(request: NewSaleTicketRequest) -> NewSaleTicketResponse {
    let caller = msg_caller();
    let subaccount = request.subaccount.as_ref().map(|s| s.as_slice());
    let result =
        with_sale(|sale| sale.new_ticket(caller, request.amount_icp_e8s, subaccount, time()));
    NewSaleTicketResponse {
        result: Some(match result {
            Ok(ticket) => NewSaleTicketResult::Ok(TicketOk {
                ticket: Some(views::ticket(caller, &ticket)),
            }),
            Err(error) => NewSaleTicketResult::Err(views::ticket_error(caller, &error)),
        }),
    }
}

#[query]
fn get_open_ticket(_: Empty) -> GetOpenTicketResponse {
    let caller = msg_caller();
    // As the SNS swap compares lifecycle numbers: below Open (2) the sale
    // is not open, above it (Committed, Aborted and also Adopted, 5) closed.
    let result = with_sale(
        |sale| match (sale.lifecycle() as i32).cmp(&(Lifecycle::Open as i32)) {
            std::cmp::Ordering::Less => OpenTicketResult::Err(OpenTicketErr {
                error_type: Some(1),
            }),
            std::cmp::Ordering::Greater => OpenTicketResult::Err(OpenTicketErr {
                error_type: Some(2),
            }),
            std::cmp::Ordering::Equal => OpenTicketResult::Ok(TicketOk {
                ticket: sale.ticket(&caller).map(|t| views::ticket(caller, &t)),
            }),
        },
    );
    GetOpenTicketResponse {
        result: Some(result),
    }
}

#[update]
fn notify_payment_failure(_: Empty) -> TicketOk {
    let caller = msg_caller();
    let ticket = with_sale(|sale| sale.cancel_ticket(&caller));
    TicketOk {
        ticket: ticket.map(|t| views::ticket(caller, &t)),
    }
}

/// Reads the buyer's payment account on the ICP ledger and accepts what
/// the rules allow. Errors trap, as the SNS swap's do.
#[update]
async fn refresh_buyer_tokens(request: RefreshBuyerTokensRequest) -> RefreshBuyerTokensResponse {
    let buyer = if request.buyer.is_empty() {
        msg_caller()
    } else {
        Principal::from_text(&request.buyer)
            .unwrap_or_else(|e| trap(format!("Invalid principal {}: {e}", request.buyer)))
    };
    sale::check_participant(&buyer).unwrap_or_else(|e| trap(e));
    with_sale(|sale| sale.check_refresh(request.confirmation_text.as_deref()))
        .unwrap_or_else(|e| trap(e));
    let ledger = Principal::from_text(installed().icp_ledger_canister_id)
        .unwrap_or_else(|e| trap(e.to_string()));
    let account = views::payment_account(canister_self(), &buyer);
    let balance = canister_common::ledger_client::account_balance(ledger, account)
        .await
        .unwrap_or_else(|e| {
            trap(format!(
                "Unable to read the buyer's balance on the ICP ledger: {e}"
            ))
        });
    let refreshed =
        with_sale(|sale| sale.apply_refresh(buyer, balance)).unwrap_or_else(|e| trap(e));
    RefreshBuyerTokensResponse {
        icp_accepted_participation_e8s: refreshed.accepted_e8s,
        icp_ledger_account_balance_e8s: refreshed.balance_e8s,
    }
}

#[query]
fn get_buyer_state(request: GetBuyerStateRequest) -> GetBuyerStateResponse {
    let principal = request
        .principal_id
        .unwrap_or_else(|| trap("Can't get buyer state: principal_id is required"));
    GetBuyerStateResponse {
        buyer_state: with_sale(|sale| sale.buyer(&principal)).map(|b| views::buyer_state(&b)),
    }
}

#[update]
fn get_buyers_total(_: Empty) -> GetBuyersTotalResponse {
    let progress = with_sale(|sale| sale.progress());
    GetBuyersTotalResponse {
        buyers_total: progress
            .direct_e8s
            .saturating_add(progress.neurons_fund_e8s),
    }
}

#[query]
fn get_lifecycle(_: Empty) -> GetLifecycleResponse {
    with_sale(|sale| views::lifecycle(sale))
}

#[query]
fn get_derived_state(_: Empty) -> GetDerivedStateResponse {
    let (participants, neurons) = fund::count();
    GetDerivedStateResponse {
        cf_participant_count: Some(participants),
        cf_neuron_count: Some(neurons),
        ..with_sale(|sale| views::derived_state(sale))
    }
}

#[query]
fn list_direct_participants(
    request: ListDirectParticipantsRequest,
) -> ListDirectParticipantsResponse {
    let limit = request
        .limit
        .unwrap_or(MAX_LIST_DIRECT_PARTICIPANTS)
        .min(MAX_LIST_DIRECT_PARTICIPANTS);
    let offset = u64::from(request.offset.unwrap_or(0));
    let participants = with_sale(|sale| sale.participants(offset, limit as usize));
    ListDirectParticipantsResponse {
        participants: participants
            .into_iter()
            .map(|(principal, buyer)| Participant {
                participant_id: Some(principal),
                participation: Some(views::buyer_state(&buyer)),
            })
            .collect(),
    }
}

#[query]
fn get_auto_finalization_status(_: Empty) -> GetAutoFinalizationStatusResponse {
    let auto = auto_finalization().get().0.clone();
    GetAutoFinalizationStatusResponse {
        is_auto_finalize_enabled: installed().should_auto_finalize,
        has_auto_finalize_been_attempted: Some(auto.attempted),
        auto_finalize_swap_response: auto.response,
    }
}

#[query]
fn get_state(_: Empty) -> nns_api::swap::GetStateResponse {
    let auto = auto_finalization().get().0.clone();
    let context = views::Context {
        init: installed(),
        finalizing: FINALIZING.with(|f| f.get()),
        auto_attempted: auto.attempted,
        auto_response: auto.response,
    };
    let mut state = with_sale(|sale| views::state(sale, context));
    let portions = fund::portions().unwrap_or_default();
    let (participants, neurons) = fund::count();
    if let Some(swap) = state.swap.as_mut() {
        swap.cf_participants = fund::participants(&portions)
            .into_iter()
            .take(views::GET_STATE_MAX_BUYERS)
            .collect();
    }
    if let Some(derived) = state.derived.as_mut() {
        derived.cf_participant_count = Some(participants);
        derived.cf_neuron_count = Some(neurons);
    }
    state
}

/// `list_community_fund_participants` pages: default and largest (the
/// swap's).
const MAX_LIST_COMMUNITY_FUND_PARTICIPANTS: u32 = 10_000;

/// The Neurons' Fund's participants (controllers with their neurons), once
/// NNS governance settled the Fund's participation at finalization.
#[query]
fn list_community_fund_participants(
    request: nns_api::swap::ListCommunityFundParticipantsRequest,
) -> nns_api::swap::ListCommunityFundParticipantsResponse {
    let limit = request
        .limit
        .unwrap_or(MAX_LIST_COMMUNITY_FUND_PARTICIPANTS)
        .min(MAX_LIST_COMMUNITY_FUND_PARTICIPANTS) as usize;
    let offset = usize::try_from(request.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let participants = fund::participants(&fund::portions().unwrap_or_default());
    nns_api::swap::ListCommunityFundParticipantsResponse {
        cf_participants: participants.into_iter().skip(offset).take(limit).collect(),
    }
}

#[query]
fn get_sale_parameters(_: Empty) -> GetSaleParametersResponse {
    GetSaleParametersResponse {
        params: Some(with_sale(|sale| views::sale_parameters(sale.rules()))),
    }
}

/// Recipes pages: default and largest (the swap's).
const MAX_LIST_SNS_NEURON_RECIPES: u32 = 10_000;

#[query]
fn list_sns_neuron_recipes(request: ListSnsNeuronRecipesRequest) -> ListSnsNeuronRecipesResponse {
    let limit = request
        .limit
        .unwrap_or(MAX_LIST_SNS_NEURON_RECIPES)
        .min(MAX_LIST_SNS_NEURON_RECIPES);
    ListSnsNeuronRecipesResponse {
        sns_neuron_recipes: with_sale(|sale| {
            let fee = installed().transaction_fee_e8s.unwrap_or(0);
            views::neuron_recipes(sale, fee, request.offset.unwrap_or(0), limit as usize)
        }),
    }
}

#[query]
fn get_init(_: Empty) -> GetInitResponse {
    GetInitResponse {
        init: Some(installed()),
    }
}

/// Participants looked at, and transfers sent, per batch of a finalization.
const SWEEP_SCAN: usize = 5_000;
const SWEEP_BATCH: usize = 100;

thread_local! {
    /// A finalization is running (its transfers are awaited).
    static FINALIZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Holds the finalization lock; released however the finalization ends,
/// also when a callback traps (ic-cdk drops the future then).
struct FinalizeLock;

impl FinalizeLock {
    fn take() -> Option<Self> {
        (!FINALIZING.with(|f| f.replace(true))).then_some(Self)
    }
}

impl Drop for FinalizeLock {
    fn drop(&mut self) {
        FINALIZING.with(|f| f.set(false));
    }
}

/// Sweeps every participation: to the project's treasury (the sale's
/// `sns_governance_canister_id`, the project having no SNS governance) on
/// commit, back to the participant on abort, the fee taken off each. Each
/// transfer keeps the stamp of its first sending, so that sending it again
/// after a lost answer is a ledger duplicate, not a second payment.
/// Resumable: a later call goes on from what is left.
#[update]
async fn finalize_swap(_: Empty) -> FinalizeSwapResponse {
    let Some(_lock) = FinalizeLock::take() else {
        return FinalizeSwapResponse {
            error_message: Some(
                "The Swap canister has finalize_swap call already in progress".into(),
            ),
            ..Default::default()
        };
    };
    finalize().await
}

/// Token releases in flight at once.
const RELEASES_AT_ONCE: usize = 20;

thread_local! {
    /// When the next basket neurons unlock (seconds): until then a tick
    /// has nothing to release and scans no one. 0 after an install or
    /// upgrade, so that the first tick looks.
    static NEXT_UNLOCK_SECONDS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Sends the tokens of every basket neuron that has unlocked and is not
/// released yet, from the sale's account on the project's token ledger
/// (minted there when the NNS installed the ledger), the token's fee paid
/// out of each neuron's tokens, with the neuron's memo. One pass at a time,
/// under the finalization lock: what is in flight when a pass begins was
/// left by a trap, an upgrade or a lost answer, and is sent again as the
/// same transaction.
async fn release_unlocked_tokens() {
    let progress = with_sale(|sale| sale.progress());
    let now = now_seconds();
    if !progress.shares_fixed || now < NEXT_UNLOCK_SECONDS.with(|n| n.get()) {
        return;
    }
    let Some(_lock) = FinalizeLock::take() else {
        return;
    };
    let init = installed();
    let Ok(ledger) = Principal::from_text(&init.sns_ledger_canister_id) else {
        return;
    };
    let fee = init.transaction_fee_e8s.unwrap_or(0);
    let mut settled = true;
    // The direct participants', then the Fund neurons' baskets.
    for fund_neurons in [false, true] {
        let mut from = 0;
        loop {
            let pass = with_sale(|sale| {
                if fund_neurons {
                    sale.begin_fund_releases(time(), fee, from, SWEEP_SCAN, SWEEP_BATCH)
                } else {
                    sale.begin_releases(time(), fee, from, SWEEP_SCAN, SWEEP_BATCH)
                }
            });
            settled &= !pass.held_back;
            // A batch's releases go out RELEASES_AT_ONCE at a time (all are
            // marked in flight): each call reserves cycles for its answer.
            for chunk in pass.releases.chunks(RELEASES_AT_ONCE) {
                let sends = chunk.iter().map(|release| async move {
                    let outcome = send_release(ledger, fee, release).await;
                    with_sale(|sale| match release.fund_neuron {
                        Some(id) => sale.end_fund_release(id, release.neuron, outcome),
                        None => sale.end_release(&release.buyer, release.neuron, outcome),
                    });
                    outcome
                });
                for outcome in futures::future::join_all(sends).await {
                    settled &= matches!(outcome, Outcome::Done(_) | Outcome::Expired);
                }
            }
            if pass.next == from {
                break;
            }
            from = pass.next;
        }
    }
    // Retried at the next tick while anything failed or waited behind a
    // release in flight; else asleep until the next neurons unlock.
    let next_unlock = if settled {
        let rules = with_sale(|sale| sale.rules().clone());
        let elapsed = now.saturating_sub(progress.ended_at_seconds);
        let interval = rules.basket_interval_seconds.max(1);
        let step = elapsed / interval + 1;
        if step < rules.basket_count {
            progress.ended_at_seconds.saturating_add(step * interval)
        } else {
            u64::MAX
        }
    } else {
        now
    };
    NEXT_UNLOCK_SECONDS.with(|n| n.set(next_unlock));
}

async fn send_release(ledger: Principal, fee: u64, release: &sale::Release) -> Outcome {
    use icrc_ledger_types::icrc1::account::Account;
    use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
    // A Fund neuron's tokens: its controller's subaccount named by the
    // NNS neuron's id (the NNS holds a Fund neuron's SNS neurons for it).
    let to = match release.fund_neuron {
        Some(id) => {
            let mut subaccount = [0u8; 32];
            subaccount[24..].copy_from_slice(&id.to_be_bytes());
            Account {
                owner: release.buyer,
                subaccount: Some(subaccount),
            }
        }
        None => Account::from(release.buyer),
    };
    let arg = TransferArg {
        from_subaccount: None,
        to,
        fee: Some(fee.into()),
        created_at_time: Some(release.created_at_nanos),
        memo: Some(Memo::from(release.memo)),
        amount: release.amount_e8s.into(),
    };
    let block = |n: candid::Nat| u64::try_from(&n.0).unwrap_or(u64::MAX);
    match canister_common::ledger_client::icrc1_transfer(ledger, arg).await {
        Ok(Ok(index))
        | Ok(Err(TransferError::Duplicate {
            duplicate_of: index,
        })) => Outcome::Done(block(index)),
        Ok(Err(TransferError::TooOld)) => Outcome::Expired,
        Ok(Err(_)) => Outcome::Failed,
        Err(failure) if failure.may_have_acted => Outcome::Unknown,
        Err(_) => Outcome::Failed,
    }
}

async fn finalize() -> FinalizeSwapResponse {
    let progress = with_sale(|sale| sale.progress());
    let failed = |message: String| FinalizeSwapResponse {
        error_message: Some(message),
        ..Default::default()
    };
    if !progress.lifecycle.is_over() {
        return failed(format!(
            "The Swap can only be finalized in the COMMITTED or ABORTED states. Current state is {:?}",
            progress.lifecycle
        ));
    }
    let mut result = SweepResult::default();
    if with_sale(|sale| sale.icp_swept()) {
        result.skipped =
            u32::try_from(with_sale(|sale| sale.standing().participants)).unwrap_or(u32::MAX);
        return settle_and_fix_shares(result, progress).await;
    }
    let init = installed();
    let ledger =
        Principal::from_text(&init.icp_ledger_canister_id).unwrap_or_else(|e| trap(e.to_string()));
    let destination = |buyer: &Principal| match progress.lifecycle {
        Lifecycle::Committed => {
            views::treasury(&init).map(|t| nns_api::AccountIdentifier::new(&t, None))
        }
        _ => Ok(nns_api::AccountIdentifier::new(buyer, None)),
    };
    let mut from = 0;
    loop {
        let (sweeps, next) =
            with_sale(|sale| sale.begin_icp_sweeps(from, SWEEP_SCAN, SWEEP_BATCH, time()));
        // One transfer at a time, as the SNS swap sweeps.
        for sweep in sweeps {
            let to = match destination(&sweep.buyer) {
                Ok(to) => to,
                Err(e) => return failed(e),
            };
            let outcome = send_sweep(ledger, &sweep, to).await;
            match outcome {
                Outcome::Done(_) => result.success += 1,
                _ => result.failure += 1,
            }
            with_sale(|sale| sale.end_icp_sweep(&sweep.buyer, outcome, now_seconds()));
        }
        if next == from {
            break;
        }
        from = next;
    }
    if !with_sale(|sale| sale.icp_swept()) {
        return FinalizeSwapResponse {
            sweep_icp_result: Some(result),
            error_message: Some(
                "Transferring ICP did not complete fully; call finalize_swap again".into(),
            ),
            ..Default::default()
        };
    }
    settle_and_fix_shares(result, progress).await
}

/// Once every participation is swept: the Neurons' Fund's part settled
/// with NNS governance (when the sale has one), then the token shares
/// fixed with the Fund's final participation.
async fn settle_and_fix_shares(
    sweep: SweepResult,
    progress: sale::Progress,
) -> FinalizeSwapResponse {
    let mut response = FinalizeSwapResponse {
        sweep_icp_result: Some(sweep),
        ..Default::default()
    };
    let init = installed();
    let fund_total = if init.neurons_fund_participation == Some(true) {
        match settle_neurons_fund(&init, &progress).await {
            Ok(total) => {
                response.settle_neurons_fund_participation_result =
                    Some(views::settled(total, fund::count()));
                total
            }
            Err(message) => {
                response.settle_neurons_fund_participation_result =
                    Some(views::settle_failed(&message));
                response.error_message = Some(format!(
                    "Settling the Neurons' Fund participation did not complete ({message}); call finalize_swap again"
                ));
                return response;
            }
        }
    } else {
        0
    };
    if progress.lifecycle == Lifecycle::Committed && !progress.shares_fixed {
        let neurons: Vec<(u64, Principal, u64)> = fund::portions()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| Some((p.nns_neuron_id?, p.controller?, p.amount_icp_e8s?)))
            .collect();
        let _ = with_sale(|sale| {
            sale.add_fund_neurons(&neurons)?;
            sale.fix_token_shares(fund_total)
        });
    }
    response
}

/// Asks NNS governance to settle the Fund's participation, once: the
/// answer (the Fund's neurons and their final amounts) is kept, and a
/// later finalization reads it.
async fn settle_neurons_fund(init: &Init, progress: &sale::Progress) -> Result<u64, String> {
    use nns_api::governance::sns::{
        SaleResult, SettleCommitted, SettleNeuronsFundParticipationRequest,
        SettleNeuronsFundParticipationResponse, SettleResult,
    };
    if let Some(portions) = fund::portions() {
        return Ok(fund::total(&portions));
    }
    let governance = Principal::from_text(&init.nns_governance_canister_id)
        .map_err(|e| format!("nns_governance_canister_id: {e}"))?;
    let result = match progress.lifecycle {
        Lifecycle::Committed => SaleResult::Committed(SettleCommitted {
            total_direct_participation_icp_e8s: Some(progress.direct_e8s),
            total_neurons_fund_participation_icp_e8s: Some(progress.neurons_fund_e8s),
            sns_governance_canister_id: Some(views::treasury(init)?),
        }),
        _ => SaleResult::Aborted(Empty {}),
    };
    let request = SettleNeuronsFundParticipationRequest {
        result: Some(result),
        nns_proposal_id: init.nns_proposal_id,
    };
    let reply = ic_cdk::call::Call::unbounded_wait(governance, "settle_neurons_fund_participation")
        .with_arg(request)
        .await
        .map_err(|e| format!("NNS governance did not answer: {e}"))?;
    let response: SettleNeuronsFundParticipationResponse = reply
        .candid()
        .map_err(|e| format!("NNS governance's answer: {e}"))?;
    match response.result {
        Some(SettleResult::Ok(ok)) => {
            let portions = ok.neurons_fund_neuron_portions;
            let total = fund::total(&portions);
            fund::keep(portions);
            Ok(total)
        }
        Some(SettleResult::Err(e)) => Err(e.error_message),
        None => Err("NNS governance answered nothing".into()),
    }
}

/// One sweep's transfer, stamped with its first sending's time, and what
/// came of it.
async fn send_sweep(
    ledger: Principal,
    sweep: &sale::IcpSweep,
    to: nns_api::AccountIdentifier,
) -> Outcome {
    let sent = canister_common::ledger_client::transfer_at(
        ledger,
        Some(sale::buyer_subaccount(&sweep.buyer)),
        to,
        sweep.amount_e8s,
        sale::ICP_FEE_E8S,
        0,
        Some(sweep.created_at_nanos),
    )
    .await;
    match sent {
        Ok(Ok(block))
        | Ok(Err(TransferError::TxDuplicate {
            duplicate_of: block,
        })) => Outcome::Done(block),
        // Too old to be deduplicated: the account tells whether the
        // first sending was made (only the sweep takes from it
        // before the sweep is done).
        Ok(Err(TransferError::TxTooOld { .. })) => too_old_sweep(ledger, sweep).await,
        Ok(Err(_)) => Outcome::Failed,
        Err(failure) if failure.may_have_acted => Outcome::Unknown,
        Err(_) => Outcome::Failed,
    }
}

/// A sweep whose stamp grew too old for the ledger's deduplication: made
/// if the participant's account no longer holds the participation (the
/// block is not known then: 0), else expired — no sending of it can be
/// made any more — and to stamp anew.
async fn too_old_sweep(ledger: Principal, sweep: &sale::IcpSweep) -> Outcome {
    let account = views::payment_account(canister_self(), &sweep.buyer);
    match canister_common::ledger_client::account_balance(ledger, account).await {
        Ok(balance) if balance < sweep.amount_e8s + sale::ICP_FEE_E8S => Outcome::Done(0),
        Ok(_) => Outcome::Expired,
        Err(_) => Outcome::Unknown,
    }
}

/// Returns ICP in `source`'s account of the sale that the sale did not
/// take (a payment outside the sale, an overpayment, the whole payment of
/// a refused participant), less the fee — once the sale is over.
#[update]
async fn error_refund_icp(request: ErrorRefundIcpRequest) -> ErrorRefundIcpResponse {
    let refused = |error: RefundError| ErrorRefundIcpResponse {
        result: Some(RefundResult::Err(RefundErr {
            error_type: Some(error.code()),
            description: Some(match error {
                RefundError::InvalidRequest(m)
                | RefundError::Precondition(m)
                | RefundError::External(m) => m,
            }),
        })),
    };
    let Some(source) = request.source_principal_id else {
        return refused(RefundError::InvalidRequest(
            "Invalid request: source_principal_id is required".into(),
        ));
    };
    if let Err(error) = with_sale(|sale| sale.check_error_refund(&source)) {
        return refused(error);
    }
    let ledger = Principal::from_text(installed().icp_ledger_canister_id)
        .unwrap_or_else(|e| trap(e.to_string()));
    let balance = match canister_common::ledger_client::account_balance(
        ledger,
        views::payment_account(canister_self(), &source),
    )
    .await
    {
        Ok(balance) => balance,
        Err(e) => {
            return refused(RefundError::External(format!(
                "Unable to read the balance: {e}"
            )));
        }
    };
    let Some(amount) = sale::error_refund_amount(balance) else {
        return refused(RefundError::External(format!(
            "The balance ({balance} e8s) does not cover the fee"
        )));
    };
    let sent = canister_common::ledger_client::transfer(
        ledger,
        Some(sale::buyer_subaccount(&source)),
        nns_api::AccountIdentifier::new(&source, None),
        amount,
        sale::ICP_FEE_E8S,
        0,
    )
    .await;
    match sent {
        Ok(Ok(block)) => ErrorRefundIcpResponse {
            result: Some(RefundResult::Ok(RefundOk {
                block_height: Some(block),
            })),
        },
        Ok(Err(e)) => refused(RefundError::External(format!(
            "The ICP ledger refused the refund: {e:?}"
        ))),
        Err(e) => refused(RefundError::External(format!("The refund failed: {e}"))),
    }
}

#[cfg(test)]
canister_common::candid_interface_test!("../../../candid/swap.did");
