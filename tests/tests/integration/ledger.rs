//! The ledger canister's endpoints on both backends: legacy ICP,
//! ICRC-1/2/3, errors, and upgrades.

use candid::{Encode, Nat, Principal};
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::allowance::{Allowance, AllowanceArgs};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use icrc_ledger_types::icrc3::blocks::{GetBlocksRequest, GetBlocksResult, ICRC3DataCertificate};
use integration_tests::env::{
    Backend, ErrorCode, TestEnv, query_candid, query_candid_as, update_candid_as,
};
use integration_tests::{
    install_ledger, install_ledger_module, on_both_backends, verified_certified_data, wasm_gz_path,
};
use nns_api::AccountIdentifier;
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::ids::{GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{
    AccountBalanceArgs, AccountBalanceArgsDfx, AllowanceEntry, BalanceQueryArgs, CandidOperation,
    GetAllowancesArgs, GetBlocksArgs, LedgerArg, Memo as IcpMemo, QueryBlocksResponse,
    RemoveApprovalArgs, SendArgs, TimeStamp, TipOfChainRes, Tokens, TransferArgs,
    TransferBatchError, TransferBatchResult, TransferError as IcpTransferError, UpgradeArgs,
};
use serde_bytes::ByteBuf;

on_both_backends!(
    should_mint_initial_balances_into_blocks,
    should_transfer_with_the_legacy_interface,
    should_transfer_mint_and_burn_with_icrc1,
    should_refuse_bad_input_and_change_nothing,
    should_approve_and_transfer_from,
    should_serve_a_hash_chained_icrc3_log,
    should_keep_every_balance_and_the_tip_across_an_upgrade,
    should_answer_queries_as_any_caller,
    should_process_icrc4_batches_item_by_item,
    should_serve_metrics_over_http,
    should_certify_the_tip_so_that_clients_can_verify_it,
    should_deduplicate_a_retried_transfer_by_its_meaning,
    should_stamp_and_deduplicate_a_legacy_transfer_without_created_at_time,
    should_record_the_spender_of_an_owners_transfer_from,
    should_accept_zero_amounts_and_charge_the_fee,
    should_refuse_burns_as_the_real_ledger_does,
    should_reject_self_approvals_and_delegated_mints,
    should_let_the_anonymous_principal_hold_send_and_approve,
    should_serve_query_blocks_as_the_real_ledger,
    should_answer_dfx_with_text_account_identifiers,
    should_list_and_remove_approvals_by_account_identifier,
    should_trap_on_icrc2_methods_while_icrc2_is_off,
    should_refuse_an_upgrade_naming_another_minting_account,
);

const FEE: u64 = 10_000;
const E8S_PER_ICP: u64 = 100_000_000;

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0xab, 1])
}

fn wasm() -> Vec<u8> {
    std::fs::read(wasm_gz_path("ledger")).expect("scripts/build-canisters.sh has run")
}

/// A ledger at its well-known id where users 1 and 2 hold 100 ICP each.
fn setup(backend: Backend) -> TestEnv {
    let mut pic = TestEnv::new(backend);
    install_ledger(
        &mut pic,
        [(user(1), 100 * E8S_PER_ICP), (user(2), 100 * E8S_PER_ICP)],
    );
    pic
}

fn balance(pic: &mut TestEnv, owner: Principal) -> u64 {
    let (n,): (Nat,) = query_candid(
        pic,
        LEDGER_CANISTER_ID,
        "icrc1_balance_of",
        (Account::from(owner),),
    )
    .unwrap();
    u64::try_from(n.0).unwrap()
}

fn total_supply(pic: &mut TestEnv) -> u64 {
    let (n,): (Nat,) = query_candid(pic, LEDGER_CANISTER_ID, "icrc1_total_supply", ()).unwrap();
    u64::try_from(n.0).unwrap()
}

fn icrc1_transfer(
    pic: &mut TestEnv,
    from: Principal,
    arg: TransferArg,
) -> Result<Nat, TransferError> {
    let (result,): (Result<Nat, TransferError>,) =
        update_candid_as(pic, LEDGER_CANISTER_ID, from, "icrc1_transfer", (arg,)).unwrap();
    result
}

fn transfer_arg(to: Principal, amount: u64) -> TransferArg {
    TransferArg {
        from_subaccount: None,
        to: Account::from(to),
        amount: Nat::from(amount),
        fee: None,
        memo: None,
        created_at_time: None,
    }
}

fn legacy_transfer(
    pic: &mut TestEnv,
    from: Principal,
    args: TransferArgs,
) -> Result<u64, IcpTransferError> {
    let (result,): (Result<u64, IcpTransferError>,) =
        update_candid_as(pic, LEDGER_CANISTER_ID, from, "transfer", (args,)).unwrap();
    result
}

/// An approval of `amount` e8s to `spender`'s default account.
fn approve_args(spender: Principal, amount: u64) -> ApproveArgs {
    ApproveArgs {
        from_subaccount: None,
        spender: Account::from(spender),
        amount: Nat::from(amount),
        expected_allowance: None,
        expires_at: None,
        fee: None,
        memo: None,
        created_at_time: None,
    }
}

fn legacy_args(to: Principal, e8s: u64) -> TransferArgs {
    TransferArgs {
        memo: IcpMemo(42),
        amount: Tokens::from_e8s(e8s),
        fee: Tokens::from_e8s(FEE),
        from_subaccount: None,
        to: AccountIdentifier::new(&to, None),
        created_at_time: None,
    }
}

fn should_mint_initial_balances_into_blocks(backend: Backend) {
    let mut pic = setup(backend);
    assert_eq!(balance(&mut pic, user(1)), 100 * E8S_PER_ICP);
    assert_eq!(total_supply(&mut pic), 200 * E8S_PER_ICP);
    let (blocks,): (QueryBlocksResponse,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "query_blocks",
        (GetBlocksArgs {
            start: 0,
            length: 10,
        },),
    )
    .unwrap();
    assert_eq!(blocks.chain_length, 2);
    assert!(matches!(
        blocks.blocks[0].transaction.operation,
        Some(CandidOperation::Mint { .. })
    ));
}

