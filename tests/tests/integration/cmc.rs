//! The cycles-minting canister end to end on both backends, with the real
//! ledger: ICP paid in, cycles out, the ICP burned, every error path. On the
//! PocketIC server the CMC is on the NNS subnet, the only place it may mint.

use candid::{Decode, Encode, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use integration_tests::env::{Backend, MessageId, TestEnv, query_candid, update_candid_as};
use integration_tests::{
    certified_icp_xdr_rate, install_cmc, install_ledger, on_both_backends, wasm_gz_path,
};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    CanisterSettings, CyclesCanisterInitPayload, DEFAULT_ICP_XDR_CONVERSION_RATE,
    IcpXdrConversionRate, IcpXdrConversionRateResponse, MEMO_CREATE_CANISTER, MEMO_TOP_UP,
    NotifyCreateCanisterArg, NotifyError, NotifyTopUpArg, UpdateIcpXdrConversionRatePayload,
    cycles_for_e8s, notify_error_code,
};
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};

on_both_backends!(
    should_top_up_a_canister_and_burn_the_icp,
    should_refund_a_payment_with_the_wrong_memo,
    should_refund_less_fees_when_the_canister_does_not_exist,
    should_create_a_canister_controlled_by_the_payer,
    should_refuse_blocks_that_do_not_pay_this_request,
    should_mint_once_for_two_interleaved_notifies_of_one_block,
    should_lose_nothing_when_the_ledger_is_stopped_and_retry_after,
    should_keep_statuses_across_an_upgrade,
    should_take_rates_only_from_governance_and_convert_at_the_new_rate,
    should_refund_notifications_past_the_hourly_minting_limit,
    should_answer_a_block_only_to_the_requests_it_pays_for,
    should_answer_too_old_with_the_oldest_block_still_notifiable,
    should_change_only_the_minting_limit_on_an_upgrade,
    should_average_the_first_rate_of_each_day,
    should_start_at_the_default_rate_when_installed_without_one,
    should_upgrade_from_release_c8fe821_keeping_every_answer,
    should_upgrade_from_release_0d220b9_keeping_every_answer,
    should_retry_a_failed_burn_until_the_icp_is_burned,
    should_not_let_a_request_for_another_target_hold_a_payment,
    should_refuse_payments_made_for_another_operation_without_refunding,
    should_refuse_to_create_a_canister_for_less_than_the_creation_fee,
    should_refund_a_creation_paid_below_the_creation_fee,
    should_make_a_refund_that_failed_once_the_ledger_is_back,
    should_refuse_an_upgrade_while_a_notification_is_in_flight,
    should_not_burn_twice_when_upgraded_during_a_burn,
    should_refuse_rates_far_in_the_future_and_zero_rates,
);

const FEE: u64 = 10_000;
const E8S_PER_ICP: u64 = 100_000_000;
/// 3.5 XDR per ICP: one ICP buys 3.5 T cycles.
const RATE: u64 = 35_000;

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0xc3, 1])
}

struct Env {
    pic: TestEnv,
    /// An empty canister to top up.
    app: Principal,
}

fn cmc_wasm() -> Vec<u8> {
    std::fs::read(wasm_gz_path("cmc")).expect("scripts/build-canisters.sh has run")
}

fn setup(backend: Backend) -> Env {
    let mut pic = TestEnv::new(backend);
    install_ledger(&mut pic, (1..=3).map(|n| (user(n), 100 * E8S_PER_ICP)));
    install_cmc(&mut pic, RATE, None);
    let app = pic.create_canister();
    Env { pic, app }
}

/// The ledger, and the CMC installed with `payload` as it stands.
fn setup_with(backend: Backend, payload: Option<CyclesCanisterInitPayload>) -> Env {
    let mut pic = TestEnv::new(backend);
    install_ledger(&mut pic, (1..=3).map(|n| (user(n), 100 * E8S_PER_ICP)));
    pic.create_canister_with_id(
        None,
        Some(integration_tests::nns_controlled()),
        CYCLES_MINTING_CANISTER_ID,
    )
    .unwrap();
    pic.install_canister(
        CYCLES_MINTING_CANISTER_ID,
        cmc_wasm(),
        Encode!(&payload).unwrap(),
        None,
    );
    let app = pic.create_canister();
    Env { pic, app }
}

fn upgrade_cmc(env: &mut Env, payload: Option<CyclesCanisterInitPayload>) {
    env.pic
        .upgrade_canister(
            CYCLES_MINTING_CANISTER_ID,
            cmc_wasm(),
            Encode!(&payload).unwrap(),
            None,
        )
        .unwrap();
}

fn now_seconds(env: &Env) -> u64 {
    env.pic.get_time().as_nanos_since_unix_epoch() / 1_000_000_000
}

fn rate_query(env: &mut Env, method: &str) -> IcpXdrConversionRate {
    let (response,): (IcpXdrConversionRateResponse,) =
        query_candid(&mut env.pic, CYCLES_MINTING_CANISTER_ID, method, ()).unwrap();
    response.data
}

impl Env {
    fn pay(&mut self, from: Principal, beneficiary: Principal, e8s: u64, memo: u64) -> u64 {
        // Identical legacy transfers at one ledger time are duplicates.
        self.pic.advance_time(std::time::Duration::from_nanos(1));
        let args = TransferArgs {
            memo: Memo(memo),
            amount: Tokens::from_e8s(e8s),
            fee: Tokens::from_e8s(FEE),
            from_subaccount: None,
            to: AccountIdentifier::new(
                &CYCLES_MINTING_CANISTER_ID,
                Some(&principal_to_subaccount(&beneficiary)),
            ),
            created_at_time: None,
        };
        let (r,): (Result<u64, TransferError>,) =
            update_candid_as(&mut self.pic, LEDGER_CANISTER_ID, from, "transfer", (args,)).unwrap();
        r.unwrap()
    }

    fn notify_top_up(
        &mut self,
        caller: Principal,
        block_index: u64,
        canister_id: Principal,
    ) -> Result<Nat, NotifyError> {
        let arg = NotifyTopUpArg {
            block_index,
            canister_id,
        };
        self.call_cmc(caller, "notify_top_up", arg)
    }

    /// An update call of the CMC that the runtime delivers and answers.
    fn call_cmc<A, R>(&mut self, caller: Principal, method: &str, arg: A) -> R
    where
        A: candid::CandidType,
        R: for<'a> candid::Deserialize<'a> + candid::CandidType,
    {
        let (r,): (R,) = update_candid_as(
            &mut self.pic,
            CYCLES_MINTING_CANISTER_ID,
            caller,
            method,
            (arg,),
        )
        .unwrap();
        r
    }

