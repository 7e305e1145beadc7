//! The cycles ledger canister: cycles as an ICRC-1/2/3 token. Cycles come
//! in attached to `deposit` (the CMC's `notify_mint_cycles` deposits what
//! ICP bought) and leave through `withdraw` (to a canister, via the
//! management canister's `deposit_cycles`) and `create_canister` (via the
//! CMC); the canister holds the cycles behind every balance. This file
//! holds the endpoints and their calls; the rules live in the modules
//! below and in the shared ledger core.

pub mod config;
pub mod protocols;
pub mod queries;
pub mod state;

use candid::{CandidType, Nat, Principal};
use canister_common::calls::{self, returned_cycles};
use canister_common::metrics::Metrics;
use config::Config;
use ic_cdk::api::{msg_caller, msg_cycles_accept, msg_cycles_available, time};
use ic_cdk::call::{Call, CallFailed};
use ic_cdk::{init, post_upgrade, query, trap, update};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc3::archive::{GetArchivesArgs, GetArchivesResult};
use icrc_ledger_types::icrc3::blocks::GetBlocksRequest;
use ledger_core::TxError;
use ledger_core::icrc::errors::nat;
use ledger_core::icrc::requests;
use nns_api::cycles_ledger::{
    CanisterSettings, CmcCreateCanisterArgs, CreateCanisterArgs, CreateCanisterError,
    CreateCanisterFromArgs, CreateCanisterFromError, CreateCanisterSuccess, DepositArgs,
    DepositResult, GetBlocksResult, LedgerArgs, RejectionCode, SubnetSelection, WithdrawArgs,
    WithdrawError, WithdrawFromArgs, WithdrawFromError,
};
use nns_api::http::{HttpRequest, HttpResponse};
use protocols::{Burn, CREATE_CANISTER_MEMO, PENALIZE_MEMO, REFUND_MEMO};

nns_api::embed_candid_metadata!("../../../candid/cycles-ledger.did", b"(LedgerArgs)");

/// Error codes of `GenericError`, as the real cycles ledger numbers them.
mod error_code {
    pub const UNKNOWN: u64 = 100_000;
    pub const ZERO_WITHDRAWAL: u64 = 100_002;
}

#[init]
fn init(args: LedgerArgs) {
    let LedgerArgs::Init(args) = args else {
        trap(
            "Cannot initialize the canister with an Upgrade argument. Please provide an Init argument.",
        );
    };
    let initial: Vec<(Account, u128)> = args
        .initial_balances
        .iter()
        .flatten()
        .map(|(account, amount)| {
            let amount = u128::try_from(&amount.0)
                .unwrap_or_else(|_| trap("Failed to mint initial balance: amount too large"));
            (*account, amount)
        })
        .collect();
    state::mutate(|l| l.install(Config::from_init(&args), &initial, time()))
        .unwrap_or_else(|e| trap(format!("Failed to mint initial balance: {e}")));
    certify_tip();
}

#[post_upgrade]
fn post_upgrade(args: Option<LedgerArgs>) {
    state::read(|l| l.check_layout()).unwrap_or_else(|e| trap(e));
    match args {
        None | Some(LedgerArgs::Upgrade(None)) => {}
        Some(LedgerArgs::Upgrade(Some(upgrade))) => {
            state::mutate(|l| l.update_config(|c| c.apply_upgrade(upgrade)))
        }
        Some(LedgerArgs::Init(_)) => trap(
            "Cannot upgrade the canister with an Init argument. Please provide an Upgrade argument.",
        ),
    }
    certify_tip();
}

ledger_core::icrc_endpoints! {
    ledger: state::CyclesLedger,
    config: Config,
    read: state::read,
    mutate: state::mutate,
}

#[query]
fn icrc3_get_blocks(ranges: Vec<GetBlocksRequest>) -> GetBlocksResult {
    state::read(|l| queries::get_blocks(l, &ranges))
}

/// The cycles ledger keeps every block: there are no archives.
#[query]
fn icrc3_get_archives(_: GetArchivesArgs) -> GetArchivesResult {
    vec![]
}

#[update]
fn deposit(args: DepositArgs) -> DepositResult {
    let attached = msg_cycles_available();
    let memo = args.memo.map(|m| m.into_vec());
    if memo.as_ref().is_some_and(|m| m.len() > 32) {
        trap("memo length exceeds the maximum of 32 bytes");
    }
    let (block, balance) =
        state::mutate(|l| protocols::deposit(l, args.to, memo, attached, time()))
            .unwrap_or_else(|e| trap(e));
    msg_cycles_accept(attached);
    certify_tip();
    DepositResult {
        block_index: Nat::from(block),
        balance: Nat::from(balance),
    }
}

/// Why a call that carried cycles failed.
struct Failure {
    code: RejectionCode,
    reason: String,
}

