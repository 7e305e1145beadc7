//! The cycles ledger at its mainnet id, on both backends: ICRC-1/2/3/103 over
//! cycles, withdrawals to canisters and creations through the CMC (each with
//! the real ledger's refund when the call fails), its ICRC-3 log checked
//! with DFINITY's schema validator and value hash, its tip certificate
//! verified, and upgrades.

use candid::CandidType;
use candid::utils::ArgumentEncoder;
use candid::{Nat, Principal};
use icrc_ledger_types::icrc::generic_value::{ICRC3Value, Value};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc3::blocks::{GetBlocksRequest, ICRC3DataCertificate};
use icrc_ledger_types::icrc103::get_allowances::{
    Allowances, GetAllowancesArgs, GetAllowancesError,
};
use icrc_ledger_types::icrc106::errors::Icrc106Error;
use integration_tests::env::{Backend, TestEnv};
use integration_tests::{
    install_cmc, install_cycles_ledger, on_both_backends, verified_certified_data, wasm_gz_path,
};
use nns_api::cycles_ledger::{
    ChangeIndexId, CmcCreateCanisterArgs, CreateCanisterArgs, CreateCanisterError,
    CreateCanisterSuccess, FEE, GetBlocksResult, LedgerArgs, RejectionCode, UpgradeArgs,
    WithdrawArgs, WithdrawError, WithdrawFromArgs, WithdrawFromError,
};
use nns_api::ids::{CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID};
use serde::de::DeserializeOwned;

on_both_backends!(
    should_move_cycles_between_accounts_as_an_icrc_ledger,
    should_serve_a_standard_icrc3_log_with_a_verified_tip,
    should_withdraw_to_a_canister_and_refund_a_failed_withdrawal,
    should_create_canisters_through_the_cmc_and_refund_a_failed_creation,
    should_keep_everything_across_an_upgrade_and_apply_its_arguments,
);

const T: u128 = 1_000_000_000_000;
const LEDGER: Principal = CYCLES_LEDGER_CANISTER_ID;

/// A query to the cycles ledger, as `caller`, with one reply value.
fn query_as<R: CandidType + DeserializeOwned>(
    env: &mut TestEnv,
    caller: Principal,
    method: &str,
    args: impl ArgumentEncoder,
) -> R {
    let (reply,): (R,) = integration_tests::env::query_candid_as(env, LEDGER, caller, method, args)
        .unwrap_or_else(|e| panic!("{method}: {e:?}"));
    reply
}

fn query<R: CandidType + DeserializeOwned>(
    env: &mut TestEnv,
    method: &str,
    args: impl ArgumentEncoder,
) -> R {
    query_as(env, Principal::anonymous(), method, args)
}

/// An update call to the cycles ledger, as `caller`, with one reply value.
fn update<R: CandidType + DeserializeOwned>(
    env: &mut TestEnv,
    caller: Principal,
    method: &str,
    args: impl ArgumentEncoder,
) -> R {
    try_update(env, caller, method, args).unwrap_or_else(|e| panic!("{method}: {e:?}"))
}

fn try_update<R: CandidType + DeserializeOwned>(
    env: &mut TestEnv,
    caller: Principal,
    method: &str,
    args: impl ArgumentEncoder,
) -> Result<R, pocket_ic::RejectResponse> {
    integration_tests::env::update_candid_as::<_, (R,)>(env, LEDGER, caller, method, args)
        .map(|(reply,)| reply)
}

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0xc1, 1])
}

fn balance(env: &mut TestEnv, account: Account) -> u128 {
    let n: Nat = query(env, "icrc1_balance_of", (account,));
    u128::try_from(n.0).unwrap()
}

fn transfer(env: &mut TestEnv, from: Principal, arg: TransferArg) -> Result<Nat, TransferError> {
    update(env, from, "icrc1_transfer", (arg,))
}

fn send(to: Principal, amount: u128) -> TransferArg {
    TransferArg {
        from_subaccount: None,
        to: Account::from(to),
        fee: None,
        created_at_time: None,
        memo: None,
        amount: Nat::from(amount),
    }
}

fn blocks(env: &mut TestEnv, start: u64, length: u64) -> GetBlocksResult {
    let ranges = vec![GetBlocksRequest {
        start: Nat::from(start),
        length: Nat::from(length),
    }];
    query(env, "icrc3_get_blocks", (ranges,))
}