    /// `notify_create_canister` by `caller` for a canister `controller`
    /// controls, paid by `block_index`.
    fn notify_create_canister(
        &mut self,
        caller: Principal,
        block_index: u64,
        controller: Principal,
    ) -> Result<Principal, NotifyError> {
        self.notify_create_canister_with(caller, block_index, controller, None)
    }

    fn notify_create_canister_with(
        &mut self,
        caller: Principal,
        block_index: u64,
        controller: Principal,
        settings: Option<CanisterSettings>,
    ) -> Result<Principal, NotifyError> {
        let arg = NotifyCreateCanisterArg {
            block_index,
            controller,
            subnet_type: None,
            subnet_selection: None,
            settings,
        };
        self.call_cmc(caller, "notify_create_canister", arg)
    }

    fn balance(&mut self, owner: Principal) -> u64 {
        self.balance_of(Account::from(owner))
    }

    fn balance_of(&mut self, account: Account) -> u64 {
        let (n,): (Nat,) = query_candid(
            &mut self.pic,
            LEDGER_CANISTER_ID,
            "icrc1_balance_of",
            (account,),
        )
        .unwrap();
        u64::try_from(n.0).unwrap()
    }

    fn supply(&mut self) -> u64 {
        let (n,): (Nat,) =
            query_candid(&mut self.pic, LEDGER_CANISTER_ID, "icrc1_total_supply", ()).unwrap();
        u64::try_from(n.0).unwrap()
    }

    fn cmc_subaccount_balance(&mut self, beneficiary: Principal) -> u64 {
        self.balance_of(Account {
            owner: CYCLES_MINTING_CANISTER_ID,
            subaccount: Some(principal_to_subaccount(&beneficiary)),
        })
    }

    fn total_cycles_minted(&mut self) -> u128 {
        let (n,): (Nat,) = query_candid(
            &mut self.pic,
            CYCLES_MINTING_CANISTER_ID,
            "total_cycles_minted",
            (),
        )
        .unwrap();
        u128::try_from(n.0).unwrap()
    }
}

fn should_top_up_a_canister_and_burn_the_icp(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let cycles_before = env.pic.cycle_balance(app);
    let cmc_cycles_before = env.pic.cycle_balance(CYCLES_MINTING_CANISTER_ID);
    let block = env.pay(user(1), app, 2 * E8S_PER_ICP, MEMO_TOP_UP);
    let supply = env.supply();

    let expected = cycles_for_e8s(2 * E8S_PER_ICP, RATE);
    assert_eq!(expected, 7_000_000_000_000);
    let minted = env.notify_top_up(user(1), block, app).unwrap();
    assert_eq!(minted, Nat::from(expected));
    assert_eq!(env.pic.cycle_balance(app), cycles_before + expected);
    assert_eq!(
        env.pic.cycle_balance(CYCLES_MINTING_CANISTER_ID),
        cmc_cycles_before
    );
    // The ICP is burned: the supply falls by exactly the amount converted.
    assert_eq!(env.supply(), supply - 2 * E8S_PER_ICP);
    assert_eq!(env.cmc_subaccount_balance(app), 0);
    assert_eq!(env.total_cycles_minted(), expected);

    // Notifying again answers the same result and mints nothing.
    assert_eq!(
        env.notify_top_up(user(2), block, app),
        Ok(Nat::from(expected))
    );
    assert_eq!(env.pic.cycle_balance(app), cycles_before + expected);
    assert_eq!(env.total_cycles_minted(), expected);
}