impl Failure {
    fn of_call(e: &CallFailed) -> Self {
        let (code, reason) = calls::reject_code_and_message(e);
        Self {
            code: RejectionCode::from_code(code),
            reason,
        }
    }
}

/// An amount that does not fit in 128 bits is more than any balance.
fn cycles_amount(amount: &Nat, from: &Account) -> Result<u128, Nat> {
    u128::try_from(&amount.0).map_err(|_| nat(state::read(|l| l.balance(from))))
}

/// Self-authenticating principals (29 bytes ending in 2) are users, not
/// canisters: cycles cannot go there.
fn is_user(principal: &Principal) -> bool {
    let bytes = principal.as_slice();
    bytes.len() == 29 && bytes[28] == 0x02
}

fn withdraw_from_error(e: TxError<u128>) -> WithdrawFromError {
    match e {
        TxError::InsufficientFunds { balance } => WithdrawFromError::InsufficientFunds {
            balance: nat(balance),
        },
        TxError::InsufficientAllowance { allowance } => WithdrawFromError::InsufficientAllowance {
            allowance: nat(allowance),
        },
        TxError::TooOld => WithdrawFromError::TooOld,
        TxError::CreatedInFuture { ledger_time } => {
            WithdrawFromError::CreatedInFuture { ledger_time }
        }
        TxError::Duplicate { duplicate_of } => WithdrawFromError::Duplicate {
            duplicate_of: Nat::from(duplicate_of),
        },
        other => WithdrawFromError::GenericError {
            error_code: Nat::from(error_code::UNKNOWN),
            message: format!("{other:?}"),
        },
    }
}

/// `withdraw` is `withdraw_from` without a spender; its failure names the
/// refund's block as the fee block, as on the real ledger.
fn withdraw_error(e: WithdrawFromError) -> WithdrawError {
    match e {
        WithdrawFromError::InsufficientFunds { balance } => {
            WithdrawError::InsufficientFunds { balance }
        }
        WithdrawFromError::TooOld => WithdrawError::TooOld,
        WithdrawFromError::CreatedInFuture { ledger_time } => {
            WithdrawError::CreatedInFuture { ledger_time }
        }
        WithdrawFromError::TemporarilyUnavailable => WithdrawError::TemporarilyUnavailable,
        WithdrawFromError::Duplicate { duplicate_of } => WithdrawError::Duplicate { duplicate_of },
        WithdrawFromError::FailedToWithdrawFrom {
            refund_block,
            rejection_code,
            rejection_reason,
            ..
        } => WithdrawError::FailedToWithdraw {
            fee_block: refund_block,
            rejection_code,
            rejection_reason,
        },
        WithdrawFromError::GenericError {
            error_code,
            message,
        } => WithdrawError::GenericError {
            error_code,
            message,
        },
        WithdrawFromError::InvalidReceiver { receiver } => {
            WithdrawError::InvalidReceiver { receiver }
        }
        WithdrawFromError::InsufficientAllowance { allowance } => WithdrawError::GenericError {
            error_code: Nat::from(error_code::UNKNOWN),
            message: format!("unexpected: insufficient allowance {allowance}"),
        },
    }
}

/// Burns `amount` and the fee, then sends `amount` cycles to `to` through
/// the management canister's `deposit_cycles`; a failed call is refunded
/// less a fee (and a spender's allowance restored).
async fn withdraw_cycles(
    from: Account,
    spender: Option<Account>,
    to: Principal,
    amount: &Nat,
    created_at_time: Option<u64>,
) -> Result<Nat, WithdrawFromError> {
    let amount = cycles_amount(amount, &from)
        .map_err(|balance| WithdrawFromError::InsufficientFunds { balance })?;
    if is_user(&to) {
        return Err(WithdrawFromError::InvalidReceiver { receiver: to });
    }
    if amount == 0 {
        return Err(WithdrawFromError::GenericError {
            error_code: Nat::from(error_code::ZERO_WITHDRAWAL),
            message: "The withdraw_from 0 cycles is not possible".into(),
        });
    }
    let burn = Burn {
        from,
        spender,
        amount,
        memo: protocols::withdraw_memo(&to),
        created_at_time,
    };
    let burned =
        record(|l, now| protocols::burn(l, burn.clone(), now)).map_err(withdraw_from_error)?;
    let sent = Call::unbounded_wait(Principal::management_canister(), "deposit_cycles")
        .with_arg(ic_management_canister_types::CanisterIdRecord { canister_id: to })
        .with_cycles(amount)
        .await;
    let Err(e) = sent else {
        return Ok(Nat::from(burned.block));
    };
    let failure = Failure::of_call(&e);
    let returned = returned_cycles(amount, &e);
    let refund =
        state::mutate(|l| protocols::refund(l, &burn, burned, returned, PENALIZE_MEMO, time()));
    certify_tip();
    Err(WithdrawFromError::FailedToWithdrawFrom {
        withdraw_from_block: Some(Nat::from(burned.block)),
        refund_block: refund.refund_block.map(Nat::from),
        approval_refund_block: refund.approval_refund_block.map(Nat::from),
        rejection_code: failure.code,
        rejection_reason: failure.reason,
    })
}

