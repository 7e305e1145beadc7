//! Benchmarks of the real canisters and of the runtime: one table of every
//! figure (instructions per call, calls per second, bytes) beside the real
//! NNS's figure or the goal, compared with the committed baseline. Run
//! through `scripts/bench.sh`.

mod economy;
mod network;
mod report;
mod runtime;
mod sale;

use crate::report::{self as bench_report, Figures};
use candid::{Encode, Nat, Principal};
use ic_runtime::{PocketIc, update_candid_as};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    MEMO_MINT_CYCLES, MEMO_TOP_UP, NotifyError, NotifyMintCyclesArg, NotifyMintCyclesResult,
    NotifyTopUpArg,
};
use nns_api::ids::{CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{
    GetBlocksArgs, LedgerArg, Memo, Tokens, TransferArgs, TransferError as IcpTransferError,
};
use nns_harness::env::{Backend, TestEnv};
use nns_harness::{install_cmc, install_cycles_ledger, install_ledger, wasm_gz_path};
use std::time::Instant;

/// As the real ledger's canbench: operations among this many accounts
/// (`BENCH_ACCOUNTS` overrides it for quick experiments).
static ACCOUNTS: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| {
    std::env::var("BENCH_ACCOUNTS").map_or(10_000, |v| v.parse().expect("a number"))
});
const FEE: u64 = 10_000;

fn user(n: u32) -> Principal {
    let mut bytes = vec![0xbe];
    bytes.extend_from_slice(&n.to_be_bytes());
    Principal::from_slice(&bytes)
}

fn ledger_with_accounts(accounts: u32) -> PocketIc {
    let mut env = TestEnv::new(Backend::Runtime);
    install_ledger(&mut env, (0..accounts).map(|n| (user(n), 1_000_000_000)));
    // The figures below are the runtime's own.
    env.into_runtime()
}

struct Measured {
    calls: u32,
    instructions: u64,
    seconds: f64,
}

impl Measured {
    fn per_call(&self) -> u64 {
        self.instructions / u64::from(self.calls)
    }

    fn per_second(&self) -> f64 {
        f64::from(self.calls) / self.seconds
    }
}

