//! Model-based property test of the ledger, on its built module through the
//! runtime: random transfers (ICRC-1 and legacy), mints, burns, approvals,
//! `transfer_from`s, retries of earlier requests in other spellings
//! (explicit default subaccounts, explicit fee, the other endpoint), time
//! jumps across the deduplication window and upgrades. After every step
//! the ledger's answer, every balance, every allowance asked for, the total
//! supply, the chain's length and the newest block equal the model's
//! ([`model`]).
//!
//! 64 cases of 64 steps by default (a few are `Skip`s); `PROPTEST_CASES` and `PROPTEST_STEPS`
//! ask for more, e.g.
//! `PROPTEST_CASES=1000 PROPTEST_STEPS=200 cargo test -p integration-tests
//! --test integration -- ledger_model`.

mod model;

use candid::{Encode, Nat};
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::allowance::{Allowance, AllowanceArgs};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use integration_tests::env::{Backend, TestEnv, query_candid, update_candid_as};
use integration_tests::{install_ledger, wasm_gz_path};
use model::{Acct, Call, FEE, Model, Outcome, Respelling, SECOND, Sub, WINDOW, Who};
use nns_api::ids::LEDGER_CANISTER_ID;
use nns_api::ledger::{
    BalanceQueryArgs, CandidTransaction, GetBlocksArgs, LedgerArg, Memo as IcpMemo,
    QueryBlocksResponse, TimeStamp, Tokens, TransferArgs, TransferError as IcpTransferError,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_bytes::ByteBuf;
use std::time::Duration;

const USERS: u8 = 4;
const INITIAL_BALANCE: u64 = 100_000_000;

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
        .unwrap_or(default)
}

#[test]
fn ledger_matches_its_model_under_random_operations() {
    let steps = env_or("PROPTEST_STEPS", 64) as usize;
    let config = Config {
        cases: env_or("PROPTEST_CASES", 64),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let wasm = std::fs::read(wasm_gz_path("ledger")).expect("scripts/build-canisters.sh has run");
    TestRunner::new(config)
        .run(&prop::collection::vec(step(), steps), |steps| {
            run_case(&wasm, &steps)
        })
        .unwrap();
}

// ---- What a case does ----

#[derive(Clone, Debug)]
enum Step {
    /// Nothing: what shrinking turns the steps a failure does not need into.
    Skip,
    Fresh(Spec),
    /// An earlier request sent again, maybe in another spelling.
    Retry(Index, Respelling),
    Wait(Duration),
    Upgrade,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Icrc1,
    Legacy,
    TransferFrom,
    Approve,
}

#[derive(Clone, Copy, Debug)]
enum FeeForm {
    Omitted,
    Right,
    Wrong,
}

#[derive(Clone, Copy, Debug)]
enum Expected {
    Omitted,
    Current,
    Value(u64),
}

/// A request before the ledger's time and the model's state make it
/// concrete. Times are offsets from the ledger's time.
#[derive(Clone, Debug)]
struct Spec {
    kind: Kind,
    caller: Who,
    /// `from_subaccount`, or the spender's subaccount for `transfer_from`.
    caller_sub: Sub,
    /// The owner's account, for `transfer_from`.
    from: Acct,
    /// The receiver, or the spender of an approval.
    to: Acct,
    amount: u64,
    fee: FeeForm,
    memo: u8,
    created: Option<i64>,
    expected: Expected,
    expires: Option<i64>,
}

fn user() -> impl Strategy<Value = Who> {
    (0..USERS).prop_map(Who::User)
}

fn sub() -> impl Strategy<Value = Sub> {
    prop_oneof![3 => Just(Sub::Default), 2 => Just(Sub::ExplicitZero), 1 => Just(Sub::Other)]
}

fn acct(who: impl Strategy<Value = Who>) -> impl Strategy<Value = Acct> {
    (who, sub()).prop_map(|(who, sub)| Acct { who, sub })
}

/// A user's account, or (one time in six) the minting account.
fn receiver() -> impl Strategy<Value = Acct> {
    prop_oneof![
        5 => acct(user()),
        1 => prop_oneof![Just(Sub::Default), Just(Sub::ExplicitZero)]
            .prop_map(|sub| Acct { who: Who::Minter, sub }),
    ]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => Just(0),
        1 => Just(1),
        1 => Just(FEE - 1),
        1 => Just(FEE),
        6 => 0..40_000_000u64,
        1 => Just(150_000_000),
    ]
}