fn should_refund_a_payment_with_the_wrong_memo(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let block = env.pay(user(1), app, E8S_PER_ICP, 42);
    let before = env.balance(user(1));
    match env.notify_top_up(user(1), block, app) {
        Err(NotifyError::Refunded {
            block_index: Some(_),
            reason,
        }) => assert!(
            reason.starts_with("Memo (0x00002A) in the incoming ICP transfer"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.balance(user(1)), before + E8S_PER_ICP - FEE);
    assert_eq!(env.cmc_subaccount_balance(app), 0);
    assert_eq!(env.total_cycles_minted(), 0);
    // The refund is final.
    assert!(matches!(
        env.notify_top_up(user(1), block, app),
        Err(NotifyError::Refunded { .. })
    ));
}

fn should_refund_less_fees_when_the_canister_does_not_exist(backend: Backend) {
    let mut env = setup(backend);
    let missing = Principal::from_slice(&[0xde, 0xad, 1, 1]);
    let cmc_cycles = env.pic.cycle_balance(CYCLES_MINTING_CANISTER_ID);
    let block = env.pay(user(1), missing, E8S_PER_ICP, MEMO_TOP_UP);
    let before = env.balance(user(1));
    let supply = env.supply();
    let result = env.notify_top_up(user(1), block, missing);
    assert!(
        matches!(
            result,
            Err(NotifyError::Refunded {
                block_index: Some(_),
                ..
            })
        ),
        "{result:?}"
    );
    // Refund = amount − transfer fee − 2 fees kept (and burned).
    assert_eq!(env.balance(user(1)), before + E8S_PER_ICP - 3 * FEE);
    assert_eq!(env.cmc_subaccount_balance(missing), 0);
    assert_eq!(env.supply(), supply - 3 * FEE);
    assert_eq!(env.total_cycles_minted(), 0);
    // The minted cycles came back and were burned again.
    assert_eq!(
        env.pic.cycle_balance(CYCLES_MINTING_CANISTER_ID),
        cmc_cycles
    );
}

fn should_create_a_canister_controlled_by_the_payer(backend: Backend) {
    let mut env = setup(backend);
    let controller = user(2);
    let block = env.pay(
        controller,
        controller,
        3 * E8S_PER_ICP,
        MEMO_CREATE_CANISTER,
    );
    // Only the controller may notify.
    let stranger = env.notify_create_canister(user(3), block, controller);
    assert!(matches!(
        stranger,
        Err(NotifyError::Other { error_code, .. }) if error_code == notify_error_code::UNAUTHORIZED
    ));
    let canister = env
        .notify_create_canister(controller, block, controller)
        .unwrap();
    assert!(env.pic.canister_exists(canister));
    assert_eq!(env.pic.get_controllers(canister), vec![controller]);
    assert_eq!(
        env.pic.cycle_balance(canister),
        cycles_for_e8s(3 * E8S_PER_ICP, RATE)
    );
    // The same block cannot also top up a canister.
    let app = env.app;
    assert!(matches!(
        env.notify_top_up(controller, block, app),
        Err(NotifyError::InvalidTransaction(_))
    ));
}

fn should_refuse_blocks_that_do_not_pay_this_request(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let supply = env.supply();
    // Block 0 is the mint of an initial balance.
    assert!(matches!(
        env.notify_top_up(user(1), 0, app),
        Err(NotifyError::InvalidTransaction(_))
    ));
    assert!(matches!(
        env.notify_top_up(user(1), u64::MAX, app),
        Err(NotifyError::InvalidTransaction(reason)) if reason == format!("Block {} not found", u64::MAX)
    ));
    // A payment for another canister cannot top up this one.
    let other = env.pic.create_canister();
    let block = env.pay(user(1), other, E8S_PER_ICP, MEMO_TOP_UP);
    assert!(matches!(
        env.notify_top_up(user(1), block, app),
        Err(NotifyError::InvalidTransaction(_))
    ));
    // Nothing was decided: the right request still works.
    assert!(env.notify_top_up(user(1), block, other).is_ok());
    assert_eq!(env.supply(), supply - FEE - E8S_PER_ICP);
}

fn should_mint_once_for_two_interleaved_notifies_of_one_block(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let cycles_before = env.pic.cycle_balance(app);
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let arg = Encode!(&NotifyTopUpArg {
        block_index: block,
        canister_id: app,
    })
    .unwrap();
    let first = env
        .pic
        .submit_call(
            CYCLES_MINTING_CANISTER_ID,
            user(1),
            "notify_top_up",
            arg.clone(),
        )
        .unwrap();
    let second = env
        .pic
        .submit_call(CYCLES_MINTING_CANISTER_ID, user(2), "notify_top_up", arg)
        .unwrap();
    let decode = |bytes: Vec<u8>| Decode!(&bytes, Result<Nat, NotifyError>).unwrap();
    let first = decode(env.pic.await_call(first).unwrap());
    let second = decode(env.pic.await_call(second).unwrap());
    let expected = cycles_for_e8s(E8S_PER_ICP, RATE);
    assert_eq!(first, Ok(Nat::from(expected)));
    assert_eq!(second, Err(NotifyError::Processing));
    assert_eq!(env.pic.cycle_balance(app), cycles_before + expected);
    assert_eq!(env.total_cycles_minted(), expected);
}

fn should_lose_nothing_when_the_ledger_is_stopped_and_retry_after(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let supply = env.supply();
    let cycles_before = env.pic.cycle_balance(app);
    env.pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
    let result = env.notify_top_up(user(1), block, app);
    assert!(
        matches!(result, Err(NotifyError::Other { error_code, .. }) if error_code == notify_error_code::FAILED_TO_FETCH_BLOCK),
        "{result:?}"
    );
    assert_eq!(env.pic.cycle_balance(app), cycles_before);
    env.pic.start_canister(LEDGER_CANISTER_ID, None).unwrap();
    assert_eq!(env.supply(), supply);
    let expected = cycles_for_e8s(E8S_PER_ICP, RATE);
    assert_eq!(
        env.notify_top_up(user(1), block, app),
        Ok(Nat::from(expected))
    );
    assert_eq!(env.supply(), supply - E8S_PER_ICP);
}

fn should_keep_statuses_across_an_upgrade(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let cycles_before = env.pic.cycle_balance(app);
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let first = env.notify_top_up(user(1), block, app);
    env.pic
        .upgrade_canister(
            CYCLES_MINTING_CANISTER_ID,
            cmc_wasm(),
            Encode!(&None::<CyclesCanisterInitPayload>).unwrap(),
            None,
        )
        .unwrap();
    assert_eq!(env.notify_top_up(user(1), block, app), first);
    assert_eq!(
        env.pic.cycle_balance(app),
        cycles_before + cycles_for_e8s(E8S_PER_ICP, RATE)
    );
}

fn set_rate(
    env: &mut Env,
    caller: Principal,
    timestamp_seconds: u64,
    rate: u64,
) -> Result<(), String> {
    let payload = UpdateIcpXdrConversionRatePayload {
        data_source: "test".into(),
        timestamp_seconds,
        xdr_permyriad_per_icp: rate,
        reason: None,
    };
    let (r,): (Result<(), String>,) = update_candid_as(
        &mut env.pic,
        CYCLES_MINTING_CANISTER_ID,
        caller,
        "set_icp_xdr_conversion_rate",
        (payload,),
    )
    .unwrap();
    r
}

fn should_take_rates_only_from_governance_and_convert_at_the_new_rate(backend: Backend) {
    let mut env = setup(backend);
    let later = env.pic.get_time().as_nanos_since_unix_epoch() / 1_000_000_000 + 600;
    assert!(set_rate(&mut env, user(1), later, 50_000).is_err());
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, 1_600_000_000, 50_000).is_err());
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, later, 0).is_err());
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, later, 50_000).unwrap();
    // The rate is certified (see `certified_icp_xdr_rate`).
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic).xdr_permyriad_per_icp,
        50_000
    );
    let app = env.app;
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    assert_eq!(
        env.notify_top_up(user(1), block, app),
        Ok(Nat::from(cycles_for_e8s(E8S_PER_ICP, 50_000)))
    );
}

/// As on the real CMC, a notification that would mint past the hourly
/// limit is refunded as a failed top-up or creation is (less the ledger
/// fee and 2 or 4 fees kept), and counts nothing against the limit.
fn should_refund_notifications_past_the_hourly_minting_limit(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    install_ledger(&mut pic, [(user(1), 100 * E8S_PER_ICP)]);
    let limit = cycles_for_e8s(E8S_PER_ICP, RATE);
    install_cmc(&mut pic, RATE, Some(limit));
    let app = pic.create_canister();
    let mut env = Env { pic, app };
    let cycles_before = env.pic.cycle_balance(app);
    let first = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    env.notify_top_up(user(1), first, app).unwrap();
    let second = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let before = env.balance(user(1));
    let supply = env.supply();
    let refused = env.notify_top_up(user(1), second, app);
    let expected_reason = format!(
        "More than {limit} cycles have been minted in the last 3600 seconds, please try again later."
    );
    match &refused {
        Err(NotifyError::Refunded {
            reason,
            block_index: Some(_),
        }) => assert_eq!(reason, &expected_reason),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.balance(user(1)), before + E8S_PER_ICP - 3 * FEE);
    assert_eq!(env.supply(), supply - 3 * FEE);
    assert_eq!(env.cmc_subaccount_balance(app), 0);
    assert_eq!(env.pic.cycle_balance(app), cycles_before + limit);
    assert_eq!(env.total_cycles_minted(), limit);
    // The refund is final.
    assert_eq!(env.notify_top_up(user(1), second, app), refused);

    // A creation past the limit keeps 4 fees.
    let controller = user(1);
    let creation = env.pay(controller, controller, E8S_PER_ICP, MEMO_CREATE_CANISTER);
    let before = env.balance(controller);
    let refused = env.notify_create_canister(controller, creation, controller);
    assert!(
        matches!(&refused, Err(NotifyError::Refunded { reason, block_index: Some(_) }) if *reason == expected_reason),
        "{refused:?}"
    );
    assert_eq!(env.balance(controller), before + E8S_PER_ICP - 5 * FEE);
    assert_eq!(env.total_cycles_minted(), limit);

    // An hour after the first mint, the refusals having counted nothing,
    // the whole limit is there again.
    env.pic.advance_time(std::time::Duration::from_secs(3_600));
    let third = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    assert_eq!(env.notify_top_up(user(1), third, app), Ok(Nat::from(limit)));
    assert_eq!(env.pic.cycle_balance(app), cycles_before + 2 * limit);
}

