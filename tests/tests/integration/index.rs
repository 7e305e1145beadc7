//! The ICP index canister next to the ledger, on both backends: it follows
//! the ledger's blocks and answers balances and histories that agree with
//! the ledger's own `account_balance` and `query_blocks`; it catches up
//! batch after batch, keeps its index across upgrades, stops at a block that
//! breaks the hash chain, and fetches archived blocks from the archive the
//! ledger names (the last two with stand-in canisters that answer fixed
//! replies).

use candid::{Nat, Principal};
use icrc_ledger_types::icrc1::account::Account as IcrcAccount;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use icrc_ledger_types::icrc3::archive::QueryArchiveFn;
use integration_tests::env::{Backend, TestEnv, query_candid, query_candid_as, update_candid_as};
use integration_tests::{install_index, install_ledger, metrics, on_both_backends, wasm_gz_path};
use nns_api::AccountIdentifier;
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::icp_block::{Block, Operation as BlockOperation, Transaction as BlockTransaction};
use nns_api::ids::{GOVERNANCE_CANISTER_ID, INDEX_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::index::{
    Account, GetAccountIdentifierTransactionsArgs, GetAccountIdentifierTransactionsResult,
    GetAccountTransactionsArgs, GetBlocksRequest, GetBlocksResponse, IndexArg, InitArg, Operation,
    Status, Transaction, TransactionWithId, UpgradeArg,
};
use nns_api::ledger::{
    AccountBalanceArgs, ArchivedEncodedBlocksRange, CandidBlock, CandidOperation, GetBlocksArgs,
    GetEncodedBlocksResult, Memo as IcpMemo, QueryBlocksResponse, QueryEncodedBlocksResponse,
    TimeStamp, Tokens, TransferArgs, TransferBatchResult, TransferError as IcpTransferError,
};
use serde_bytes::ByteBuf;
use std::time::Duration;

on_both_backends!(
    should_index_every_block_and_agree_with_the_ledger,
    should_catch_up_batch_after_batch_without_waiting,
    should_keep_its_index_and_apply_upgrade_arguments,
    should_refuse_bad_input_with_clear_errors,
    should_stop_at_a_block_that_breaks_the_chain_until_an_upgrade,
    should_fetch_archived_blocks_from_the_archive_the_ledger_names,
);

const FEE: u64 = 10_000;
const ICP: u64 = 100_000_000;

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0x1d, 1])
}

fn account_id(owner: Principal, subaccount: Option<[u8; 32]>) -> AccountIdentifier {
    AccountIdentifier::new(&owner, subaccount.as_ref())
}

/// A ledger where users 1 and 2 hold 100 ICP each, and an index following it.
fn setup(backend: Backend) -> TestEnv {
    let mut env = TestEnv::new(backend);
    install_ledger(&mut env, [(user(1), 100 * ICP), (user(2), 100 * ICP)]);
    install_index(&mut env, LEDGER_CANISTER_ID, None);
    env
}

fn status(env: &mut TestEnv) -> u64 {
    let (status,): (Status,) = query_candid(env, INDEX_CANISTER_ID, "status", ()).unwrap();
    status.num_blocks_synced
}

/// Every block of the ledger, 2 000 (its most per answer) at a time.
fn ledger_blocks(env: &mut TestEnv) -> Vec<CandidBlock> {
    let mut blocks = vec![];
    loop {
        let args = GetBlocksArgs {
            start: blocks.len() as u64,
            length: 2_000,
        };
        let (page,): (QueryBlocksResponse,) =
            query_candid(env, LEDGER_CANISTER_ID, "query_blocks", (args,)).unwrap();
        blocks.extend(page.blocks);
        if blocks.len() as u64 >= page.chain_length {
            return blocks;
        }
    }
}

/// Rounds until the index holds `expected` blocks, a second of time each.
fn sync_to(env: &mut TestEnv, expected: u64) {
    for _ in 0..60 {
        if status(env) == expected {
            return;
        }
        env.advance_time(Duration::from_secs(1));
        env.tick();
    }
    panic!(
        "the index holds {} blocks, not {expected}, after a minute:\n{}",
        status(env),
        logs(env)
    );
}

fn sync_with_ledger(env: &mut TestEnv) -> u64 {
    let chain_length = ledger_blocks(env).len() as u64;
    sync_to(env, chain_length);
    chain_length
}

