//! The official ICRC-1/ICRC-2 acceptance suite (`icrc1-test-suite`) against
//! the ICP ledger, the cycles ledger and a project's token ledger, on both
//! backends.

use async_trait::async_trait;
use candid::Principal;
use candid::utils::{ArgumentDecoder, ArgumentEncoder, decode_args, encode_args};
use icrc1_test_env::LedgerEnv;
use integration_tests::env::{Backend, TestEnv};
use integration_tests::{
    install_cycles_ledger, install_ledger, install_token_ledger, on_both_backends,
};
use nns_api::ids::{CYCLES_LEDGER_CANISTER_ID, LEDGER_CANISTER_ID};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One caller of the shared ledger; `fork` makes a fresh caller.
#[derive(Clone)]
struct SharedLedger {
    ledger: Principal,
    pic: Rc<RefCell<TestEnv>>,
    callers: Rc<Cell<u32>>,
    caller: Principal,
}

fn caller(n: u32) -> Principal {
    let mut bytes = n.to_be_bytes().to_vec();
    bytes.push(0xac);
    Principal::from_slice(&bytes)
}

impl SharedLedger {
    fn call<Input, Output>(
        &self,
        method: &str,
        input: Input,
        update: bool,
    ) -> anyhow::Result<Output>
    where
        Input: ArgumentEncoder,
        Output: for<'a> ArgumentDecoder<'a>,
    {
        let arg = encode_args(input)?;
        let mut pic = self.pic.borrow_mut();
        let reply = if update {
            pic.update_call(self.ledger, self.caller, method, arg)
        } else {
            pic.query_call(self.ledger, self.caller, method, arg)
        }
        .map_err(|e| anyhow::anyhow!("{method}: {e:?}"))?;
        Ok(decode_args(&reply)?)
    }
}

#[async_trait(?Send)]
impl LedgerEnv for SharedLedger {
    fn fork(&self) -> Self {
        let n = self.callers.get() + 1;
        self.callers.set(n);
        Self {
            caller: caller(n),
            ..self.clone()
        }
    }

    fn principal(&self) -> Principal {
        self.caller
    }

    async fn time(&self) -> SystemTime {
        let nanos = self.pic.borrow().get_time().as_nanos_since_unix_epoch();
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }

    async fn query<Input, Output>(&self, method: &str, input: Input) -> anyhow::Result<Output>
    where
        Input: ArgumentEncoder + std::fmt::Debug,
        Output: for<'a> ArgumentDecoder<'a>,
    {
        self.call(method, input, false)
    }

    async fn update<Input, Output>(&self, method: &str, input: Input) -> anyhow::Result<Output>
    where
        Input: ArgumentEncoder + std::fmt::Debug,
        Output: for<'a> ArgumentDecoder<'a>,
    {
        self.call(method, input, true)
    }
}

on_both_backends!(
    should_pass_the_icrc1_and_icrc2_acceptance_suite,
    should_pass_the_whole_acceptance_suite_on_the_cycles_ledger,
    should_pass_the_whole_acceptance_suite_on_a_project_token_ledger,
);

/// The suite's ICRC-1 and ICRC-2 tests, but for `icrc1:tx_deduplication`,
/// which the real ICP ledger does not pass either (its own tests keep the
/// equivalent check, `test_tx_deduplication`, ignored): the ICP ledger deduplicates a transaction by what
/// it stores, so a retry that merely spells out the fee or the default
/// subaccount is a duplicate, where the suite expects a new transfer.
/// `ledger::should_deduplicate_a_retried_transfer_by_its_meaning` checks
/// the ICP ledger's behaviour instead.
fn tests(env: SharedLedger) -> Vec<icrc1_test_suite::Test> {
    use icrc1_test_suite::*;
    let mut tests = vec![
        test("icrc1:transfer", icrc1_test_transfer(env.clone())),
        test("icrc1:burn", icrc1_test_burn(env.clone())),
        test("icrc1:metadata", icrc1_test_metadata(env.clone())),
        test(
            "icrc1:supported_standards",
            icrc1_test_supported_standards(env.clone()),
        ),
        test(
            "icrc1:memo_bytes_length",
            icrc1_test_memo_bytes_length(env.clone()),
        ),
        test(
            "icrc1:future_transfers",
            icrc1_test_future_transfer(env.clone()),
        ),
        test("icrc1:bad_fee", icrc1_test_bad_fee(env.clone())),
        test(
            "icrc2:supported_standards",
            icrc2_test_supported_standards(env.clone()),
        ),
        test("icrc2:approve", icrc2_test_approve(env.clone())),
        test(
            "icrc2:approve_expiration",
            icrc2_test_approve_expiration(env.clone()),
        ),
        test(
            "icrc2:approve_expected_allowance",
            icrc2_test_approve_expected_allowance(env.clone()),
        ),
        test("icrc2:transfer_from", icrc2_test_transfer_from(env.clone())),
        test(
            "icrc2:transfer_from_insufficient_funds",
            icrc2_test_transfer_from_insufficient_funds(env.clone()),
        ),
        test(
            "icrc2:transfer_from_insufficient_allowance",
            icrc2_test_transfer_from_insufficient_allowance(env.clone()),
        ),
        test(
            "icrc2:transfer_from_self",
            icrc2_test_transfer_from_self(env.clone()),
        ),
    ];
    // An ICRC ledger deduplicates by the request as given, as the suite
    // expects.
    if env.ledger != LEDGER_CANISTER_ID {
        tests.push(test(
            "icrc1:tx_deduplication",
            icrc1_test_tx_deduplication(env),
        ));
    }
    tests
}

fn should_pass_the_icrc1_and_icrc2_acceptance_suite(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    // The suite funds the accounts it creates from the first caller's.
    install_ledger(&mut pic, [(caller(0), 1_000_000 * 100_000_000)]);
    run_suite(pic, LEDGER_CANISTER_ID);
}

fn should_pass_the_whole_acceptance_suite_on_the_cycles_ledger(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    install_cycles_ledger(&mut pic, [(caller(0), 1_000_000_000_000_000_000)]);
    run_suite(pic, CYCLES_LEDGER_CANISTER_ID);
}

fn should_pass_the_whole_acceptance_suite_on_a_project_token_ledger(backend: Backend) {
    use icrc_ledger_types::icrc1::account::Account;
    let mut pic = TestEnv::new(backend);
    let minter = Account::from(Principal::from_slice(&[0x5a, 1]));
    let init = nns_api::token_ledger::InitArgs::new(
        "Project",
        "PRJ",
        10_000,
        minter,
        vec![(Account::from(caller(0)), 1_000_000 * 100_000_000)],
        Principal::anonymous(),
    );
    let ledger = install_token_ledger(&mut pic, init);
    run_suite(pic, ledger);
}

fn run_suite(pic: TestEnv, ledger: Principal) {
    let env = SharedLedger {
        ledger,
        pic: Rc::new(RefCell::new(pic)),
        callers: Rc::new(Cell::new(0)),
        caller: caller(0),
    };
    let passed = futures::executor::block_on(icrc1_test_suite::execute_tests(tests(env)));
    assert!(
        passed,
        "every selected acceptance test passes (TAP output above)"
    );
}
