//! The ledger canister's endpoints on both backends: legacy ICP,
//! ICRC-1/2/3, errors, and upgrades.

use candid::{Encode, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::allowance::{Allowance, AllowanceArgs};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use integration_tests::env::{
    Backend, ErrorCode, TestEnv, query_candid, query_candid_as, update_candid_as,
};
use integration_tests::{
    install_ledger, install_ledger_module, on_both_backends, verified_certified_data, wasm_gz_path,
};
use nns_api::AccountIdentifier;
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::icp_block::Block;
use nns_api::ids::{GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{
    AccountBalanceArgs, AccountBalanceArgsDfx, AllowanceEntry, BalanceQueryArgs, CandidOperation,
    GetAllowancesArgs, GetBlocksArgs, LedgerArg, Memo as IcpMemo, QueryBlocksResponse,
    QueryEncodedBlocksResponse, RemoveApprovalArgs, SendArgs, TimeStamp, TipOfChainRes, Tokens,
    TransferArgs, TransferBatchError, TransferBatchResult, TransferError as IcpTransferError,
    UpgradeArgs,
};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

on_both_backends!(
    should_mint_initial_balances_into_blocks,
    should_transfer_with_the_legacy_interface,
    should_transfer_mint_and_burn_with_icrc1,
    should_refuse_bad_input_and_change_nothing,
    should_approve_and_transfer_from,
    should_chain_protobuf_blocks_by_their_sha256,
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
    should_upgrade_a_ledger_of_the_previous_release_without_loss,
    should_encode_every_kind_of_block_as_the_real_proto_files_define,
    should_answer_the_protobuf_endpoints_as_the_real_ledger,
    should_answer_edge_cases_as_the_real_ledger,
    should_install_from_a_bare_init_record,
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
    let result = icrc1_transfer(&mut pic, user(1), too_long);
    assert!(
        matches!(result, Err(TransferError::GenericError { .. })),
        "{result:?}"
    );
    let result = icrc1_transfer(&mut pic, user(1), huge);
    assert!(
        matches!(result, Err(TransferError::InsufficientFunds { .. })),
        "{result:?}"
    );
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

fn encoded_blocks(pic: &mut TestEnv, start: u64, length: u64) -> QueryEncodedBlocksResponse {
    let (result,): (QueryEncodedBlocksResponse,) = query_candid(
        pic,
        LEDGER_CANISTER_ID,
        "query_encoded_blocks",
        (GetBlocksArgs { start, length },),
    )
    .unwrap();
    result
}

/// The hash of block `index`: SHA-256 of its protobuf bytes, computed here.
fn block_hash(pic: &mut TestEnv, index: u64) -> [u8; 32] {
    let block = encoded_blocks(pic, index, 1)
        .blocks
        .pop()
        .expect("the block exists");
    Sha256::digest(&block).into()
}

/// Every block names the SHA-256 of its predecessor's bytes, and reads as
/// `query_blocks` shows it.
fn assert_hash_chained(pic: &mut TestEnv) {
    let chain_length = encoded_blocks(pic, 0, 0).chain_length;
    let mut parent: Option<[u8; 32]> = None;
    let mut start = 0;
    while start < chain_length {
        let page = encoded_blocks(pic, start, u64::MAX);
        let (candid,): (QueryBlocksResponse,) = query_candid(
            pic,
            LEDGER_CANISTER_ID,
            "query_blocks",
            (GetBlocksArgs {
                start,
                length: u64::MAX,
            },),
        )
        .unwrap();
        assert_eq!(page.first_block_index, start);
        assert_eq!(page.blocks.len(), candid.blocks.len());
        for (bytes, shown) in page.blocks.iter().zip(&candid.blocks) {
            let block = Block::from_protobuf(bytes).unwrap();
            assert_eq!(block.parent_hash, parent, "block {start}");
            assert_eq!(
                shown.parent_hash.as_ref().map(|h| h.to_vec()),
                parent.map(|h| h.to_vec())
            );
            assert_eq!(shown.timestamp.timestamp_nanos, block.timestamp);
            parent = Some(Sha256::digest(bytes).into());
            start += 1;
        }
    }
}

fn should_chain_protobuf_blocks_by_their_sha256(backend: Backend) {
    let mut pic = setup(backend);
    for n in 0..5u64 {
        icrc1_transfer(&mut pic, user(1), transfer_arg(user(3), 1 + n)).unwrap();
    }
    let result = encoded_blocks(&mut pic, 0, u64::MAX);
    assert_eq!(result.chain_length, 7);
    assert_eq!(result.blocks.len(), 7);
    assert!(result.archived_blocks.is_empty());
    assert_hash_chained(&mut pic);
    // A start past the end answers no block.
    let past = encoded_blocks(&mut pic, 9, 5);
    assert_eq!((past.first_block_index, past.blocks.len()), (7, 0));
    // The certificate certifies the raw hash of the newest block.
    let certificate = result.certificate.expect("a query has a certificate");
    assert_eq!(
        verified_certified_data(&pic, LEDGER_CANISTER_ID, &certificate).unwrap(),
        block_hash(&mut pic, 6).to_vec()
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
        let tip = block_hash(pic, 38);
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
    let next = encoded_blocks(&mut pic, 39, 1).blocks.pop().unwrap();
    assert_eq!(
        Block::from_protobuf(&next).unwrap().parent_hash,
        Some(before.2)
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
    let (balances,): (Vec<Nat>,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc4_balance_of_batch",
        (BalanceQueryArgs {
            accounts: vec![Account::from(user(3)), Account::from(user(9))],
        },),
    )
    .unwrap();
    assert_eq!(balances, [Nat::from(5 * E8S_PER_ICP), Nat::from(0u8)]);
    // A request beyond the limit is answered for its first 10 000 accounts.
    let (balances,): (Vec<Nat>,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc4_balance_of_batch",
        (BalanceQueryArgs {
            accounts: vec![Account::from(user(3)); 10_001],
        },),
    )
    .unwrap();
    assert_eq!(balances.len(), 10_000);
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
            let (page,): (Vec<Nat>,) = query_candid(
                pic,
                LEDGER_CANISTER_ID,
                "icrc4_balance_of_batch",
                (BalanceQueryArgs {
                    accounts: accounts.collect(),
                },),
            )
            .unwrap();
            balances.extend(page);
        }
        let last = u64::from(ACCOUNTS);
        let tip = block_hash(pic, last);
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

fn should_certify_the_tip_so_that_clients_can_verify_it(backend: Backend) {
    let mut pic = setup(backend);
    icrc1_transfer(&mut pic, user(1), transfer_arg(user(3), 1)).unwrap();
    let (chain,): (TipOfChainRes,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "tip_of_chain", ()).unwrap();
    assert_eq!(chain.tip_index, 2);
    let certificate = chain.certification.expect("a query has a certificate");
    // As Rosetta checks it: the certified data is the raw hash of the tip.
    let certified = verified_certified_data(&pic, LEDGER_CANISTER_ID, &certificate).unwrap();
    assert_eq!(certified, block_hash(&mut pic, 2).to_vec());
    // query_blocks carries the same certificate.
    let (blocks,): (QueryBlocksResponse,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "query_blocks",
        (GetBlocksArgs {
            start: 0,
            length: 1,
        },),
    )
    .unwrap();
    let certificate = blocks.certificate.expect("a certificate");
    assert_eq!(
        verified_certified_data(&pic, LEDGER_CANISTER_ID, &certificate).unwrap(),
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
    // The 56 hex digits of the bare hash name the same account, as on the
    // real ledger.
    let (held,): (Tokens,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "account_balance_dfx",
        (AccountBalanceArgsDfx {
            account: text(user(1))[8..].to_string(),
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

/// The module the previous release of this ledger was built into (stable
/// layout 4: ICRC-3 value hashes), kept to test upgrades from it.
fn previous_release() -> Vec<u8> {
    let path = integration_tests::repo_root().join("tests/fixtures/ledger-173bdbb.wasm.gz");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What an upgrade must keep: balances, supply, allowances, and every
/// block's content (not its parent hash, which changes).
fn ledger_contents(pic: &mut TestEnv) -> (Vec<u64>, u64, Vec<Nat>, Vec<CandidOperation>) {
    let balances = (1..12u8).map(|n| balance(pic, user(n))).collect();
    let allowances = (2..5u8)
        .map(|n| {
            let (a,): (Allowance,) = query_candid(
                pic,
                LEDGER_CANISTER_ID,
                "icrc2_allowance",
                (AllowanceArgs {
                    account: Account::from(user(1)),
                    spender: Account::from(user(n)),
                },),
            )
            .unwrap();
            a.allowance
        })
        .collect();
    let (blocks,): (QueryBlocksResponse,) = query_candid(
        pic,
        LEDGER_CANISTER_ID,
        "query_blocks",
        (GetBlocksArgs {
            start: 0,
            length: u64::MAX,
        },),
    )
    .unwrap();
    let operations = blocks
        .blocks
        .into_iter()
        .map(|b| b.transaction.operation.expect("an operation"))
        .collect();
    (balances, total_supply(pic), allowances, operations)
}

fn should_upgrade_a_ledger_of_the_previous_release_without_loss(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    install_ledger_module(
        &mut pic,
        previous_release(),
        [(user(1), 1_000 * E8S_PER_ICP)],
    );
    let now = pic.get_time().as_nanos_since_unix_epoch();
    let stamped = |n: u8| TransferArg {
        created_at_time: Some(now + u64::from(n)),
        memo: Some(Memo::from(vec![n; 3])),
        ..transfer_arg(user(n), u64::from(n) * E8S_PER_ICP)
    };
    let mut paid = Vec::new();
    for n in 2..12u8 {
        paid.push(icrc1_transfer(&mut pic, user(1), stamped(n)).unwrap());
    }
    for n in 2..5u8 {
        let (r,): (Result<Nat, ApproveError>,) = update_candid_as(
            &mut pic,
            LEDGER_CANISTER_ID,
            user(1),
            "icrc2_approve",
            (approve_args(user(n), u64::from(n) * 1_000),),
        )
        .unwrap();
        r.unwrap();
    }
    let before = ledger_contents(&mut pic);

    pic.upgrade_canister(
        LEDGER_CANISTER_ID,
        wasm(),
        Encode!(&None::<LedgerArg>).unwrap(),
        None,
    )
    .unwrap();
    let (ready,): (bool,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "is_ledger_ready", ()).unwrap();
    assert!(ready, "a small ledger migrates within the upgrade");
    assert_eq!(ledger_contents(&mut pic), before);
    assert_hash_chained(&mut pic);
    let (chain,): (TipOfChainRes,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "tip_of_chain", ()).unwrap();
    let tip = chain.tip_index;
    assert_eq!(
        verified_certified_data(&pic, LEDGER_CANISTER_ID, &chain.certification.unwrap()).unwrap(),
        block_hash(&mut pic, tip).to_vec()
    );
    // The dedup window survived, under the real ledger's transaction hashes.
    for (n, index) in (2..12u8).zip(paid) {
        assert_eq!(
            icrc1_transfer(&mut pic, user(1), stamped(n)),
            Err(TransferError::Duplicate {
                duplicate_of: index
            })
        );
    }
    // And the chain goes on from the re-hashed tip.
    icrc1_transfer(&mut pic, user(2), transfer_arg(user(1), 1)).unwrap();
    assert_hash_chained(&mut pic);
}

/// Every kind of block the ledger makes, fetched as protobuf, decoded and
/// re-encoded by the real `.proto` files (compiled here, sharing no code
/// with the canister): the bytes agree, the content is what `query_blocks`
/// shows, and the hashes chain.
fn should_encode_every_kind_of_block_as_the_real_proto_files_define(backend: Backend) {
    let Some(pool) = integration_tests::icp_proto::descriptors_or_skip() else {
        return;
    };
    let mut pic = setup(backend);
    let now = pic.get_time().as_nanos_since_unix_epoch();
    let governance = GOVERNANCE_CANISTER_ID;
    // A transfer with an ICRC-1 memo and created_at_time, and one without.
    let with_memo = TransferArg {
        memo: Some(Memo::from(vec![7; 32])),
        created_at_time: Some(now),
        ..transfer_arg(user(3), 5)
    };
    icrc1_transfer(&mut pic, user(1), with_memo).unwrap();
    icrc1_transfer(&mut pic, user(1), transfer_arg(user(3), 0)).unwrap();
    // A legacy transfer with a numeric memo (stamped by the ledger).
    let legacy = TransferArgs {
        memo: IcpMemo(u64::MAX),
        amount: Tokens::from_e8s(1),
        fee: Tokens::from_e8s(FEE),
        from_subaccount: None,
        to: AccountIdentifier::new(&user(4), Some(&[9; 32])),
        created_at_time: None,
    };
    legacy_transfer(&mut pic, user(2), legacy).unwrap();
    // An approval with every option, a spender's transfer and burn.
    let approval = ApproveArgs {
        expected_allowance: Some(Nat::from(0u8)),
        expires_at: Some(now + 3_600_000_000_000),
        ..approve_args(user(3), 10 * E8S_PER_ICP)
    };
    let (r,): (Result<Nat, ApproveError>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc2_approve",
        (approval,),
    )
    .unwrap();
    r.unwrap();
    let spend = |to: Account, amount: u64| TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(user(1)),
        to,
        amount: Nat::from(amount),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    transfer_from(&mut pic, user(3), spend(Account::from(user(5)), 2 * FEE)).unwrap();
    transfer_from(&mut pic, user(3), spend(Account::from(governance), FEE)).unwrap();
    // A mint and a burn.
    icrc1_transfer(&mut pic, governance, transfer_arg(user(6), 3)).unwrap();
    icrc1_transfer(&mut pic, user(2), transfer_arg(governance, FEE)).unwrap();

    let encoded = encoded_blocks(&mut pic, 0, u64::MAX);
    let (shown,): (QueryBlocksResponse,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "query_blocks",
        (GetBlocksArgs {
            start: 0,
            length: u64::MAX,
        },),
    )
    .unwrap();
    assert_eq!(encoded.blocks.len(), 10);
    let mut kinds = std::collections::BTreeSet::new();
    let mut parent = None;
    for (i, (bytes, shown)) in encoded.blocks.iter().zip(&shown.blocks).enumerate() {
        use integration_tests::icp_proto::{
            block_hash, decode_block_with_created_at_time, encode_block_with_created_at_time,
        };
        let (decoded, created_at_time) = decode_block_with_created_at_time(&pool, bytes);
        assert_eq!(&decoded, shown, "block {i}");
        assert_eq!(
            &encode_block_with_created_at_time(&pool, &decoded, created_at_time),
            &bytes[..],
            "block {i} re-encodes to the same bytes"
        );
        assert_eq!(
            decoded.parent_hash.as_ref().map(|h| h.to_vec()),
            parent.map(|h: [u8; 32]| h.to_vec())
        );
        parent = Some(block_hash(bytes));
        kinds.insert(match decoded.transaction.operation.unwrap() {
            CandidOperation::Mint { .. } => "mint",
            CandidOperation::Burn { spender: None, .. } => "burn",
            CandidOperation::Burn { .. } => "spender burn",
            CandidOperation::Transfer { spender: None, .. } => "transfer",
            CandidOperation::Transfer { .. } => "transfer_from",
            CandidOperation::Approve { .. } => "approve",
        });
    }
    assert_eq!(kinds.len(), 6, "{kinds:?}");
}

/// The protobuf endpoints, spoken to with messages built and read by the
/// real `.proto` files (compiled here), as Rosetta and hardware wallets do.
fn should_answer_the_protobuf_endpoints_as_the_real_ledger(backend: Backend) {
    use integration_tests::icp_proto::{
        decode, descriptors_or_skip, encode, field_bytes, field_message, field_u64,
        required_message, set, sub,
    };
    use prost_reflect::Value;
    let Some(pool) = descriptors_or_skip() else {
        return;
    };
    let mut pic = setup(backend);
    let now = pic.get_time().as_nanos_since_unix_epoch();
    let to = AccountIdentifier::new(&user(7), None);

    // send_pb: a payment with every field; the reply is the block index.
    let request = encode(&pool, "SendRequest", |m| {
        set(sub(m, "memo"), "memo", Value::U64(42));
        set(
            sub(sub(m, "payment"), "receiver_gets"),
            "e8s",
            Value::U64(3 * FEE),
        );
        set(sub(m, "max_fee"), "e8s", Value::U64(FEE));
        set(
            sub(m, "to"),
            "hash",
            Value::Bytes(to.as_bytes().to_vec().into()),
        );
        set(
            sub(m, "created_at_time"),
            "timestamp_nanos",
            Value::U64(now),
        );
    });
    let reply = pic
        .update_call(LEDGER_CANISTER_ID, user(1), "send_pb", request.clone())
        .unwrap();
    assert_eq!(field_u64(&decode(&pool, "BlockIndex", &reply), "height"), 2);
    assert_eq!(balance(&mut pic, user(7)), 3 * FEE);
    // The same request again is a duplicate, which traps as on the real ledger.
    let duplicate = pic
        .update_call(LEDGER_CANISTER_ID, user(1), "send_pb", request)
        .unwrap_err();
    assert!(
        duplicate.reject_message.contains("Duplicate"),
        "{duplicate:?}"
    );

    let query = |pic: &mut TestEnv, method: &str, bytes: Vec<u8>| {
        pic.query_call(LEDGER_CANISTER_ID, user(1), method, bytes)
    };
    // block_pb: the block's protobuf bytes, the same query_encoded_blocks gives.
    let request = encode(&pool, "BlockRequest", |m| {
        set(m, "block_height", Value::U64(2))
    });
    let reply = decode(
        &pool,
        "BlockResponse",
        &query(&mut pic, "block_pb", request).unwrap(),
    );
    let block = field_bytes(&required_message(&reply, "block"), "block");
    assert_eq!(block, encoded_blocks(&mut pic, 2, 1).blocks[0].to_vec());
    let request = encode(&pool, "BlockRequest", |m| {
        set(m, "block_height", Value::U64(3))
    });
    assert!(
        query(&mut pic, "block_pb", request).unwrap().is_empty(),
        "no such block"
    );

    // tip_of_chain_pb: the certificate of the tip's hash, and its index.
    let reply = query(
        &mut pic,
        "tip_of_chain_pb",
        encode(&pool, "TipOfChainRequest", |_| {}),
    );
    let reply = decode(&pool, "TipOfChainResponse", &reply.unwrap());
    assert_eq!(
        field_u64(&required_message(&reply, "chain_length"), "height"),
        2
    );
    let certificate = field_bytes(&required_message(&reply, "certification"), "certification");
    assert_eq!(
        verified_certified_data(&pic, LEDGER_CANISTER_ID, &certificate).unwrap(),
        Sha256::digest(&block).to_vec()
    );

    // get_blocks_pb: a range that exists, and one that does not.
    let range = |start: u64, length: u64| {
        encode(&pool, "GetBlocksRequest", |m| {
            set(m, "start", Value::U64(start));
            set(m, "length", Value::U64(length));
        })
    };
    let reply = decode(
        &pool,
        "GetBlocksResponse",
        &query(&mut pic, "get_blocks_pb", range(1, 2)).unwrap(),
    );
    let blocks = required_message(&reply, "blocks");
    let blocks: Vec<Vec<u8>> = blocks
        .get_field_by_name("blocks")
        .unwrap()
        .as_list()
        .unwrap()
        .iter()
        .map(|b| field_bytes(b.as_message().unwrap(), "block"))
        .collect();
    let expected: Vec<Vec<u8>> = encoded_blocks(&mut pic, 1, 2)
        .blocks
        .into_iter()
        .map(|b| b.to_vec())
        .collect();
    assert_eq!(blocks, expected);
    let reply = decode(
        &pool,
        "GetBlocksResponse",
        &query(&mut pic, "get_blocks_pb", range(2, 5)).unwrap(),
    );
    assert!(field_message(&reply, "blocks").is_none());
    let error = reply.get_field_by_name("error").unwrap();
    assert_eq!(
        error.as_str().unwrap(),
        "Requested blocks outside the range stored in the ledger node. \
         Requested [2 .. 7]. Available [0 .. 3]."
    );

    // iter_blocks_pb: by position, cut at the end of the chain.
    let request = encode(&pool, "IterBlocksRequest", |m| {
        set(m, "start", Value::U64(1));
        set(m, "length", Value::U64(100));
    });
    let reply = decode(
        &pool,
        "IterBlocksResponse",
        &query(&mut pic, "iter_blocks_pb", request).unwrap(),
    );
    assert_eq!(
        reply
            .get_field_by_name("blocks")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        2
    );

    // get_archive_index_pb: no archives.
    let reply = query(&mut pic, "get_archive_index_pb", vec![]).unwrap();
    let reply = decode(&pool, "ArchiveIndexResponse", &reply);
    assert!(
        reply
            .get_field_by_name("entries")
            .unwrap()
            .as_list()
            .unwrap()
            .is_empty()
    );

    // account_balance_pb, transfer_fee_pb, total_supply_pb.
    let request = encode(&pool, "AccountBalanceRequest", |m| {
        set(
            sub(m, "account"),
            "hash",
            Value::Bytes(to.as_bytes().to_vec().into()),
        );
    });
    let reply = decode(
        &pool,
        "Tokens",
        &query(&mut pic, "account_balance_pb", request).unwrap(),
    );
    assert_eq!(field_u64(&reply, "e8s"), 3 * FEE);
    let reply = query(
        &mut pic,
        "transfer_fee_pb",
        encode(&pool, "TransferFeeRequest", |_| {}),
    );
    let reply = decode(&pool, "TransferFeeResponse", &reply.unwrap());
    assert_eq!(
        field_u64(&required_message(&reply, "transfer_fee"), "e8s"),
        FEE
    );
    let reply = query(
        &mut pic,
        "total_supply_pb",
        encode(&pool, "TotalSupplyRequest", |_| {}),
    );
    let reply = decode(&pool, "Tokens", &reply.unwrap());
    assert_eq!(field_u64(&reply, "e8s"), total_supply(&mut pic));

    // Malformed protobuf is refused with the method named.
    let error = query(&mut pic, "account_balance_pb", vec![0x0a, 0x05, 1]).unwrap_err();
    assert!(
        error
            .reject_message
            .contains("failed to decode account_balance_pb argument"),
        "{error:?}"
    );
}

/// Requests the real ledger answers in its own particular way.
fn should_answer_edge_cases_as_the_real_ledger(backend: Backend) {
    let mut pic = setup(backend);
    // An owner burning through transfer_from needs an allowance, which no
    // one can grant themselves.
    let own_burn = TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(user(1)),
        to: Account::from(GOVERNANCE_CANISTER_ID),
        amount: Nat::from(E8S_PER_ICP),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    assert_eq!(
        transfer_from(&mut pic, user(1), own_burn),
        Err(TransferFromError::InsufficientAllowance {
            allowance: Nat::from(0u8)
        })
    );
    // An amount beyond 64 bits: no balance covers it.
    let huge = TransferArg {
        amount: Nat::from(u128::from(u64::MAX) + 1),
        ..transfer_arg(user(3), 0)
    };
    assert_eq!(
        icrc1_transfer(&mut pic, user(1), huge),
        Err(TransferError::InsufficientFunds {
            balance: Nat::from(100 * E8S_PER_ICP)
        })
    );
    // A legacy burn of a balance below the fee, whole.
    icrc1_transfer(&mut pic, GOVERNANCE_CANISTER_ID, transfer_arg(user(4), 700)).unwrap();
    let burn_all = TransferArgs {
        fee: Tokens::from_e8s(0),
        ..legacy_args(GOVERNANCE_CANISTER_ID, 700)
    };
    legacy_transfer(&mut pic, user(4), burn_all).unwrap();
    assert_eq!(balance(&mut pic, user(4)), 0);
    // account_balance: a blob of another length holds nothing; a wrong
    // checksum is refused.
    #[derive(candid::CandidType)]
    struct Blob {
        account: ByteBuf,
    }
    let (tokens,): (Tokens,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "account_balance",
        (Blob {
            account: ByteBuf::from(vec![1; 31]),
        },),
    )
    .unwrap();
    assert_eq!(tokens, Tokens::from_e8s(0));
    let mut bad = *AccountIdentifier::new(&user(1), None).as_bytes();
    bad[0] ^= 1;
    let error = query_candid::<_, (Tokens,)>(
        &mut pic,
        LEDGER_CANISTER_ID,
        "account_balance",
        (Blob {
            account: ByteBuf::from(bad.to_vec()),
        },),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("Invalid account identifier"),
        "{error}"
    );
    // ICRC-21: a consent message for a transfer, and the standard listed.
    let (standards,): (Vec<nns_api::ledger::StandardRecord>,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "icrc10_supported_standards",
        (),
    )
    .unwrap();
    let names: Vec<&str> = standards.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ICRC-1", "ICRC-2", "ICRC-4", "ICRC-21", "ICRC-10"]);
    use icrc_ledger_types::icrc21::{errors::Icrc21Error, requests, responses::ConsentInfo};
    let request = requests::ConsentMessageRequest {
        method: "icrc1_transfer".into(),
        arg: Encode!(&transfer_arg(user(3), 123_456_789)).unwrap(),
        user_preferences: requests::ConsentMessageSpec {
            metadata: requests::ConsentMessageMetadata {
                language: "en".into(),
                utc_offset_minutes: None,
            },
            device_spec: Some(requests::DisplayMessageType::GenericDisplay),
        },
    };
    let (consent,): (Result<ConsentInfo, Icrc21Error>,) = update_candid_as(
        &mut pic,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc21_canister_call_consent_message",
        (request,),
    )
    .unwrap();
    let text = format!("{:?}", consent.unwrap().consent_message);
    assert!(text.contains("1.23456789 ICP"), "{text}");
}

/// Older deployment scripts install the ledger with a bare `InitArgs`
/// record, which the real ledger accepts.
fn should_install_from_a_bare_init_record(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    let init = nns_api::ledger::InitArgs {
        minting_account: AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, None).to_hex(),
        icrc1_minting_account: None,
        initial_values: vec![(
            AccountIdentifier::new(&user(1), None).to_hex(),
            Tokens::from_e8s(5 * E8S_PER_ICP),
        )],
        transaction_window: None,
        transfer_fee: None,
        token_symbol: None,
        token_name: None,
        feature_flags: None,
    };
    let id = pic.create_canister();
    pic.add_cycles(id, 1_000_000_000_000);
    pic.install_canister(id, wasm(), Encode!(&init).unwrap(), None);
    let (n,): (Nat,) =
        query_candid(&mut pic, id, "icrc1_balance_of", (Account::from(user(1)),)).unwrap();
    assert_eq!(n, Nat::from(5 * E8S_PER_ICP));
    // Neither form: refused with both decoders' reasons.
    let other = pic.create_canister();
    pic.add_cycles(other, 1_000_000_000_000);
    let error = pic
        .reinstall_canister(other, wasm(), Encode!(&42u8).unwrap(), None)
        .unwrap_err();
    assert!(
        error
            .reject_message
            .contains("Unable to decode init argument"),
        "{error:?}"
    );
    // A ledger without blocks has no tip: tip_of_chain traps, as the real one's.
    let empty = pic.create_canister();
    pic.add_cycles(empty, 1_000_000_000_000);
    let no_balances = nns_api::ledger::InitArgs {
        initial_values: vec![],
        ..init
    };
    pic.install_canister(empty, wasm(), Encode!(&no_balances).unwrap(), None);
    let error =
        query_candid::<_, (TipOfChainRes,)>(&mut pic, empty, "tip_of_chain", ()).unwrap_err();
    assert!(error.to_string().contains("the chain is empty"), "{error}");
}