fn history(
    env: &mut TestEnv,
    account: &AccountIdentifier,
    start: Option<u64>,
    max_results: u64,
) -> GetAccountIdentifierTransactionsResult {
    let args = GetAccountIdentifierTransactionsArgs {
        max_results,
        start,
        account_identifier: account.to_hex(),
    };
    let (result,): (GetAccountIdentifierTransactionsResult,) = query_candid(
        env,
        INDEX_CANISTER_ID,
        "get_account_identifier_transactions",
        (args,),
    )
    .unwrap();
    result
}

fn index_balance(env: &mut TestEnv, account: &AccountIdentifier) -> u64 {
    let (balance,): (u64,) = query_candid(
        env,
        INDEX_CANISTER_ID,
        "get_account_identifier_balance",
        (account.to_hex(),),
    )
    .unwrap();
    balance
}

fn ledger_balance(env: &mut TestEnv, account: &AccountIdentifier) -> u64 {
    let (tokens,): (Tokens,) = query_candid(
        env,
        LEDGER_CANISTER_ID,
        "account_balance",
        (AccountBalanceArgs { account: *account },),
    )
    .unwrap();
    tokens.e8s
}

/// The accounts whose history shows a block, from the ledger's own view of
/// it: as on the real index, not the spender of a transfer.
fn shown_accounts(operation: &CandidOperation) -> Vec<AccountIdentifier> {
    match operation {
        CandidOperation::Mint { to, .. } => vec![*to],
        CandidOperation::Burn { from, .. } => vec![*from],
        CandidOperation::Transfer { from, to, .. } => vec![*from, *to],
        CandidOperation::Approve { from, spender, .. } => vec![*from, *spender],
    }
}

/// What the index should show for a block of the ledger's `query_blocks`,
/// which shows a transaction without `created_at_time` with the block's.
fn assert_same_transaction(shown: &Transaction, block: &CandidBlock) {
    let tx = &block.transaction;
    assert_eq!(shown.memo, tx.memo);
    assert_eq!(shown.icrc1_memo, tx.icrc1_memo);
    assert_eq!(shown.timestamp, Some(block.timestamp));
    assert_eq!(
        shown.created_at_time.unwrap_or(block.timestamp),
        tx.created_at_time
    );
    let hex = |a: &AccountIdentifier| a.to_hex();
    let expected = match tx.operation.as_ref().expect("every block has an operation") {
        CandidOperation::Mint { to, amount } => Operation::Mint {
            to: hex(to),
            amount: *amount,
        },
        CandidOperation::Burn {
            from,
            spender,
            amount,
        } => Operation::Burn {
            from: hex(from),
            amount: *amount,
            spender: spender.as_ref().map(hex),
        },
        CandidOperation::Transfer {
            from,
            to,
            amount,
            fee,
            spender,
        } => Operation::Transfer {
            to: hex(to),
            fee: *fee,
            from: hex(from),
            amount: *amount,
            spender: spender
                .as_ref()
                .map(|s| AccountIdentifier::from_slice(s).unwrap().to_hex()),
        },
        CandidOperation::Approve {
            from,
            spender,
            allowance,
            fee,
            expires_at,
            expected_allowance,
            ..
        } => Operation::Approve {
            fee: *fee,
            from: hex(from),
            allowance: *allowance,
            expires_at: *expires_at,
            spender: hex(spender),
            expected_allowance: *expected_allowance,
        },
    };
    assert_eq!(shown.operation, expected);
}

