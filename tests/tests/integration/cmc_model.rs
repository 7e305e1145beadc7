//! Model-based property test of the cycles-minting canister with the real
//! ledger, on the runtime: random payments and notifications (top-ups,
//! canister creations, wrong memos, dust, wrong targets, duplicates and
//! concurrent notifies), with the ledger stopped and restarted and the CMC
//! upgraded between any two steps and in the middle of a notification, and
//! the CMC's timer run at random.
//!
//! The invariant: every e8 paid to the CMC ends as cycles minted or as a
//! refund, never both and never lost. After every step the canisters'
//! figures stay within what the answers seen so far allow (no payment both
//! converted and refunded, no cycles minted that no payment pays for, no
//! canister created for less than the creation fee, no payment held
//! `Processing` by a request that does not own it); at the end of a case the
//! ledger is started, the timer runs, every payment is notified until it has
//! a final answer, and the figures must match those answers exactly.
//!
//! 64 cases of 50 steps by default; `PROPTEST_CASES` and `PROPTEST_STEPS`
//! ask for more (e.g. `PROPTEST_CASES=1000 PROPTEST_STEPS=200`).

use candid::{Decode, Encode, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError as Icrc1TransferError};
use integration_tests::env::{Backend, MessageId, RejectResponse, TestEnv, query_candid};
use integration_tests::{install_cmc, install_ledger, wasm_gz_path};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    CyclesCanisterInitPayload, MEMO_CREATE_CANISTER, MEMO_TOP_UP, NotifyCreateCanisterArg,
    NotifyError, NotifyTopUpArg, cycles_for_e8s, notify_error_code,
};
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeMap;
use std::time::Duration;

const FEE: u64 = 10_000;
const ICP: u64 = 100_000_000;
/// 3.5 XDR per ICP.
const RATE: u64 = 35_000;
/// What a canister's creation costs on an application subnet.
const CREATION_FEE_CYCLES: u128 = 500_000_000_000;
const PAYERS: u8 = 3;
const INITIAL_E8S: u64 = 10_000 * ICP;
const BURN_RETRY: Duration = Duration::from_secs(601);

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0x6d, 0x0c, 1])
}

/// A principal that is no canister: top-ups to it fail and are refunded.
fn missing_canister() -> Principal {
    Principal::from_slice(&[0xde, 0xad, 7, 1, 1])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PayMemo {
    TopUp,
    Create,
    /// Means nothing to the CMC: refunded.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Beneficiary {
    /// An existing canister.
    App,
    Missing,
    User(u8),
}

#[derive(Clone, Copy, Debug)]
enum Size {
    /// Below the ledger fee.
    Dust(u64),
    /// A few fees: refunds of nothing or little.
    Small(u64),
    /// Converts to fewer cycles than a canister's creation fee.
    BelowCreation(u64),
    Normal(u64),
}

impl Size {
    fn e8s(self) -> u64 {
        match self {
            Size::Dust(n) => 1 + n % (FEE - 1),
            Size::Small(n) => FEE + n % (6 * FEE),
            // 0.01 to 0.14 ICP: 35 to 490 billion cycles.
            Size::BelowCreation(n) => ICP / 100 + n % (13 * ICP / 100),
            Size::Normal(n) => ICP / 5 + n % (3 * ICP),
        }
    }
}

/// Which notification a step sends for a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// The request the payment was made for.
    Right,
    /// The same endpoint for another canister or controller.
    WrongTarget,
    /// The other endpoint, for the principal the payment names.
    OtherEndpoint,
}

#[derive(Clone, Copy, Debug)]
enum Interrupt {
    None,
    StopLedger,
    /// An upgrade without stopping (refused while calls are in flight).
    UpgradeCmc,
    /// Stop, upgrade, start: as governance does.
    StopUpgradeStartCmc,
}