fn should_transfer_with_the_legacy_interface(backend: Backend) {
    let mut pic = setup(backend);
    let index = legacy_transfer(&mut pic, user(1), legacy_args(user(3), 5 * E8S_PER_ICP)).unwrap();
    assert_eq!(index, 2);
    let (tokens,): (Tokens,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "account_balance",
        (AccountBalanceArgs {
            account: AccountIdentifier::new(&user(3), None),
        },),
    )
    .unwrap();
    assert_eq!(tokens, Tokens::from_e8s(5 * E8S_PER_ICP));
    assert_eq!(balance(&mut pic, user(1)), 95 * E8S_PER_ICP - FEE);
    assert_eq!(total_supply(&mut pic), 200 * E8S_PER_ICP - FEE);

    // Replaying the same transaction (same created_at_time) is a duplicate.
    let stamped = TransferArgs {
        created_at_time: Some(TimeStamp {
            timestamp_nanos: pic.get_time().as_nanos_since_unix_epoch(),
        }),
        ..legacy_args(user(3), 1)
    };
    let first = legacy_transfer(&mut pic, user(1), stamped.clone()).unwrap();
    assert_eq!(
        legacy_transfer(&mut pic, user(1), stamped),
        Err(IcpTransferError::TxDuplicate {
            duplicate_of: first
        })
    );
    assert_eq!(
        legacy_transfer(
            &mut pic,
            user(1),
            TransferArgs {
                fee: Tokens::from_e8s(1),
                ..legacy_args(user(3), 1)
            }
        ),
        Err(IcpTransferError::BadFee {
            expected_fee: Tokens::from_e8s(FEE)
        })
    );
    assert_eq!(
        legacy_transfer(&mut pic, user(3), legacy_args(user(1), 6 * E8S_PER_ICP)),
        Err(IcpTransferError::InsufficientFunds {
            balance: Tokens::from_e8s(5 * E8S_PER_ICP + 1)
        })
    );
}

fn should_transfer_mint_and_burn_with_icrc1(backend: Backend) {
    let mut pic = setup(backend);
    let memo = TransferArg {
        memo: Some(Memo::from(vec![1, 2, 3])),
        ..transfer_arg(user(3), 7 * E8S_PER_ICP)
    };
    icrc1_transfer(&mut pic, user(1), memo).unwrap();
    assert_eq!(balance(&mut pic, user(3)), 7 * E8S_PER_ICP);
    // The minting account mints with fee 0 and burns are free.
    icrc1_transfer(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        transfer_arg(user(4), 1_000),
    )
    .unwrap();
    assert_eq!(balance(&mut pic, user(4)), 1_000);
    icrc1_transfer(
        &mut pic,
        user(3),
        transfer_arg(GOVERNANCE_CANISTER_ID, E8S_PER_ICP),
    )
    .unwrap();
    assert_eq!(
        total_supply(&mut pic),
        200 * E8S_PER_ICP - FEE + 1_000 - E8S_PER_ICP
    );
    // Below the fee, only the whole balance (1 000) may be burned.
    assert_eq!(
        icrc1_transfer(&mut pic, user(4), transfer_arg(GOVERNANCE_CANISTER_ID, 999)),
        Err(TransferError::BadBurn {
            min_burn_amount: Nat::from(1_000u32)
        })
    );
}

fn should_refuse_bad_input_and_change_nothing(backend: Backend) {
    let mut pic = setup(backend);
    let supply = total_supply(&mut pic);
    let too_long = TransferArg {
        memo: Some(Memo::from(vec![0; 33])),
        ..transfer_arg(user(3), 1)
    };
    let huge = TransferArg {
        amount: Nat::from(u128::MAX),
        ..transfer_arg(user(3), 1)
    };
    for (caller, arg) in [(user(1), too_long), (user(1), huge)] {
        let result = icrc1_transfer(&mut pic, caller, arg);
        assert!(
            matches!(result, Err(TransferError::GenericError { .. })),
            "{result:?}"
        );
    }
    // A bad checksum, a wrong-length account or subaccount fail to decode:
    // the call is rejected.
    let to = AccountIdentifier::new(&user(3), None);
    let mut bad_checksum = Encode!(&legacy_args(user(3), 1)).unwrap();
    let at = bad_checksum
        .windows(32)
        .position(|w| w == to.as_bytes())
        .unwrap();
    bad_checksum[at] ^= 0xff;
    #[derive(candid::CandidType)]
    struct RawBalanceArgs {
        account: ByteBuf,
    }
    #[derive(candid::CandidType)]
    struct RawTransferArg {
        from_subaccount: Option<ByteBuf>,
        to: Account,
        amount: Nat,
        fee: Option<Nat>,
        memo: Option<ByteBuf>,
        created_at_time: Option<u64>,
    }
    let short_subaccount = Encode!(&RawTransferArg {
        from_subaccount: Some(ByteBuf::from(vec![0; 31])),
        to: Account::from(user(3)),
        amount: Nat::from(1u8),
        fee: None,
        memo: None,
        created_at_time: None,
    })
    .unwrap();
    for (method, arg) in [
        ("transfer", bad_checksum),
        ("icrc1_transfer", short_subaccount),
        ("icrc1_transfer", vec![1, 2, 3]),
    ] {
        let reject = pic
            .update_call(LEDGER_CANISTER_ID, user(1), method, arg)
            .unwrap_err();
        assert_eq!(
            reject.error_code,
            ErrorCode::CanisterCalledTrap,
            "{reject:?}"
        );
    }
    let short_account = Encode!(&RawBalanceArgs {
        account: ByteBuf::from(vec![0; 31])
    })
    .unwrap();
    let reject = pic
        .query_call(
            LEDGER_CANISTER_ID,
            user(1),
            "account_balance",
            short_account,
        )
        .unwrap_err();
    assert_eq!(reject.error_code, ErrorCode::CanisterCalledTrap);
    assert_eq!(total_supply(&mut pic), supply);
    assert_eq!(balance(&mut pic, user(1)), 100 * E8S_PER_ICP);
}

fn should_approve_and_transfer_from(backend: Backend) {
    let mut pic = setup(backend);
    let approve = approve_args(user(2), 3 * E8S_PER_ICP);
    let (approved,): (Result<Nat, ApproveError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc2_approve",
        (approve,),
    )
    .unwrap();
    approved.unwrap();
    let (allowance,): (Allowance,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc2_allowance",
        (AllowanceArgs {
            account: Account::from(user(1)),
            spender: Account::from(user(2)),
        },),
    )
    .unwrap();
    assert_eq!(allowance.allowance, Nat::from(3 * E8S_PER_ICP));
    let transfer_from = |amount: u64| TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(user(1)),
        to: Account::from(user(5)),
        amount: Nat::from(amount),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    let (result,): (Result<Nat, TransferFromError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(2),
        "icrc2_transfer_from",
        (transfer_from(2 * E8S_PER_ICP),),
    )
    .unwrap();
    result.unwrap();
    assert_eq!(balance(&mut pic, user(5)), 2 * E8S_PER_ICP);
    let (result,): (Result<Nat, TransferFromError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(2),
        "icrc2_transfer_from",
        (transfer_from(E8S_PER_ICP),),
    )
    .unwrap();
    assert_eq!(
        result,
        Err(TransferFromError::InsufficientAllowance {
            allowance: Nat::from(E8S_PER_ICP - FEE)
        })
    );
    assert_eq!(balance(&mut pic, user(1)), 98 * E8S_PER_ICP - 2 * FEE);
}