#[update]
async fn withdraw(args: WithdrawArgs) -> Result<Nat, WithdrawError> {
    let from = requests::caller_account(msg_caller(), args.from_subaccount);
    withdraw_cycles(from, None, args.to, &args.amount, args.created_at_time)
        .await
        .map_err(withdraw_error)
}

#[update]
async fn withdraw_from(args: WithdrawFromArgs) -> Result<Nat, WithdrawFromError> {
    let spender = requests::caller_account(msg_caller(), args.spender_subaccount);
    withdraw_cycles(
        args.from,
        Some(spender),
        args.to,
        &args.amount,
        args.created_at_time,
    )
    .await
}

/// What the CMC's `create_canister` takes from the cycles ledger.
#[derive(CandidType)]
struct CmcCreateCanisterArg {
    settings: Option<CanisterSettings>,
    subnet_selection: Option<SubnetSelection>,
}

fn create_from_error(e: TxError<u128>) -> CreateCanisterFromError {
    match e {
        TxError::InsufficientFunds { balance } => CreateCanisterFromError::InsufficientFunds {
            balance: nat(balance),
        },
        TxError::InsufficientAllowance { allowance } => {
            CreateCanisterFromError::InsufficientAllowance {
                allowance: nat(allowance),
            }
        }
        TxError::TooOld => CreateCanisterFromError::TooOld,
        TxError::CreatedInFuture { ledger_time } => {
            CreateCanisterFromError::CreatedInFuture { ledger_time }
        }
        TxError::Duplicate { duplicate_of } => CreateCanisterFromError::Duplicate {
            duplicate_of: Nat::from(duplicate_of),
            canister_id: state::created_by(duplicate_of),
        },
        other => CreateCanisterFromError::GenericError {
            error_code: Nat::from(error_code::UNKNOWN),
            message: format!("{other:?}"),
        },
    }
}

/// `create_canister` is `create_canister_from` without a spender; its
/// failure names the burn's block as the fee block, as on the real ledger.
fn create_error(e: CreateCanisterFromError) -> CreateCanisterError {
    match e {
        CreateCanisterFromError::InsufficientFunds { balance } => {
            CreateCanisterError::InsufficientFunds { balance }
        }
        CreateCanisterFromError::TooOld => CreateCanisterError::TooOld,
        CreateCanisterFromError::CreatedInFuture { ledger_time } => {
            CreateCanisterError::CreatedInFuture { ledger_time }
        }
        CreateCanisterFromError::TemporarilyUnavailable => {
            CreateCanisterError::TemporarilyUnavailable
        }
        CreateCanisterFromError::Duplicate {
            duplicate_of,
            canister_id,
        } => CreateCanisterError::Duplicate {
            duplicate_of,
            canister_id,
        },
        CreateCanisterFromError::FailedToCreateFrom {
            create_from_block,
            refund_block,
            rejection_reason,
            ..
        } => CreateCanisterError::FailedToCreate {
            fee_block: create_from_block,
            refund_block,
            error: rejection_reason,
        },
        CreateCanisterFromError::GenericError {
            error_code,
            message,
        } => CreateCanisterError::GenericError {
            error_code,
            message,
        },
        CreateCanisterFromError::InsufficientAllowance { allowance } => {
            CreateCanisterError::GenericError {
                error_code: Nat::from(error_code::UNKNOWN),
                message: format!("unexpected: insufficient allowance {allowance}"),
            }
        }
    }
}