/// Checks the index against the ledger for each account: balance (by text,
/// by ICRC account) and whole history (paged two at a time), each
/// transaction equal to the ledger's block.
fn assert_agrees_with_the_ledger(env: &mut TestEnv, accounts: &[(Principal, Option<[u8; 32]>)]) {
    let blocks = ledger_blocks(env);
    for &(owner, subaccount) in accounts {
        let account = account_id(owner, subaccount);
        let balance = ledger_balance(env, &account);
        assert_eq!(index_balance(env, &account), balance, "{account}");
        let (icrc1_balance,): (u64,) = query_candid(
            env,
            INDEX_CANISTER_ID,
            "icrc1_balance_of",
            (IcrcAccount { owner, subaccount },),
        )
        .unwrap();
        assert_eq!(icrc1_balance, balance, "{account}");

        let expected_ids: Vec<u64> = (0..blocks.len() as u64)
            .rev()
            .filter(|&i| {
                let operation = blocks[i as usize].transaction.operation.as_ref().unwrap();
                shown_accounts(operation).contains(&account)
            })
            .collect();
        let mut paged: Vec<TransactionWithId> = vec![];
        let mut start = None;
        loop {
            let page = history(env, &account, start, 2).expect("a valid account");
            assert_eq!(page.balance, balance);
            assert_eq!(page.oldest_tx_id, expected_ids.last().copied());
            let full = page.transactions.len() == 2;
            start = page.transactions.last().map(|t| t.id);
            paged.extend(page.transactions);
            if !full {
                break;
            }
        }
        let ids: Vec<u64> = paged.iter().map(|t| t.id).collect();
        assert_eq!(ids, expected_ids, "history of {account}");
        for shown in &paged {
            assert_same_transaction(&shown.transaction, &blocks[shown.id as usize]);
        }

        let by_icrc_account = GetAccountTransactionsArgs {
            account: Account {
                owner,
                subaccount: subaccount.map(|s| ByteBuf::from(s.to_vec())),
            },
            start: None,
            max_results: Nat::from(100u8),
        };
        let (result,): (GetAccountIdentifierTransactionsResult,) = query_candid(
            env,
            INDEX_CANISTER_ID,
            "get_account_transactions",
            (by_icrc_account,),
        )
        .unwrap();
        assert_eq!(result, history(env, &account, None, 100), "{account}");
    }
}

fn icrc1_transfer(
    env: &mut TestEnv,
    from: Principal,
    to: IcrcAccount,
    amount: u64,
    memo: Option<Vec<u8>>,
    created_at_time: Option<u64>,
) -> u64 {
    let arg = TransferArg {
        from_subaccount: None,
        to,
        fee: None,
        created_at_time,
        memo: memo.map(Memo::from),
        amount: Nat::from(amount),
    };
    let (result,): (Result<Nat, TransferError>,) =
        update_candid_as(env, LEDGER_CANISTER_ID, from, "icrc1_transfer", (arg,)).unwrap();
    u64::try_from(result.expect("the transfer succeeds").0).unwrap()
}