fn icrc3_blocks(pic: &mut TestEnv, requests: Vec<(u64, u64)>) -> GetBlocksResult {
    let requests: Vec<_> = requests
        .into_iter()
        .map(|(start, length)| GetBlocksRequest {
            start: Nat::from(start),
            length: Nat::from(length),
        })
        .collect();
    let (result,): (GetBlocksResult,) =
        query_candid(pic, LEDGER_CANISTER_ID, "icrc3_get_blocks", (requests,)).unwrap();
    result
}

fn should_serve_a_hash_chained_icrc3_log(backend: Backend) {
    let mut pic = setup(backend);
    for n in 0..5u64 {
        icrc1_transfer(&mut pic, user(1), transfer_arg(user(3), 1 + n)).unwrap();
    }
    let result = icrc3_blocks(&mut pic, vec![(0, 3), (3, 100)]);
    assert_eq!(result.log_length, Nat::from(7u8));
    assert_eq!(result.blocks.len(), 7);
    let mut parent: Option<[u8; 32]> = None;
    for (i, block) in result.blocks.iter().enumerate() {
        assert_eq!(block.id, Nat::from(i));
        let ICRC3Value::Map(fields) = &block.block else {
            panic!("a block is a map")
        };
        let phash = fields.get("phash").map(|v| match v {
            ICRC3Value::Blob(b) => <[u8; 32]>::try_from(b.as_slice()).unwrap(),
            other => panic!("{other:?}"),
        });
        assert_eq!(phash, parent);
        parent = Some(block.block.clone().hash());
    }
    // A length far beyond the cap is answered with at most the cap.
    let capped = icrc3_blocks(&mut pic, vec![(0, u64::MAX)]);
    assert_eq!(capped.blocks.len(), 7);
    let (legacy,): (QueryBlocksResponse,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "query_blocks",
        (GetBlocksArgs {
            start: 2,
            length: u64::MAX,
        },),
    )
    .unwrap();
    assert_eq!(legacy.first_block_index, 2);
    assert_eq!(legacy.blocks.len(), 5);
    assert_eq!(
        legacy.blocks[4].parent_hash.as_ref().map(|h| h.to_vec()),
        Some(result.blocks[5].block.clone().hash().to_vec())
    );
}

fn should_keep_every_balance_and_the_tip_across_an_upgrade(backend: Backend) {
    let mut pic = setup(backend);
    for n in 3..40u8 {
        icrc1_transfer(
            &mut pic,
            user(1),
            transfer_arg(user(n), u64::from(n) * 1_000),
        )
        .unwrap();
    }
    let snapshot = |pic: &mut TestEnv| {
        let balances: Vec<u64> = (1..40u8).map(|n| balance(pic, user(n))).collect();
        let tip = icrc3_blocks(pic, vec![(38, 1)]).blocks[0]
            .block
            .clone()
            .hash();
        (balances, total_supply(pic), tip)
    };
    let before = snapshot(&mut pic);
    let upgrade = LedgerArg::Upgrade(Some(UpgradeArgs {
        icrc1_minting_account: Some(Account::from(GOVERNANCE_CANISTER_ID)),
        feature_flags: None,
    }));
    pic.upgrade_canister(
        LEDGER_CANISTER_ID,
        wasm(),
        Encode!(&Some(upgrade)).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(snapshot(&mut pic), before);
    // And the chain continues from the same tip.
    icrc1_transfer(&mut pic, user(2), transfer_arg(user(1), 1)).unwrap();
    let next = icrc3_blocks(&mut pic, vec![(39, 1)]);
    let ICRC3Value::Map(fields) = &next.blocks[0].block else {
        panic!("a map")
    };
    assert_eq!(
        fields.get("phash"),
        Some(&ICRC3Value::Blob(ByteBuf::from(before.2.to_vec())))
    );
}

fn should_answer_queries_as_any_caller(backend: Backend) {
    let mut pic = setup(backend);
    let (n,): (Nat,) = query_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        Principal::anonymous(),
        "icrc1_balance_of",
        (Account::from(user(2)),),
    )
    .unwrap();
    assert_eq!(n, Nat::from(100 * E8S_PER_ICP));
}

fn should_process_icrc4_batches_item_by_item(backend: Backend) {
    let mut pic = setup(backend);
    let stamped = TransferArg {
        created_at_time: Some(pic.get_time().as_nanos_since_unix_epoch()),
        ..transfer_arg(user(4), 3)
    };
    let batch = vec![
        transfer_arg(user(3), 5 * E8S_PER_ICP),
        transfer_arg(user(3), 500 * E8S_PER_ICP),
        stamped.clone(),
        stamped,
    ];
    let (results,): (Vec<Option<TransferBatchResult>>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc4_transfer_batch",
        (batch,),
    )
    .unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0], Some(Ok(Nat::from(2u8))));
    assert!(matches!(
        results[1],
        Some(Err(TransferBatchError::InsufficientFunds { .. }))
    ));
    assert_eq!(results[2], Some(Ok(Nat::from(3u8))));
    assert_eq!(
        results[3],
        Some(Err(TransferBatchError::Duplicate {
            duplicate_of: Nat::from(3u8)
        }))
    );
    assert_eq!(balance(&mut pic, user(3)), 5 * E8S_PER_ICP);
    assert_eq!(balance(&mut pic, user(4)), 3);
    assert_eq!(balance(&mut pic, user(1)), 95 * E8S_PER_ICP - 3 - 2 * FEE);

    let too_many = vec![transfer_arg(user(3), 1); 1_001];
    let (results,): (Vec<Option<TransferBatchResult>>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc4_transfer_batch",
        (too_many,),
    )
    .unwrap();
    assert_eq!(
        results,
        vec![Some(Err(TransferBatchError::TooManyRequests {
            limit: Nat::from(1_000u32)
        }))]
    );
    let (balances,): (Vec<(Account, Nat)>,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc4_balance_of_batch",
        (BalanceQueryArgs {
            accounts: vec![Account::from(user(3)), Account::from(user(9))],
        },),
    )
    .unwrap();
    assert_eq!(balances[0].1, Nat::from(5 * E8S_PER_ICP));
    assert_eq!(balances[1].1, Nat::from(0u8));
}

