//! The CMC with the cycles ledger, on both backends: ICP paid with the memo
//! MINT becomes cycles on the cycles ledger (`notify_mint_cycles`), with
//! the real CMC's refunds; canisters created through the cycles ledger and
//! the CMC land on the subnets the CMC's lists allow (never the NNS
//! subnet), and only governance changes those lists.

use candid::{CandidType, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use integration_tests::env::{Backend, TestEnv, query_candid, update_candid_as};
use integration_tests::{install_cmc, install_cycles_ledger, install_ledger, on_both_backends};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    ChangeSubnetTypeAssignmentArgs, MEMO_MINT_CYCLES, MEMO_TOP_UP, NotifyError,
    NotifyMintCyclesArg, NotifyMintCyclesResult, NotifyMintCyclesSuccess,
    SetAuthorizedSubnetworkListArgs, SubnetFilter, SubnetListWithType, SubnetSelection,
    SubnetTypesToSubnetsResponse, UpdateSubnetTypeArgs, cycles_for_e8s, notify_error_code,
};
use nns_api::cycles_ledger::{
    CmcCreateCanisterArgs, CreateCanisterArgs, CreateCanisterError, CreateCanisterSuccess, FEE,
};
use nns_api::ids::{
    CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
    LEDGER_CANISTER_ID,
};
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

on_both_backends!(
    should_mint_cycles_on_the_cycles_ledger_for_the_payer,
    should_refund_a_mint_the_cycles_ledger_refuses,
    should_refuse_mints_that_this_payment_is_not_for,
    should_refund_a_mint_with_a_memo_of_no_operation_or_past_the_hourly_limit,
    should_create_canisters_only_where_the_subnet_lists_allow,
    should_let_only_governance_change_the_subnet_lists,
);

const ICP_FEE: u64 = 10_000;
const E8S: u64 = 100_000_000;
const RATE: u64 = 35_000;
const T: u128 = 1_000_000_000_000;

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0xcc, 1])
}

fn setup(backend: Backend) -> TestEnv {
    setup_at_rate(backend, RATE)
}

fn setup_at_rate(backend: Backend, rate: u64) -> TestEnv {
    let mut env = TestEnv::new(backend);
    install_ledger(&mut env, (1..=3).map(|n| (user(n), 100 * E8S)));
    install_cmc(&mut env, rate, None);
    install_cycles_ledger(&mut env, [(user(3), 10 * T)]);
    env
}

fn update<R: CandidType + DeserializeOwned>(
    env: &mut TestEnv,
    canister: Principal,
    caller: Principal,
    method: &str,
    arg: impl CandidType,
) -> R {
    let (reply,): (R,) = update_candid_as(env, canister, caller, method, (arg,))
        .unwrap_or_else(|e| panic!("{method}: {e:?}"));
    reply
}

fn query<R: CandidType + DeserializeOwned>(
    env: &mut TestEnv,
    canister: Principal,
    method: &str,
) -> R {
    let (reply,): (R,) = query_candid(env, canister, method, ()).unwrap();
    reply
}

/// ICP from `from` to the CMC's subaccount for `beneficiary`.
fn pay(env: &mut TestEnv, from: Principal, beneficiary: Principal, e8s: u64, memo: u64) -> u64 {
    env.advance_time(std::time::Duration::from_nanos(1));
    let args = TransferArgs {
        memo: Memo(memo),
        amount: Tokens::from_e8s(e8s),
        fee: Tokens::from_e8s(ICP_FEE),
        from_subaccount: None,
        to: AccountIdentifier::new(
            &CYCLES_MINTING_CANISTER_ID,
            Some(&principal_to_subaccount(&beneficiary)),
        ),
        created_at_time: None,
    };
    let reply: Result<u64, TransferError> = update(env, LEDGER_CANISTER_ID, from, "transfer", args);
    reply.unwrap()
}