fn should_index_every_block_and_agree_with_the_ledger(backend: Backend) {
    let mut env = setup(backend);
    let governance = IcrcAccount::from(GOVERNANCE_CANISTER_ID);
    // Legacy transfer, with a memo.
    let legacy = TransferArgs {
        memo: IcpMemo(7),
        amount: Tokens::from_e8s(5 * ICP),
        fee: Tokens::from_e8s(FEE),
        from_subaccount: None,
        to: account_id(user(3), None),
        created_at_time: None,
    };
    let (sent,): (Result<u64, IcpTransferError>,) =
        update_candid_as(&mut env, LEDGER_CANISTER_ID, user(1), "transfer", (legacy,)).unwrap();
    sent.unwrap();
    // ICRC-1 to a subaccount, with an ICRC-1 memo and the caller's time.
    let now = env.get_time().as_nanos_since_unix_epoch();
    let to_subaccount = IcrcAccount {
        owner: user(3),
        subaccount: Some([1; 32]),
    };
    icrc1_transfer(
        &mut env,
        user(2),
        to_subaccount,
        2 * ICP,
        Some(vec![9, 9]),
        Some(now),
    );
    // An approval and a transfer_from it pays for.
    let approve = ApproveArgs {
        from_subaccount: None,
        spender: IcrcAccount::from(user(4)),
        amount: Nat::from(10 * ICP),
        expected_allowance: None,
        expires_at: Some(now + 3_600_000_000_000),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    let (approved,): (Result<Nat, ApproveError>,) = update_candid_as(
        &mut env,
        LEDGER_CANISTER_ID,
        user(1),
        "icrc2_approve",
        (approve,),
    )
    .unwrap();
    approved.unwrap();
    let transfer_from = TransferFromArgs {
        spender_subaccount: None,
        from: IcrcAccount::from(user(1)),
        to: IcrcAccount::from(user(5)),
        amount: Nat::from(3 * ICP),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    let (moved,): (Result<Nat, TransferFromError>,) = update_candid_as(
        &mut env,
        LEDGER_CANISTER_ID,
        user(4),
        "icrc2_transfer_from",
        (transfer_from,),
    )
    .unwrap();
    moved.unwrap();
    // A burn (to the minting account) and a mint (from it).
    icrc1_transfer(&mut env, user(2), governance, ICP, None, None);
    icrc1_transfer(
        &mut env,
        GOVERNANCE_CANISTER_ID,
        IcrcAccount::from(user(6)),
        4 * ICP,
        None,
        None,
    );

    let chain_length = sync_with_ledger(&mut env);
    assert_eq!(chain_length, 8, "2 initial mints and 6 blocks");
    let mut accounts: Vec<(Principal, Option<[u8; 32]>)> =
        (1..=7).map(|n| (user(n), None)).collect();
    accounts.push((user(3), Some([1; 32])));
    accounts.push((GOVERNANCE_CANISTER_ID, None));
    assert_agrees_with_the_ledger(&mut env, &accounts);

    // The blocks themselves, byte for byte as the ledger encodes them.
    let (encoded,): (QueryEncodedBlocksResponse,) = query_candid(
        &mut env,
        LEDGER_CANISTER_ID,
        "query_encoded_blocks",
        (GetBlocksArgs {
            start: 0,
            length: 100,
        },),
    )
    .unwrap();
    let request = GetBlocksRequest {
        start: Nat::from(0u8),
        length: Nat::from(100u8),
    };
    let (served,): (GetBlocksResponse,) =
        query_candid(&mut env, INDEX_CANISTER_ID, "get_blocks", (request,)).unwrap();
    assert_eq!(served.chain_length, chain_length);
    assert_eq!(served.blocks, encoded.blocks);
    let (ledger_id,): (Principal,) =
        query_candid(&mut env, INDEX_CANISTER_ID, "ledger_id", ()).unwrap();
    assert_eq!(ledger_id, LEDGER_CANISTER_ID);
    let served_metrics = metrics(&mut env, INDEX_CANISTER_ID);
    assert_eq!(
        served_metrics["index_number_of_blocks"],
        chain_length as f64
    );
    assert_eq!(served_metrics["index_sync_stopped"], 0.0);
}

fn should_catch_up_batch_after_batch_without_waiting(backend: Backend) {
    let mut env = setup(backend);
    sync_with_ledger(&mut env);
    // 2 500 blocks: more than one call's worth (2 000).
    for batch in 0..5 {
        let transfers: Vec<TransferArg> = (0..500)
            .map(|i| TransferArg {
                from_subaccount: None,
                to: IcrcAccount::from(user(3 + (i % 3) as u8)),
                fee: None,
                created_at_time: None,
                memo: Some(Memo::from(vec![batch])),
                amount: Nat::from(1_000u64 + i),
            })
            .collect();
        let (results,): (Vec<Option<TransferBatchResult>>,) = update_candid_as(
            &mut env,
            LEDGER_CANISTER_ID,
            user(1),
            "icrc4_transfer_batch",
            (transfers,),
        )
        .unwrap();
        assert!(results.iter().all(|r| matches!(r, Some(Ok(_)))));
    }
    let chain_length = ledger_blocks(&mut env).len() as u64;
    assert_eq!(chain_length, 2 + 2_500);
    if backend == Backend::Runtime {
        env.as_runtime()
            .take_largest_execution_instructions(INDEX_CANISTER_ID);
    }
    // The interval passes once; from then on rounds alone (no time) bring
    // the index up to date: it asks again at once while blocks keep coming.
    env.advance_time(Duration::from_secs(1));
    let mut rounds = 0;
    while status(&mut env) < chain_length {
        assert!(
            rounds < 20,
            "caught up to {} in 20 rounds",
            status(&mut env)
        );
        env.tick();
        rounds += 1;
    }
    if backend == Backend::Runtime {
        // A message indexes a call's worth of blocks: 2 000 of them, a
        // small part of the 40 B instructions an update may use.
        let largest = env
            .as_runtime()
            .take_largest_execution_instructions(INDEX_CANISTER_ID);
        eprintln!("largest sync message: {largest} instructions");
        assert!(largest < 4_000_000_000, "{largest} instructions");
    }
    assert_agrees_with_the_ledger(
        &mut env,
        &[
            (user(1), None),
            (user(3), None),
            (user(4), None),
            (user(5), None),
        ],
    );
}

fn upgrade_index(env: &mut TestEnv, arg: Option<IndexArg>) -> Result<(), String> {
    let wasm = std::fs::read(wasm_gz_path("index")).unwrap();
    env.upgrade_canister(
        INDEX_CANISTER_ID,
        wasm,
        candid::encode_one(arg).unwrap(),
        None,
    )
    .map_err(|e| e.reject_message)
}

fn should_keep_its_index_and_apply_upgrade_arguments(backend: Backend) {
    let mut env = setup(backend);
    icrc1_transfer(
        &mut env,
        user(1),
        IcrcAccount::from(user(3)),
        ICP,
        None,
        None,
    );
    let synced = sync_with_ledger(&mut env);
    let before = history(&mut env, &account_id(user(1), None), None, 10);

    let slower = Some(IndexArg::Upgrade(UpgradeArg {
        ledger_id: None,
        retrieve_blocks_from_ledger_interval_seconds: Some(60),
    }));
    upgrade_index(&mut env, slower).unwrap();
    assert_eq!(status(&mut env), synced);
    assert_eq!(
        history(&mut env, &account_id(user(1), None), None, 10),
        before
    );
    let (ledger_id,): (Principal,) =
        query_candid(&mut env, INDEX_CANISTER_ID, "ledger_id", ()).unwrap();
    assert_eq!(ledger_id, LEDGER_CANISTER_ID);

    // The upgrade syncs at once; caught up, it then asks once a minute.
    env.tick();
    env.tick();
    icrc1_transfer(
        &mut env,
        user(1),
        IcrcAccount::from(user(3)),
        ICP,
        None,
        None,
    );
    for _ in 0..5 {
        env.advance_time(Duration::from_secs(5));
        env.tick();
    }
    assert_eq!(
        status(&mut env),
        synced,
        "not yet: the interval is a minute"
    );
    env.advance_time(Duration::from_secs(60));
    for _ in 0..10 {
        env.tick();
    }
    assert_eq!(status(&mut env), synced + 1);
    assert_agrees_with_the_ledger(&mut env, &[(user(1), None), (user(3), None)]);

    // No upgrade argument keeps everything; `Init` is refused and changes nothing.
    upgrade_index(&mut env, None).unwrap();
    let init = Some(IndexArg::Init(InitArg {
        ledger_id: user(9),
        retrieve_blocks_from_ledger_interval_seconds: None,
    }));
    let refused = upgrade_index(&mut env, init).unwrap_err();
    assert!(refused.contains("takes the Upgrade variant"), "{refused}");
    let (ledger_id,): (Principal,) =
        query_candid(&mut env, INDEX_CANISTER_ID, "ledger_id", ()).unwrap();
    assert_eq!(ledger_id, LEDGER_CANISTER_ID);
}

fn should_refuse_bad_input_with_clear_errors(backend: Backend) {
    let mut env = setup(backend);
    sync_with_ledger(&mut env);

    let bad = GetAccountIdentifierTransactionsArgs {
        max_results: 10,
        start: None,
        account_identifier: "not an account".into(),
    };
    let (result,): (GetAccountIdentifierTransactionsResult,) = query_candid(
        &mut env,
        INDEX_CANISTER_ID,
        "get_account_identifier_transactions",
        (bad,),
    )
    .unwrap();
    let message = result.unwrap_err().message;
    assert!(
        message.contains("invalid account identifier") && message.contains("64 hexadecimal"),
        "{message}"
    );
    let mut corrupted = account_id(user(1), None).to_hex();
    corrupted.replace_range(63.., "0");
    let reject = env
        .query_call(
            INDEX_CANISTER_ID,
            Principal::anonymous(),
            "get_account_identifier_balance",
            candid::encode_one(&corrupted).unwrap(),
        )
        .unwrap_err();
    assert!(
        reject.reject_message.contains("checksum"),
        "{}",
        reject.reject_message
    );
    let short_subaccount = GetAccountTransactionsArgs {
        account: Account {
            owner: user(1),
            subaccount: Some(ByteBuf::from(vec![1; 31])),
        },
        start: None,
        max_results: Nat::from(1u8),
    };
    let (result,): (GetAccountIdentifierTransactionsResult,) = query_candid(
        &mut env,
        INDEX_CANISTER_ID,
        "get_account_transactions",
        (short_subaccount,),
    )
    .unwrap();
    assert_eq!(
        result.unwrap_err().message,
        "a subaccount is 32 bytes, not 31"
    );

    // A user's query run as an update gets 50 transactions at most, others 2 000.
    let user_key = Principal::self_authenticating(b"a user's public key");
    let many = |max_results| GetAccountIdentifierTransactionsArgs {
        max_results,
        start: None,
        account_identifier: account_id(user(1), None).to_hex(),
    };
    let (capped,): (GetAccountIdentifierTransactionsResult,) = update_candid_as(
        &mut env,
        INDEX_CANISTER_ID,
        user_key,
        "get_account_identifier_transactions",
        (many(u64::MAX),),
    )
    .unwrap();
    assert_eq!(capped.unwrap().transactions.len(), 1);
    let (capped,): (GetAccountIdentifierTransactionsResult,) = query_candid_as(
        &mut env,
        INDEX_CANISTER_ID,
        user_key,
        "get_account_identifier_transactions",
        (many(u64::MAX),),
    )
    .unwrap();
    assert_eq!(capped.unwrap().oldest_tx_id, Some(0));

    let get = |path: &str| HttpRequest {
        method: "GET".into(),
        url: path.into(),
        headers: vec![],
        body: ByteBuf::new(),
    };
    let (missing,): (HttpResponse,) =
        query_candid(&mut env, INDEX_CANISTER_ID, "http_request", (get("/nope"),)).unwrap();
    assert_eq!(missing.status_code, 404);
    let (logs,): (HttpResponse,) =
        query_candid(&mut env, INDEX_CANISTER_ID, "http_request", (get("/logs"),)).unwrap();
    let text = String::from_utf8(logs.body.into_vec()).unwrap();
    assert!(
        text.contains("blocks indexed: 2\nsync stopped: no\n"),
        "{text}"
    );

    // Installing needs `Init` with a usable interval.
    let wasm = std::fs::read(wasm_gz_path("index")).unwrap();
    let reinstall = |env: &mut TestEnv, arg: Option<IndexArg>| {
        env.reinstall_canister(
            INDEX_CANISTER_ID,
            wasm.clone(),
            candid::encode_one(arg).unwrap(),
            None,
        )
        .map_err(|e| e.reject_message)
    };
    let refused = reinstall(&mut env, None).unwrap_err();
    assert!(refused.contains("needs `opt variant { Init"), "{refused}");
    let every_round = Some(IndexArg::Init(InitArg {
        ledger_id: LEDGER_CANISTER_ID,
        retrieve_blocks_from_ledger_interval_seconds: Some(0),
    }));
    let refused = reinstall(&mut env, every_round).unwrap_err();
    assert!(refused.contains("at least 1"), "{refused}");
}

// ---- Stand-in canisters ----

/// A module that answers `method` with `reply` (a Candid message), whatever
/// it is asked.
fn fixed_reply_module(method: &str, reply: &[u8]) -> Vec<u8> {
    let data: String = reply.iter().map(|b| format!("\\{b:02x}")).collect();
    let pages = reply.len() / 65_536 + 1;
    wat::parse_str(format!(
        r#"(module
            (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
            (import "ic0" "msg_reply" (func $reply))
            (memory (export "memory") {pages})
            (data (i32.const 0) "{data}")
            (func (export "canister_query {method}")
                (call $append (i32.const 0) (i32.const {len}))
                (call $reply)))"#,
        len = reply.len()
    ))
    .unwrap()
}

fn install_fixed_reply(env: &mut TestEnv, method: &str, reply: &[u8]) -> Principal {
    let id = env.create_canister();
    env.install_canister(id, fixed_reply_module(method, reply), vec![], None);
    id
}

/// A hash-chained run of mints, as a ledger makes them.
fn mints(count: u64) -> Vec<Block> {
    let mut blocks: Vec<Block> = vec![];
    for i in 0..count {
        blocks.push(Block {
            parent_hash: blocks.last().map(Block::hash),
            transaction: BlockTransaction {
                operation: BlockOperation::Mint {
                    to: account_id(user(1), None),
                    amount: ICP,
                },
                memo: i,
                icrc1_memo: None,
                created_at_time: None,
            },
            timestamp: 1_700_000_000_000_000_000 + i,
        });
    }
    blocks
}

fn encoded(blocks: &[Block]) -> Vec<ByteBuf> {
    blocks
        .iter()
        .map(|b| ByteBuf::from(b.to_protobuf()))
        .collect()
}

fn encoded_blocks_reply(first: u64, blocks: Vec<ByteBuf>, chain_length: u64) -> Vec<u8> {
    candid::encode_one(QueryEncodedBlocksResponse {
        certificate: None,
        blocks,
        chain_length,
        first_block_index: first,
        archived_blocks: vec![],
    })
    .unwrap()
}

fn logs(env: &mut TestEnv) -> String {
    let request = HttpRequest {
        method: "GET".into(),
        url: "/logs".into(),
        headers: vec![],
        body: ByteBuf::new(),
    };
    let (response,): (HttpResponse,) =
        query_candid(env, INDEX_CANISTER_ID, "http_request", (request,)).unwrap();
    String::from_utf8(response.body.into_vec()).unwrap()
}

fn should_stop_at_a_block_that_breaks_the_chain_until_an_upgrade(backend: Backend) {
    let mut env = TestEnv::new(backend);
    let chain = mints(4);
    let mut forged = encoded(&chain);
    let mut third = chain[2].clone();
    third.parent_hash = Some([0xee; 32]);
    forged[2] = ByteBuf::from(third.to_protobuf());
    let forking_ledger = install_fixed_reply(
        &mut env,
        "query_encoded_blocks",
        &encoded_blocks_reply(0, forged, 4),
    );
    install_index(&mut env, forking_ledger, None);
    sync_to(&mut env, 2);
    for _ in 0..5 {
        env.advance_time(Duration::from_secs(1));
        env.tick();
    }
    assert_eq!(status(&mut env), 2, "the blocks before the forged one stay");
    let text = logs(&mut env);
    assert!(
        text.contains(&format!(
            "sync stopped: block 2 breaks the hash chain: its parent hash is {}",
            "ee".repeat(32)
        )),
        "{text}"
    );
    assert_eq!(
        metrics(&mut env, INDEX_CANISTER_ID)["index_sync_stopped"],
        1.0
    );

    // Another ledger that continues the chain: the upgrade that names it
    // lets syncing go on.
    let honest_ledger = install_fixed_reply(
        &mut env,
        "query_encoded_blocks",
        &encoded_blocks_reply(2, encoded(&chain[2..]), 4),
    );
    let switch = Some(IndexArg::Upgrade(UpgradeArg {
        ledger_id: Some(honest_ledger),
        retrieve_blocks_from_ledger_interval_seconds: None,
    }));
    upgrade_index(&mut env, switch).unwrap();
    sync_to(&mut env, 4);
    assert_eq!(index_balance(&mut env, &account_id(user(1), None)), 4 * ICP);
    assert!(logs(&mut env).contains("sync stopped: no"));
}

fn should_fetch_archived_blocks_from_the_archive_the_ledger_names(backend: Backend) {
    let mut env = TestEnv::new(backend);
    let chain = mints(5);
    let archived: GetEncodedBlocksResult = Ok(encoded(&chain[..3]));
    let archive = install_fixed_reply(
        &mut env,
        "get_encoded_blocks",
        &candid::encode_one(archived).unwrap(),
    );
    // The ledger keeps blocks 3 and 4 and names the archive for 0 to 2.
    let reply = QueryEncodedBlocksResponse {
        certificate: None,
        blocks: encoded(&chain[3..]),
        chain_length: 5,
        first_block_index: 3,
        archived_blocks: vec![ArchivedEncodedBlocksRange {
            callback: QueryArchiveFn::new(archive, "get_encoded_blocks"),
            start: 0,
            length: 3,
        }],
    };
    let ledger = install_fixed_reply(
        &mut env,
        "query_encoded_blocks",
        &candid::encode_one(reply).unwrap(),
    );
    install_index(&mut env, ledger, None);
    sync_to(&mut env, 5);
    let request = GetBlocksRequest {
        start: Nat::from(0u8),
        length: Nat::from(10u8),
    };
    let (served,): (GetBlocksResponse,) =
        query_candid(&mut env, INDEX_CANISTER_ID, "get_blocks", (request,)).unwrap();
    assert_eq!(served.blocks, encoded(&chain));
    let ids: Vec<u64> = history(&mut env, &account_id(user(1), None), None, 10)
        .unwrap()
        .transactions
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![4, 3, 2, 1, 0]);
    assert_eq!(
        history(&mut env, &account_id(user(1), None), None, 10)
            .unwrap()
            .transactions[0]
            .transaction
            .timestamp,
        Some(TimeStamp {
            timestamp_nanos: chain[4].timestamp
        })
    );
}