fn should_serve_metrics_over_http(backend: Backend) {
    let mut pic = setup(backend);
    icrc1_transfer(&mut pic, user(1), transfer_arg(user(3), 1)).unwrap();
    let request = |url: &str| HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: ByteBuf::new(),
    };
    let (response,): (HttpResponse,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "http_request",
        (request("/metrics?format=text"),),
    )
    .unwrap();
    assert_eq!(response.status_code, 200);
    let body = String::from_utf8(response.body.into_vec()).unwrap();
    let value = |name: &str| -> f64 {
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {body}"))
            .parse()
            .unwrap()
    };
    assert_eq!(
        value("ledger_total_supply_e8s"),
        (200 * E8S_PER_ICP - FEE) as f64
    );
    assert_eq!(value("ledger_blocks"), 3.0);
    assert_eq!(value("ledger_accounts"), 3.0);
    assert_eq!(value("ledger_fees_burned_e8s"), FEE as f64);
    assert!(value("ledger_stable_memory_bytes") > 0.0);
    let (missing,): (HttpResponse,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "http_request",
        (request("/nothing"),),
    )
    .unwrap();
    assert_eq!(missing.status_code, 404);
}

/// Upgrades cost the same whatever the ledger holds: post_upgrade touches
/// no per-account data, and every balance and the tip survive.
#[test]
fn should_upgrade_a_ledger_with_100_000_accounts_and_blocks_unchanged() {
    const ACCOUNTS: u32 = 100_000;
    const BATCH: u32 = 1_000;
    let holder = |n: u32| {
        let mut bytes = n.to_be_bytes().to_vec();
        bytes.push(0x5c);
        Principal::from_slice(&bytes)
    };
    // On the runtime only: it counts the instructions an upgrade uses.
    let mut pic = TestEnv::new(Backend::Runtime);
    install_ledger(&mut pic, [(user(1), 100_000 * E8S_PER_ICP)]);
    let upgrade = |pic: &mut TestEnv| {
        pic.upgrade_canister(
            LEDGER_CANISTER_ID,
            wasm(),
            Encode!(&None::<LedgerArg>).unwrap(),
            None,
        )
        .unwrap();
        pic.as_runtime()
            .last_execution_instructions(LEDGER_CANISTER_ID)
    };
    let small_upgrade = upgrade(&mut pic);

    for first in (0..ACCOUNTS).step_by(BATCH as usize) {
        let batch: Vec<TransferArg> = (first..first + BATCH)
            .map(|n| transfer_arg(holder(n), 1 + u64::from(n)))
            .collect();
        let (results,): (Vec<Option<TransferBatchResult>>,) = update_candid_as(
            &mut pic,
            LEDGER_CANISTER_ID,
            user(1),
            "icrc4_transfer_batch",
            (batch,),
        )
        .unwrap();
        assert!(results.iter().all(|r| matches!(r, Some(Ok(_)))));
    }
    let snapshot = |pic: &mut TestEnv| {
        let mut balances = Vec::new();
        for first in (0..ACCOUNTS).step_by(10_000) {
            let accounts = (first..first + 10_000).map(|n| Account::from(holder(n)));
            let (page,): (Vec<(Account, Nat)>,) = query_candid(
                pic,
                LEDGER_CANISTER_ID,
                "icrc4_balance_of_batch",
                (BalanceQueryArgs {
                    accounts: accounts.collect(),
                },),
            )
            .unwrap();
            balances.extend(page.into_iter().map(|(_, n)| n));
        }
        let last = u64::from(ACCOUNTS);
        let tip = icrc3_blocks(pic, vec![(last, 1)]).blocks[0]
            .block
            .clone()
            .hash();
        (balances, total_supply(pic), tip)
    };
    let before = snapshot(&mut pic);
    assert_eq!(before.0[99_999], Nat::from(100_000u32));
    let big_upgrade = upgrade(&mut pic);
    assert_eq!(snapshot(&mut pic), before);
    // Not a timing: instruction counts are deterministic. The upgrade's cost
    // does not grow with 100 000 more accounts and blocks.
    assert!(
        big_upgrade < 2 * small_upgrade,
        "upgrade used {small_upgrade} instructions with 1 account, {big_upgrade} with {ACCOUNTS}"
    );
}

/// An upgrade from a module of stable layout 1 (which keyed a payment that
/// spelled out its fee by a salted hash) keeps deduplicating its payments,
/// and measures what re-keying the dedup entries costs. Needs the older
/// module: `LEDGER_LAYOUT_1_WASM=<ledger.wasm.gz built from a layout-1
/// commit>`; `LAYOUT_1_ENTRIES` sets how many stamped payments (20 000).
#[test]
#[ignore = "needs LEDGER_LAYOUT_1_WASM, a ledger module of stable layout 1"]
fn should_deduplicate_payments_made_before_an_upgrade_from_layout_1() {
    let old = std::env::var("LEDGER_LAYOUT_1_WASM").expect("LEDGER_LAYOUT_1_WASM is set");
    let entries: u64 = std::env::var("LAYOUT_1_ENTRIES").map_or(20_000, |n| n.parse().unwrap());
    let mut pic = TestEnv::new(Backend::Runtime);
    install_ledger_module(
        &mut pic,
        std::fs::read(old).unwrap(),
        [(user(1), 100_000 * E8S_PER_ICP)],
    );
    let now = pic.get_time().as_nanos_since_unix_epoch();
    let stamped = |n: u64| TransferArg {
        fee: Some(Nat::from(FEE)),
        created_at_time: Some(now + n),
        ..transfer_arg(user(2), 1)
    };
    let mut first_index = None;
    for first in (0..entries).step_by(1_000) {
        let batch: Vec<TransferArg> = (first..(first + 1_000).min(entries)).map(stamped).collect();
        let (results,): (Vec<Option<TransferBatchResult>>,) = update_candid_as(
            &mut pic,
            LEDGER_CANISTER_ID,
            user(1),
            "icrc4_transfer_batch",
            (batch,),
        )
        .unwrap();
        assert!(results.iter().all(|r| matches!(r, Some(Ok(_)))));
        if let Some(Some(Ok(index))) = results.first() {
            first_index.get_or_insert(index.clone());
        }
    }
    pic.upgrade_canister(
        LEDGER_CANISTER_ID,
        wasm(),
        Encode!(&None::<LedgerArg>).unwrap(),
        None,
    )
    .unwrap();
    let instructions = pic
        .as_runtime()
        .last_execution_instructions(LEDGER_CANISTER_ID);
    eprintln!(
        "upgrade from layout 1 with {entries} dedup entries: {instructions} instructions \
         ({} per entry)",
        instructions / entries.max(1)
    );
    let retry = |pic: &mut TestEnv| icrc1_transfer(pic, user(1), stamped(0));
    let duplicate = Err(TransferError::Duplicate {
        duplicate_of: first_index.clone().unwrap(),
    });
    // Whether or not the migration is done, the retry is a duplicate.
    assert_eq!(retry(&mut pic), duplicate);
    for _ in 0..20 {
        pic.tick();
    }
    assert_eq!(retry(&mut pic), duplicate);
    let without_fee = TransferArg {
        fee: None,
        ..stamped(entries - 1)
    };
    assert!(matches!(
        icrc1_transfer(&mut pic, user(1), without_fee),
        Err(TransferError::Duplicate { .. })
    ));
}