/// As on the real CMC: the block's subaccount names the canister (top-up)
/// or controller (creation) and its memo the operation; a request that
/// differs in any of them is `InvalidTransaction` before any cached answer
/// is looked up, and changes nothing. A repeat of a creation with other
/// settings is answered as the original (the real CMC answers "as though
/// the current request is the original one").
fn should_answer_a_block_only_to_the_requests_it_pays_for(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let other = env.pic.create_canister();
    let (app_cycles, other_cycles) = (env.pic.cycle_balance(app), env.pic.cycle_balance(other));
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let topped_up = env.notify_top_up(user(1), block, app);
    let expected = cycles_for_e8s(E8S_PER_ICP, RATE);
    assert_eq!(topped_up, Ok(Nat::from(expected)));
    for caller in [user(1), user(2)] {
        match env.notify_top_up(caller, block, other) {
            Err(NotifyError::InvalidTransaction(reason)) => assert!(
                reason.starts_with("Destination account in the block"),
                "{reason}"
            ),
            answer => panic!("{answer:?}"),
        }
    }
    // The same block for a creation by the canister's id: the memo says top-up.
    match env.notify_create_canister(app, block, app) {
        Err(NotifyError::InvalidTransaction(reason)) => assert!(
            reason.contains("does not match the expected memo"),
            "{reason}"
        ),
        answer => panic!("{answer:?}"),
    }
    assert_eq!(env.notify_top_up(user(2), block, app), topped_up);
    assert_eq!(env.pic.cycle_balance(app), app_cycles + expected);
    assert_eq!(env.pic.cycle_balance(other), other_cycles);

    let controller = user(2);
    let block = env.pay(controller, controller, E8S_PER_ICP, MEMO_CREATE_CANISTER);
    let created = env
        .notify_create_canister(controller, block, controller)
        .unwrap();
    let minted = env.total_cycles_minted();
    // Another controller, notifying for itself: not its subaccount.
    let stranger = user(3);
    assert!(matches!(
        env.notify_create_canister(stranger, block, stranger),
        Err(NotifyError::InvalidTransaction(reason)) if reason.starts_with("Destination account")
    ));
    // Other settings: the original answer, and no second canister.
    let settings = CanisterSettings {
        controllers: Some(vec![stranger]),
        ..Default::default()
    };
    assert_eq!(
        env.notify_create_canister_with(controller, block, controller, Some(settings)),
        Ok(created)
    );
    assert_eq!(env.pic.get_controllers(created), vec![controller]);
    assert_eq!(env.total_cycles_minted(), minted);
}

/// `TransactionTooOld` carries what the real CMC's does: the oldest block
/// index that can still be notified, the purge horizon + 1.
fn should_answer_too_old_with_the_oldest_block_still_notifiable(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    install_ledger(&mut pic, [(user(1), 100 * E8S_PER_ICP)]);
    let mut env = Env {
        app: pic.create_canister(),
        pic,
    };
    let app = env.app;
    let old = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let recent = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    assert_eq!(recent, old + 1);
    let Env { pic, .. } = env;
    let mut env = Env { pic, app };
    env.pic
        .create_canister_with_id(
            None,
            Some(integration_tests::nns_controlled()),
            CYCLES_MINTING_CANISTER_ID,
        )
        .unwrap();
    let payload = Some(CyclesCanisterInitPayload {
        last_purged_notification: Some(old),
        exchange_rate: Some(IcpXdrConversionRate {
            timestamp_seconds: now_seconds(&env) - 3_600,
            xdr_permyriad_per_icp: RATE,
        }),
        ..Default::default()
    });
    env.pic.install_canister(
        CYCLES_MINTING_CANISTER_ID,
        cmc_wasm(),
        Encode!(&payload).unwrap(),
        None,
    );
    assert_eq!(
        env.notify_top_up(user(1), old, app),
        Err(NotifyError::TransactionTooOld(old + 1))
    );
    assert_eq!(env.cmc_subaccount_balance(app), 2 * E8S_PER_ICP);
    assert_eq!(
        env.notify_top_up(user(1), recent, app),
        Ok(Nat::from(cycles_for_e8s(E8S_PER_ICP, RATE)))
    );
}

/// As on the real CMC, whose `post_upgrade` reads none of them, an upgrade
/// argument's ids, minting account, purge horizon and rate are ignored;
/// this CMC's `cycles_limit_per_hour` changes the limit when set and keeps
/// it when left `null`.
fn should_change_only_the_minting_limit_on_an_upgrade(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    install_ledger(&mut pic, [(user(1), 100 * E8S_PER_ICP)]);
    let limit = cycles_for_e8s(3 * E8S_PER_ICP, RATE);
    install_cmc(&mut pic, RATE, Some(limit));
    let app = pic.create_canister();
    let mut env = Env { pic, app };
    let stranger = user(9);
    let now = now_seconds(&env);
    upgrade_cmc(
        &mut env,
        Some(CyclesCanisterInitPayload {
            ledger_canister_id: Some(stranger),
            governance_canister_id: Some(stranger),
            minting_account_id: Some(AccountIdentifier::new(&stranger, None).to_hex()),
            last_purged_notification: Some(u64::MAX - 1),
            exchange_rate: Some(IcpXdrConversionRate {
                timestamp_seconds: now,
                xdr_permyriad_per_icp: 99_000,
            }),
            cycles_limit_per_hour: None,
            cycles_ledger_canister_id: None,
        }),
    );
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic).xdr_permyriad_per_icp,
        RATE
    );
    assert!(set_rate(&mut env, stranger, now + 1, 50_000).is_err());
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, now + 1, RATE).unwrap();
    // The ledger, the minting account and the limit are the installed ones:
    // the payment is found, converted and burned; the horizon is not raised.
    let block = env.pay(user(1), app, 2 * E8S_PER_ICP, MEMO_TOP_UP);
    let supply = env.supply();
    let two_icp = cycles_for_e8s(2 * E8S_PER_ICP, RATE);
    assert_eq!(
        env.notify_top_up(user(1), block, app),
        Ok(Nat::from(two_icp))
    );
    assert_eq!(env.supply(), supply - 2 * E8S_PER_ICP);

    // A set limit replaces the installed one…
    upgrade_cmc(
        &mut env,
        Some(CyclesCanisterInitPayload {
            cycles_limit_per_hour: Some(Nat::from(two_icp)),
            ..Default::default()
        }),
    );
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    assert!(matches!(
        env.notify_top_up(user(1), block, app),
        Err(NotifyError::Refunded { reason, .. }) if reason.contains("try again later")
    ));
    // …and stays through an upgrade without one.
    upgrade_cmc(&mut env, Some(CyclesCanisterInitPayload::default()));
    env.pic.advance_time(std::time::Duration::from_secs(3_600));
    let block = env.pay(user(1), app, 3 * E8S_PER_ICP, MEMO_TOP_UP);
    assert!(matches!(
        env.notify_top_up(user(1), block, app),
        Err(NotifyError::Refunded { reason, .. }) if reason.contains(&format!("More than {two_icp} cycles"))
    ));
    let block = env.pay(user(1), app, 2 * E8S_PER_ICP, MEMO_TOP_UP);
    assert_eq!(
        env.notify_top_up(user(1), block, app),
        Ok(Nat::from(two_icp))
    );
}