#[derive(Clone, Debug)]
enum Op {
    Pay {
        payer: u8,
        to: Beneficiary,
        memo: PayMemo,
        size: Size,
        icrc1: bool,
    },
    Notify {
        pick: usize,
        how: How,
        rounds: u8,
        interrupt: Interrupt,
    },
    /// Two notifications of one payment, in flight together.
    NotifyPair {
        pick: usize,
        first: How,
        second: How,
        rounds: u8,
    },
    StopLedger,
    StartLedger,
    Timer,
    UpgradeCmc {
        stop_first: bool,
    },
}

fn beneficiary() -> impl Strategy<Value = Beneficiary> {
    prop_oneof![
        3 => Just(Beneficiary::App),
        1 => Just(Beneficiary::Missing),
        3 => (1..=PAYERS).prop_map(Beneficiary::User),
    ]
}

fn pay_memo() -> impl Strategy<Value = PayMemo> {
    prop_oneof![
        3 => Just(PayMemo::TopUp),
        3 => Just(PayMemo::Create),
        1 => Just(PayMemo::Other),
    ]
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![
        1 => any::<u64>().prop_map(Size::Dust),
        1 => any::<u64>().prop_map(Size::Small),
        1 => any::<u64>().prop_map(Size::BelowCreation),
        3 => any::<u64>().prop_map(Size::Normal),
    ]
}

fn how() -> impl Strategy<Value = How> {
    prop_oneof![
        4 => Just(How::Right),
        2 => Just(How::WrongTarget),
        1 => Just(How::OtherEndpoint),
    ]
}

fn interrupt() -> impl Strategy<Value = Interrupt> {
    prop_oneof![
        4 => Just(Interrupt::None),
        2 => Just(Interrupt::StopLedger),
        1 => Just(Interrupt::UpgradeCmc),
        1 => Just(Interrupt::StopUpgradeStartCmc),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1..=PAYERS, beneficiary(), pay_memo(), size(), any::<bool>()).prop_map(
            |(payer, to, memo, size, icrc1)| Op::Pay { payer, to, memo, size, icrc1 }
        ),
        6 => (any::<usize>(), how(), 0u8..6, interrupt()).prop_map(
            |(pick, how, rounds, interrupt)| Op::Notify { pick, how, rounds, interrupt }
        ),
        2 => (any::<usize>(), how(), how(), 0u8..4).prop_map(
            |(pick, first, second, rounds)| Op::NotifyPair { pick, first, second, rounds }
        ),
        1 => Just(Op::StopLedger),
        2 => Just(Op::StartLedger),
        2 => Just(Op::Timer),
        1 => any::<bool>().prop_map(|stop_first| Op::UpgradeCmc { stop_first }),
    ]
}

/// What became of a payment, by the first final answer about it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    ToppedUp(u128),
    Created(Principal),
    /// Refunded less the transfer fee and `extra` fees kept.
    Refunded {
        extra_fees: u64,
        block: Option<u64>,
    },
    /// Below the ledger fee: neither converted nor refunded; stays.
    Dust,
}

#[derive(Clone, Debug)]
struct Payment {
    block: u64,
    payer: u8,
    to: Beneficiary,
    memo: PayMemo,
    amount: u64,
    outcome: Option<Outcome>,
}

impl Payment {
    fn principal(&self) -> Principal {
        match self.to {
            Beneficiary::App => Principal::anonymous(), // replaced by the app's id
            Beneficiary::Missing => missing_canister(),
            Beneficiary::User(n) => user(n),
        }
    }
}

/// A notification as sent: the endpoint, its target and its caller.
#[derive(Clone, Copy, Debug)]
enum Request {
    TopUp { canister: Principal },
    Create { controller: Principal },
}

#[derive(Debug)]
enum Answer {
    TopUp(Result<Nat, NotifyError>),
    Create(Result<Principal, NotifyError>),
    Rejected(RejectResponse),
}

struct World {
    env: TestEnv,
    app: Principal,
    app_cycles_at_start: u128,
    cmc_cycles_at_start: u128,
    supply_at_start: u64,
    payments: Vec<Payment>,
    ledger_stopped: bool,
    /// Canisters created so far, with the payment that paid.
    created: BTreeMap<Principal, usize>,
    log: Vec<String>,
}