fn should_certify_the_tip_so_that_clients_can_verify_it(backend: Backend) {
    let mut pic = setup(backend);
    icrc1_transfer(&mut pic, user(1), transfer_arg(user(3), 1)).unwrap();
    let (tip,): (Option<ICRC3DataCertificate>,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc3_get_tip_certificate",
        (),
    )
    .unwrap();
    let tip = tip.expect("a query has a certificate");
    let certified = verified_certified_data(&pic, LEDGER_CANISTER_ID, &tip.certificate).unwrap();
    let tree: ic_certification::HashTree = serde_cbor::from_slice(&tip.hash_tree).unwrap();
    assert_eq!(
        certified,
        tree.digest().to_vec(),
        "the tree is the certified one"
    );
    let last = icrc3_blocks(&mut pic, vec![(2, 1)]).blocks[0]
        .block
        .clone()
        .hash();
    assert_eq!(
        tree.lookup_path([b"last_block_hash"]),
        ic_certification::LookupResult::Found(&last[..])
    );
    assert_eq!(
        tree.lookup_path([b"last_block_index"]),
        ic_certification::LookupResult::Found(&[2u8][..])
    );
    // The legacy endpoints carry the same certificate.
    let (chain,): (TipOfChainRes,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "tip_of_chain", ()).unwrap();
    assert_eq!(chain.tip_index, 2);
    let legacy = chain.certification.expect("a certificate");
    assert_eq!(
        verified_certified_data(&pic, LEDGER_CANISTER_ID, &legacy).unwrap(),
        certified
    );
}

fn query_block(pic: &mut TestEnv, index: u64) -> nns_api::ledger::CandidBlock {
    let (response,): (QueryBlocksResponse,) = query_candid(
        pic,
        LEDGER_CANISTER_ID,
        "query_blocks",
        (GetBlocksArgs {
            start: index,
            length: 1,
        },),
    )
    .unwrap();
    response
        .blocks
        .into_iter()
        .next()
        .expect("the block exists")
}

fn transfer_from(
    pic: &mut TestEnv,
    spender: Principal,
    arg: TransferFromArgs,
) -> Result<Nat, TransferFromError> {
    let (result,): (Result<Nat, TransferFromError>,) = update_candid_as(
        pic,
        LEDGER_CANISTER_ID,
        spender,
        "icrc2_transfer_from",
        (arg,),
    )
    .unwrap();
    result
}

/// The ledger deduplicates the transaction it stores (account identifiers,
/// the effective fee, memos, created_at_time), not the request's spelling.
fn should_deduplicate_a_retried_transfer_by_its_meaning(backend: Backend) {
    let mut pic = setup(backend);
    let now = pic.get_time().as_nanos_since_unix_epoch();
    let original = TransferArg {
        created_at_time: Some(now),
        ..transfer_arg(user(3), 5 * E8S_PER_ICP)
    };
    let first = icrc1_transfer(&mut pic, user(1), original.clone()).unwrap();
    let explicit_default = Some([0; 32]);
    for retry in [
        original.clone(),
        TransferArg {
            fee: Some(Nat::from(FEE)),
            ..original.clone()
        },
        TransferArg {
            from_subaccount: explicit_default,
            ..original.clone()
        },
        TransferArg {
            to: Account {
                owner: user(3),
                subaccount: explicit_default,
            },
            ..original.clone()
        },
    ] {
        assert_eq!(
            icrc1_transfer(&mut pic, user(1), retry.clone()),
            Err(TransferError::Duplicate {
                duplicate_of: first.clone()
            }),
            "{retry:?}"
        );
    }
    // The legacy spelling of the same transaction: memo 0 and no ICRC-1
    // memo are one and the same.
    let legacy = TransferArgs {
        memo: IcpMemo(0),
        created_at_time: Some(TimeStamp {
            timestamp_nanos: now,
        }),
        ..legacy_args(user(3), 5 * E8S_PER_ICP)
    };
    for retry in [
        legacy.clone(),
        TransferArgs {
            from_subaccount: explicit_default,
            ..legacy
        },
    ] {
        assert_eq!(
            legacy_transfer(&mut pic, user(1), retry.clone()),
            Err(IcpTransferError::TxDuplicate {
                duplicate_of: u64::try_from(first.0.clone()).unwrap()
            }),
            "{retry:?}"
        );
    }
    // A different memo is a different payment.
    let other = TransferArg {
        memo: Some(Memo::from(vec![1])),
        ..original
    };
    icrc1_transfer(&mut pic, user(1), other).unwrap();
    assert_eq!(balance(&mut pic, user(3)), 10 * E8S_PER_ICP);
    assert_eq!(balance(&mut pic, user(1)), 90 * E8S_PER_ICP - 2 * FEE);
}

fn should_stamp_and_deduplicate_a_legacy_transfer_without_created_at_time(backend: Backend) {
    let mut pic = setup(backend);
    let unstamped = TransferArgs {
        memo: IcpMemo(0),
        ..legacy_args(user(3), E8S_PER_ICP)
    };
    let index = legacy_transfer(&mut pic, user(1), unstamped.clone()).unwrap();
    let block = query_block(&mut pic, index);
    assert_eq!(block.transaction.created_at_time, block.timestamp);
    let stamp = block.timestamp.timestamp_nanos;
    assert_eq!(
        legacy_transfer(
            &mut pic,
            user(1),
            TransferArgs {
                from_subaccount: Some([0; 32]),
                created_at_time: Some(block.timestamp),
                ..unstamped.clone()
            }
        ),
        Err(IcpTransferError::TxDuplicate {
            duplicate_of: index
        })
    );
    assert_eq!(
        icrc1_transfer(
            &mut pic,
            user(1),
            TransferArg {
                created_at_time: Some(stamp),
                ..transfer_arg(user(3), E8S_PER_ICP)
            }
        ),
        Err(TransferError::Duplicate {
            duplicate_of: Nat::from(index)
        })
    );
    // Sent again later, it is stamped anew: another payment.
    assert_eq!(legacy_transfer(&mut pic, user(1), unstamped), Ok(index + 1));
    assert_eq!(balance(&mut pic, user(3)), 2 * E8S_PER_ICP);
}