/// As the real CMC keeps `average_icp_xdr_conversion_rate`: the first rate
/// governance sets on each day counts for that day, later ones that day do
/// not, the installed rate is not one of the days, and the average is
/// stamped with the start of the day it was computed on.
fn should_average_the_first_rate_of_each_day(backend: Backend) {
    let mut env = setup(backend);
    // The installed rate is a day old: the average until governance sets one.
    let installed = rate_query(&mut env, "get_icp_xdr_conversion_rate");
    assert_eq!(
        rate_query(&mut env, "get_average_icp_xdr_conversion_rate"),
        installed
    );
    let today = now_seconds(&env) / 86_400 * 86_400;
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, today + 1, 40_000).unwrap();
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, today + 2, 90_000).unwrap();
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic).xdr_permyriad_per_icp,
        90_000
    );
    let average = |env: &mut Env| rate_query(env, "get_average_icp_xdr_conversion_rate");
    assert_eq!(
        average(&mut env),
        IcpXdrConversionRate {
            timestamp_seconds: today,
            xdr_permyriad_per_icp: 40_000,
        }
    );
    env.pic.advance_time(std::time::Duration::from_secs(86_400));
    let tomorrow = today + 86_400;
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, tomorrow + 1, 80_000).unwrap();
    assert_eq!(
        average(&mut env),
        IcpXdrConversionRate {
            timestamp_seconds: tomorrow,
            xdr_permyriad_per_icp: 60_000,
        }
    );
}

/// Installed without a rate, the CMC starts where the real one does: 100
/// XDR per ICP observed on 10 May 2021, current and average, certified; a
/// notification converts at it, and governance's rates must be newer.
fn should_start_at_the_default_rate_when_installed_without_one(backend: Backend) {
    let mut env = setup_with(backend, None);
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic),
        DEFAULT_ICP_XDR_CONVERSION_RATE
    );
    assert_eq!(
        rate_query(&mut env, "get_average_icp_xdr_conversion_rate"),
        DEFAULT_ICP_XDR_CONVERSION_RATE
    );
    let app = env.app;
    let block = env.pay(user(1), app, E8S_PER_ICP / 100, MEMO_TOP_UP);
    let default_rate = DEFAULT_ICP_XDR_CONVERSION_RATE.xdr_permyriad_per_icp;
    assert_eq!(
        env.notify_top_up(user(1), block, app),
        Ok(Nat::from(cycles_for_e8s(E8S_PER_ICP / 100, default_rate)))
    );
    // Both backends start at the IC's genesis, four days before the
    // default rate: a rate observed now is older than it, and a newer one
    // is more than a day ahead of the clock (PocketIC starts later when it
    // installs the real CMC, for this reason).
    let default_time = DEFAULT_ICP_XDR_CONVERSION_RATE.timestamp_seconds;
    let genesis = now_seconds(&env);
    assert!(genesis + 86_400 < default_time, "{genesis}");
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, genesis, RATE).is_err());
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, default_time + 1, RATE).is_err());
    env.pic
        .advance_time(std::time::Duration::from_secs(default_time - genesis));
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, default_time + 1, RATE).unwrap();
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic).xdr_permyriad_per_icp,
        RATE
    );
}

/// The ledger stops after the cycles are delivered but before the ICP is
/// burned: the top-up stands, the ICP waits in the CMC's subaccount, and
/// the CMC's timer burns it once the ledger is back.
fn should_retry_a_failed_burn_until_the_icp_is_burned(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let cycles_before = env.pic.cycle_balance(app);
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let supply = env.supply();
    let arg = Encode!(&NotifyTopUpArg {
        block_index: block,
        canister_id: app,
    })
    .unwrap();
    let notify = env
        .pic
        .submit_call(CYCLES_MINTING_CANISTER_ID, user(1), "notify_top_up", arg)
        .unwrap();
    // Round by round until the cycles arrive, then stop the ledger before
    // the CMC's burn reaches it.
    let mut rounds = 0;
    while env.pic.cycle_balance(app) == cycles_before {
        env.pic.tick();
        rounds += 1;
        assert!(rounds < 20, "the deposit never happened");
    }
    env.pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
    let reply = env.pic.await_call(notify).unwrap();
    let expected = cycles_for_e8s(E8S_PER_ICP, RATE);
    assert_eq!(
        Decode!(&reply, Result<Nat, NotifyError>).unwrap(),
        Ok(Nat::from(expected))
    );
    env.pic.start_canister(LEDGER_CANISTER_ID, None).unwrap();
    assert_eq!(
        env.cmc_subaccount_balance(app),
        E8S_PER_ICP,
        "not burned yet"
    );
    assert_eq!(env.supply(), supply);

    env.pic.advance_time(std::time::Duration::from_secs(600));
    for _ in 0..10 {
        env.pic.tick();
    }
    assert_eq!(env.cmc_subaccount_balance(app), 0);
    assert_eq!(env.supply(), supply - E8S_PER_ICP);
    assert_eq!(env.pic.cycle_balance(app), cycles_before + expected);
}

/// Submits a notification without running it.
fn submit_top_up(env: &mut Env, caller: Principal, block: u64, canister: Principal) -> MessageId {
    let arg = Encode!(&NotifyTopUpArg {
        block_index: block,
        canister_id: canister,
    })
    .unwrap();
    env.pic
        .submit_call(CYCLES_MINTING_CANISTER_ID, caller, "notify_top_up", arg)
        .unwrap()
}

fn top_up_answer(env: &mut Env, id: MessageId) -> Result<Nat, NotifyError> {
    let reply = env.pic.await_call(id).unwrap();
    Decode!(&reply, Result<Nat, NotifyError>).unwrap()
}