fn notify(
    env: &mut TestEnv,
    caller: Principal,
    arg: NotifyMintCyclesArg,
) -> NotifyMintCyclesResult {
    update(
        env,
        CYCLES_MINTING_CANISTER_ID,
        caller,
        "notify_mint_cycles",
        arg,
    )
}

fn mint_arg(block_index: u64) -> NotifyMintCyclesArg {
    NotifyMintCyclesArg {
        block_index,
        to_subaccount: None,
        deposit_memo: None,
    }
}

fn icp_balance(env: &mut TestEnv, owner: Principal) -> u64 {
    let n: Nat = update(
        env,
        LEDGER_CANISTER_ID,
        owner,
        "icrc1_balance_of",
        Account::from(owner),
    );
    u64::try_from(n.0).unwrap()
}

fn cycles_balance(env: &mut TestEnv, account: Account) -> u128 {
    let (n,): (Nat,) = query_candid(
        env,
        CYCLES_LEDGER_CANISTER_ID,
        "icrc1_balance_of",
        (account,),
    )
    .unwrap();
    u128::try_from(n.0).unwrap()
}

fn should_mint_cycles_on_the_cycles_ledger_for_the_payer(backend: Backend) {
    let mut env = setup(backend);
    let ledger_cycles_before = env.cycle_balance(CYCLES_LEDGER_CANISTER_ID);
    let block = pay(&mut env, user(1), user(1), E8S, MEMO_MINT_CYCLES);
    let arg = NotifyMintCyclesArg {
        deposit_memo: Some(ByteBuf::from(b"mint".to_vec())),
        ..mint_arg(block)
    };
    let minted = cycles_for_e8s(E8S, RATE);
    let success = notify(&mut env, user(1), arg.clone()).unwrap();
    assert_eq!(
        success.minted,
        Nat::from(minted),
        "the whole payment converted"
    );
    assert_eq!(
        success.balance,
        Nat::from(minted - FEE),
        "the cycles ledger kept its fee"
    );
    assert_eq!(
        cycles_balance(&mut env, Account::from(user(1))),
        minted - FEE
    );
    assert!(
        env.cycle_balance(CYCLES_LEDGER_CANISTER_ID) >= ledger_cycles_before + minted,
        "the cycles ledger holds the cycles behind the deposit"
    );
    // Again: the same answer, nothing minted twice.
    assert_eq!(notify(&mut env, user(1), arg), Ok(success.clone()));
    assert_eq!(
        cycles_balance(&mut env, Account::from(user(1))),
        minted - FEE
    );
    // Someone else notifying the block: it pays into user(1)'s subaccount,
    // not theirs.
    assert!(matches!(
        notify(&mut env, user(2), mint_arg(block)),
        Err(NotifyError::InvalidTransaction(_))
    ));
    // To a subaccount of the caller.
    let block = pay(&mut env, user(2), user(2), 2 * E8S, MEMO_MINT_CYCLES);
    let arg = NotifyMintCyclesArg {
        to_subaccount: Some(ByteBuf::from(vec![5; 32])),
        ..mint_arg(block)
    };
    notify(&mut env, user(2), arg).unwrap();
    let sub = Account {
        owner: user(2),
        subaccount: Some([5; 32]),
    };
    assert_eq!(
        cycles_balance(&mut env, sub),
        cycles_for_e8s(2 * E8S, RATE) - FEE
    );
    assert_eq!(
        icp_balance(&mut env, user(2)),
        100 * E8S - 2 * E8S - ICP_FEE
    );
}