/// `created_at_time` around now, at the window's and the drift's edges.
fn created() -> impl Strategy<Value = Option<i64>> {
    let window = WINDOW as i64;
    let drift = model::DRIFT as i64;
    prop_oneof![
        4 => Just(None),
        3 => Just(Some(0)),
        1 => Just(Some(-(SECOND as i64))),
        1 => Just(Some(-3600 * SECOND as i64)),
        1 => Just(Some(-window)),
        1 => Just(Some(-window - 1)),
        1 => Just(Some(drift)),
        1 => Just(Some(drift + 1)),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let kind = prop_oneof![
        4 => Just(Kind::Icrc1),
        2 => Just(Kind::Legacy),
        2 => Just(Kind::TransferFrom),
        2 => Just(Kind::Approve),
    ];
    let caller = prop_oneof![9 => user(), 1 => Just(Who::Minter)];
    let from =
        prop_oneof![12 => acct(user()), 1 => Just(Acct { who: Who::Minter, sub: Sub::Default })];
    let fee = prop_oneof![4 => Just(FeeForm::Omitted), 3 => Just(FeeForm::Right), 1 => Just(FeeForm::Wrong)];
    let expected = prop_oneof![
        3 => Just(Expected::Omitted),
        2 => Just(Expected::Current),
        1 => amount().prop_map(Expected::Value),
    ];
    let expires = prop_oneof![
        3 => Just(None),
        2 => Just(Some(3600 * SECOND as i64)),
        1 => Just(Some(2 * WINDOW as i64)),
        1 => Just(Some(0)),
        1 => Just(Some(-(SECOND as i64))),
    ];
    (
        (kind, caller, sub(), from, receiver()),
        (amount(), fee, 0..3u8, created(), expected, expires),
    )
        .prop_map(
            |(
                (kind, caller, caller_sub, from, to),
                (amount, fee, memo, created, expected, expires),
            )| Spec {
                kind,
                caller,
                caller_sub,
                from,
                to,
                amount,
                fee,
                memo,
                created,
                expected,
                expires,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    let wait = prop_oneof![
        Just(Duration::from_secs(1)),
        Just(Duration::from_secs(600)),
        Just(Duration::from_secs(6 * 3600)),
        Just(Duration::from_secs(24 * 3600 - 30)),
        Just(Duration::from_secs(24 * 3600 + 61)),
        Just(Duration::from_secs(3 * 24 * 3600)),
    ];
    let respelling = any::<[bool; 5]>().prop_map(|b| Respelling {
        from_sub: b[0],
        to_sub: b[1],
        fee: b[2],
        other_endpoint: b[3],
        owner_transfer_from: b[4],
    });
    prop_oneof![
        1 => Just(Step::Skip),
        12 => spec().prop_map(Step::Fresh),
        6 => (any::<Index>(), respelling).prop_map(|(i, r)| Step::Retry(i, r)),
        2 => wait.prop_map(Step::Wait),
        1 => Just(Step::Upgrade),
    ]
}

/// The request a spec makes at ledger time `now`.
fn concretize(spec: &Spec, now: u64, model: &Model) -> Call {
    let at = |offset: Option<i64>| offset.map(|o| now.checked_add_signed(o).expect("time"));
    let mut to = spec.to;
    // The minting account never sends to itself.
    if (spec.caller == Who::Minter || spec.from.who == Who::Minter) && to.who == Who::Minter {
        to.who = Who::User(0);
    }
    let from_caller = Acct {
        who: spec.caller,
        sub: spec.caller_sub,
    };
    let burn_or_mint =
        |from: Acct| from.id() == model::minting_account() || to.id() == model::minting_account();
    let fee_for = |effective: u64| match spec.fee {
        FeeForm::Omitted => None,
        FeeForm::Right => Some(effective),
        FeeForm::Wrong => Some(effective + 1),
    };
    let effective = |from: Acct| if burn_or_mint(from) { 0 } else { FEE };
    let icrc_memo = (spec.memo > 0).then(|| vec![spec.memo; usize::from(spec.memo) - 1]);
    match spec.kind {
        Kind::Icrc1 => Call::Icrc1 {
            caller: spec.caller,
            from_sub: spec.caller_sub,
            to,
            amount: spec.amount,
            fee: fee_for(effective(from_caller)),
            memo: icrc_memo,
            created: at(spec.created),
        },
        Kind::Legacy => Call::Legacy {
            caller: spec.caller,
            from_sub: spec.caller_sub,
            to,
            amount: spec.amount,
            fee: fee_for(effective(from_caller)).unwrap_or(effective(from_caller)),
            memo: u64::from(spec.memo) * 7,
            created: at(spec.created),
        },
        Kind::TransferFrom => {
            let caller = match spec.caller {
                Who::Minter => Who::User(0),
                user => user,
            };
            Call::TransferFrom {
                caller,
                spender_sub: spec.caller_sub,
                from: spec.from,
                to,
                amount: spec.amount,
                fee: fee_for(effective(spec.from)),
                memo: icrc_memo,
                created: at(spec.created),
            }
        }
        Kind::Approve => {
            // Approvals between distinct owners; the minting account approves nothing.
            let caller = match spec.caller {
                Who::Minter => Who::User(0),
                user => user,
            };
            let spender_who = match spec.to.who {
                Who::User(n) if Who::User(n) != caller => Who::User(n),
                _ => match caller {
                    Who::User(n) => Who::User((n + 1) % USERS),
                    Who::Minter => unreachable!(),
                },
            };
            let spender = Acct {
                who: spender_who,
                sub: spec.to.sub,
            };
            let owner = Acct {
                who: caller,
                sub: spec.caller_sub,
            };
            Call::Approve {
                caller,
                from_sub: spec.caller_sub,
                spender,
                amount: spec.amount,
                expected: match spec.expected {
                    Expected::Omitted => None,
                    Expected::Current => {
                        Some(model.allowance(&owner.id(), &spender.id(), now).amount)
                    }
                    Expected::Value(v) => Some(v),
                },
                expires_at: at(spec.expires),
                fee: fee_for(FEE),
                memo: icrc_memo,
                created: at(spec.created),
            }
        }
    }
}

// ---- Running a case ----

fn run_case(wasm: &[u8], steps: &[Step]) -> Result<(), TestCaseError> {
    let mut case = Case::new(wasm);
    for (n, step) in steps.iter().enumerate() {
        case.step(step).map_err(|e| {
            let sent: Vec<String> = case.sent.iter().map(|c| format!("  {c:?}")).collect();
            TestCaseError::fail(format!(
                "step {n} ({step:?}): {e}\nrequests sent until then:\n{}",
                sent.join("\n")
            ))
        })?;
    }
    Ok(())
}

/// A ledger on a fresh runtime, its model, and the requests sent so far.
struct Case<'a> {
    wasm: &'a [u8],
    pic: TestEnv,
    model: Model,
    sent: Vec<Call>,
}

impl<'a> Case<'a> {
    fn new(wasm: &'a [u8]) -> Self {
        let mut pic = TestEnv::new(Backend::Runtime);
        let initial: Vec<(Acct, u64)> = (0..USERS)
            .map(|n| {
                let acct = Acct {
                    who: Who::User(n),
                    sub: Sub::Default,
                };
                (acct, INITIAL_BALANCE)
            })
            .collect();
        install_ledger(
            &mut pic,
            initial.iter().map(|(a, e8s)| (a.who.principal(), *e8s)),
        );
        Self {
            wasm,
            pic,
            model: Model::new(&initial),
            sent: Vec::new(),
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        let pic = &mut self.pic;
        let call = match step {
            Step::Skip => None,
            Step::Wait(duration) => {
                pic.advance_time(*duration);
                None
            }
            Step::Upgrade => {
                let arg = Encode!(&Some(LedgerArg::Upgrade(None))).unwrap();
                pic.upgrade_canister(LEDGER_CANISTER_ID, self.wasm.to_vec(), arg, None)
                    .map_err(|e| format!("upgrade: {e:?}"))?;
                None
            }
            Step::Fresh(spec) => {
                let next_round = pic.get_time().as_nanos_since_unix_epoch() + 1;
                Some(concretize(spec, next_round, &self.model))
            }
            Step::Retry(index, how) => {
                (!self.sent.is_empty()).then(|| index.get(&self.sent).respelled(*how))
            }
        };
        if let Some(call) = call {
            let now = next_round_time(pic);
            let expected = self.model.call(&call, now);
            let actual = send(pic, &call);
            self.sent.push(call.clone());
            if pic.get_time().as_nanos_since_unix_epoch() != now {
                return Err("the call did not run in one round at the expected time".into());
            }
            if actual != expected {
                return Err(format!(
                    "{call:?} at {now}: the ledger answered {actual:?}, the model {expected:?}"
                ));
            }
            if let Outcome::Ok(index) = actual {
                let block = block(pic, index);
                let modelled = candid_transaction(&self.model.blocks[index as usize], now);
                if block != modelled {
                    return Err(format!(
                        "block {index}: {block:?}, the model's {modelled:?}"
                    ));
                }
            }
        }
        check_state(pic, &self.model)
    }
}

/// Moves time by 1 ns, so that the next round runs exactly then (a round
/// started without a time change would add that ns itself), and answers it.
fn next_round_time(pic: &mut TestEnv) -> u64 {
    pic.advance_time(Duration::from_nanos(1));
    pic.get_time().as_nanos_since_unix_epoch()
}

/// Balances, allowances, supply and chain length against the model.
fn check_state(pic: &mut TestEnv, model: &Model) -> Result<(), String> {
    let now = pic.get_time().as_nanos_since_unix_epoch();
    let mut accounts: Vec<Acct> = (0..USERS)
        .flat_map(|n| {
            [Sub::Default, Sub::Other].map(|sub| Acct {
                who: Who::User(n),
                sub,
            })
        })
        .collect();
    accounts.extend([Sub::Default, Sub::Other].map(|sub| Acct {
        who: Who::Minter,
        sub,
    }));
    // One query for every balance (ICRC-4's batch, which reads each account
    // as icrc1_balance_of does).
    let args = BalanceQueryArgs {
        accounts: accounts.iter().map(|a| a.icrc()).collect(),
    };
    let (balances,): (Vec<Nat>,) =
        query_candid(pic, LEDGER_CANISTER_ID, "icrc4_balance_of_batch", (args,)).unwrap();
    for (acct, balance) in accounts.iter().zip(balances) {
        if balance != model.balance(&acct.id()) {
            return Err(format!(
                "balance of {acct:?}: {balance}, model {}",
                model.balance(&acct.id())
            ));
        }
    }
    let (supply,): (Nat,) =
        query_candid(pic, LEDGER_CANISTER_ID, "icrc1_total_supply", ()).unwrap();
    if supply != model.total_supply() {
        return Err(format!(
            "total supply {supply}, model {}",
            model.total_supply()
        ));
    }
    for (owner, spender) in &model.approved_pairs {
        let args = AllowanceArgs {
            account: owner.icrc(),
            spender: spender.icrc(),
        };
        let (allowance,): (Allowance,) =
            query_candid(pic, LEDGER_CANISTER_ID, "icrc2_allowance", (args,)).unwrap();
        let expected = model.allowance(&owner.id(), &spender.id(), now);
        if allowance.allowance != expected.amount || allowance.expires_at != expected.expires_at {
            return Err(format!(
                "allowance of {owner:?} to {spender:?}: {allowance:?}, model {expected:?}"
            ));
        }
    }
    let chain = blocks(pic, 0, 0).chain_length;
    if chain != model.blocks.len() as u64 {
        return Err(format!("{chain} blocks, model {}", model.blocks.len()));
    }
    Ok(())
}

fn blocks(pic: &mut TestEnv, start: u64, length: u64) -> QueryBlocksResponse {
    let (response,): (QueryBlocksResponse,) = query_candid(
        pic,
        LEDGER_CANISTER_ID,
        "query_blocks",
        (GetBlocksArgs { start, length },),
    )
    .unwrap();
    response
}

fn block(pic: &mut TestEnv, index: u64) -> CandidTransaction {
    let response = blocks(pic, index, 1);
    response
        .blocks
        .into_iter()
        .next()
        .expect("the block exists")
        .transaction
}

/// The model's transaction as `query_blocks` shows it, in a block made at
/// `block_time` (shown as its `created_at_time` when it has none).
fn candid_transaction(tx: &model::Transaction, block_time: u64) -> CandidTransaction {
    let block = nns_api::icp_block::Block {
        parent_hash: None,
        transaction: tx.clone(),
        timestamp: block_time,
    };
    nns_api::ledger::CandidBlock::from(block).transaction
}

// ---- Sending a request and reading the answer ----

fn nat(n: Nat) -> u64 {
    u64::try_from(n.0).expect("64 bits")
}

fn send(pic: &mut TestEnv, call: &Call) -> Outcome {
    match call.clone() {
        Call::Icrc1 {
            caller,
            from_sub,
            to,
            amount,
            fee,
            memo,
            created,
        } => {
            let arg = TransferArg {
                from_subaccount: from_sub.bytes(),
                to: to.icrc(),
                fee: fee.map(Nat::from),
                created_at_time: created,
                memo: memo.map(|m| Memo(ByteBuf::from(m))),
                amount: Nat::from(amount),
            };
            let reply: Result<(Result<Nat, TransferError>,), _> = update_candid_as(
                pic,
                LEDGER_CANISTER_ID,
                caller.principal(),
                "icrc1_transfer",
                (arg,),
            );
            match reply {
                Err(_) => Outcome::Trap,
                Ok((Ok(index),)) => Outcome::Ok(nat(index)),
                Ok((Err(e),)) => icrc1_error(e),
            }
        }
        Call::Legacy {
            caller,
            from_sub,
            to,
            amount,
            fee,
            memo,
            created,
        } => {
            let args = TransferArgs {
                memo: IcpMemo(memo),
                amount: Tokens::from_e8s(amount),
                fee: Tokens::from_e8s(fee),
                from_subaccount: from_sub.bytes(),
                to: to.id(),
                created_at_time: created.map(|t| TimeStamp { timestamp_nanos: t }),
            };
            let reply: Result<(Result<u64, IcpTransferError>,), _> = update_candid_as(
                pic,
                LEDGER_CANISTER_ID,
                caller.principal(),
                "transfer",
                (args,),
            );
            match reply {
                Err(_) => Outcome::Trap,
                Ok((Ok(index),)) => Outcome::Ok(index),
                Ok((Err(e),)) => match e {
                    IcpTransferError::BadFee { expected_fee } => Outcome::BadFee(expected_fee.e8s),
                    IcpTransferError::InsufficientFunds { balance } => {
                        Outcome::InsufficientFunds(balance.e8s)
                    }
                    IcpTransferError::TxTooOld {
                        allowed_window_nanos: WINDOW,
                    } => Outcome::TooOld,
                    IcpTransferError::TxCreatedInFuture => Outcome::CreatedInFuture(None),
                    IcpTransferError::TxDuplicate { duplicate_of } => {
                        Outcome::Duplicate(duplicate_of)
                    }
                    other => Outcome::Other(format!("{other:?}")),
                },
            }
        }
        Call::TransferFrom {
            caller,
            spender_sub,
            from,
            to,
            amount,
            fee,
            memo,
            created,
        } => {
            let arg = TransferFromArgs {
                spender_subaccount: spender_sub.bytes(),
                from: from.icrc(),
                to: to.icrc(),
                amount: Nat::from(amount),
                fee: fee.map(Nat::from),
                memo: memo.map(|m| Memo(ByteBuf::from(m))),
                created_at_time: created,
            };
            let reply: Result<(Result<Nat, TransferFromError>,), _> = update_candid_as(
                pic,
                LEDGER_CANISTER_ID,
                caller.principal(),
                "icrc2_transfer_from",
                (arg,),
            );
            match reply {
                Err(_) => Outcome::Trap,
                Ok((Ok(index),)) => Outcome::Ok(nat(index)),
                Ok((Err(e),)) => match e {
                    TransferFromError::BadFee { expected_fee } => {
                        Outcome::BadFee(nat(expected_fee))
                    }
                    TransferFromError::BadBurn { min_burn_amount } => {
                        Outcome::BadBurn(nat(min_burn_amount))
                    }
                    TransferFromError::InsufficientFunds { balance } => {
                        Outcome::InsufficientFunds(nat(balance))
                    }
                    TransferFromError::InsufficientAllowance { allowance } => {
                        Outcome::InsufficientAllowance(nat(allowance))
                    }
                    TransferFromError::TooOld => Outcome::TooOld,
                    TransferFromError::CreatedInFuture { ledger_time } => {
                        Outcome::CreatedInFuture(Some(ledger_time))
                    }
                    TransferFromError::Duplicate { duplicate_of } => {
                        Outcome::Duplicate(nat(duplicate_of))
                    }
                    other => Outcome::Other(format!("{other:?}")),
                },
            }
        }
        Call::Approve {
            caller,
            from_sub,
            spender,
            amount,
            expected,
            expires_at,
            fee,
            memo,
            created,
        } => {
            let arg = ApproveArgs {
                from_subaccount: from_sub.bytes(),
                spender: spender.icrc(),
                amount: Nat::from(amount),
                expected_allowance: expected.map(Nat::from),
                expires_at,
                fee: fee.map(Nat::from),
                memo: memo.map(|m| Memo(ByteBuf::from(m))),
                created_at_time: created,
            };
            let reply: Result<(Result<Nat, ApproveError>,), _> = update_candid_as(
                pic,
                LEDGER_CANISTER_ID,
                caller.principal(),
                "icrc2_approve",
                (arg,),
            );
            match reply {
                Err(_) => Outcome::Trap,
                Ok((Ok(index),)) => Outcome::Ok(nat(index)),
                Ok((Err(e),)) => match e {
                    ApproveError::BadFee { expected_fee } => Outcome::BadFee(nat(expected_fee)),
                    ApproveError::InsufficientFunds { balance } => {
                        Outcome::InsufficientFunds(nat(balance))
                    }
                    ApproveError::AllowanceChanged { current_allowance } => {
                        Outcome::AllowanceChanged(nat(current_allowance))
                    }
                    ApproveError::Expired { ledger_time } => Outcome::Expired(ledger_time),
                    ApproveError::TooOld => Outcome::TooOld,
                    ApproveError::CreatedInFuture { ledger_time } => {
                        Outcome::CreatedInFuture(Some(ledger_time))
                    }
                    ApproveError::Duplicate { duplicate_of } => {
                        Outcome::Duplicate(nat(duplicate_of))
                    }
                    other => Outcome::Other(format!("{other:?}")),
                },
            }
        }
    }
}

fn icrc1_error(e: TransferError) -> Outcome {
    match e {
        TransferError::BadFee { expected_fee } => Outcome::BadFee(nat(expected_fee)),
        TransferError::BadBurn { min_burn_amount } => Outcome::BadBurn(nat(min_burn_amount)),
        TransferError::InsufficientFunds { balance } => Outcome::InsufficientFunds(nat(balance)),
        TransferError::TooOld => Outcome::TooOld,
        TransferError::CreatedInFuture { ledger_time } => {
            Outcome::CreatedInFuture(Some(ledger_time))
        }
        TransferError::Duplicate { duplicate_of } => Outcome::Duplicate(nat(duplicate_of)),
        other => Outcome::Other(format!("{other:?}")),
    }
}