/// Users 1 and 2 hold 10 T cycles each; the ledger holds the cycles behind them.
fn setup(backend: Backend) -> TestEnv {
    let mut env = TestEnv::new(backend);
    install_cycles_ledger(&mut env, [(user(1), 10 * T), (user(2), 10 * T)]);
    env
}

fn supply(env: &mut TestEnv) -> u128 {
    let n: Nat = query(env, "icrc1_total_supply", ());
    u128::try_from(n.0).unwrap()
}

fn should_move_cycles_between_accounts_as_an_icrc_ledger(backend: Backend) {
    let mut env = setup(backend);
    assert_eq!(
        env.get_subnet(LEDGER),
        env.ii_subnet(),
        "on mainnet's subnet for its id"
    );
    let fee: Nat = query(&mut env, "icrc1_fee", ());
    let decimals: u8 = query(&mut env, "icrc1_decimals", ());
    let symbol: String = query(&mut env, "icrc1_symbol", ());
    let minter: Option<Account> = query(&mut env, "icrc1_minting_account", ());
    assert_eq!(
        (fee, decimals, symbol.as_str(), minter),
        (Nat::from(FEE), 12, "TCYCLES", None)
    );

    // The anonymous principal holds and sends cycles, as on the real ledger.
    transfer(&mut env, user(1), send(Principal::anonymous(), 3 * T)).unwrap();
    transfer(&mut env, Principal::anonymous(), send(user(2), T)).unwrap();
    assert_eq!(
        balance(&mut env, Account::from(Principal::anonymous())),
        2 * T - FEE
    );
    assert_eq!(balance(&mut env, Account::from(user(1))), 7 * T - FEE);
    assert_eq!(supply(&mut env), 20 * T - 2 * FEE, "fees are burned");

    // Deduplicated by the request as given: spelling out the fee makes
    // another transfer; the same request again is a duplicate.
    let stamped = TransferArg {
        created_at_time: Some(env.get_time().as_nanos_since_unix_epoch()),
        memo: Some(Memo::from(vec![1, 2])),
        ..send(user(2), 5)
    };
    let first = transfer(&mut env, user(1), stamped.clone()).unwrap();
    assert_eq!(
        transfer(&mut env, user(1), stamped.clone()),
        Err(TransferError::Duplicate {
            duplicate_of: first.clone()
        })
    );
    let with_fee = TransferArg {
        fee: Some(Nat::from(FEE)),
        ..stamped.clone()
    };
    assert_ne!(transfer(&mut env, user(1), with_fee).unwrap(), first);

    // Bad input: a clear error or a reject, nothing moved.
    let before = balance(&mut env, Account::from(user(1)));
    assert_eq!(
        transfer(
            &mut env,
            user(1),
            TransferArg {
                fee: Some(Nat::from(1u8)),
                ..send(user(2), 1)
            }
        ),
        Err(TransferError::BadFee {
            expected_fee: Nat::from(FEE)
        })
    );
    assert_eq!(
        transfer(&mut env, user(1), send(user(2), 100 * T)),
        Err(TransferError::InsufficientFunds {
            balance: Nat::from(before)
        })
    );
    match transfer(&mut env, user(1), send(Principal::management_canister(), 1)) {
        Err(TransferError::GenericError {
            error_code,
            message,
        }) => {
            assert_eq!(error_code, Nat::from(100_001u32));
            assert!(
                message.contains("cannot be part of transactions"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let long_memo = TransferArg {
        memo: Some(Memo::from(vec![0; 33])),
        ..send(user(2), 1)
    };
    let reject =
        try_update::<Result<Nat, TransferError>>(&mut env, user(1), "icrc1_transfer", (long_memo,))
            .unwrap_err();
    assert!(
        reject.reject_message.contains("memo length exceeds"),
        "{reject:?}"
    );
    assert_eq!(balance(&mut env, Account::from(user(1))), before);

    // Approvals: listed (ICRC-103) across the owner's subaccounts, by anyone.
    let approve = |env: &mut TestEnv, sub: Option<[u8; 32]>, spender: u8, amount: u128| {
        let arg = ApproveArgs {
            from_subaccount: sub,
            spender: Account::from(user(spender)),
            amount: Nat::from(amount),
            expected_allowance: None,
            expires_at: None,
            fee: None,
            memo: None,
            created_at_time: None,
        };
        update::<Result<Nat, ApproveError>>(env, user(1), "icrc2_approve", (arg,))
    };
    approve(&mut env, None, 3, 100).unwrap();
    approve(&mut env, None, 4, 200).unwrap();
    transfer(
        &mut env,
        user(1),
        TransferArg {
            to: Account {
                owner: user(1),
                subaccount: Some([1; 32]),
            },
            ..send(user(1), T)
        },
    )
    .unwrap();
    approve(&mut env, Some([1; 32]), 3, 300).unwrap();
    let list = |env: &mut TestEnv, prev: Option<u8>, take: u64| -> Allowances {
        let args = GetAllowancesArgs {
            from_account: Some(Account::from(user(1))),
            prev_spender: prev.map(|n| Account::from(user(n))),
            take: Some(Nat::from(take)),
        };
        let reply: Result<Allowances, GetAllowancesError> =
            query_as(env, user(9), "icrc103_get_allowances", (args,));
        reply.unwrap()
    };
    let all = list(&mut env, None, 10);
    let amounts: Vec<Nat> = all.iter().map(|a| a.allowance.clone()).collect();
    assert_eq!(amounts, [100u32, 200, 300].map(Nat::from));
    assert_eq!(all[2].from_account.subaccount, Some([1; 32]));
    assert_eq!(list(&mut env, Some(3), 1).len(), 1);
    assert_eq!(list(&mut env, Some(3), 1)[0].allowance, Nat::from(200u32));
    let index: Result<Principal, Icrc106Error> = query(&mut env, "icrc106_get_index_principal", ());
    assert_eq!(index, Err(Icrc106Error::IndexPrincipalNotSet));
}

/// DFINITY's ICRC-3 block schema and value hash (icrc-ledger-types) accept
/// every block, each names its parent's hash, and the tip certificate
/// verifies and names the last block.
fn should_serve_a_standard_icrc3_log_with_a_verified_tip(backend: Backend) {
    let mut env = setup(backend);
    transfer(&mut env, user(1), send(user(2), T)).unwrap();
    let arg = ApproveArgs {
        from_subaccount: None,
        spender: Account::from(user(3)),
        amount: Nat::from(5 * T),
        expected_allowance: Some(Nat::from(0u8)),
        expires_at: Some(u64::MAX),
        fee: Some(Nat::from(FEE)),
        memo: Some(Memo::from(vec![7])),
        created_at_time: None,
    };
    update::<Result<Nat, ApproveError>>(&mut env, user(1), "icrc2_approve", (arg,)).unwrap();
    let withdraw = WithdrawArgs {
        amount: Nat::from(T),
        from_subaccount: None,
        to: LEDGER,
        created_at_time: None,
    };
    update::<Result<Nat, WithdrawError>>(&mut env, user(2), "withdraw", (withdraw,)).unwrap();

    let log = blocks(&mut env, 0, 100);
    assert_eq!(log.log_length, Nat::from(5u8));
    let mut parent: Option<[u8; 32]> = None;
    let mut ops = vec![];
    for (i, block) in log.blocks.iter().enumerate() {
        assert_eq!(block.id, Nat::from(i));
        let value = ICRC3Value::from(block.block.clone());
        icrc_ledger_types::icrc3::schema::validate(&Value::from(value.clone()))
            .unwrap_or_else(|e| panic!("block {i} breaks the ICRC-3 schema: {e:?}"));
        let ICRC3Value::Map(map) = &value else {
            panic!("block {i} is a map")
        };
        match (map.get("phash"), parent) {
            (None, None) => {}
            (Some(ICRC3Value::Blob(p)), Some(h)) => assert_eq!(p.as_slice(), h, "block {i}"),
            other => panic!("block {i}: phash {other:?}"),
        }
        let ICRC3Value::Map(tx) = &map["tx"] else {
            panic!()
        };
        let ICRC3Value::Text(op) = &tx["op"] else {
            panic!()
        };
        ops.push(op.clone());
        parent = Some(value.hash());
    }
    assert_eq!(ops, ["mint", "mint", "xfer", "approve", "burn"]);

    let cert: Option<ICRC3DataCertificate> = query(&mut env, "icrc3_get_tip_certificate", ());
    let cert = cert.expect("a query has a certificate");
    let tree: ic_certification::HashTree = serde_cbor::from_slice(&cert.hash_tree).unwrap();
    let certified = verified_certified_data(&env, LEDGER, &cert.certificate).unwrap();
    assert_eq!(certified, tree.digest());
    assert_eq!(
        tree.lookup_path([b"last_block_hash"]),
        ic_certification::LookupResult::Found(&parent.unwrap()[..])
    );
    assert_eq!(
        tree.lookup_path([b"last_block_index"]),
        ic_certification::LookupResult::Found(&[4u8][..])
    );
    // Ranges are served in order, capped over all of them.
    let ranges = vec![
        GetBlocksRequest {
            start: Nat::from(3u8),
            length: Nat::from(10u8),
        },
        GetBlocksRequest {
            start: Nat::from(99u8),
            length: Nat::from(1u8),
        },
        GetBlocksRequest {
            start: Nat::from(0u8),
            length: Nat::from(1u8),
        },
    ];
    let served: GetBlocksResult = query(&mut env, "icrc3_get_blocks", (ranges,));
    let ids: Vec<Nat> = served.blocks.iter().map(|b| b.id.clone()).collect();
    assert_eq!(ids, [3u8, 4, 0].map(Nat::from));
}

fn withdraw(
    env: &mut TestEnv,
    from: Principal,
    to: Principal,
    amount: u128,
) -> Result<Nat, WithdrawError> {
    let args = WithdrawArgs {
        amount: Nat::from(amount),
        from_subaccount: None,
        to,
        created_at_time: None,
    };
    update::<Result<Nat, WithdrawError>>(env, from, "withdraw", (args,))
}

fn should_withdraw_to_a_canister_and_refund_a_failed_withdrawal(backend: Backend) {
    let mut env = setup(backend);
    let target = env.create_canister();
    let (target_before, ledger_before) = (env.cycle_balance(target), env.cycle_balance(LEDGER));
    let block = withdraw(&mut env, user(1), target, 2 * T).unwrap();
    assert_eq!(
        env.cycle_balance(target),
        target_before + 2 * T,
        "the cycles arrive"
    );
    assert!(
        env.cycle_balance(LEDGER) <= ledger_before - 2 * T,
        "and leave the ledger"
    );
    assert_eq!(balance(&mut env, Account::from(user(1))), 8 * T - FEE);
    assert_eq!(supply(&mut env), 18 * T - FEE);

    // A canister that does not exist: the burn is refunded less a fee.
    let missing = Principal::from_slice(&[0, 0, 0, 0, 0, 0x10, 0xff, 0xff, 1, 1]);
    match withdraw(&mut env, user(1), missing, T) {
        Err(WithdrawError::FailedToWithdraw {
            fee_block,
            rejection_code,
            ..
        }) => {
            assert_eq!(fee_block, Some(block.clone() + 2u8), "the refund's block");
            assert_eq!(rejection_code, RejectionCode::DestinationInvalid);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(balance(&mut env, Account::from(user(1))), 8 * T - 3 * FEE);
    let self_authenticating = Principal::self_authenticating([7; 32]);
    assert_eq!(
        withdraw(&mut env, user(1), self_authenticating, T),
        Err(WithdrawError::InvalidReceiver {
            receiver: self_authenticating
        })
    );
    match withdraw(&mut env, user(1), target, 0) {
        Err(WithdrawError::GenericError { error_code, .. }) => {
            assert_eq!(error_code, Nat::from(100_002u32))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        withdraw(&mut env, user(1), target, 100 * T),
        Err(WithdrawError::InsufficientFunds {
            balance: Nat::from(8 * T - 3 * FEE)
        })
    );

    // A spender's failed withdrawal gives the allowance back, less two fees.
    let approve = ApproveArgs {
        from_subaccount: None,
        spender: Account::from(user(3)),
        amount: Nat::from(5 * T),
        expected_allowance: None,
        expires_at: None,
        fee: None,
        memo: None,
        created_at_time: None,
    };
    update::<Result<Nat, ApproveError>>(&mut env, user(2), "icrc2_approve", (approve,)).unwrap();
    let args = WithdrawFromArgs {
        spender_subaccount: None,
        from: Account::from(user(2)),
        to: missing,
        amount: Nat::from(2 * T),
        created_at_time: None,
    };
    let reply: Result<Nat, WithdrawFromError> =
        update::<_>(&mut env, user(3), "withdraw_from", (args,));
    match reply {
        Err(WithdrawFromError::FailedToWithdrawFrom {
            refund_block,
            approval_refund_block,
            ..
        }) => {
            assert!(refund_block.is_some() && approval_refund_block.is_some());
        }
        other => panic!("{other:?}"),
    }
    let allowance: icrc_ledger_types::icrc2::allowance::Allowance = query(
        &mut env,
        "icrc2_allowance",
        (icrc_ledger_types::icrc2::allowance::AllowanceArgs {
            account: Account::from(user(2)),
            spender: Account::from(user(3)),
        },),
    );
    assert_eq!(allowance.allowance, Nat::from(5 * T - 3 * FEE));
    assert_eq!(balance(&mut env, Account::from(user(2))), 10 * T - 4 * FEE);
}

fn create(
    env: &mut TestEnv,
    from: Principal,
    args: CreateCanisterArgs,
) -> Result<CreateCanisterSuccess, CreateCanisterError> {
    update::<Result<CreateCanisterSuccess, CreateCanisterError>>(
        env,
        from,
        "create_canister",
        (args,),
    )
}

fn should_create_canisters_through_the_cmc_and_refund_a_failed_creation(backend: Backend) {
    let mut env = setup(backend);
    install_cmc(&mut env, 35_000, None);
    let args = CreateCanisterArgs {
        from_subaccount: None,
        created_at_time: Some(env.get_time().as_nanos_since_unix_epoch()),
        amount: Nat::from(2 * T),
        creation_args: Some(CmcCreateCanisterArgs::default()),
    };
    let created = create(&mut env, user(1), args.clone()).unwrap();
    assert!(env.canister_exists(created.canister_id));
    assert_eq!(env.get_controllers(created.canister_id), vec![user(1)]);
    assert_ne!(
        env.get_subnet(created.canister_id),
        env.nns_subnet(),
        "never on the NNS subnet"
    );
    assert_eq!(balance(&mut env, Account::from(user(1))), 8 * T - FEE);
    // The same request again names the canister it made.
    assert_eq!(
        create(&mut env, user(1), args),
        Err(CreateCanisterError::Duplicate {
            duplicate_of: created.block_id.clone(),
            canister_id: Some(created.canister_id),
        })
    );

    // With the CMC stopped, the burn is refunded less a fee.
    env.stop_canister(CYCLES_MINTING_CANISTER_ID, None).unwrap();
    let args = CreateCanisterArgs {
        from_subaccount: None,
        created_at_time: None,
        amount: Nat::from(T),
        creation_args: None,
    };
    match create(&mut env, user(1), args) {
        Err(CreateCanisterError::FailedToCreate {
            fee_block,
            refund_block,
            ..
        }) => {
            let burn = created.block_id.clone() + 1u8;
            assert_eq!(fee_block, Some(burn.clone()), "the burn's block");
            assert_eq!(refund_block, Some(burn + 1u8));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(balance(&mut env, Account::from(user(1))), 8 * T - 3 * FEE);
}

fn should_keep_everything_across_an_upgrade_and_apply_its_arguments(backend: Backend) {
    let mut env = setup(backend);
    for n in 0..5u128 {
        transfer(&mut env, user(1), send(user(3), n + 1)).unwrap();
    }
    let before = (
        blocks(&mut env, 0, 100).blocks.len(),
        balance(&mut env, Account::from(user(3))),
    );
    let index = Principal::from_slice(&[0, 0, 0, 0, 2, 0x10, 0, 3, 1, 1]);
    let upgrade = LedgerArgs::Upgrade(Some(UpgradeArgs {
        max_blocks_per_request: Some(2),
        change_index_id: Some(ChangeIndexId::SetTo(index)),
    }));
    let wasm = std::fs::read(wasm_gz_path("cycles-ledger")).unwrap();
    env.upgrade_canister(
        LEDGER,
        wasm.clone(),
        candid::encode_one(Some(upgrade)).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(blocks(&mut env, 0, 100).blocks.len(), 2, "the new cap");
    assert_eq!(blocks(&mut env, 0, 100).log_length, Nat::from(before.0));
    assert_eq!(balance(&mut env, Account::from(user(3))), before.1);
    let got: Result<Principal, Icrc106Error> = query(&mut env, "icrc106_get_index_principal", ());
    assert_eq!(got, Ok(index));
    transfer(&mut env, user(1), send(user(3), 1)).unwrap();
    // An Init argument on upgrade is refused and changes nothing.
    let init = LedgerArgs::Init(nns_api::cycles_ledger::InitArgs {
        max_blocks_per_request: 7,
        index_id: None,
        initial_balances: None,
    });
    let refused = env.upgrade_canister(LEDGER, wasm, candid::encode_one(Some(init)).unwrap(), None);
    assert!(
        format!("{refused:?}").contains("Please provide an Upgrade argument"),
        "{refused:?}"
    );
    assert_eq!(balance(&mut env, Account::from(user(3))), before.1 + 1);
}