/// Burns `amount` and the fee, then has the CMC create a canister with
/// `amount` cycles (the caller controls it unless the settings say
/// otherwise); what a failed creation returns is refunded less a fee.
async fn create_with_cycles(
    from: Account,
    spender: Option<Account>,
    amount: &Nat,
    created_at_time: Option<u64>,
    creation_args: Option<CmcCreateCanisterArgs>,
) -> Result<CreateCanisterSuccess, CreateCanisterFromError> {
    let controller = spender.map_or(from.owner, |s| s.owner);
    let amount = cycles_amount(amount, &from)
        .map_err(|balance| CreateCanisterFromError::InsufficientFunds { balance })?;
    let burn = Burn {
        from,
        spender,
        amount,
        memo: CREATE_CANISTER_MEMO.to_vec(),
        created_at_time,
    };
    let burned =
        record(|l, now| protocols::burn(l, burn.clone(), now)).map_err(create_from_error)?;
    let creation_args = creation_args.unwrap_or_default();
    let mut settings = creation_args.settings.unwrap_or_default();
    if settings.controllers.is_none() {
        settings.controllers = Some(vec![controller]);
    }
    let reply = Call::unbounded_wait(nns_api::ids::CYCLES_MINTING_CANISTER_ID, "create_canister")
        .with_arg(CmcCreateCanisterArg {
            settings: Some(settings),
            subnet_selection: creation_args.subnet_selection,
        })
        .with_cycles(amount)
        .await;
    // What a failed creation returns is what the system says arrived (the
    // CMC's reply names an amount too; only cycles held are refunded).
    let (failure, returned) = match reply {
        Ok(response) => {
            match response.candid::<nns_api::cycles_ledger::CmcCreateCanisterResult>() {
                Ok(Ok(canister_id)) => {
                    if created_at_time.is_some() {
                        let pruned_to = state::read(|l| l.tip().dedup_pruned_to);
                        state::record_created(burned.block, canister_id, pruned_to);
                    }
                    return Ok(CreateCanisterSuccess {
                        block_id: Nat::from(burned.block),
                        canister_id,
                    });
                }
                Ok(Err(nns_api::cmc::CreateCanisterError::Refunded { create_error, .. })) => (
                    Failure {
                        code: RejectionCode::CanisterError,
                        reason: create_error,
                    },
                    ic_cdk::api::msg_cycles_refunded().min(amount),
                ),
                Err(e) => (
                    Failure {
                        code: RejectionCode::CanisterError,
                        reason: format!("unreadable reply of the CMC: {e}"),
                    },
                    ic_cdk::api::msg_cycles_refunded().min(amount),
                ),
            }
        }
        Err(e) => (Failure::of_call(&e), returned_cycles(amount, &e)),
    };
    let refund =
        state::mutate(|l| protocols::refund(l, &burn, burned, returned, REFUND_MEMO, time()));
    certify_tip();
    Err(CreateCanisterFromError::FailedToCreateFrom {
        create_from_block: Some(Nat::from(burned.block)),
        refund_block: refund.refund_block.map(Nat::from),
        approval_refund_block: refund.approval_refund_block.map(Nat::from),
        rejection_code: failure.code,
        rejection_reason: failure.reason,
    })
}

#[update]
async fn create_canister(
    args: CreateCanisterArgs,
) -> Result<CreateCanisterSuccess, CreateCanisterError> {
    let from = requests::caller_account(msg_caller(), args.from_subaccount);
    create_with_cycles(
        from,
        None,
        &args.amount,
        args.created_at_time,
        args.creation_args,
    )
    .await
    .map_err(create_error)
}

#[update]
async fn create_canister_from(
    args: CreateCanisterFromArgs,
) -> Result<CreateCanisterSuccess, CreateCanisterFromError> {
    let spender = requests::caller_account(msg_caller(), args.spender_subaccount);
    create_with_cycles(
        args.from,
        Some(spender),
        &args.amount,
        args.created_at_time,
        args.creation_args,
    )
    .await
}

// ---- Operations ----

#[query(
    hidden = true,
    decode_with = "canister_common::http::decode_http_request"
)]
fn http_request(request: HttpRequest) -> HttpResponse {
    match request.path() {
        "/metrics" => {
            let mut m = Metrics::default();
            state::read(|l| {
                m.gauge(
                    "cycles_ledger_number_of_blocks",
                    "Blocks in the ledger.",
                    l.chain_length(),
                )
                .gauge(
                    "cycles_ledger_number_of_balances",
                    "Accounts holding cycles.",
                    l.number_of_accounts(),
                )
                .gauge(
                    "cycles_ledger_number_of_approvals",
                    "Allowances stored.",
                    l.approvals(),
                )
                .gauge(
                    "cycles_ledger_number_of_transaction_hashes",
                    "Deduplication entries.",
                    l.dedup_entries(),
                )
                .gauge(
                    "cycles_ledger_total_supply",
                    "Cycles held for accounts.",
                    l.tip().total_supply(),
                );
            });
            m.gauge(
                "cycles_ledger_stable_memory_bytes",
                "Stable memory in use, in bytes.",
                ic_cdk::stable::stable_size() * 65_536,
            )
            .gauge(
                "cycles_ledger_cycle_balance",
                "Cycles held by the canister (balances, fees not yet spent, its own).",
                ic_cdk::api::canister_cycle_balance(),
            );
            HttpResponse::text(200, "text/plain; version=0.0.4", m.finish())
        }
        _ => HttpResponse::not_found(),
    }
}

#[allow(dead_code)]
mod hand_coded_signatures {
    use super::*;

    #[candid::candid_method(query)]
    fn http_request(_: HttpRequest) -> HttpResponse {
        unreachable!("declares a signature only")
    }
}

#[cfg(test)]
canister_common::candid_interface_test!("../../../candid/cycles-ledger.did");