/// The real ledger records the spender of every transfer_from, the owner
/// included: an owner's transfer_from is not its icrc1_transfer.
fn should_record_the_spender_of_an_owners_transfer_from(backend: Backend) {
    let mut pic = setup(backend);
    let now = pic.get_time().as_nanos_since_unix_epoch();
    let first = icrc1_transfer(
        &mut pic,
        user(1),
        TransferArg {
            created_at_time: Some(now),
            ..transfer_arg(user(3), E8S_PER_ICP)
        },
    )
    .unwrap();
    let own = TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(user(1)),
        to: Account::from(user(3)),
        amount: Nat::from(E8S_PER_ICP),
        fee: None,
        memo: None,
        created_at_time: Some(now),
    };
    let second = transfer_from(&mut pic, user(1), own.clone()).unwrap();
    assert_eq!(second, first + 1u8);
    let index = u64::try_from(second.0.clone()).unwrap();
    let Some(CandidOperation::Transfer { spender, .. }) =
        query_block(&mut pic, index).transaction.operation
    else {
        panic!("a transfer")
    };
    let owner = AccountIdentifier::new(&user(1), None);
    assert_eq!(spender, Some(ByteBuf::from(owner.as_bytes().to_vec())));
    // Its own retry, spelled with the explicit default subaccount, is its duplicate.
    assert_eq!(
        transfer_from(
            &mut pic,
            user(1),
            TransferFromArgs {
                spender_subaccount: Some([0; 32]),
                ..own
            }
        ),
        Err(TransferFromError::Duplicate {
            duplicate_of: second
        })
    );
    assert_eq!(balance(&mut pic, user(3)), 2 * E8S_PER_ICP);
}

/// As on the real ledger, moving nothing is a transaction: the fee is paid.
fn should_accept_zero_amounts_and_charge_the_fee(backend: Backend) {
    let mut pic = setup(backend);
    icrc1_transfer(&mut pic, user(1), transfer_arg(user(3), 0)).unwrap();
    legacy_transfer(&mut pic, user(1), legacy_args(user(3), 0)).unwrap();
    assert_eq!(balance(&mut pic, user(1)), 100 * E8S_PER_ICP - 2 * FEE);
    assert_eq!(balance(&mut pic, user(3)), 0);
    // A mint of nothing.
    icrc1_transfer(&mut pic, GOVERNANCE_CANISTER_ID, transfer_arg(user(3), 0)).unwrap();
    // Approving zero, approving, and spending zero (the fee is drawn from
    // the allowance).
    let approve = |amount: u64| approve_args(user(2), amount);
    for amount in [0, 3 * FEE] {
        let (approved,): (Result<Nat, ApproveError>,) = update_candid_as(
            &mut pic,
            LEDGER_CANISTER_ID,
            user(1),
            "icrc2_approve",
            (approve(amount),),
        )
        .unwrap();
        approved.unwrap();
    }
    let spend_nothing = TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(user(1)),
        to: Account::from(user(3)),
        amount: Nat::from(0u8),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    transfer_from(&mut pic, user(2), spend_nothing).unwrap();
    let (allowance,): (Allowance,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc2_allowance",
        (AllowanceArgs {
            account: Account::from(user(1)),
            spender: Account::from(user(2)),
        },),
    )
    .unwrap();
    assert_eq!(allowance.allowance, Nat::from(2 * FEE));
    assert_eq!(balance(&mut pic, user(1)), 100 * E8S_PER_ICP - 5 * FEE);
    assert_eq!(total_supply(&mut pic), 200 * E8S_PER_ICP - 5 * FEE);
}

fn should_refuse_burns_as_the_real_ledger_does(backend: Backend) {
    let mut pic = setup(backend);
    let burn = |amount| transfer_arg(GOVERNANCE_CANISTER_ID, amount);
    assert_eq!(
        icrc1_transfer(&mut pic, user(1), burn(0)),
        Err(TransferError::BadBurn {
            min_burn_amount: Nat::from(FEE)
        })
    );
    assert_eq!(
        icrc1_transfer(&mut pic, user(1), burn(FEE - 1)),
        Err(TransferError::BadBurn {
            min_burn_amount: Nat::from(FEE)
        })
    );
    // A balance below the fee may be burned whole, not in part.
    icrc1_transfer(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        transfer_arg(user(4), 1_000),
    )
    .unwrap();
    assert_eq!(
        icrc1_transfer(&mut pic, user(4), burn(999)),
        Err(TransferError::BadBurn {
            min_burn_amount: Nat::from(1_000u32)
        })
    );
    icrc1_transfer(&mut pic, user(4), burn(1_000)).unwrap();
    assert_eq!(balance(&mut pic, user(4)), 0);
    // The legacy interface refuses burns below the fee, and burns or mints
    // with a fee, by rejecting the call.
    let legacy_burn = |amount, fee| TransferArgs {
        fee: Tokens::from_e8s(fee),
        ..legacy_args(GOVERNANCE_CANISTER_ID, amount)
    };
    let legacy_mint = TransferArgs {
        fee: Tokens::from_e8s(FEE),
        ..legacy_args(user(3), 1)
    };
    for (caller, args) in [
        (user(1), legacy_burn(FEE - 1, 0)),
        (user(1), legacy_burn(FEE, FEE)),
        (GOVERNANCE_CANISTER_ID, legacy_mint),
    ] {
        let reject = pic
            .update_call(
                LEDGER_CANISTER_ID,
                caller,
                "transfer",
                Encode!(&args).unwrap(),
            )
            .unwrap_err();
        assert_eq!(reject.error_code, ErrorCode::CanisterCalledTrap, "{args:?}");
    }
    legacy_transfer(&mut pic, user(1), legacy_burn(FEE, 0)).unwrap();
    assert_eq!(balance(&mut pic, user(1)), 100 * E8S_PER_ICP - FEE);
}

