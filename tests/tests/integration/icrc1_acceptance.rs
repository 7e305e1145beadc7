//! The official ICRC-1/ICRC-2 acceptance suite (`icrc1-test-suite`) against
//! the ledger, on both backends.

use async_trait::async_trait;
use candid::Principal;
use candid::utils::{ArgumentDecoder, ArgumentEncoder, decode_args, encode_args};
use icrc1_test_env::LedgerEnv;
use integration_tests::env::{Backend, TestEnv};
use integration_tests::{install_ledger, on_both_backends};
use nns_api::ids::LEDGER_CANISTER_ID;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One caller of the shared ledger; `fork` makes a fresh caller.
#[derive(Clone)]
struct SharedLedger {
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
            pic.update_call(LEDGER_CANISTER_ID, self.caller, method, arg)
        } else {
            pic.query_call(LEDGER_CANISTER_ID, self.caller, method, arg)
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

on_both_backends!(should_pass_the_icrc1_and_icrc2_acceptance_suite);

fn should_pass_the_icrc1_and_icrc2_acceptance_suite(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    // The suite funds the accounts it creates from the first caller's.
    install_ledger(&mut pic, [(caller(0), 1_000_000 * 100_000_000)]);
    let env = SharedLedger {
        pic: Rc::new(RefCell::new(pic)),
        callers: Rc::new(Cell::new(0)),
        caller: caller(0),
    };
    let passed = futures::executor::block_on(async {
        let tests = icrc1_test_suite::test_suite(env).await;
        assert!(
            tests.len() >= 10,
            "the suite selected {} tests",
            tests.len()
        );
        icrc1_test_suite::execute_tests(tests).await
    });
    assert!(
        passed,
        "every selected acceptance test passes (TAP output above)"
    );
}