/// A notify for another canister is refused before it marks the block, so
/// it cannot make the owner's notify answer `Processing`.
fn should_not_let_a_request_for_another_target_hold_a_payment(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let other = env.pic.create_canister();
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let wrong = submit_top_up(&mut env, user(2), block, other);
    env.pic.tick();
    let right = submit_top_up(&mut env, user(1), block, app);
    assert!(matches!(
        top_up_answer(&mut env, wrong),
        Err(NotifyError::InvalidTransaction(_))
    ));
    assert_eq!(
        top_up_answer(&mut env, right),
        Ok(Nat::from(cycles_for_e8s(E8S_PER_ICP, RATE)))
    );
}

/// As the real CMC: a payment made for another operation (a TPUP payment
/// notified as a creation, or a CREA one as a top-up) is refused and stays
/// for the request it was made for; only a memo that means nothing here is
/// refunded.
fn should_refuse_payments_made_for_another_operation_without_refunding(backend: Backend) {
    let mut env = setup(backend);
    let controller = user(2);
    let block = env.pay(user(1), controller, 3 * E8S_PER_ICP, MEMO_CREATE_CANISTER);
    let before = env.balance(user(1));
    // Anyone may notify a top-up, here of the controller's principal.
    let answer = env.notify_top_up(user(3), block, controller);
    let expected = "The memo (CreateCanister (1095062083)) in the transaction does not match \
                    the expected memo (TopUp (1347768404)) for the operation.";
    assert_eq!(
        answer,
        Err(NotifyError::InvalidTransaction(expected.into()))
    );
    assert_eq!(env.balance(user(1)), before, "nothing was refunded");
    let created = env.notify_create_canister(controller, block, controller);
    assert!(env.pic.canister_exists(created.unwrap()));

    // A top-up payment notified as a creation (by the canister it names,
    // the only caller allowed): refused, recorded nowhere, and it still
    // tops up the canister.
    let app = env.app;
    let cycles_before = env.pic.cycle_balance(app);
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let before = env.balance(user(1));
    for _ in 0..2 {
        match env.notify_create_canister(app, block, app) {
            Err(NotifyError::InvalidTransaction(reason)) => assert!(
                reason.starts_with("The memo (TopUp (1347768404))"),
                "{reason}"
            ),
            answer => panic!("{answer:?}"),
        }
    }
    assert_eq!(env.balance(user(1)), before, "nothing was refunded");
    let expected = cycles_for_e8s(E8S_PER_ICP, RATE);
    assert_eq!(
        env.notify_top_up(user(1), block, app),
        Ok(Nat::from(expected))
    );
    assert_eq!(env.pic.cycle_balance(app), cycles_before + expected);
}

/// `create_canister` takes no call without the cycles a creation costs:
/// an ingress message (anonymous or not) carries none.
fn should_refuse_to_create_a_canister_for_less_than_the_creation_fee(backend: Backend) {
    let mut env = setup(backend);
    let arg = nns_api::cmc::CreateCanisterArg {
        settings: None,
        subnet_type: None,
        subnet_selection: None,
    };
    for caller in [Principal::anonymous(), user(1)] {
        let (r,): (nns_api::cmc::CreateCanisterResult,) = update_candid_as(
            &mut env.pic,
            CYCLES_MINTING_CANISTER_ID,
            caller,
            "create_canister",
            (arg.clone(),),
        )
        .unwrap();
        match r {
            Err(nns_api::cmc::CreateCanisterError::Refunded {
                refund_amount,
                create_error,
            }) => {
                assert_eq!(refund_amount, Nat::from(0u8));
                assert!(
                    create_error.contains("Insufficient cycles"),
                    "{create_error}"
                );
            }
            Ok(id) => panic!("{caller} created {id} for nothing"),
        }
    }
}

/// A payment that buys fewer cycles than a creation costs is refunded
/// less the fee and 4 fees kept, as the real CMC's failed creation is.
fn should_refund_a_creation_paid_below_the_creation_fee(backend: Backend) {
    let mut env = setup(backend);
    let controller = user(2);
    // 0.1 ICP buys 350 billion cycles; a creation costs 500 billion.
    let paid = E8S_PER_ICP / 10;
    let block = env.pay(controller, controller, paid, MEMO_CREATE_CANISTER);
    let before = env.balance(controller);
    let supply = env.supply();
    let created = env.notify_create_canister(controller, block, controller);
    assert!(
        matches!(
            created,
            Err(NotifyError::Refunded {
                block_index: Some(_),
                ..
            })
        ),
        "{created:?}"
    );
    assert_eq!(env.balance(controller), before + paid - 5 * FEE);
    assert_eq!(env.supply(), supply - 5 * FEE);
    assert_eq!(env.cmc_subaccount_balance(controller), 0);
    assert_eq!(env.total_cycles_minted(), 0);
    // Dust cannot pay for anything: refused, and it stays.
    let dust = env.pay(controller, controller, FEE - 1, MEMO_CREATE_CANISTER);
    let created = env.notify_create_canister(controller, dust, controller);
    assert!(
        matches!(created, Err(NotifyError::InvalidTransaction(_))),
        "{created:?}"
    );
    assert_eq!(env.total_cycles_minted(), 0);
}

/// The ledger stops after the CMC decided to refund a failed top-up and
/// before the refund reaches it: the refund is not lost but made once the
/// ledger is back (by the timer, and by the next notify), exactly once.
fn should_make_a_refund_that_failed_once_the_ledger_is_back(backend: Backend) {
    let missing = Principal::from_slice(&[0xde, 0xad, 2, 1]);
    // Find the round at which the refund is on its way to the ledger.
    for rounds in 1..12 {
        let mut env = setup(backend);
        let block = env.pay(user(1), missing, E8S_PER_ICP, MEMO_TOP_UP);
        let before = env.balance(user(1));
        let supply = env.supply();
        let notify = submit_top_up(&mut env, user(1), block, missing);
        for _ in 0..rounds {
            env.pic.tick();
        }
        env.pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
        let answer = top_up_answer(&mut env, notify);
        env.pic.start_canister(LEDGER_CANISTER_ID, None).unwrap();
        let refund_failed = matches!(
            &answer,
            Err(NotifyError::Other { error_code, .. })
                if *error_code == notify_error_code::REFUND_FAILED
        );
        if !refund_failed {
            continue;
        }
        assert_eq!(env.balance(user(1)), before, "not refunded yet");
        // The timer makes it.
        env.pic.advance_time(std::time::Duration::from_secs(600));
        for _ in 0..10 {
            env.pic.tick();
        }
        assert_eq!(env.balance(user(1)), before + E8S_PER_ICP - 3 * FEE);
        assert_eq!(env.supply(), supply - 3 * FEE);
        assert_eq!(env.cmc_subaccount_balance(missing), 0);
        // The notify now answers the refund, and nothing moves again.
        let answer = env.notify_top_up(user(1), block, missing);
        assert!(
            matches!(
                answer,
                Err(NotifyError::Refunded {
                    block_index: Some(_),
                    ..
                })
            ),
            "{answer:?}"
        );
        env.pic.advance_time(std::time::Duration::from_secs(600));
        for _ in 0..10 {
            env.pic.tick();
        }
        assert_eq!(env.balance(user(1)), before + E8S_PER_ICP - 3 * FEE);
        return;
    }
    panic!("the ledger never stopped while the refund was on its way");
}