/// Runs `call` for each of `ACCOUNTS` operations and sums the instructions
/// the ledger used.
fn measure(pic: &mut PocketIc, mut call: impl FnMut(&mut PocketIc, u32)) -> Measured {
    let mut instructions = 0;
    let start = Instant::now();
    for i in 0..*ACCOUNTS {
        call(pic, i);
        instructions += pic.last_execution_instructions(LEDGER_CANISTER_ID);
    }
    Measured {
        calls: *ACCOUNTS,
        instructions,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// As [`measure`], for `canister`, counting every execution of it that a
/// call causes: a call that awaits another canister's answer executes twice
/// (the update and its callback).
fn measure_all_executions(
    pic: &mut PocketIc,
    canister: Principal,
    mut call: impl FnMut(&mut PocketIc, u32),
) -> Measured {
    let mut instructions = 0;
    let start = Instant::now();
    for i in 0..*ACCOUNTS {
        let before = pic.total_instructions(canister);
        call(pic, i);
        instructions += pic.total_instructions(canister) - before;
    }
    Measured {
        calls: *ACCOUNTS,
        instructions,
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn icrc1_transfer(pic: &mut PocketIc, from: u32, to: u32) {
    let arg = TransferArg {
        from_subaccount: None,
        to: Account::from(user(to)),
        amount: Nat::from(1_000u32),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    let (r,): (Result<Nat, TransferError>,) = update_candid_as(
        pic,
        LEDGER_CANISTER_ID,
        user(from),
        "icrc1_transfer",
        (arg,),
    )
    .unwrap();
    r.unwrap();
}

/// Upgrades the ledger to its own module; the upgrade's instructions.
fn upgrade_ledger(pic: &mut PocketIc) -> u64 {
    pic.upgrade_canister(
        LEDGER_CANISTER_ID,
        std::fs::read(wasm_gz_path("ledger")).unwrap(),
        Encode!(&None::<LedgerArg>).unwrap(),
        None,
    )
    .unwrap();
    pic.last_execution_instructions(LEDGER_CANISTER_ID)
}

fn next(i: u32) -> u32 {
    (i + 1) % *ACCOUNTS
}

fn bench_ledger(figures: &mut Figures) {
    let mut rows: Vec<(&str, &str, Measured, &str)> = Vec::new();
    let mut pic = ledger_with_accounts(*ACCOUNTS);
    let install = pic.last_execution_instructions(LEDGER_CANISTER_ID);

    let transfers = measure(&mut pic, |pic, i| icrc1_transfer(pic, i, next(i)));
    rows.push((
        "icrc1_transfer",
        "icrc1_transfer",
        transfers,
        "canbench 311 k; goal <= 150 k",
    ));

    let approvals = measure(&mut pic, |pic, i| {
        let arg = ApproveArgs {
            from_subaccount: None,
            spender: Account::from(user(next(i))),
            amount: Nat::from(1_000_000u32),
            expected_allowance: None,
            expires_at: None,
            fee: None,
            memo: None,
            created_at_time: None,
        };
        let (r,): (Result<Nat, ApproveError>,) =
            update_candid_as(pic, LEDGER_CANISTER_ID, user(i), "icrc2_approve", (arg,)).unwrap();
        r.unwrap();
    });
    rows.push((
        "icrc2_approve",
        "icrc2_approve",
        approvals,
        "canbench 449 k; goal <= 225 k",
    ));

    let transfers_from = measure(&mut pic, |pic, i| {
        let arg = TransferFromArgs {
            spender_subaccount: None,
            from: Account::from(user(i)),
            to: Account::from(user((i + 2) % *ACCOUNTS)),
            amount: Nat::from(1_000u32),
            fee: None,
            memo: None,
            created_at_time: None,
        };
        let spender = user(next(i));
        let (r,): (Result<Nat, TransferFromError>,) = update_candid_as(
            pic,
            LEDGER_CANISTER_ID,
            spender,
            "icrc2_transfer_from",
            (arg,),
        )
        .unwrap();
        r.unwrap();
    });
    rows.push((
        "icrc2_transfer_from",
        "icrc2_transfer_from",
        transfers_from,
        "canbench 690 k; goal <= 350 k",
    ));

    let legacy = measure(&mut pic, |pic, i| {
        let args = TransferArgs {
            memo: Memo(u64::from(i)),
            amount: Tokens::from_e8s(1_000),
            fee: Tokens::from_e8s(FEE),
            from_subaccount: None,
            to: AccountIdentifier::new(&user(next(i)), None),
            created_at_time: None,
        };
        let (r,): (Result<u64, IcpTransferError>,) =
            update_candid_as(pic, LEDGER_CANISTER_ID, user(i), "transfer", (args,)).unwrap();
        r.unwrap();
    });
    rows.push((
        "transfer",
        "transfer (legacy)",
        legacy,
        "no canbench; goal <= 200 k",
    ));

    // Replicated runs of the block queries, so that their instructions are
    // counted; 50 blocks, the most a user's replicated call gets.
    let blocks_per_call = 50u32;
    for (method, key, label) in [
        (
            "query_blocks",
            "query_blocks_per_block",
            "query_blocks, per block",
        ),
        (
            "query_encoded_blocks",
            "query_encoded_blocks_per_block",
            "query_encoded_blocks, per block",
        ),
    ] {
        let mut m = measure(&mut pic, |pic, i| {
            let args = GetBlocksArgs {
                start: u64::from(i) * 3,
                length: u64::from(blocks_per_call),
            };
            let bytes = Encode!(&args).unwrap();
            pic.update_call(LEDGER_CANISTER_ID, user(i), method, bytes)
                .unwrap();
        });
        m.calls *= blocks_per_call;
        rows.push((key, label, m, ""));
    }

    for (key, label, m, real) in &rows {
        figures.cost(
            &format!("ledger.{key}.instructions"),
            &format!("ledger {label}"),
            m.per_call(),
            "instr",
            real,
        );
        figures.rate(
            &format!("ledger.{key}.calls_per_second"),
            &format!("ledger {label}, calls/s"),
            m.per_second(),
            "1/s",
            "",
        );
    }
    figures.cost(
        "ledger.install.instructions",
        &format!("ledger install, {} balances", *ACCOUNTS),
        install,
        "instr",
        "",
    );
    let upgrade = upgrade_ledger(&mut pic);
    figures.cost(
        "ledger.upgrade.instructions",
        &format!(
            "ledger upgrade, {} accounts, {} blocks",
            *ACCOUNTS,
            5 * *ACCOUNTS
        ),
        upgrade,
        "instr",
        "flat in accounts",
    );
    // Right after the upgrade the heap caches (slots, account identifiers)
    // are empty: transfers between accounts not seen since, each touched once.
    let cold_transfers = (*ACCOUNTS / 2).min(1_000);
    let mut cold = 0;
    for k in 0..cold_transfers {
        icrc1_transfer(&mut pic, 2 * k, 2 * k + 1);
        cold += pic.last_execution_instructions(LEDGER_CANISTER_ID);
    }
    figures.cost(
        "ledger.icrc1_transfer_cold.instructions",
        "ledger icrc1_transfer, caches cold (after upgrade)",
        cold / u64::from(cold_transfers),
        "instr",
        "",
    );
    figures.cost(
        "ledger.wasm_gz.bytes",
        "ledger.wasm.gz",
        std::fs::metadata(wasm_gz_path("ledger")).unwrap().len(),
        "bytes",
        "goal <= 450 KB; real ~900 KB",
    );
}

/// The ledger's upgrade with a million accounts (`BENCH_UPGRADE_ACCOUNTS`
/// overrides it), each made by a transfer in batches of 1 000: the upgrade
/// touches no per-account data, so it costs what it costs with a few.
fn bench_ledger_upgrade(figures: &mut Figures) {
    let accounts: u32 =
        std::env::var("BENCH_UPGRADE_ACCOUNTS").map_or(1_000_000, |v| v.parse().expect("a number"));
    const BATCH: u32 = 1_000;
    let holder = user(0);
    let mut env = TestEnv::new(Backend::Runtime);
    // Enough for a million transfers and their fees.
    install_ledger(&mut env, [(holder, 1_000_000 * 100_000_000)]);
    let mut pic = env.into_runtime();
    let small = upgrade_ledger(&mut pic);
    let start = Instant::now();
    for first in (1..=accounts).step_by(BATCH as usize) {
        let batch: Vec<TransferArg> = (first..(first + BATCH).min(accounts + 1))
            .map(|n| TransferArg {
                from_subaccount: None,
                to: Account::from(user(n)),
                amount: Nat::from(1u32),
                fee: None,
                memo: None,
                created_at_time: None,
            })
            .collect();
        let (results,): (Vec<Option<nns_api::ledger::TransferBatchResult>>,) = update_candid_as(
            &mut pic,
            LEDGER_CANISTER_ID,
            holder,
            "icrc4_transfer_batch",
            (batch,),
        )
        .unwrap();
        assert!(results.iter().all(|r| matches!(r, Some(Ok(_)))));
    }
    eprintln!(
        "{accounts} accounts made in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    let large = upgrade_ledger(&mut pic);
    figures.cost(
        "ledger.upgrade_few.instructions",
        "ledger upgrade, 1 account",
        small,
        "instr",
        "",
    );
    figures.cost(
        "ledger.upgrade_many.instructions",
        &format!("ledger upgrade, {accounts} accounts and blocks"),
        large,
        "instr",
        "flat in accounts",
    );
}

/// The cycles ledger, as the ledger: transfers among `ACCOUNTS` accounts,
/// then as many withdrawals to a canister that exists (the burn, the call
/// to the management canister's `deposit_cycles` and its callback).
fn bench_cycles_ledger(figures: &mut Figures) {
    use nns_api::cycles_ledger::{FEE as CYCLES_FEE, WithdrawArgs, WithdrawError};
    const T: u128 = 1_000_000_000_000;
    let mut env = TestEnv::new(Backend::Runtime);
    install_cycles_ledger(&mut env, (0..*ACCOUNTS).map(|n| (user(n), 10 * T)));
    let mut pic = env.into_runtime();
    let target = pic.create_canister();

    let transfers = measure_all_executions(&mut pic, CYCLES_LEDGER_CANISTER_ID, |pic, i| {
        let arg = TransferArg {
            from_subaccount: None,
            to: Account::from(user(next(i))),
            amount: Nat::from(1_000_000u32),
            fee: None,
            memo: None,
            created_at_time: None,
        };
        let (r,): (Result<Nat, TransferError>,) = update_candid_as(
            pic,
            CYCLES_LEDGER_CANISTER_ID,
            user(i),
            "icrc1_transfer",
            (arg,),
        )
        .unwrap();
        r.unwrap();
    });

    let target_before = pic.cycle_balance(target);
    let supply = |pic: &mut PocketIc| -> u128 {
        let (n,): (Nat,) =
            ic_runtime::query_candid(pic, CYCLES_LEDGER_CANISTER_ID, "icrc1_total_supply", ())
                .unwrap();
        u128::try_from(n.0).unwrap()
    };
    let supply_before = supply(&mut pic);
    let amount = T / 10;
    let withdrawals = measure_all_executions(&mut pic, CYCLES_LEDGER_CANISTER_ID, |pic, i| {
        let args = WithdrawArgs {
            amount: Nat::from(amount),
            from_subaccount: None,
            to: target,
            created_at_time: None,
        };
        let (r,): (Result<Nat, WithdrawError>,) =
            update_candid_as(pic, CYCLES_LEDGER_CANISTER_ID, user(i), "withdraw", (args,)).unwrap();
        r.unwrap();
    });
    let withdrawn = u128::from(withdrawals.calls) * amount;
    // Every withdrawal arrived, and burned its amount and fee.
    assert_eq!(pic.cycle_balance(target) - target_before, withdrawn);
    assert_eq!(
        supply_before - supply(&mut pic),
        withdrawn + u128::from(withdrawals.calls) * CYCLES_FEE
    );

    figures.cost(
        "cycles_ledger.icrc1_transfer.instructions",
        "cycles ledger icrc1_transfer",
        transfers.per_call(),
        "instr",
        "goal <= 150 k",
    );
    figures.rate(
        "cycles_ledger.icrc1_transfer.calls_per_second",
        "cycles ledger icrc1_transfer, calls/s",
        transfers.per_second(),
        "1/s",
        "",
    );
    figures.cost(
        "cycles_ledger.withdraw.instructions",
        "cycles ledger withdraw to a canister",
        withdrawals.per_call(),
        "instr",
        "",
    );
    figures.cost(
        "cycles_ledger.wasm_gz.bytes",
        "cycles-ledger.wasm.gz",
        std::fs::metadata(wasm_gz_path("cycles-ledger"))
            .unwrap()
            .len(),
        "bytes",
        "",
    );
}

/// Top-ups through the CMC with the real ledger, then mints of cycles on
/// the cycles ledger: the CMC's own instructions per notify (its update and
/// callback executions; the ledgers' are their own), end-to-end top-ups and
/// mints per second, and the conservation of ICP and cycles as the
/// canisters report them.
fn bench_cmc(figures: &mut Figures) {
    const TOP_UPS: u32 = 500;
    const MINTS: u32 = 500;
    const E8S: u64 = 100_000_000;
    const RATE: u64 = 35_000;
    let mut env = TestEnv::new(Backend::Runtime);
    install_ledger(&mut env, [(user(0), 10_000 * E8S)]);
    install_cmc(&mut env, RATE, None);
    install_cycles_ledger(&mut env, []);
    let mut pic = env.into_runtime();
    let app = pic.create_canister();
    let supply = |pic: &mut PocketIc| -> u64 {
        let (n,): (Nat,) =
            ic_runtime::query_candid(pic, LEDGER_CANISTER_ID, "icrc1_total_supply", ()).unwrap();
        u64::try_from(n.0).unwrap()
    };
    let supply_before = supply(&mut pic);
    let app_cycles_before = pic.cycle_balance(app);
    let mut cmc_instructions = 0;
    let mut converted_e8s = 0;
    let start = Instant::now();
    for i in 0..TOP_UPS {
        let amount = E8S + u64::from(i);
        let args = TransferArgs {
            memo: Memo(MEMO_TOP_UP),
            amount: Tokens::from_e8s(amount),
            fee: Tokens::from_e8s(FEE),
            from_subaccount: None,
            to: AccountIdentifier::new(
                &CYCLES_MINTING_CANISTER_ID,
                Some(&principal_to_subaccount(&app)),
            ),
            created_at_time: None,
        };
        let (paid,): (Result<u64, IcpTransferError>,) =
            update_candid_as(&mut pic, LEDGER_CANISTER_ID, user(0), "transfer", (args,)).unwrap();
        let before = pic.total_instructions(CYCLES_MINTING_CANISTER_ID);
        let notify = NotifyTopUpArg {
            block_index: paid.unwrap(),
            canister_id: app,
        };
        let (r,): (Result<Nat, NotifyError>,) = update_candid_as(
            &mut pic,
            CYCLES_MINTING_CANISTER_ID,
            user(0),
            "notify_top_up",
            (notify,),
        )
        .unwrap();
        r.unwrap();
        cmc_instructions += pic.total_instructions(CYCLES_MINTING_CANISTER_ID) - before;
        converted_e8s += amount;
    }
    let seconds = start.elapsed().as_secs_f64();
    let (minted,): (Nat,) = ic_runtime::query_candid(
        &mut pic,
        CYCLES_MINTING_CANISTER_ID,
        "total_cycles_minted",
        (),
    )
    .unwrap();
    let burned_by_cmc = supply_before - supply(&mut pic) - u64::from(TOP_UPS) * FEE;
    let deposited = pic.cycle_balance(app) - app_cycles_before;
    figures.cost(
        "cmc.notify_top_up.instructions",
        "cmc notify_top_up (the CMC's share)",
        cmc_instructions / u64::from(TOP_UPS),
        "instr",
        "",
    );
    figures.rate(
        "cmc.top_ups_per_second",
        "cmc top-ups/s (transfer + notify)",
        f64::from(TOP_UPS) / seconds,
        "1/s",
        "",
    );
    // The invariants the CMC keeps, checked on every run.
    println!(
        "CMC, {TOP_UPS} top-ups: ICP burned {burned_by_cmc} e8s = converted {converted_e8s}; \
         cycles minted {minted} = deposited {deposited}"
    );
    assert_eq!(burned_by_cmc, converted_e8s, "ICP burned = Σ converted");
    assert_eq!(minted, Nat::from(deposited), "cycles minted = Σ deposited");

    // Mints: ICP paid to the CMC's subaccount of the payer, with the memo
    // MINT, becomes cycles on the payer's account on the cycles ledger.
    let cycles_supply = |pic: &mut PocketIc| -> u128 {
        let (n,): (Nat,) =
            ic_runtime::query_candid(pic, CYCLES_LEDGER_CANISTER_ID, "icrc1_total_supply", ())
                .unwrap();
        u128::try_from(n.0).unwrap()
    };
    let supply_before = supply(&mut pic);
    let cycles_supply_before = cycles_supply(&mut pic);
    let minted_before = minted;
    let mut cmc_instructions = 0;
    let mut converted_e8s = 0;
    let mut minted_cycles: u128 = 0;
    let start = Instant::now();
    for i in 0..MINTS {
        let amount = E8S + u64::from(i);
        let args = TransferArgs {
            memo: Memo(MEMO_MINT_CYCLES),
            amount: Tokens::from_e8s(amount),
            fee: Tokens::from_e8s(FEE),
            from_subaccount: None,
            to: AccountIdentifier::new(
                &CYCLES_MINTING_CANISTER_ID,
                Some(&principal_to_subaccount(&user(0))),
            ),
            created_at_time: None,
        };
        let (paid,): (Result<u64, IcpTransferError>,) =
            update_candid_as(&mut pic, LEDGER_CANISTER_ID, user(0), "transfer", (args,)).unwrap();
        let before = pic.total_instructions(CYCLES_MINTING_CANISTER_ID);
        let notify = NotifyMintCyclesArg {
            block_index: paid.unwrap(),
            to_subaccount: None,
            deposit_memo: None,
        };
        let (r,): (NotifyMintCyclesResult,) = update_candid_as(
            &mut pic,
            CYCLES_MINTING_CANISTER_ID,
            user(0),
            "notify_mint_cycles",
            (notify,),
        )
        .unwrap();
        cmc_instructions += pic.total_instructions(CYCLES_MINTING_CANISTER_ID) - before;
        minted_cycles += u128::try_from(r.unwrap().minted.0).unwrap();
        converted_e8s += amount;
    }
    let seconds = start.elapsed().as_secs_f64();
    let (minted,): (Nat,) = ic_runtime::query_candid(
        &mut pic,
        CYCLES_MINTING_CANISTER_ID,
        "total_cycles_minted",
        (),
    )
    .unwrap();
    let burned_by_cmc = supply_before - supply(&mut pic) - u64::from(MINTS) * FEE;
    let deposited = cycles_supply(&mut pic) - cycles_supply_before;
    figures.cost(
        "cmc.notify_mint_cycles.instructions",
        "cmc notify_mint_cycles (the CMC's share)",
        cmc_instructions / u64::from(MINTS),
        "instr",
        "",
    );
    figures.rate(
        "cmc.mints_per_second",
        "cmc mints/s (transfer + notify)",
        f64::from(MINTS) / seconds,
        "1/s",
        "",
    );
    println!(
        "CMC, {MINTS} mints: ICP burned {burned_by_cmc} e8s = converted {converted_e8s}; \
         cycles minted {minted_cycles} = deposited {deposited} + the cycles ledger's fees"
    );
    assert_eq!(burned_by_cmc, converted_e8s, "ICP burned = Σ converted");
    assert_eq!(
        minted - minted_before,
        Nat::from(minted_cycles),
        "total minted grows by Σ minted"
    );
    assert_eq!(
        minted_cycles,
        deposited + u128::from(MINTS) * nns_api::cycles_ledger::FEE,
        "Σ minted = cycles ledger's supply grown + its fees"
    );
    figures.cost(
        "cmc.wasm_gz.bytes",
        "cmc.wasm.gz",
        std::fs::metadata(wasm_gz_path("cmc")).unwrap().len(),
        "bytes",
        "goal <= 300 KB; real limit 600 KB",
    );
}

/// Governance's figures: a neuron's commands, listing, memory, size.
fn bench_governance(figures: &mut Figures) {
    use nns_api::governance::{
        By, ClaimOrRefresh, ClaimOrRefreshNeuronFromAccount, Configure, Disburse, Follow,
        IncreaseDissolveDelay, ListNeurons, ListNeuronsResponse, MakeProposalRequest,
        ManageNeuronCommandRequest as Command, ManageNeuronCommandResponse as Reply,
        ManageNeuronRequest, ManageNeuronResponse, Motion, NeuronId, NeuronIdOrSubaccount,
        Operation, ProposalActionRequest, RegisterVote, Topic, Vote, staking_subaccount,
    };
    use nns_api::ids::GOVERNANCE_CANISTER_ID;
    const E8S: u64 = 100_000_000;
    let neurons: u64 =
        std::env::var("BENCH_NEURONS").map_or(10_000, |v| v.parse().expect("a number"));
    let owner = user(7);
    let mut env = TestEnv::new(Backend::Runtime);
    install_ledger(&mut env, [(owner, (neurons + 30) * 2 * E8S)]);
    nns_harness::install_governance(&mut env, None);
    let mut pic = env.into_runtime();
    let stable_before = pic.get_stable_memory(GOVERNANCE_CANISTER_ID);
    let manage = |pic: &mut PocketIc, id: Option<u64>, command: Command| -> (Reply, u64) {
        let before = pic.total_instructions(GOVERNANCE_CANISTER_ID);
        let request = ManageNeuronRequest {
            neuron_id_or_subaccount: id.map(|id| NeuronIdOrSubaccount::NeuronId(NeuronId { id })),
            command: Some(command),
            id: None,
        };
        let (r,): (ManageNeuronResponse,) = update_candid_as(
            pic,
            GOVERNANCE_CANISTER_ID,
            owner,
            "manage_neuron",
            (request,),
        )
        .unwrap();
        let reply = r.command.unwrap();
        assert!(!matches!(reply, Reply::Error(_)), "{reply:?}");
        (
            reply,
            pic.total_instructions(GOVERNANCE_CANISTER_ID) - before,
        )
    };
    let mut ids = vec![];
    let (mut claim, mut delay, mut disburse) = (0, 0, 0);
    let mut waited = std::time::Duration::ZERO;
    let start = Instant::now();
    for memo in 0..neurons {
        let args = TransferArgs {
            memo: Memo(0),
            // The first neuron can pay for two proposals.
            amount: Tokens::from_e8s(if memo == 0 { 60 * E8S } else { E8S }),
            fee: Tokens::from_e8s(FEE),
            from_subaccount: None,
            to: AccountIdentifier::new(
                &GOVERNANCE_CANISTER_ID,
                Some(&staking_subaccount(&owner, memo)),
            ),
            created_at_time: None,
        };
        let (paid,): (Result<u64, IcpTransferError>,) =
            update_candid_as(&mut pic, LEDGER_CANISTER_ID, owner, "transfer", (args,)).unwrap();
        paid.unwrap();
        let by = By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
            controller: None,
            memo,
        });
        let (reply, used) = manage(
            &mut pic,
            None,
            Command::ClaimOrRefresh(ClaimOrRefresh { by: Some(by) }),
        );
        let Reply::ClaimOrRefresh(r) = reply else {
            unreachable!()
        };
        ids.push(r.refreshed_neuron_id.unwrap().id);
        claim += used;
        let waiting = Instant::now();
        wait_for_neuron_allowance(&mut pic, memo + 1);
        waited += waiting.elapsed();
    }
    let claims_per_second = neurons as f64 / (start.elapsed() - waited).as_secs_f64();
    let stable_after = pic.get_stable_memory(GOVERNANCE_CANISTER_ID);
    for &id in &ids {
        let op = Operation::IncreaseDissolveDelay(IncreaseDissolveDelay {
            // A year: enough to vote.
            additional_dissolve_delay_seconds: 31_557_600,
        });
        delay += manage(
            &mut pic,
            Some(id),
            Command::Configure(Configure {
                operation: Some(op),
            }),
        )
        .1;
    }
    let list_page = |pic: &mut PocketIc, page_size: u64| {
        let request = ListNeurons {
            include_neurons_readable_by_caller: true,
            page_size: Some(page_size),
            ..Default::default()
        };
        // As a replicated call, so that the runtime counts its instructions.
        let (r,): (ListNeuronsResponse,) = update_candid_as(
            pic,
            GOVERNANCE_CANISTER_ID,
            owner,
            "list_neurons",
            (request,),
        )
        .unwrap();
        assert_eq!(r.full_neurons.len() as u64, page_size.min(neurons));
        pic.last_execution_instructions(GOVERNANCE_CANISTER_ID)
    };
    let list_100 = list_page(&mut pic, 100);

    // A proposal snapshots every neuron's ballot; a vote; the rewards.
    let motion = |text: &str| {
        Command::MakeProposal(Box::new(MakeProposalRequest {
            url: String::new(),
            title: Some(text.into()),
            action: Some(ProposalActionRequest::Motion(Motion {
                motion_text: text.into(),
            })),
            summary: String::new(),
        }))
    };
    let (reply, submit) = manage(&mut pic, Some(ids[0]), motion("Benchmark"));
    let Reply::MakeProposal(made) = reply else {
        unreachable!()
    };
    let proposal = made.proposal_id.unwrap();
    let (_, single_vote) = manage(
        &mut pic,
        Some(ids[1]),
        Command::RegisterVote(RegisterVote {
            vote: Vote::Yes as i32,
            proposal: Some(proposal),
        }),
    );
    // Past the round that ends after the close: the proposal is settled.
    pic.advance_time(std::time::Duration::from_secs(5 * 24 * 3600 + 60));
    let (mut rewards_total, mut rewards_largest_round) = (0, 0);
    for _ in 0..neurons / 1_000 + 10 {
        let before = pic.total_instructions(GOVERNANCE_CANISTER_ID);
        pic.tick();
        let used = pic.total_instructions(GOVERNANCE_CANISTER_ID) - before;
        rewards_total += used;
        rewards_largest_round = rewards_largest_round.max(used);
    }
    // A cascade: everyone but the first two follows the second, which votes
    // on a new proposal.
    let followed = ids[1];
    for &id in &ids[2..] {
        let follow = Command::Follow(Follow {
            topic: Topic::Governance as i32,
            followees: vec![NeuronId { id: followed }],
        });
        manage(&mut pic, Some(id), follow);
    }
    let (reply, _) = manage(&mut pic, Some(ids[0]), motion("Cascade"));
    let Reply::MakeProposal(made) = reply else {
        unreachable!()
    };
    let vote = ManageNeuronRequest {
        neuron_id_or_subaccount: Some(NeuronIdOrSubaccount::NeuronId(NeuronId { id: followed })),
        command: Some(Command::RegisterVote(RegisterVote {
            vote: Vote::Yes as i32,
            proposal: made.proposal_id,
        })),
        id: None,
    };
    let cascade = by_rounds(&mut pic, owner, "manage_neuron", Encode!(&vote).unwrap());
    // Following no one again, the neurons are as before for what follows.
    for &id in &ids[2..] {
        let unfollow = Command::Follow(Follow {
            topic: Topic::Governance as i32,
            followees: vec![],
        });
        manage(&mut pic, Some(id), unfollow);
    }
    for &id in &ids {
        let op = Operation::StartDissolving {};
        manage(
            &mut pic,
            Some(id),
            Command::Configure(Configure {
                operation: Some(op),
            }),
        );
    }
    pic.advance_time(std::time::Duration::from_secs(
        366 * 24 * 3600 + 8 * 24 * 3600,
    ));
    // The timers due (the second proposal's rewards) run before, not
    // within, the disburses measured.
    for _ in 0..neurons / 1_000 + 10 {
        pic.tick();
    }
    for &id in &ids {
        let all = Disburse {
            to_account: None,
            amount: None,
        };
        disburse += manage(&mut pic, Some(id), Command::Disburse(all)).1;
    }
    let n = neurons;
    let per_neuron = |total: u64| total / n;
    figures.cost(
        "governance.claim.instructions",
        "governance claim neuron",
        per_neuron(claim),
        "instr",
        "",
    );
    figures.rate(
        "governance.claims_per_second",
        "governance claims/s (transfer + claim)",
        claims_per_second,
        "1/s",
        "",
    );
    figures.cost(
        "governance.increase_dissolve_delay.instructions",
        "governance increase dissolve delay",
        per_neuron(delay),
        "instr",
        "",
    );
    figures.cost(
        "governance.disburse.instructions",
        "governance disburse",
        per_neuron(disburse),
        "instr",
        "",
    );
    figures.cost(
        "governance.list_neurons_100.instructions",
        "governance list_neurons, 100 of them",
        list_100,
        "instr",
        "",
    );
    figures.cost(
        "governance.make_proposal.instructions",
        &format!("governance make proposal, {n} ballots"),
        submit,
        "instr",
        "",
    );
    figures.cost(
        "governance.register_vote.instructions",
        &format!("governance register vote, {n} neurons"),
        single_vote,
        "instr",
        "real 0.28 M (151 neurons)",
    );
    let followers = n - 2;
    figures.cost(
        "governance.follower_cascade.instructions",
        &format!("governance vote cascade, {followers} followers, all messages"),
        cascade.total,
        "instr",
        "",
    );
    figures.cost(
        "governance.follower_cascade_largest_message.instructions",
        &format!(
            "governance vote cascade, {followers} followers, largest message of {} rounds",
            cascade.rounds
        ),
        cascade.largest_message,
        "instr",
        "limit 40 B a message",
    );
    figures.cost(
        "governance.rewards_total.instructions",
        &format!("governance rewards, {n} neurons, total"),
        rewards_total,
        "instr",
        "",
    );
    figures.cost(
        "governance.rewards_largest_message.instructions",
        "governance rewards, largest round",
        rewards_largest_round,
        "instr",
        "limit 40 B a message",
    );
    figures.cost(
        "governance.stable_bytes_per_neuron",
        "governance stable memory a neuron (pages)",
        pages_changed(&stable_before, &stable_after) * 4096 / n,
        "bytes",
        "",
    );
    figures.cost(
        "governance.wasm_gz.bytes",
        "governance.wasm.gz",
        std::fs::metadata(wasm_gz_path("governance")).unwrap().len(),
        "bytes",
        "goal <= 850 KB; real limit 1.7 MB",
    );
}

/// Governance's allowance for new neurons: after every spike of claims,
/// time moves on until it is full again (`made` claims made so far), and
/// the timers due run outside any measured call.
fn wait_for_neuron_allowance(pic: &mut PocketIc, made: u64) {
    use nns_harness::nns::{NEURON_CREATION_SPIKE, SECONDS_PER_NEW_NEURON};
    if made.is_multiple_of(NEURON_CREATION_SPIKE) {
        pic.advance_time(std::time::Duration::from_secs(
            NEURON_CREATION_SPIKE * SECONDS_PER_NEW_NEURON,
        ));
        for _ in 0..3 {
            pic.tick();
        }
    }
}

/// A call run round by round: governance's instructions in all, in its
/// largest execution (message), and the rounds taken.
struct ByRounds {
    reply: Vec<u8>,
    total: u64,
    largest_message: u64,
    rounds: u64,
}

fn by_rounds(pic: &mut PocketIc, sender: Principal, method: &str, arg: Vec<u8>) -> ByRounds {
    use nns_api::ids::GOVERNANCE_CANISTER_ID;
    let id = pic
        .submit_call(GOVERNANCE_CANISTER_ID, sender, method, arg)
        .unwrap();
    let (mut total, mut rounds) = (0, 0);
    pic.take_largest_execution_instructions(GOVERNANCE_CANISTER_ID);
    loop {
        if let Some(reply) = pic.ingress_status(id.clone()) {
            let reply = reply.expect("the call succeeds");
            return ByRounds {
                reply,
                total,
                largest_message: pic.take_largest_execution_instructions(GOVERNANCE_CANISTER_ID),
                rounds,
            };
        }
        let before = pic.total_instructions(GOVERNANCE_CANISTER_ID);
        pic.tick();
        total += pic.total_instructions(GOVERNANCE_CANISTER_ID) - before;
        rounds += 1;
    }
}

/// Governance with as many genesis neurons as one install takes
/// (`BENCH_MAX_NEURONS` overrides the 400 000), all but two following one
/// neuron. Measures the install, a proposal's ballot snapshot of every
/// neuron, the vote that all the others follow, the day's rewards and a
/// day without proposals.
fn bench_governance_max(figures: &mut Figures) {
    use nns_api::governance::{
        DissolveState, Followees, GovernanceArg, MakeProposalRequest,
        ManageNeuronCommandRequest as Command, ManageNeuronCommandResponse as Reply,
        ManageNeuronRequest, ManageNeuronResponse, Motion, NetworkEconomics, Neuron, NeuronId,
        NeuronIdOrSubaccount, ProposalActionRequest, RegisterVote, Topic, Vote,
        VotingPowerEconomics, staking_subaccount,
    };
    use nns_api::ids::GOVERNANCE_CANISTER_ID;
    const E8S: u64 = 100_000_000;
    let neurons: u64 =
        std::env::var("BENCH_MAX_NEURONS").map_or(400_000, |v| v.parse().expect("a number"));
    assert!(neurons >= 3);
    let owner = user(8);
    let start = Instant::now();
    let mut env = TestEnv::new(Backend::Runtime);
    // The neurons are genesis neurons (governance's init argument), their
    // stakes in the ledger's init: the proposer (1) can pay for a
    // proposal, the others hold one ICP; all but the first two follow
    // neuron 2 on motions.
    let stake = |id: u64| if id == 1 { 30 * E8S } else { E8S };
    nns_harness::install_ledger_with_accounts(
        &mut env,
        (1..=neurons).map(|id| {
            let subaccount = staking_subaccount(&owner, id);
            (
                nns_api::AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, Some(&subaccount)),
                stake(id),
            )
        }),
    );
    let week = 7 * 24 * 3600;
    let economics = NetworkEconomics {
        voting_power_economics: Some(VotingPowerEconomics {
            neuron_minimum_dissolve_delay_to_vote_seconds: Some(week),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (proposer, followed) = (1, 2);
    let genesis = (1..=neurons)
        .map(|id| Neuron {
            id: Some(NeuronId { id }),
            controller: Some(owner),
            account: staking_subaccount(&owner, id).to_vec().into(),
            cached_neuron_stake_e8s: stake(id),
            // The proposer is locked long enough to propose.
            dissolve_state: Some(DissolveState::DissolveDelaySeconds(if id == proposer {
                31_557_600
            } else {
                week
            })),
            followees: if id > followed {
                let followees = vec![NeuronId { id: followed }];
                vec![(Topic::Governance as i32, Followees { followees })]
            } else {
                vec![]
            },
            ..Neuron::default()
        })
        .collect();
    nns_harness::install_governance_with(
        &mut env,
        GovernanceArg {
            economics: Some(economics),
            neurons: Some(genesis),
            ..Default::default()
        },
    );
    let mut pic = env.into_runtime();
    let installed = pic.total_instructions(GOVERNANCE_CANISTER_ID);
    // The timers set at installation run before anything is measured.
    pic.advance_time(std::time::Duration::from_secs(1));
    for _ in 0..neurons / 1_000 + 20 {
        pic.tick();
    }
    let settled = pic.total_instructions(GOVERNANCE_CANISTER_ID) - installed;
    eprintln!("installation's timers: {settled} instructions");
    let built = start.elapsed().as_secs_f64();
    eprintln!("{neurons} neurons built in {built:.0} s");
    let propose = ManageNeuronRequest {
        neuron_id_or_subaccount: Some(NeuronIdOrSubaccount::NeuronId(NeuronId { id: proposer })),
        command: Some(Command::MakeProposal(Box::new(MakeProposalRequest {
            url: String::new(),
            title: Some("At the maximum".into()),
            action: Some(ProposalActionRequest::Motion(Motion {
                motion_text: String::new(),
            })),
            summary: String::new(),
        }))),
        id: None,
    };
    let made = by_rounds(&mut pic, owner, "manage_neuron", Encode!(&propose).unwrap());
    let response: ManageNeuronResponse = candid::decode_one(&made.reply).unwrap();
    let Some(Reply::MakeProposal(proposal)) = response.command else {
        panic!("{response:?}")
    };
    let vote = ManageNeuronRequest {
        neuron_id_or_subaccount: Some(NeuronIdOrSubaccount::NeuronId(NeuronId { id: followed })),
        command: Some(Command::RegisterVote(RegisterVote {
            vote: Vote::Yes as i32,
            proposal: proposal.proposal_id,
        })),
        id: None,
    };
    let cascade_start = Instant::now();
    let cascade = by_rounds(&mut pic, owner, "manage_neuron", Encode!(&vote).unwrap());
    let cascade_seconds = cascade_start.elapsed().as_secs_f64();
    let response: ManageNeuronResponse = candid::decode_one(&cascade.reply).unwrap();
    assert!(
        matches!(response.command, Some(Reply::RegisterVote(_))),
        "{response:?}"
    );
    let (info,): (Option<nns_api::governance::ProposalInfo>,) = ic_runtime::query_candid_as(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        user(9),
        "get_proposal_info",
        (proposal.proposal_id.unwrap().id,),
    )
    .unwrap();
    let tally = info.unwrap().latest_tally.unwrap();
    // Everyone but the proposer voted yes with the followed neuron.
    assert_eq!(tally.yes, tally.total, "{tally:?}");
    // The day's rewards for the proposal, once its voting has closed.
    // Past the round that ends after the close: the proposal is settled.
    pic.advance_time(std::time::Duration::from_secs(5 * 24 * 3600 + 60));
    let rewards_start = pic.total_instructions(GOVERNANCE_CANISTER_ID);
    pic.take_largest_execution_instructions(GOVERNANCE_CANISTER_ID);
    for _ in 0..neurons / 1_000 + 20 {
        pic.tick();
    }
    let rewards_total = pic.total_instructions(GOVERNANCE_CANISTER_ID) - rewards_start;
    let rewards_largest_message = pic.take_largest_execution_instructions(GOVERNANCE_CANISTER_ID);
    // A day without proposals: what governance's timers do every day
    // whatever happens (metrics over every neuron, upkeep).
    let quiet_start = pic.total_instructions(GOVERNANCE_CANISTER_ID);
    pic.advance_time(std::time::Duration::from_secs(24 * 3600));
    for _ in 0..neurons / 1_000 + 20 {
        pic.tick();
    }
    let quiet_day = pic.total_instructions(GOVERNANCE_CANISTER_ID) - quiet_start;
    eprintln!(
        "neurons built in {built:.0} s; the vote cascade took {cascade_seconds:.1} s; {:.0} s in all",
        start.elapsed().as_secs_f64()
    );
    let followers = neurons - 2;
    figures.cost(
        "governance_max.genesis_install.instructions",
        &format!("governance installed with {neurons} genesis neurons"),
        installed,
        "instr",
        "limit 300 B an install",
    );
    figures.cost(
        "governance_max.make_proposal.instructions",
        &format!("governance make proposal, {neurons} neurons"),
        made.largest_message,
        "instr",
        "limit 40 B a message",
    );
    figures.cost(
        "governance_max.follower_cascade.instructions",
        &format!("governance vote cascade, {followers} followers, all messages"),
        cascade.total,
        "instr",
        "",
    );
    figures.cost(
        "governance_max.follower_cascade_largest_message.instructions",
        &format!(
            "governance vote cascade, {followers} followers, largest message of {} rounds",
            cascade.rounds
        ),
        cascade.largest_message,
        "instr",
        "limit 40 B a message",
    );
    figures.cost(
        "governance_max.rewards_largest_message.instructions",
        &format!("governance rewards, {neurons} ballots, largest message"),
        rewards_largest_message,
        "instr",
        "limit 40 B a message",
    );
    figures.cost(
        "governance_max.quiet_day.instructions",
        &format!("governance a day without proposals, {neurons} neurons"),
        quiet_day,
        "instr",
        "",
    );
    figures.cost(
        "governance_max.rewards_total.instructions",
        &format!("governance rewards, {neurons} ballots, total"),
        rewards_total,
        "instr",
        "",
    );
}

/// Pages of `after` that differ from `before`. Memory grown since reads
/// as zeros, so a bucket the memory manager grows into but nothing writes
/// (a structure set up on first use) does not count.
fn pages_changed(before: &[u8], after: &[u8]) -> u64 {
    after
        .chunks(4096)
        .enumerate()
        .filter(
            |(i, page)| match before.get(i * 4096..i * 4096 + page.len()) {
                Some(old) => old != *page,
                None => page.iter().any(|&b| b != 0),
            },
        )
        .count() as u64
}

/// A cascade among 151 neurons: a chain of 15 followers behind the voter,
/// everyone else following no one on the topic. The real NNS's canbench
/// (`cascading_vote_stable_everything`) has 151 neurons too, but each
/// follows 15 others (8 before it in a chain, 7 that never vote), with 15
/// hot keys and 100 recent ballots each: a heavier case than this one.
fn bench_cascade(figures: &mut Figures) {
    use nns_api::governance::{
        Follow, IncreaseDissolveDelay, MakeProposalRequest, ManageNeuronCommandRequest as Command,
        ManageNeuronCommandResponse as Reply, Motion, NeuronId, Operation, ProposalActionRequest,
        RegisterVote, Topic, Vote,
    };
    use nns_api::ids::GOVERNANCE_CANISTER_ID;
    use nns_harness::nns::{NnsEnv, configure};
    const NEURONS: u64 = 151;
    const CHAIN: u64 = 15;
    const E8S: u64 = 100_000_000;
    let mut nns = NnsEnv::new(Backend::Runtime);
    let owner = nns_harness::nns::user(1);
    let mut ids = vec![];
    for memo in 0..NEURONS {
        // The proposer holds most of the stake but less than half, so that
        // the proposal stays open for the vote measured.
        let stake = if memo == 0 { 40 * E8S } else { E8S };
        nns.stake(owner, memo, stake);
        let id = nns.claim(owner, memo).unwrap();
        let delay = IncreaseDissolveDelay {
            additional_dissolve_delay_seconds: 31_557_600,
        };
        nns.manage(
            owner,
            id,
            configure(Operation::IncreaseDissolveDelay(delay)),
        )
        .unwrap();
        ids.push(id);
    }
    // ids[2] follows ids[1], ids[3] follows ids[2], … (15 followers).
    for i in 2..=(CHAIN as usize + 1) {
        let follow = Command::Follow(Follow {
            topic: Topic::Governance as i32,
            followees: vec![NeuronId { id: ids[i - 1] }],
        });
        nns.manage(owner, ids[i], follow).unwrap();
    }
    let proposal = Command::MakeProposal(Box::new(MakeProposalRequest {
        url: String::new(),
        title: Some("Cascade".into()),
        action: Some(ProposalActionRequest::Motion(Motion {
            motion_text: String::new(),
        })),
        summary: String::new(),
    }));
    let Reply::MakeProposal(made) = nns.manage(owner, ids[0], proposal).unwrap() else {
        unreachable!()
    };
    let vote = Command::RegisterVote(RegisterVote {
        vote: Vote::Yes as i32,
        proposal: made.proposal_id,
    });
    let mut pic = nns.into_runtime();
    let before = pic.total_instructions(GOVERNANCE_CANISTER_ID);
    let request = nns_api::governance::ManageNeuronRequest {
        neuron_id_or_subaccount: None,
        command: Some(vote),
        id: Some(NeuronId { id: ids[1] }),
    };
    let (_,): (nns_api::governance::ManageNeuronResponse,) = update_candid_as(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        owner,
        "manage_neuron",
        (request,),
    )
    .unwrap();
    let cascade = pic.total_instructions(GOVERNANCE_CANISTER_ID) - before;
    let (info,): (Option<nns_api::governance::ProposalInfo>,) = ic_runtime::query_candid_as(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        owner,
        "get_proposal_info",
        (made.proposal_id.unwrap().id,),
    )
    .unwrap();
    let yes = info
        .unwrap()
        .ballots
        .iter()
        .filter(|(_, b)| b.vote == Vote::Yes as i32)
        .count();
    assert_eq!(yes as u64, 2 + CHAIN, "proposer, voter and the whole chain");
    figures.cost(
        "governance.cascading_vote.instructions",
        "governance cascading vote, chain of 15/151",
        cascade,
        "instr",
        "canbench 106.6 M (heavier case); goal <= 10.7 M",
    );
}

/// Where the committed baseline is.
fn baseline_path() -> std::path::PathBuf {
    nns_harness::repo_root().join("bench/baseline.tsv")
}

fn main() -> std::process::ExitCode {
    let mut which: Vec<String> = std::env::args().skip(1).collect();
    let save = which.iter().any(|w| w == "--save-baseline");
    which.retain(|w| w != "--save-baseline");
    let all = which.is_empty();
    let mut figures = Figures::default();
    if all || which.iter().any(|w| w == "runtime") {
        runtime::bench_runtime(&mut figures);
    }
    if all || which.iter().any(|w| w == "ledger") {
        bench_ledger(&mut figures);
    }
    // Not in the full run: building a million accounts takes minutes.
    if which.iter().any(|w| w == "ledger-upgrade") {
        bench_ledger_upgrade(&mut figures);
    }
    // Not in the full run either: the maximum number of neurons, built at
    // the allowed pace, takes many minutes.
    if which.iter().any(|w| w == "governance-max") {
        bench_governance_max(&mut figures);
    }
    // Nor this one: a year of the main job at full scale, then its sweep.
    if which.iter().any(|w| w == "economy") {
        economy::bench_economy(&mut figures);
    }
    if all || which.iter().any(|w| w == "cycles-ledger") {
        bench_cycles_ledger(&mut figures);
    }
    if all || which.iter().any(|w| w == "cmc") {
        bench_cmc(&mut figures);
    }
    if all || which.iter().any(|w| w == "governance") {
        bench_governance(&mut figures);
        bench_cascade(&mut figures);
    }
    if all || which.iter().any(|w| w == "sale") {
        sale::bench_sale(&mut figures);
    }
    if all || which.iter().any(|w| w == "network") {
        network::bench_network(&mut figures);
    }
    let figures = figures.0;
    // The baseline holds the figures of the default sizes only.
    let default_sizes = [
        "BENCH_ACCOUNTS",
        "BENCH_NEURONS",
        "BENCH_UPGRADE_ACCOUNTS",
        "BENCH_MAX_NEURONS",
    ]
    .iter()
    .all(|v| std::env::var_os(v).is_none());
    let path = baseline_path();
    if save {
        assert!(default_sizes, "the baseline is for the default sizes");
        assert!(
            all,
            "the baseline holds every figure: save it from a full run"
        );
        std::fs::write(&path, bench_report::format_baseline(&figures)).expect("baseline written");
        println!("{}", bench_report::table(&figures, None));
        println!("baseline written to {}", path.display());
        return std::process::ExitCode::SUCCESS;
    }
    let baseline = std::fs::read_to_string(&path)
        .ok()
        .filter(|_| default_sizes)
        .map(|text| bench_report::parse_baseline(&text).expect("a valid baseline"));
    println!("\n{}", bench_report::table(&figures, baseline.as_ref()));
    let Some(baseline) = baseline else {
        println!("no comparison: no baseline, or sizes other than the baseline's");
        return std::process::ExitCode::SUCCESS;
    };
    let verdict = bench_report::judge(&figures, &baseline);
    if !verdict.slower.is_empty() {
        println!(
            "~ slower than the baseline by more than {}% (timings vary with the machine): {}",
            bench_report::TOLERANCE_PERCENT,
            verdict.slower.join(", ")
        );
    }
    if verdict.regressions.is_empty() {
        println!(
            "every exact figure is within {}% of the baseline ({})",
            bench_report::TOLERANCE_PERCENT,
            path.display()
        );
        std::process::ExitCode::SUCCESS
    } else {
        println!(
            "!! worse than the baseline by more than {}%: {}",
            bench_report::TOLERANCE_PERCENT,
            verdict.regressions.join(", ")
        );
        std::process::ExitCode::FAILURE
    }
}