fn violation(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

impl World {
    fn new() -> Self {
        let mut env = TestEnv::new(Backend::Runtime);
        install_ledger(&mut env, (1..=PAYERS).map(|n| (user(n), INITIAL_E8S)));
        install_cmc(&mut env, RATE, None);
        let app = env.create_canister();
        let mut world = World {
            app_cycles_at_start: env.cycle_balance(app),
            cmc_cycles_at_start: env.cycle_balance(CYCLES_MINTING_CANISTER_ID),
            env,
            app,
            supply_at_start: 0,
            payments: vec![],
            ledger_stopped: false,
            created: BTreeMap::new(),
            log: vec![],
        };
        world.supply_at_start = world.supply();
        world
    }

    fn principal(&self, p: &Payment) -> Principal {
        match p.to {
            Beneficiary::App => self.app,
            _ => p.principal(),
        }
    }

    fn supply(&mut self) -> u64 {
        let (n,): (Nat,) =
            query_candid(&mut self.env, LEDGER_CANISTER_ID, "icrc1_total_supply", ()).unwrap();
        u64::try_from(n.0).unwrap()
    }

    fn balance(&mut self, account: Account) -> u64 {
        let (n,): (Nat,) = query_candid(
            &mut self.env,
            LEDGER_CANISTER_ID,
            "icrc1_balance_of",
            (account,),
        )
        .unwrap();
        u64::try_from(n.0).unwrap()
    }

    fn cmc_subaccount(&self, p: &Payment) -> Account {
        Account {
            owner: CYCLES_MINTING_CANISTER_ID,
            subaccount: Some(principal_to_subaccount(&self.principal(p))),
        }
    }

    fn pay(&mut self, payer: u8, to: Beneficiary, memo: PayMemo, amount: u64, icrc1: bool) {
        let memo_value = match memo {
            PayMemo::TopUp => MEMO_TOP_UP,
            PayMemo::Create => MEMO_CREATE_CANISTER,
            PayMemo::Other => 42,
        };
        let mut payment = Payment {
            block: 0,
            payer,
            to,
            memo,
            amount,
            outcome: None,
        };
        let target = self.principal(&payment);
        self.env.advance_time(Duration::from_nanos(1));
        let block = if icrc1 {
            let arg = TransferArg {
                from_subaccount: None,
                to: Account {
                    owner: CYCLES_MINTING_CANISTER_ID,
                    subaccount: Some(principal_to_subaccount(&target)),
                },
                fee: None,
                created_at_time: None,
                memo: Some(memo_value.to_le_bytes().to_vec().into()),
                amount: Nat::from(amount),
            };
            let reply = self.env.update_call(
                LEDGER_CANISTER_ID,
                user(payer),
                "icrc1_transfer",
                Encode!(&arg).unwrap(),
            );
            match reply {
                Ok(bytes) => Decode!(&bytes, Result<Nat, Icrc1TransferError>)
                    .unwrap()
                    .map(|n| u64::try_from(n.0).unwrap())
                    .map_err(|e| format!("{e:?}")),
                Err(e) => Err(e.to_string()),
            }
        } else {
            let args = TransferArgs {
                memo: Memo(memo_value),
                amount: Tokens::from_e8s(amount),
                fee: Tokens::from_e8s(FEE),
                from_subaccount: None,
                to: AccountIdentifier::new(
                    &CYCLES_MINTING_CANISTER_ID,
                    Some(&principal_to_subaccount(&target)),
                ),
                created_at_time: None,
            };
            let reply = self.env.update_call(
                LEDGER_CANISTER_ID,
                user(payer),
                "transfer",
                Encode!(&args).unwrap(),
            );
            match reply {
                Ok(bytes) => Decode!(&bytes, Result<u64, TransferError>)
                    .unwrap()
                    .map_err(|e| format!("{e:?}")),
                Err(e) => Err(e.to_string()),
            }
        };
        match block {
            Ok(block) => {
                payment.block = block;
                self.log.push(format!(
                    "paid #{}: block {block}, {amount} e8s, {memo:?} to {to:?}",
                    self.payments.len()
                ));
                self.payments.push(payment);
            }
            Err(e) => {
                assert!(self.ledger_stopped, "a payment failed: {e}");
                self.log
                    .push(format!("payment refused (ledger stopped): {e}"));
            }
        }
    }

    /// The request `how` for payment `i` (or, with no payment, for block 0,
    /// the ledger's first mint).
    fn request(&self, i: Option<usize>, how: How) -> (u64, Request, Principal) {
        let Some(i) = i else {
            let canister = self.app;
            return (0, Request::TopUp { canister }, user(1));
        };
        let p = &self.payments[i];
        let owner = self.principal(p);
        let other = if owner == self.app { user(1) } else { self.app };
        let top_up_kind = matches!(p.memo, PayMemo::TopUp | PayMemo::Other);
        match (how, top_up_kind) {
            (How::Right, true) | (How::OtherEndpoint, false) => {
                (p.block, Request::TopUp { canister: owner }, user(1))
            }
            (How::Right, false) | (How::OtherEndpoint, true) => {
                (p.block, Request::Create { controller: owner }, owner)
            }
            (How::WrongTarget, true) => (p.block, Request::TopUp { canister: other }, user(2)),
            (How::WrongTarget, false) => (p.block, Request::Create { controller: other }, other),
        }
    }

    fn submit(&mut self, block: u64, request: Request, caller: Principal) -> MessageId {
        let (method, arg) = match request {
            Request::TopUp { canister } => (
                "notify_top_up",
                Encode!(&NotifyTopUpArg {
                    block_index: block,
                    canister_id: canister,
                })
                .unwrap(),
            ),
            Request::Create { controller } => (
                "notify_create_canister",
                Encode!(&NotifyCreateCanisterArg {
                    block_index: block,
                    controller,
                    subnet_type: None,
                    subnet_selection: None,
                    settings: None,
                })
                .unwrap(),
            ),
        };
        self.env
            .submit_call(CYCLES_MINTING_CANISTER_ID, caller, method, arg)
            .expect("the CMC takes the call")
    }

    fn wait(&mut self, request: Request, id: MessageId) -> Answer {
        match self.env.await_call(id) {
            Ok(bytes) => match request {
                Request::TopUp { .. } => {
                    Answer::TopUp(Decode!(&bytes, Result<Nat, NotifyError>).unwrap())
                }
                Request::Create { .. } => {
                    Answer::Create(Decode!(&bytes, Result<Principal, NotifyError>).unwrap())
                }
            },
            Err(reject) => Answer::Rejected(reject),
        }
    }

    fn stop_ledger(&mut self) {
        if !self.ledger_stopped {
            self.env.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
            self.ledger_stopped = true;
        }
    }

    fn start_ledger(&mut self) {
        if self.ledger_stopped {
            self.env.start_canister(LEDGER_CANISTER_ID, None).unwrap();
            self.ledger_stopped = false;
        }
    }

    fn run_timer(&mut self) {
        self.env.advance_time(BURN_RETRY);
        for _ in 0..6 {
            self.env.tick();
        }
    }

    fn upgrade_cmc(&mut self, stop_first: bool) {
        let wasm = std::fs::read(wasm_gz_path("cmc")).unwrap();
        let arg = Encode!(&None::<CyclesCanisterInitPayload>).unwrap();
        if stop_first {
            self.env
                .stop_canister(CYCLES_MINTING_CANISTER_ID, None)
                .unwrap();
        }
        let upgraded = self
            .env
            .upgrade_canister(CYCLES_MINTING_CANISTER_ID, wasm, arg, None);
        self.log.push(format!(
            "upgrade (stopped first: {stop_first}): {}",
            match &upgraded {
                Ok(()) => "done".to_string(),
                Err(e) => format!("refused: {e}"),
            }
        ));
        if stop_first {
            self.env
                .start_canister(CYCLES_MINTING_CANISTER_ID, None)
                .unwrap();
        }
    }

    /// Checks an answer to request `how` for payment `i` and records a
    /// final outcome. `contended`: another request that may legitimately
    /// hold the block was in flight at the same time.
    fn check_answer(
        &mut self,
        i: Option<usize>,
        how: How,
        answer: &Answer,
        contended: bool,
        ledger_was_stopped: bool,
    ) -> Result<(), TestCaseError> {
        self.log
            .push(format!("  {how:?} notify of #{i:?}: {answer:?}"));
        let Some(i) = i else {
            return match answer {
                Answer::TopUp(Err(NotifyError::InvalidTransaction(_))) | Answer::Rejected(_) => {
                    Ok(())
                }
                Answer::TopUp(Err(NotifyError::Other { error_code, .. }))
                    if *error_code == notify_error_code::FAILED_TO_FETCH_BLOCK
                        && ledger_was_stopped =>
                {
                    Ok(())
                }
                other => Err(violation(format!(
                    "a notify of the mint block answered {other:?}"
                ))),
            };
        };
        let p = self.payments[i].clone();
        let error = match answer {
            Answer::Rejected(reject) => {
                // The answer was lost (the CMC trapped or was upgraded):
                // what it did shows at the end.
                self.log.push(format!("  (rejected: {reject})"));
                return Ok(());
            }
            // As on the real CMC, a block's answer, cached or not, goes only
            // to the requests it pays for: a payment for the other operation
            // is refused as a request for another target is.
            Answer::TopUp(Ok(_))
            | Answer::Create(Ok(_))
            | Answer::TopUp(Err(NotifyError::Refunded { .. }))
            | Answer::Create(Err(NotifyError::Refunded { .. }))
                if how == How::OtherEndpoint && p.memo != PayMemo::Other =>
            {
                return Err(violation(format!(
                    "payment #{i} for the other operation answered {answer:?}"
                )));
            }
            Answer::TopUp(Ok(cycles)) => {
                if how == How::WrongTarget {
                    return Err(violation(format!(
                        "a top-up of another canister converted payment #{i}: {cycles}"
                    )));
                }
                let cycles = u128::try_from(cycles.0.clone()).unwrap();
                return self.record(i, Outcome::ToppedUp(cycles));
            }
            Answer::Create(Ok(canister)) => {
                if how == How::WrongTarget {
                    return Err(violation(format!(
                        "a creation for another controller used payment #{i}"
                    )));
                }
                return self.record(i, Outcome::Created(*canister));
            }
            Answer::TopUp(Err(e)) | Answer::Create(Err(e)) => e.clone(),
        };
        match error {
            NotifyError::Refunded {
                reason,
                block_index,
            } => {
                if how == How::WrongTarget {
                    return Err(violation(format!(
                        "a request for another target refunded payment #{i}: {reason}"
                    )));
                }
                // A refund for a failed top-up or creation keeps 2 or 4
                // fees; a refused memo keeps none.
                let extra_fees = match p.memo {
                    PayMemo::Other => 0,
                    _ if matches!(answer, Answer::TopUp(_)) => 2,
                    _ => 4,
                };
                self.record(
                    i,
                    Outcome::Refunded {
                        extra_fees,
                        block: block_index,
                    },
                )
            }
            NotifyError::Processing => {
                if contended {
                    Ok(())
                } else if how == How::Right {
                    Err(violation(format!(
                        "payment #{i} is held Processing, and no request that owns it is in flight"
                    )))
                } else {
                    Err(violation(format!(
                        "a {how:?} request for payment #{i} answered Processing"
                    )))
                }
            }
            NotifyError::InvalidTransaction(_) if p.outcome.is_some() => Ok(()),
            NotifyError::InvalidTransaction(reason) => {
                if how == How::Right && p.amount < FEE && p.memo != PayMemo::Other {
                    return self.record(i, Outcome::Dust);
                }
                if how == How::Right {
                    // Allowed only once the payment served another request.
                    return match &p.outcome {
                        Some(_) => Ok(()),
                        None => Err(violation(format!(
                            "the right request for payment #{i} was refused: {reason}"
                        ))),
                    };
                }
                Ok(())
            }
            NotifyError::Other {
                error_code,
                error_message,
            } => {
                let transient = ledger_was_stopped
                    && (error_code == notify_error_code::FAILED_TO_FETCH_BLOCK
                        || error_code == notify_error_code::REFUND_FAILED);
                if transient {
                    Ok(())
                } else {
                    Err(violation(format!(
                        "payment #{i} ({how:?}): unexpected error {error_code}: {error_message}"
                    )))
                }
            }
            NotifyError::TransactionTooOld(n) => Err(violation(format!(
                "payment #{i}: too old ({n}) with a handful of notifications"
            ))),
        }
    }

    fn record(&mut self, i: usize, outcome: Outcome) -> Result<(), TestCaseError> {
        let p = &self.payments[i];
        match (&outcome, p.amount) {
            (Outcome::ToppedUp(cycles), amount) if *cycles != cycles_for_e8s(amount, RATE) => {
                return Err(violation(format!(
                    "payment #{i} of {amount} e8s bought {cycles} cycles"
                )));
            }
            (Outcome::ToppedUp(_) | Outcome::Created(_), amount) if amount < FEE => {
                return Err(violation(format!(
                    "payment #{i} of {amount} e8s (below the fee) was converted"
                )));
            }
            _ => {}
        }
        if let Outcome::Created(canister) = &outcome {
            let cycles = self.env.cycle_balance(*canister);
            if cycles < CREATION_FEE_CYCLES {
                return Err(violation(format!(
                    "payment #{i} created {canister} with {cycles} cycles, \
                     below the creation fee"
                )));
            }
            if let Some(other) = self.created.insert(*canister, i)
                && other != i
            {
                return Err(violation(format!(
                    "payments #{other} and #{i} both answered {canister}"
                )));
            }
        }
        let p = &mut self.payments[i];
        match &p.outcome {
            None => {
                p.outcome = Some(outcome);
                Ok(())
            }
            Some(known) if *known == outcome => Ok(()),
            Some(known) => Err(violation(format!(
                "payment #{i} answered {outcome:?} after {known:?}"
            ))),
        }
    }

    /// What every payment allows at most, whatever is still pending.
    fn check_bounds(&mut self) -> Result<(), TestCaseError> {
        // Cycles: only payments not refunded can have bought any, once.
        let cmc_cycles = self.env.cycle_balance(CYCLES_MINTING_CANISTER_ID);
        if cmc_cycles > self.cmc_cycles_at_start {
            return Err(violation(format!(
                "the CMC kept {} minted cycles",
                cmc_cycles - self.cmc_cycles_at_start
            )));
        }
        let mut max_app = 0u128;
        let mut max_minted = 0u128;
        for p in &self.payments {
            if matches!(p.outcome, Some(Outcome::Refunded { .. } | Outcome::Dust)) {
                continue;
            }
            let cycles = cycles_for_e8s(p.amount, RATE);
            max_minted += cycles;
            if p.to == Beneficiary::App {
                max_app += cycles;
            }
        }
        let app_gain = self.env.cycle_balance(self.app) - self.app_cycles_at_start;
        if app_gain > max_app {
            return Err(violation(format!(
                "the app gained {app_gain} cycles; its payments allow {max_app}"
            )));
        }
        let minted = self.net_minted();
        if minted > max_minted {
            return Err(violation(format!(
                "the CMC minted {minted} cycles; the payments allow {max_minted}"
            )));
        }
        if self.ledger_stopped {
            return Ok(());
        }
        // ICP: no payer gets back more than its payments not converted.
        for payer in 1..=PAYERS {
            let mut floor = INITIAL_E8S;
            let mut ceiling = INITIAL_E8S;
            for p in self.payments.iter().filter(|p| p.payer == payer) {
                floor -= p.amount + FEE;
                ceiling -= p.amount + FEE;
                if !matches!(
                    p.outcome,
                    Some(Outcome::ToppedUp(_) | Outcome::Created(_) | Outcome::Dust)
                ) {
                    ceiling += p.amount.saturating_sub(FEE);
                }
            }
            let balance = self.balance(Account::from(user(payer)));
            if balance < floor || balance > ceiling {
                return Err(violation(format!(
                    "payer {payer} holds {balance} e8s; between {floor} and {ceiling} expected"
                )));
            }
        }
        Ok(())
    }

    /// Settles everything and checks the figures exactly.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        self.log.push("settle".into());
        self.start_ledger();
        self.run_timer();
        for i in 0..self.payments.len() {
            let mut tries = 0;
            loop {
                let (block, request, caller) = self.request(Some(i), How::Right);
                let id = self.submit(block, request, caller);
                let answer = self.wait(request, id);
                self.check_answer(Some(i), How::Right, &answer, false, false)?;
                if self.payments[i].outcome.is_some() {
                    break;
                }
                tries += 1;
                if tries == 4 {
                    return Err(violation(format!(
                        "payment #{i} never reaches a final answer: {answer:?}"
                    )));
                }
                self.run_timer();
            }
        }
        self.run_timer();
        self.check_bounds()?;
        self.check_exact()
    }

    fn check_exact(&mut self) -> Result<(), TestCaseError> {
        let mut expected_supply = self.supply_at_start;
        let mut expected_app = self.app_cycles_at_start;
        let mut expected_minted = 0u128;
        let mut payers: BTreeMap<u8, u64> = (1..=PAYERS).map(|n| (n, INITIAL_E8S)).collect();
        let mut left: BTreeMap<Account, u64> = BTreeMap::new();
        for p in self.payments.clone() {
            *payers.get_mut(&p.payer).unwrap() -= p.amount + FEE;
            expected_supply -= FEE;
            let account = self.cmc_subaccount(&p);
            let mut remains = 0;
            match p.outcome.clone().unwrap() {
                Outcome::ToppedUp(cycles) => {
                    expected_supply -= p.amount;
                    expected_minted += cycles;
                    if p.to == Beneficiary::App {
                        expected_app += cycles;
                    }
                }
                Outcome::Created(canister) => {
                    expected_supply -= p.amount;
                    let cycles = cycles_for_e8s(p.amount, RATE);
                    expected_minted += cycles;
                    let held = self.env.cycle_balance(canister);
                    if held != cycles {
                        return Err(violation(format!(
                            "{canister} holds {held} cycles; its payment bought {cycles}"
                        )));
                    }
                }
                Outcome::Refunded { extra_fees, block } => {
                    let kept = (extra_fees * FEE).min(p.amount);
                    let refund = p.amount.saturating_sub(kept + FEE);
                    if (refund > 0) != block.is_some() {
                        return Err(violation(format!(
                            "payment #{} of {} e8s: refund {refund} but refund block {block:?}",
                            p.block, p.amount
                        )));
                    }
                    if refund > 0 {
                        *payers.get_mut(&p.payer).unwrap() += refund;
                        // The refund's fee and the fees kept are burned.
                        expected_supply -= FEE + kept;
                    } else if p.amount >= FEE {
                        expected_supply -= p.amount;
                    } else {
                        remains = p.amount;
                    }
                }
                Outcome::Dust => remains = p.amount,
            }
            *left.entry(account).or_default() += remains;
        }
        for (payer, expected) in payers {
            let balance = self.balance(Account::from(user(payer)));
            if balance != expected {
                return Err(violation(format!(
                    "payer {payer} holds {balance} e8s; the answers say {expected}"
                )));
            }
        }
        for (account, expected) in left {
            let balance = self.balance(account);
            if balance != expected {
                return Err(violation(format!(
                    "{account} holds {balance} e8s; the answers leave {expected}"
                )));
            }
        }
        let supply = self.supply();
        if supply != expected_supply {
            return Err(violation(format!(
                "the supply is {supply}; the answers say {expected_supply}"
            )));
        }
        let app = self.env.cycle_balance(self.app);
        if app != expected_app {
            return Err(violation(format!(
                "the app holds {app} cycles; the answers say {expected_app}"
            )));
        }
        let minted = self.net_minted();
        if minted != expected_minted {
            return Err(violation(format!(
                "the CMC minted {minted} cycles; the answers say {expected_minted}"
            )));
        }
        Ok(())
    }

    /// Cycles the CMC minted and did not burn again (the cycles of a
    /// failed deposit come back and are burned).
    fn net_minted(&mut self) -> u128 {
        let runtime = self.env.as_runtime();
        runtime.cycles_minted(CYCLES_MINTING_CANISTER_ID)
            - runtime.cycles_burned(CYCLES_MINTING_CANISTER_ID)
    }

    fn pick(&self, pick: usize) -> Option<usize> {
        (!self.payments.is_empty()).then(|| pick % self.payments.len())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.log.push(format!("{op:?}"));
        match op {
            Op::Pay {
                payer,
                to,
                memo,
                size,
                icrc1,
            } => self.pay(*payer, *to, *memo, size.e8s(), *icrc1),
            Op::Notify {
                pick,
                how,
                rounds,
                interrupt,
            } => {
                let i = self.pick(*pick);
                let (block, request, caller) = self.request(i, *how);
                let stopped_before = self.ledger_stopped;
                let id = self.submit(block, request, caller);
                for _ in 0..*rounds {
                    self.env.tick();
                }
                match interrupt {
                    Interrupt::None => {}
                    Interrupt::StopLedger => self.stop_ledger(),
                    Interrupt::UpgradeCmc => self.upgrade_cmc(false),
                    Interrupt::StopUpgradeStartCmc => self.upgrade_cmc(true),
                }
                let answer = self.wait(request, id);
                let stopped = stopped_before || self.ledger_stopped;
                self.check_answer(i, *how, &answer, false, stopped)?;
            }
            Op::NotifyPair {
                pick,
                first,
                second,
                rounds,
            } => {
                let i = self.pick(*pick);
                let a = self.request(i, *first);
                let b = self.request(i, *second);
                let stopped = self.ledger_stopped;
                let id_a = self.submit(a.0, a.1, a.2);
                for _ in 0..*rounds {
                    self.env.tick();
                }
                let id_b = self.submit(b.0, b.1, b.2);
                let answer_a = self.wait(a.1, id_a);
                let answer_b = self.wait(b.1, id_b);
                // A request may find the block held by another that owns it.
                let owns = |how: How| how != How::WrongTarget;
                self.check_answer(i, *first, &answer_a, owns(*second), stopped)?;
                self.check_answer(i, *second, &answer_b, owns(*first), stopped)?;
            }
            Op::StopLedger => self.stop_ledger(),
            Op::StartLedger => self.start_ledger(),
            Op::Timer => self.run_timer(),
            Op::UpgradeCmc { stop_first } => self.upgrade_cmc(*stop_first),
        }
        self.check_bounds()
    }
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn every_paid_e8_ends_as_cycles_or_a_refund() {
    let steps = env_number("PROPTEST_STEPS", 50) as usize;
    let config = Config {
        cases: env_number("PROPTEST_CASES", 64),
        max_shrink_iters: env_number("PROPTEST_MAX_SHRINK_ITERS", 64),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(op(), steps), |ops| {
        let mut world = World::new();
        let outcome = ops
            .iter()
            .try_for_each(|op| world.step(op))
            .and_then(|()| world.settle());
        if let Err(e) = &outcome {
            eprintln!("--- failing run ---\n{}\n{e}", world.log.join("\n"));
        }
        outcome
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