/// An upgrade while the CMC awaits the ledger would leave the block
/// `Processing` for ever (the reply finds no callback): it is refused, and
/// the notification completes; stopped first, the CMC upgrades.
fn should_refuse_an_upgrade_while_a_notification_is_in_flight(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let block = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let notify = submit_top_up(&mut env, user(1), block, app);
    env.pic.tick();
    let upgraded = env.pic.upgrade_canister(
        CYCLES_MINTING_CANISTER_ID,
        cmc_wasm(),
        Encode!(&None::<CyclesCanisterInitPayload>).unwrap(),
        None,
    );
    assert!(upgraded.is_err(), "upgraded with a call in flight");
    let expected = Ok(Nat::from(cycles_for_e8s(E8S_PER_ICP, RATE)));
    assert_eq!(top_up_answer(&mut env, notify), expected);
    assert_eq!(env.notify_top_up(user(1), block, app), expected);
    // Stopped, it has nothing in flight.
    let notify = submit_top_up(&mut env, user(1), block, app);
    env.pic.tick();
    env.pic
        .stop_canister(CYCLES_MINTING_CANISTER_ID, None)
        .unwrap();
    env.pic
        .upgrade_canister(
            CYCLES_MINTING_CANISTER_ID,
            cmc_wasm(),
            Encode!(&None::<CyclesCanisterInitPayload>).unwrap(),
            None,
        )
        .unwrap();
    env.pic
        .start_canister(CYCLES_MINTING_CANISTER_ID, None)
        .unwrap();
    assert_eq!(top_up_answer(&mut env, notify), expected);
}

/// Two payments wait in one subaccount; the CMC is upgraded while the
/// first one's burn is on its way. The burn is made once: the second
/// payment's ICP is still there for its own notification.
fn should_not_burn_twice_when_upgraded_during_a_burn(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app;
    let cycles_before = env.pic.cycle_balance(app);
    let first = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let second = env.pay(user(2), app, E8S_PER_ICP, MEMO_TOP_UP);
    let supply = env.supply();
    let notify = submit_top_up(&mut env, user(1), first, app);
    let mut rounds = 0;
    while env.pic.cycle_balance(app) == cycles_before {
        env.pic.tick();
        rounds += 1;
        assert!(rounds < 20, "the deposit never happened");
    }
    // The CMC takes the deposit's reply and sends the burn; while that is
    // on its way, upgrade (refused or not), then let time pass.
    env.pic.tick();
    let _ = env.pic.upgrade_canister(
        CYCLES_MINTING_CANISTER_ID,
        cmc_wasm(),
        Encode!(&None::<CyclesCanisterInitPayload>).unwrap(),
        None,
    );
    let _ = env.pic.await_call(notify);
    env.pic.advance_time(std::time::Duration::from_secs(600));
    for _ in 0..10 {
        env.pic.tick();
    }
    assert_eq!(env.cmc_subaccount_balance(app), E8S_PER_ICP, "one burn");
    let expected = cycles_for_e8s(E8S_PER_ICP, RATE);
    assert_eq!(
        env.notify_top_up(user(2), second, app),
        Ok(Nat::from(expected))
    );
    env.pic.advance_time(std::time::Duration::from_secs(600));
    for _ in 0..10 {
        env.pic.tick();
    }
    assert_eq!(env.cmc_subaccount_balance(app), 0);
    assert_eq!(env.supply(), supply - 2 * E8S_PER_ICP);
    assert_eq!(env.pic.cycle_balance(app), cycles_before + 2 * expected);
    let metrics = integration_tests::metrics(&mut env.pic, CYCLES_MINTING_CANISTER_ID);
    assert_eq!(metrics["cmc_pending_burns"], 0.0);
}

/// A rate stamped far in the future would make every later rate "older"
/// and freeze the rate: refused. So is a zero rate.
fn should_refuse_rates_far_in_the_future_and_zero_rates(backend: Backend) {
    let mut env = setup(backend);
    let now = env.pic.get_time().as_nanos_since_unix_epoch() / 1_000_000_000;
    // The installed rate is stamped a day before the clock.
    let current = now - 86_400;
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, u64::MAX, 50_000).is_err());
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, now + 2 * 86_400, 50_000).is_err());
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, current + 3_600, 50_000).unwrap();
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic).xdr_permyriad_per_icp,
        50_000
    );
    // A day ahead of the clock is the limit, however far ahead the current
    // rate is: a chain of rates cannot push it further.
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, now + 86_000, 51_000).unwrap();
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, now + 87_000, 52_000).is_err());

    // A zero rate is refused, newer and within a day as it may be.
    assert!(set_rate(&mut env, GOVERNANCE_CANISTER_ID, now + 86_100, 0).is_err());
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, now + 86_100, 1).unwrap();
}

/// An earlier release's CMC, whose stable state this module must read:
/// its module as `scripts/build-canisters.sh` built that commit, checked in
/// as `tests/fixtures/cmc-<commit>.wasm.gz`, and where its rates differ.
struct EarlierRelease {
    commit: &'static str,
    /// Each day's last rate is kept, the installed rate's day included
    /// (c8fe821); otherwise, as the real CMC, each day's first rate that
    /// governance sets, and not the installed one.
    keeps_each_days_last_rate: bool,
    /// Installed without a rate, it has none (c8fe821); otherwise the
    /// default one, as the real CMC.
    has_no_rate_when_installed_without_one: bool,
}

impl EarlierRelease {
    fn wasm(&self) -> Vec<u8> {
        let path = integration_tests::repo_root()
            .join(format!("tests/fixtures/cmc-{}.wasm.gz", self.commit));
        std::fs::read(path).expect("the fixture is checked in")
    }
}

/// The release before the CMC took the real CMC's rates and answers.
const RELEASE_C8FE821: EarlierRelease = EarlierRelease {
    commit: "c8fe821",
    keeps_each_days_last_rate: true,
    has_no_rate_when_installed_without_one: true,
};

/// The release before the cycles ledger: no subnet lists, no cycles
/// ledger's id, 30 days of rates and no maturity modulation.
const RELEASE_0D220B9: EarlierRelease = EarlierRelease {
    commit: "0d220b9",
    keeps_each_days_last_rate: false,
    has_no_rate_when_installed_without_one: false,
};