fn should_refund_a_mint_the_cycles_ledger_refuses(backend: Backend) {
    // At 0.01 XDR per ICP, a small payment buys fewer cycles than the
    // cycles ledger's fee: the deposit is refused and the ICP comes back
    // less the transfer fee and two more.
    let rate = 100;
    let mut env = setup_at_rate(backend, rate);
    let tiny = 100;
    let paid = ICP_FEE * 3 + tiny;
    let block = pay(&mut env, user(1), user(1), paid, MEMO_MINT_CYCLES);
    assert!(cycles_for_e8s(paid, rate) < FEE);
    let before = icp_balance(&mut env, user(1));
    match notify(&mut env, user(1), mint_arg(block)) {
        Err(NotifyError::Refunded {
            reason,
            block_index,
        }) => {
            assert!(
                reason.contains("Cycles ledger rejected deposit call"),
                "{reason}"
            );
            assert!(block_index.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(icp_balance(&mut env, user(1)), before + tiny);
    // A stopped cycles ledger: the same, and the answer is kept.
    env.stop_canister(CYCLES_LEDGER_CANISTER_ID, None).unwrap();
    let block = pay(&mut env, user(1), user(1), E8S, MEMO_MINT_CYCLES);
    let before = icp_balance(&mut env, user(1));
    let refused = notify(&mut env, user(1), mint_arg(block));
    assert!(
        matches!(refused, Err(NotifyError::Refunded { .. })),
        "{refused:?}"
    );
    assert_eq!(icp_balance(&mut env, user(1)), before + E8S - 3 * ICP_FEE);
    env.start_canister(CYCLES_LEDGER_CANISTER_ID, None).unwrap();
    assert_eq!(notify(&mut env, user(1), mint_arg(block)), refused, "final");
    assert_eq!(cycles_balance(&mut env, Account::from(user(1))), 0);
}

fn should_refuse_mints_that_this_payment_is_not_for(backend: Backend) {
    let mut env = setup(backend);
    // Paid for a top-up: not a mint, and the block stays usable for its own
    // request.
    let block = pay(&mut env, user(1), user(1), E8S, MEMO_TOP_UP);
    match notify(&mut env, user(1), mint_arg(block)) {
        Err(NotifyError::InvalidTransaction(e)) => assert!(e.contains("MintCycles"), "{e}"),
        other => panic!("{other:?}"),
    }
    // A deposit memo over 32 bytes is refused before anything happens.
    let block = pay(&mut env, user(1), user(1), E8S, MEMO_MINT_CYCLES);
    let long = NotifyMintCyclesArg {
        deposit_memo: Some(ByteBuf::from(vec![0; 33])),
        ..mint_arg(block)
    };
    match notify(&mut env, user(1), long) {
        Err(NotifyError::Other { error_code, .. }) => {
            assert_eq!(error_code, notify_error_code::DEPOSIT_MEMO_TOO_LONG)
        }
        other => panic!("{other:?}"),
    }
    // The block is still good for a proper request.
    let success: NotifyMintCyclesSuccess = notify(&mut env, user(1), mint_arg(block)).unwrap();
    assert_eq!(success.minted, Nat::from(cycles_for_e8s(E8S, RATE)));
}

fn create(
    env: &mut TestEnv,
    caller: Principal,
    amount: u128,
    subnet_selection: Option<SubnetSelection>,
) -> Result<CreateCanisterSuccess, CreateCanisterError> {
    let args = CreateCanisterArgs {
        from_subaccount: None,
        created_at_time: None,
        amount: Nat::from(amount),
        creation_args: Some(CmcCreateCanisterArgs {
            settings: None,
            subnet_selection,
        }),
    };
    update(
        env,
        CYCLES_LEDGER_CANISTER_ID,
        caller,
        "create_canister",
        args,
    )
}

fn set_list(
    env: &mut TestEnv,
    caller: Principal,
    who: Option<Principal>,
    subnets: Vec<Principal>,
) -> Result<(), String> {
    let args = SetAuthorizedSubnetworkListArgs { who, subnets };
    let bytes = candid::encode_one(args).unwrap();
    env.update_call(
        CYCLES_MINTING_CANISTER_ID,
        caller,
        "set_authorized_subnetwork_list",
        bytes,
    )
    .map(|_| ())
    .map_err(|e| e.reject_message)
}

fn should_create_canisters_only_where_the_subnet_lists_allow(backend: Backend) {
    let mut env = setup(backend);
    let app_subnets = env.app_subnets();
    let defaults: Vec<Principal> =
        query(&mut env, CYCLES_MINTING_CANISTER_ID, "get_default_subnets");
    assert_eq!(defaults, app_subnets);
    let created = create(&mut env, user(3), T, None).unwrap();
    let subnet = env.get_subnet(created.canister_id);
    assert!(
        subnet.is_some_and(|s| app_subnets.contains(&s)),
        "{subnet:?}"
    );
    assert_eq!(env.get_controllers(created.canister_id), vec![user(3)]);
    // It pays for its work, as canisters on application subnets do.
    env.charge_application_canisters();
    let wasm = std::fs::read(integration_tests::wasm_gz_path(integration_tests::APP)).unwrap();
    env.install_canister(
        created.canister_id,
        wasm,
        candid::encode_args(()).unwrap(),
        Some(user(3)),
    );
    let before_work = env.cycle_balance(created.canister_id);
    let (_receipt,): (candid::Reserved,) =
        update_candid_as(&mut env, created.canister_id, user(3), "work", (500u32,)).unwrap();
    assert!(
        env.cycle_balance(created.canister_id) < before_work,
        "charged for its work"
    );
    // The NNS subnet is neither a default nor authorized.
    let nns = env.nns_subnet().unwrap();
    let before = cycles_balance(&mut env, Account::from(user(3)));
    match create(
        &mut env,
        user(3),
        T,
        Some(SubnetSelection::Subnet { subnet: nns }),
    ) {
        Err(CreateCanisterError::FailedToCreate {
            error,
            refund_block,
            ..
        }) => {
            assert!(
                error.contains("is not authorized to deploy to that subnet"),
                "{error}"
            );
            assert!(refund_block.is_some());
        }
        other => panic!("{other:?}"),
    }
    // The CMC kept 100 M cycles, the cycles ledger two fees.
    assert_eq!(
        cycles_balance(&mut env, Account::from(user(3))),
        before - 100_000_000 - 2 * FEE
    );
    // Fewer than 100 B cycles: refused, all of them back with the reply.
    let before = cycles_balance(&mut env, Account::from(user(3)));
    match create(&mut env, user(3), 50_000_000_000, None) {
        Err(CreateCanisterError::FailedToCreate { error, .. }) => {
            assert_eq!(error, "Insufficient cycles attached.")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cycles_balance(&mut env, Account::from(user(3))),
        before - 2 * FEE
    );
    // An unknown type.
    let filter = SubnetSelection::Filter(SubnetFilter {
        subnet_type: Some("gpu".into()),
    });
    match create(&mut env, user(3), T, Some(filter)) {
        Err(CreateCanisterError::FailedToCreate { error, .. }) => {
            assert!(
                error.contains("Provided subnet type gpu does not exist"),
                "{error}"
            )
        }
        other => panic!("{other:?}"),
    }
}

fn should_let_only_governance_change_the_subnet_lists(backend: Backend) {
    let mut env = setup(backend);
    let app = env.app_subnets()[0];
    let refused = set_list(&mut env, user(1), None, vec![]).unwrap_err();
    assert!(
        refused.contains("Only the governance canister"),
        "{refused}"
    );
    // The cycles ledger may create only on a subnet of its own list: one
    // that does not exist, so creation fails and is refunded.
    let nowhere = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x77, 1]);
    set_list(
        &mut env,
        GOVERNANCE_CANISTER_ID,
        Some(CYCLES_LEDGER_CANISTER_ID),
        vec![nowhere],
    )
    .unwrap();
    match create(&mut env, user(3), T, None) {
        Err(CreateCanisterError::FailedToCreate { error, .. }) => {
            assert!(error.contains("Creating canister in subnet"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    set_list(
        &mut env,
        GOVERNANCE_CANISTER_ID,
        Some(CYCLES_LEDGER_CANISTER_ID),
        vec![],
    )
    .unwrap();
    assert!(
        create(&mut env, user(3), T, None).is_ok(),
        "back to the defaults"
    );

    // Types: governance only; a default subnet cannot be typed.
    let type_call = |env: &mut TestEnv, caller, args: UpdateSubnetTypeArgs| {
        env.update_call(
            CYCLES_MINTING_CANISTER_ID,
            caller,
            "update_subnet_type",
            candid::encode_one(args).unwrap(),
        )
    };
    assert!(type_call(&mut env, user(1), UpdateSubnetTypeArgs::Add("x".into())).is_err());
    type_call(
        &mut env,
        GOVERNANCE_CANISTER_ID,
        UpdateSubnetTypeArgs::Add("fiduciary".into()),
    )
    .unwrap();
    let duplicate = type_call(
        &mut env,
        GOVERNANCE_CANISTER_ID,
        UpdateSubnetTypeArgs::Add("fiduciary".into()),
    )
    .unwrap_err();
    assert!(
        duplicate
            .reject_message
            .contains("Cannot add duplicate subnet type fiduciary.")
    );
    let assign = ChangeSubnetTypeAssignmentArgs::Add(SubnetListWithType {
        subnets: vec![app],
        subnet_type: "fiduciary".into(),
    });
    let refused = env
        .update_call(
            CYCLES_MINTING_CANISTER_ID,
            GOVERNANCE_CANISTER_ID,
            "change_subnet_type_assignment",
            candid::encode_one(assign).unwrap(),
        )
        .unwrap_err();
    assert!(
        refused
            .reject_message
            .contains("authorized for public access"),
        "{refused:?}"
    );
    let types: SubnetTypesToSubnetsResponse = query(
        &mut env,
        CYCLES_MINTING_CANISTER_ID,
        "get_subnet_types_to_subnets",
    );
    assert_eq!(types.data, vec![("fiduciary".to_string(), vec![])]);
    let modulation: Result<i32, String> = query(
        &mut env,
        CYCLES_MINTING_CANISTER_ID,
        "neuron_maturity_modulation",
    );
    assert_eq!(modulation, Ok(0), "no rate history yet");
}

fn should_refund_a_mint_with_a_memo_of_no_operation_or_past_the_hourly_limit(backend: Backend) {
    let mut env = TestEnv::new(backend);
    install_ledger(&mut env, (1..=3).map(|n| (user(n), 100 * E8S)));
    // Room for about one ICP's worth of cycles an hour.
    install_cmc(&mut env, RATE, Some(cycles_for_e8s(E8S, RATE) + 1));
    install_cycles_ledger(&mut env, []);
    // A memo that names no operation: refunded less the transfer fee.
    let block = pay(&mut env, user(1), user(1), E8S, 12_345);
    let before = icp_balance(&mut env, user(1));
    match notify(&mut env, user(1), mint_arg(block)) {
        Err(NotifyError::Refunded { reason, .. }) => {
            assert!(
                reason.contains("does not correspond to any of the operations"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(icp_balance(&mut env, user(1)), before + E8S - ICP_FEE);
    // Within the hour's limit, then past it: refunded less 3 fees, with the
    // real CMC's reason, and nothing minted.
    let first = pay(&mut env, user(1), user(1), E8S, MEMO_MINT_CYCLES);
    notify(&mut env, user(1), mint_arg(first)).unwrap();
    let second = pay(&mut env, user(1), user(1), E8S, MEMO_MINT_CYCLES);
    let before = icp_balance(&mut env, user(1));
    match notify(&mut env, user(1), mint_arg(second)) {
        Err(NotifyError::Refunded { reason, .. }) => {
            assert!(reason.contains("please try again later"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(icp_balance(&mut env, user(1)), before + E8S - 3 * ICP_FEE);
    assert_eq!(
        cycles_balance(&mut env, Account::from(user(1))),
        cycles_for_e8s(E8S, RATE) - FEE
    );
}