/// The real ledger rejects these calls (it traps) rather than answering an error.
fn should_reject_self_approvals_and_delegated_mints(backend: Backend) {
    let mut pic = setup(backend);
    let to_own_subaccount = ApproveArgs {
        from_subaccount: None,
        spender: Account {
            owner: user(1),
            subaccount: Some([1; 32]),
        },
        amount: Nat::from(E8S_PER_ICP),
        expected_allowance: None,
        expires_at: None,
        fee: None,
        memo: None,
        created_at_time: None,
    };
    let from_minting_account = TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(GOVERNANCE_CANISTER_ID),
        to: Account::from(user(3)),
        amount: Nat::from(E8S_PER_ICP),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    for (method, arg) in [
        ("icrc2_approve", Encode!(&to_own_subaccount).unwrap()),
        (
            "icrc2_transfer_from",
            Encode!(&from_minting_account).unwrap(),
        ),
    ] {
        let reject = pic
            .update_call(LEDGER_CANISTER_ID, user(1), method, arg)
            .unwrap_err();
        assert_eq!(reject.error_code, ErrorCode::CanisterCalledTrap, "{method}");
    }
    assert_eq!(total_supply(&mut pic), 200 * E8S_PER_ICP);
    assert_eq!(balance(&mut pic, user(1)), 100 * E8S_PER_ICP);
}

/// As on the real ledger (since dfinity/ic#5473): the anonymous principal
/// holds, sends and approves ICP like any other; icp-cli's local network
/// funds identities from it.
fn should_let_the_anonymous_principal_hold_send_and_approve(backend: Backend) {
    let mut pic = setup(backend);
    let anonymous = Principal::anonymous();
    icrc1_transfer(&mut pic, user(1), transfer_arg(anonymous, 10 * E8S_PER_ICP)).unwrap();
    assert_eq!(balance(&mut pic, anonymous), 10 * E8S_PER_ICP);
    icrc1_transfer(&mut pic, anonymous, transfer_arg(user(3), E8S_PER_ICP)).unwrap();
    legacy_transfer(&mut pic, anonymous, legacy_args(user(3), E8S_PER_ICP)).unwrap();
    assert_eq!(balance(&mut pic, user(3)), 2 * E8S_PER_ICP);
    let approve = approve_args(user(2), E8S_PER_ICP);
    let (approved,): (Result<Nat, ApproveError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        anonymous,
        "icrc2_approve",
        (approve,),
    )
    .unwrap();
    approved.unwrap();
    let (moved,): (Result<Nat, TransferFromError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(2),
        "icrc2_transfer_from",
        (TransferFromArgs {
            spender_subaccount: None,
            from: Account::from(anonymous),
            to: Account::from(user(3)),
            amount: Nat::from(E8S_PER_ICP / 2),
            fee: None,
            memo: None,
            created_at_time: None,
        },),
    )
    .unwrap();
    moved.unwrap();
    // 10 ICP, less two transfers and their fees, an approval's fee, and
    // the half ICP taken with its fee.
    let left = 10 * E8S_PER_ICP - 2 * (E8S_PER_ICP + FEE) - FEE - (E8S_PER_ICP / 2 + FEE);
    assert_eq!(balance(&mut pic, anonymous), left);
}

/// `query_blocks` as the real ledger serves it: a block without
/// `created_at_time` shows its own time there; a user's query run as an
/// update (every node executes it) gets at most 50 blocks, a query 2 000.
fn should_serve_query_blocks_as_the_real_ledger(backend: Backend) {
    let mut pic = setup(backend);
    let batch: Vec<TransferArg> = (0..60).map(|_| transfer_arg(user(3), 1)).collect();
    let (results,): (Vec<Option<TransferBatchResult>>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc4_transfer_batch",
        (batch,),
    )
    .unwrap();
    assert!(results.iter().all(|r| matches!(r, Some(Ok(_)))));
    let all = GetBlocksArgs {
        start: 0,
        length: 100,
    };
    let user_key = Principal::self_authenticating(b"a user's public key");
    let query_blocks = |pic: &mut TestEnv, caller: Principal, replicated: bool| {
        let (response,): (QueryBlocksResponse,) = if replicated {
            update_candid_as(pic, LEDGER_CANISTER_ID, caller, "query_blocks", (all,))
        } else {
            query_candid_as(pic, LEDGER_CANISTER_ID, caller, "query_blocks", (all,))
        }
        .unwrap();
        response
    };
    let queried = query_blocks(&mut pic, user_key, false);
    assert_eq!(queried.blocks.len(), 62);
    let replicated = query_blocks(&mut pic, user_key, true);
    assert_eq!(replicated.blocks.len(), 50);
    // Canisters (and other principals) get the full page replicated too.
    let by_canister = query_blocks(&mut pic, GOVERNANCE_CANISTER_ID, true);
    assert_eq!(by_canister.blocks.len(), 62);
    for block in &queried.blocks {
        assert_eq!(
            block.transaction.created_at_time, block.timestamp,
            "no transaction here set its own time"
        );
    }
}

/// `dfx ledger balance` and `quill` ask `account_balance_dfx`, and `dfx
/// ledger transfer` calls `send_dfx`: accounts as text.
fn should_answer_dfx_with_text_account_identifiers(backend: Backend) {
    let mut pic = setup(backend);
    let text = |owner: Principal| AccountIdentifier::new(&owner, None).to_hex();
    let (held,): (Tokens,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "account_balance_dfx",
        (AccountBalanceArgsDfx {
            account: text(user(1)),
        },),
    )
    .unwrap();
    assert_eq!(held, Tokens::from_e8s(100 * E8S_PER_ICP));
    let send = |to: String| SendArgs {
        memo: IcpMemo(7),
        amount: Tokens::from_e8s(E8S_PER_ICP),
        fee: Tokens::from_e8s(FEE),
        from_subaccount: None,
        to,
        created_at_time: None,
    };
    let (index,): (u64,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "send_dfx",
        (send(text(user(4))),),
    )
    .unwrap();
    assert_eq!(index, 2, "after the two initial mints");
    assert_eq!(balance(&mut pic, user(4)), E8S_PER_ICP);
    // Text that is no account identifier (a wrong checksum), or a refused
    // transfer, traps: the call is rejected and nothing moves.
    let mut bad = text(user(4));
    bad.replace_range(0..2, if bad.starts_with("00") { "11" } else { "00" });
    for args in [
        send(bad.clone()),
        SendArgs {
            amount: Tokens::from_e8s(1_000 * E8S_PER_ICP),
            ..send(text(user(4)))
        },
    ] {
        let rejected = update_candid_as::<_, (u64,)>(
            &mut pic,
            LEDGER_CANISTER_ID,
            user(1),
            "send_dfx",
            (args,),
        );
        assert!(rejected.is_err(), "{rejected:?}");
    }
    let rejected = query_candid::<_, (Tokens,)>(
        &mut pic,
        LEDGER_CANISTER_ID,
        "account_balance_dfx",
        (AccountBalanceArgsDfx { account: bad },),
    );
    assert!(rejected.is_err(), "{rejected:?}");
    assert_eq!(balance(&mut pic, user(4)), E8S_PER_ICP);
}