fn should_upgrade_from_release_c8fe821_keeping_every_answer(backend: Backend) {
    upgrade_keeping_every_answer(backend, &RELEASE_C8FE821);
}

fn should_upgrade_from_release_0d220b9_keeping_every_answer(backend: Backend) {
    upgrade_keeping_every_answer(backend, &RELEASE_0D220B9);
}

/// An earlier release's CMC holds every kind of answer, a burn it could
/// not make, rates whose average it computed, and, installed without a
/// rate, the rate it then has: upgraded to this module, every answer
/// stands, the burn is made, the rates and their average are served as
/// they were, and the CMC installed without a rate has the default one.
fn upgrade_keeping_every_answer(backend: Backend, release: &EarlierRelease) {
    let mut env = setup_with(backend, None);
    let old_module = release.wasm();
    env.pic
        .reinstall_canister(
            CYCLES_MINTING_CANISTER_ID,
            old_module.clone(),
            Encode!(&Some(CyclesCanisterInitPayload {
                exchange_rate: Some(IcpXdrConversionRate {
                    timestamp_seconds: now_seconds(&env) - 86_400,
                    xdr_permyriad_per_icp: RATE,
                }),
                ..Default::default()
            }))
            .unwrap(),
            None,
        )
        .unwrap();
    let app = env.app;
    let missing = Principal::from_slice(&[0xde, 0xad, 3, 1]);
    let converted = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let failed = env.pay(user(1), missing, E8S_PER_ICP, MEMO_TOP_UP);
    let meaningless = env.pay(user(1), app, E8S_PER_ICP, 42);
    let controller = user(2);
    let creation = env.pay(controller, controller, E8S_PER_ICP, MEMO_CREATE_CANISTER);
    let answers = (
        env.notify_top_up(user(1), converted, app),
        env.notify_top_up(user(1), failed, missing),
        env.notify_top_up(user(1), meaningless, app),
        env.notify_create_canister(controller, creation, controller),
    );
    assert!(answers.0.is_ok() && answers.3.is_ok(), "{answers:?}");
    assert!(matches!(answers.1, Err(NotifyError::Refunded { .. })));
    assert!(matches!(answers.2, Err(NotifyError::Refunded { .. })));
    // Keeping each day's last rate, the installed one's day included, the
    // average of yesterday and today is (35 000 + 90 000) / 2; keeping each
    // day's first rate governance sets, it is today's first, 40 000.
    let today = now_seconds(&env) / 86_400 * 86_400;
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, today + 1, 40_000).unwrap();
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, today + 2, 90_000).unwrap();
    let average = |env: &mut Env| rate_query(env, "get_average_icp_xdr_conversion_rate");
    let daily_rates: &[u64] = if release.keeps_each_days_last_rate {
        &[35_000, 90_000]
    } else {
        &[40_000]
    };
    let averaged = IcpXdrConversionRate {
        timestamp_seconds: today,
        xdr_permyriad_per_icp: daily_rates.iter().sum::<u64>() / daily_rates.len() as u64,
    };
    assert_eq!(average(&mut env), averaged);
    // A converted payment whose burn the stopped ledger refuses.
    let cycles_before = env.pic.cycle_balance(app);
    let unburned = env.pay(user(1), app, E8S_PER_ICP, MEMO_TOP_UP);
    let notify = submit_top_up(&mut env, user(1), unburned, app);
    let mut rounds = 0;
    while env.pic.cycle_balance(app) == cycles_before {
        env.pic.tick();
        rounds += 1;
        assert!(rounds < 20, "the deposit never happened");
    }
    env.pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
    let unburned_answer = top_up_answer(&mut env, notify);
    assert!(unburned_answer.is_ok(), "{unburned_answer:?}");
    env.pic.start_canister(LEDGER_CANISTER_ID, None).unwrap();
    assert_eq!(env.cmc_subaccount_balance(app), E8S_PER_ICP);
    let supply = env.supply();

    env.pic
        .stop_canister(CYCLES_MINTING_CANISTER_ID, None)
        .unwrap();
    upgrade_cmc(&mut env, None);
    env.pic
        .start_canister(CYCLES_MINTING_CANISTER_ID, None)
        .unwrap();

    assert_eq!(env.notify_top_up(user(2), converted, app), answers.0);
    assert_eq!(env.notify_top_up(user(2), failed, missing), answers.1);
    assert_eq!(env.notify_top_up(user(2), meaningless, app), answers.2);
    assert_eq!(
        env.notify_create_canister(controller, creation, controller),
        answers.3
    );
    assert_eq!(env.notify_top_up(user(2), unburned, app), unburned_answer);
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic).xdr_permyriad_per_icp,
        90_000
    );
    assert_eq!(average(&mut env), averaged);
    // The burn the previous release could not make is made once.
    env.pic.advance_time(std::time::Duration::from_secs(600));
    for _ in 0..10 {
        env.pic.tick();
    }
    assert_eq!(env.cmc_subaccount_balance(app), 0);
    assert_eq!(env.supply(), supply - E8S_PER_ICP);
    // The next day's first rate joins the days kept.
    let tomorrow = today + 86_400;
    env.pic.advance_time(std::time::Duration::from_secs(
        tomorrow + 10 - now_seconds(&env),
    ));
    set_rate(&mut env, GOVERNANCE_CANISTER_ID, tomorrow + 1, 80_000).unwrap();
    assert_eq!(
        average(&mut env),
        IcpXdrConversionRate {
            timestamp_seconds: tomorrow,
            xdr_permyriad_per_icp: (daily_rates.iter().sum::<u64>() + 80_000)
                / (daily_rates.len() as u64 + 1),
        }
    );

    // Installed by the earlier release without a rate.
    env.pic
        .reinstall_canister(
            CYCLES_MINTING_CANISTER_ID,
            old_module,
            Encode!(&None::<CyclesCanisterInitPayload>).unwrap(),
            None,
        )
        .unwrap();
    let installed_rate = query_candid::<_, (IcpXdrConversionRateResponse,)>(
        &mut env.pic,
        CYCLES_MINTING_CANISTER_ID,
        "get_icp_xdr_conversion_rate",
        (),
    );
    if release.has_no_rate_when_installed_without_one {
        assert!(installed_rate.is_err(), "{installed_rate:?}");
    } else {
        assert_eq!(
            installed_rate.unwrap().0.data,
            DEFAULT_ICP_XDR_CONVERSION_RATE
        );
    }
    upgrade_cmc(&mut env, None);
    assert_eq!(
        certified_icp_xdr_rate(&mut env.pic),
        DEFAULT_ICP_XDR_CONVERSION_RATE
    );
    assert_eq!(average(&mut env), DEFAULT_ICP_XDR_CONVERSION_RATE);
}