/// `get_allowances` pages through an account's approvals by spender;
/// `remove_approval` takes one back (an approval of nothing, for the fee).
fn should_list_and_remove_approvals_by_account_identifier(backend: Backend) {
    let mut pic = setup(backend);
    for spender in [user(2), user(3)] {
        let approve = ApproveArgs {
            from_subaccount: None,
            spender: Account::from(spender),
            amount: Nat::from(E8S_PER_ICP),
            expected_allowance: None,
            expires_at: None,
            fee: None,
            memo: None,
            created_at_time: None,
        };
        let (approved,): (Result<Nat, ApproveError>,) = update_candid_as(
            &mut pic,
            LEDGER_CANISTER_ID,
            user(1),
            "icrc2_approve",
            (approve,),
        )
        .unwrap();
        approved.unwrap();
    }
    let from = AccountIdentifier::new(&user(1), None).to_hex();
    let list = |pic: &mut TestEnv, prev: Option<String>, take: Option<u64>| {
        let (entries,): (Vec<AllowanceEntry>,) = query_candid(
            pic,
            LEDGER_CANISTER_ID,
            "get_allowances",
            (GetAllowancesArgs {
                from_account_id: from.clone(),
                prev_spender_id: prev,
                take,
            },),
        )
        .unwrap();
        entries
    };
    let all = list(&mut pic, None, None);
    let mut spenders: Vec<String> = [user(2), user(3)]
        .iter()
        .map(|u| AccountIdentifier::new(u, None).to_hex())
        .collect();
    spenders.sort();
    let listed: Vec<String> = all.iter().map(|e| e.to_spender_id.clone()).collect();
    assert_eq!(
        listed, spenders,
        "in the order of the spenders' identifiers"
    );
    assert!(
        all.iter()
            .all(|e| e.allowance == Tokens::from_e8s(E8S_PER_ICP) && e.from_account_id == from)
    );
    let first = list(&mut pic, None, Some(1));
    let second = list(&mut pic, Some(first[0].to_spender_id.clone()), Some(1));
    assert_eq!((first.len(), second.len()), (1, 1));
    assert_eq!(second[0].to_spender_id, spenders[1]);
    let before = balance(&mut pic, user(1));
    let (removed,): (Result<Nat, ApproveError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "remove_approval",
        (RemoveApprovalArgs {
            from_subaccount: None,
            spender: AccountIdentifier::new(&user(2), None),
            fee: None,
        },),
    )
    .unwrap();
    removed.unwrap();
    assert_eq!(balance(&mut pic, user(1)), before - FEE);
    let left: Vec<String> = list(&mut pic, None, None)
        .into_iter()
        .map(|e| e.to_spender_id)
        .collect();
    assert_eq!(left, vec![AccountIdentifier::new(&user(3), None).to_hex()]);
}

/// As on the real ledger, with the ICRC-2 feature flag off, every ICRC-2
/// method traps (the call is rejected), and ICRC-2 is not advertised.
fn should_trap_on_icrc2_methods_while_icrc2_is_off(backend: Backend) {
    let mut pic = setup(backend);
    let set_icrc2 = |pic: &mut TestEnv, icrc2: bool| {
        let upgrade = LedgerArg::Upgrade(Some(UpgradeArgs {
            icrc1_minting_account: None,
            feature_flags: Some(nns_api::ledger::FeatureFlags { icrc2 }),
        }));
        pic.upgrade_canister(
            LEDGER_CANISTER_ID,
            wasm(),
            Encode!(&Some(upgrade)).unwrap(),
            None,
        )
        .unwrap();
    };
    set_icrc2(&mut pic, false);
    let approve = update_candid_as::<_, (Result<Nat, ApproveError>,)>(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc2_approve",
        (approve_args(user(2), E8S_PER_ICP),),
    );
    let allowance = query_candid::<_, (Allowance,)>(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc2_allowance",
        (AllowanceArgs {
            account: Account::from(user(1)),
            spender: Account::from(user(2)),
        },),
    );
    let transfer_from = update_candid_as::<_, (Result<Nat, TransferFromError>,)>(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(2),
        "icrc2_transfer_from",
        (TransferFromArgs {
            spender_subaccount: None,
            from: Account::from(user(1)),
            to: Account::from(user(2)),
            amount: Nat::from(1u8),
            fee: None,
            memo: None,
            created_at_time: None,
        },),
    );
    for (method, outcome) in [
        ("icrc2_approve", approve.map(|_| ())),
        ("icrc2_allowance", allowance.map(|_| ())),
        ("icrc2_transfer_from", transfer_from.map(|_| ())),
    ] {
        let reject = outcome.expect_err(method);
        assert!(
            reject
                .reject_message
                .contains("ICRC-2 features are not enabled"),
            "{method}: {reject:?}"
        );
    }
    // Switched on again, approvals work.
    set_icrc2(&mut pic, true);
    let (approved,): (Result<Nat, ApproveError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc2_approve",
        (approve_args(user(2), E8S_PER_ICP),),
    )
    .unwrap();
    approved.unwrap();
}

/// An upgrade's `icrc1_minting_account` must be the minting account: one
/// naming another is refused, and the ledger goes on as it was.
fn should_refuse_an_upgrade_naming_another_minting_account(backend: Backend) {
    let mut pic = setup(backend);
    let upgrade = LedgerArg::Upgrade(Some(UpgradeArgs {
        icrc1_minting_account: Some(Account::from(user(9))),
        feature_flags: None,
    }));
    let refused = pic.upgrade_canister(
        LEDGER_CANISTER_ID,
        wasm(),
        Encode!(&Some(upgrade)).unwrap(),
        None,
    );
    assert!(refused.is_err(), "{refused:?}");
    let (minter,): (Option<Account>,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "icrc1_minting_account", ()).unwrap();
    assert_eq!(minter, Some(Account::from(GOVERNANCE_CANISTER_ID)));
    assert_eq!(balance(&mut pic, user(1)), 100 * E8S_PER_ICP);
}
