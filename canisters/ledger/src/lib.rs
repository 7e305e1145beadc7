//! The ICP ledger canister. This file holds only the endpoints; the logic
//! lives in the modules below, which unit-test without a canister runtime.

pub mod account_ids;
pub mod balances;
pub mod block;
pub mod cache;
pub mod certification;
pub mod codec;
pub mod config;
pub mod icrc;
pub mod icrc3;
pub mod ledger;
pub mod legacy;
pub mod state;
pub mod tip;

use candid::Nat;
use canister_common::metrics::Metrics;
use config::Config;
use ic_cdk::api::{certified_data_set, data_certificate, msg_caller, time};
use ic_cdk::{init, post_upgrade, query, trap, update};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError as Icrc1TransferError};
use icrc_ledger_types::icrc2::allowance::{Allowance, AllowanceArgs};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};
use icrc_ledger_types::icrc3::archive::{GetArchivesArgs, GetArchivesResult};
use icrc_ledger_types::icrc3::blocks::{
    BlockWithId, GetBlocksRequest, GetBlocksResult, ICRC3DataCertificate, SupportedBlockType,
};
use ledger::{TxError, generic_error};
use nns_api::AccountIdentifier;
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::ledger::{
    AccountBalanceArgs, AccountBalanceArgsDfx, AllowanceEntry, Archives, BalanceQueryArgs,
    BlockIndex, DECIMALS, Decimals, GetAllowancesArgs, GetBlocksArgs, LedgerArg, MAX_BALANCE_BATCH,
    MAX_BLOCKS_PER_RESPONSE, MAX_TAKE_ALLOWANCES, MAX_TRANSFER_BATCH, Name, QueryBlocksResponse,
    RemoveApprovalArgs, SendArgs, StandardRecord, Symbol, TipOfChainRes, Tokens, TransferArgs,
    TransferBatchError, TransferBatchResult, TransferFee, TransferFeeArg, TransferResult,
    tokens_to_nat,
};
use serde_bytes::ByteBuf;

nns_api::embed_candid_metadata!("../../../candid/ledger.did", b"(LedgerArg)");

#[init]
fn init(arg: LedgerArg) {
    let LedgerArg::Init(args) = arg else {
        trap("installing the ledger needs the Init variant");
    };
    let initial = Config::initial_balances(&args).unwrap_or_else(|e| trap(e));
    let config = Config::from_init(args).unwrap_or_else(|e| trap(e));
    state::mutate(|l| l.install(config, &initial, time())).unwrap_or_else(|e| trap(e));
    certify_tip();
}

/// Touches no per-account data: its cost does not grow with the ledger,
/// except once, when dedup entries of layout 1 are re-keyed (bounded by
/// [`UPGRADE_MIGRATION_INSTRUCTIONS`], the rest on timers).
#[post_upgrade]
fn post_upgrade(arg: Option<LedgerArg>) {
    state::read(|l| l.check_layout()).unwrap_or_else(|e| trap(e));
    state::mutate(|l| l.start_dedup_migration());
    if !migrate_dedup_until(UPGRADE_MIGRATION_INSTRUCTIONS) {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, continue_dedup_migration());
    }
    match arg {
        None | Some(LedgerArg::Upgrade(None)) => {}
        Some(LedgerArg::Upgrade(Some(args))) => {
            let mut config = state::read(|l| l.config().clone());
            config.apply_upgrade(args).unwrap_or_else(|e| trap(e));
            state::mutate(|l| l.update_config(|c| *c = config))
        }
        Some(LedgerArg::Init(_)) => {
            trap("upgrading the ledger takes the Upgrade variant, not Init")
        }
    }
    certify_tip();
    state::mutate(|l| l.set_last_upgrade_instructions(ic_cdk::api::instruction_counter()));
}

/// Dedup entries re-keyed per chunk of the migration.
const MIGRATION_CHUNK: usize = 200;
/// Instructions the upgrade may spend on the migration (of its 300 B).
const UPGRADE_MIGRATION_INSTRUCTIONS: u64 = 100_000_000_000;
/// Instructions a timer message may spend on it (of its 40 B).
const TIMER_MIGRATION_INSTRUCTIONS: u64 = 10_000_000_000;

/// Migrates chunks while this message has used fewer than `budget`
/// instructions; returns whether the migration is done.
fn migrate_dedup_until(budget: u64) -> bool {
    loop {
        if state::mutate(|l| l.migrate_dedup(MIGRATION_CHUNK)) {
            return true;
        }
        if ic_cdk::api::performance_counter(0) >= budget {
            return false;
        }
    }
}

async fn continue_dedup_migration() {
    if !migrate_dedup_until(TIMER_MIGRATION_INSTRUCTIONS) {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, continue_dedup_migration());
    }
}

fn certify_tip() {
    let root = certification::tip_root_hash(state::read(|l| l.last_block()));
    certified_data_set(root);
}

/// As the real ledger: with ICRC-2 switched off, its methods trap.
fn require_icrc2() {
    if !state::read(|l| l.config().icrc2_enabled) {
        trap("ICRC-2 features are not enabled on the ledger.");
    }
}

/// Runs a state change and re-certifies the tip if it made a block.
fn record(
    f: impl FnOnce(
        &mut ledger::Ledger<ic_stable_structures::DefaultMemoryImpl>,
        u64,
    ) -> Result<u64, TxError>,
) -> Result<u64, TxError> {
    let result = state::mutate(|l| f(l, time()));
    if result.is_ok() {
        certify_tip();
    }
    result
}

// ---- Legacy ICP interface ----

#[update(
    hidden = true,
    decode_with = "codec::decode_legacy_transfer_args",
    encode_with = "codec::encode_legacy_transfer_result"
)]
fn transfer(args: TransferArgs) -> TransferResult {
    let caller = msg_caller();
    let result = record(|l, now| {
        let request = legacy::transfer_request(caller, args, l.config(), now)
            .unwrap_or_else(|reason| trap(reason));
        l.transfer(request, now)
    });
    result.map_err(|e| {
        let window = state::read(|l| l.config().transaction_window_nanos);
        legacy::transfer_error(e, window).unwrap_or_else(|reason| trap(reason))
    })
}

#[query]
fn account_balance(args: AccountBalanceArgs) -> Tokens {
    Tokens::from_e8s(state::read(|l| l.balance(&args.account)))
}

/// `transfer` with the destination as text, as `dfx ledger transfer`
/// sends it; a refusal traps, as on the real ledger.
#[update]
fn send_dfx(args: SendArgs) -> BlockIndex {
    let to = AccountIdentifier::from_hex(&args.to)
        .unwrap_or_else(|e| trap(format!("invalid account identifier {:?}: {e:?}", args.to)));
    let args = TransferArgs {
        memo: args.memo,
        amount: args.amount,
        fee: args.fee,
        from_subaccount: args.from_subaccount,
        to,
        created_at_time: args.created_at_time,
    };
    transfer(args).unwrap_or_else(|e| trap(format!("transfer failed: {e:?}")))
}

/// `account_balance` with the account as text, as `dfx ledger balance`
/// and `quill` ask for it; text that is no account identifier traps.
#[query]
fn account_balance_dfx(args: AccountBalanceArgsDfx) -> Tokens {
    let account = AccountIdentifier::from_hex(&args.account).unwrap_or_else(|e| {
        trap(format!(
            "invalid account identifier {:?}: {e:?}",
            args.account
        ))
    });
    account_balance(AccountBalanceArgs { account })
}

#[query]
fn account_identifier(account: Account) -> AccountIdentifier {
    icrc::account_id(&account)
}

#[query]
fn transfer_fee(_: TransferFeeArg) -> TransferFee {
    TransferFee {
        transfer_fee: state::read(|l| l.config().transfer_fee),
    }
}

#[query]
fn query_blocks(args: GetBlocksArgs) -> QueryBlocksResponse {
    let most = max_blocks_per_request(&msg_caller());
    let (chain_length, blocks, first) = state::read(|l| {
        let len = l.chain_length();
        let first = args.start.min(len);
        let end = first.saturating_add(args.length.min(most)).min(len);
        let blocks = (first..end)
            .map(|i| legacy::candid_block(l.block(i).expect("index below the chain length")))
            .collect();
        (len, blocks, first)
    });
    QueryBlocksResponse {
        chain_length,
        certificate: data_certificate().map(ByteBuf::from),
        blocks,
        first_block_index: first,
        archived_blocks: vec![],
    }
}

/// As the real ledger: a user's query run as an update (an ingress
/// message, which every node executes) gets at most 50 blocks; other
/// callers get up to 2 000.
fn max_blocks_per_request(caller: &candid::Principal) -> u64 {
    const MAX_BLOCKS_PER_INGRESS_REPLICATED_QUERY: u64 = 50;
    let self_authenticating = caller.as_slice().len() == 29 && caller.as_slice()[28] == 0x02;
    if self_authenticating && ic_cdk::api::in_replicated_execution() {
        MAX_BLOCKS_PER_INGRESS_REPLICATED_QUERY
    } else {
        MAX_BLOCKS_PER_RESPONSE
    }
}

/// Nothing is archived: every block stays in this canister's stable memory.
#[query]
fn archives() -> Archives {
    Archives::default()
}

#[query]
fn tip_of_chain() -> TipOfChainRes {
    let tip_index = state::read(|l| l.last_block().map_or(0, |(index, _)| index));
    TipOfChainRes {
        certification: data_certificate().map(ByteBuf::from),
        tip_index,
    }
}

#[query]
fn symbol() -> Symbol {
    Symbol {
        symbol: state::read(|l| l.config().token_symbol.clone()),
    }
}

#[query]
fn name() -> Name {
    Name {
        name: state::read(|l| l.config().token_name.clone()),
    }
}

#[query]
fn decimals() -> Decimals {
    Decimals {
        decimals: DECIMALS.into(),
    }
}

#[query]
fn is_ledger_ready() -> bool {
    true
}

// ---- ICRC-1 ----

#[query]
fn icrc1_name() -> String {
    state::read(|l| l.config().token_name.clone())
}

#[query]
fn icrc1_symbol() -> String {
    state::read(|l| l.config().token_symbol.clone())
}

#[query]
fn icrc1_decimals() -> u8 {
    DECIMALS
}

#[query]
fn icrc1_fee() -> Nat {
    state::read(|l| tokens_to_nat(l.config().transfer_fee))
}

#[query]
fn icrc1_total_supply() -> Nat {
    Nat::from(state::read(|l| l.tip().total_supply()))
}

#[query]
fn icrc1_minting_account() -> Option<Account> {
    state::read(|l| l.config().icrc1_minting_account)
}

#[query]
fn icrc1_balance_of(account: Account) -> Nat {
    Nat::from(state::read(|l| l.balance(&icrc::account_id(&account))))
}

#[query]
fn icrc1_metadata() -> Vec<(String, MetadataValue)> {
    state::read(|l| {
        let c = l.config();
        vec![
            (
                "icrc1:name".into(),
                MetadataValue::Text(c.token_name.clone()),
            ),
            (
                "icrc1:symbol".into(),
                MetadataValue::Text(c.token_symbol.clone()),
            ),
            ("icrc1:decimals".into(), MetadataValue::Nat(DECIMALS.into())),
            (
                "icrc1:fee".into(),
                MetadataValue::Nat(tokens_to_nat(c.transfer_fee)),
            ),
            (
                "icrc1:max_memo_length".into(),
                MetadataValue::Nat(ledger::MAX_MEMO_BYTES.into()),
            ),
        ]
    })
}

#[update(
    hidden = true,
    decode_with = "codec::decode_transfer_arg",
    encode_with = "codec::encode_transfer_result"
)]
fn icrc1_transfer(arg: TransferArg) -> Result<Nat, Icrc1TransferError> {
    let caller = msg_caller();
    icrc::transfer_request(caller, arg)
        .and_then(|req| record(|l, now| l.transfer(req, now)))
        .map(Nat::from)
        .map_err(icrc::transfer_error)
}

fn supported_standards() -> Vec<StandardRecord> {
    let standard = |n: u32| StandardRecord {
        name: format!("ICRC-{n}"),
        url: format!("https://github.com/dfinity/ICRC-1/tree/main/standards/ICRC-{n}"),
    };
    let mut standards = vec![standard(1)];
    if state::read(|l| l.config().icrc2_enabled) {
        standards.push(standard(2));
    }
    standards.push(standard(3));
    standards.push(standard(4));
    standards.push(StandardRecord {
        name: "ICRC-10".into(),
        url: "https://github.com/dfinity/ICRC/tree/main/ICRCs/ICRC-10".into(),
    });
    standards
}

#[query]
fn icrc1_supported_standards() -> Vec<StandardRecord> {
    supported_standards()
}

#[query]
fn icrc10_supported_standards() -> Vec<StandardRecord> {
    supported_standards()
}

// ---- ICRC-4 (draft): batches ----

/// Each item is validated, deduplicated and recorded like one
/// `icrc1_transfer`, in order; the tip is certified once for the batch.
#[update(hidden = true, decode_with = "codec::decode_transfer_batch")]
fn icrc4_transfer_batch(args: Vec<TransferArg>) -> Vec<Option<TransferBatchResult>> {
    if args.len() as u64 > MAX_TRANSFER_BATCH {
        return vec![Some(Err(TransferBatchError::TooManyRequests {
            limit: Nat::from(MAX_TRANSFER_BATCH),
        }))];
    }
    let caller = msg_caller();
    let now = time();
    let results = state::mutate(|l| {
        args.into_iter()
            .map(|arg| {
                let result =
                    icrc::transfer_request(caller, arg).and_then(|req| l.transfer(req, now));
                Some(result.map(Nat::from).map_err(icrc::batch_error))
            })
            .collect()
    });
    certify_tip();
    results
}

#[query]
fn icrc4_balance_of_batch(args: BalanceQueryArgs) -> Vec<(Account, Nat)> {
    if args.accounts.len() as u64 > MAX_BALANCE_BATCH {
        trap(format!(
            "at most {MAX_BALANCE_BATCH} accounts per icrc4_balance_of_batch call"
        ));
    }
    state::read(|l| {
        args.accounts
            .into_iter()
            .map(|account| {
                let balance = l.balance(&icrc::account_id(&account));
                (account, Nat::from(balance))
            })
            .collect()
    })
}

#[query]
fn icrc4_maximum_update_batch_size() -> Option<Nat> {
    Some(Nat::from(MAX_TRANSFER_BATCH))
}

#[query]
fn icrc4_maximum_query_batch_size() -> Option<Nat> {
    Some(Nat::from(MAX_BALANCE_BATCH))
}

// ---- ICRC-2 ----

#[update(
    hidden = true,
    decode_with = "codec::decode_approve_args",
    encode_with = "codec::encode_approve_result"
)]
fn icrc2_approve(arg: ApproveArgs) -> Result<Nat, ApproveError> {
    require_icrc2();
    let caller = msg_caller();
    // As on the real ledger: no approval between accounts of one owner
    // (the owner compared by principal, the anonymous one included).
    if arg.spender.owner == caller {
        trap("self approval is not allowed");
    }
    record(|l, now| l.approve(icrc::approve_request(caller, arg), now))
        .map(Nat::from)
        .map_err(icrc::approve_error)
}

/// Takes back an approval: an approval of nothing to an account
/// identifier (which need not be an ICRC account), with the fee.
#[update]
fn remove_approval(args: RemoveApprovalArgs) -> Result<Nat, ApproveError> {
    require_icrc2();
    let caller = msg_caller();
    let request = ledger::ApproveRequest {
        from: icrc::caller_account(caller, args.from_subaccount),
        spender: args.spender,
        allowance: 0,
        expected_allowance: None,
        expires_at: None,
        fee: icrc::fee(&args.fee),
        icrc1_memo: None,
        created_at_time: None,
    };
    record(|l, now| l.approve(request, now))
        .map(Nat::from)
        .map_err(icrc::approve_error)
}

/// The live allowances an account granted, by spender, a page at a time.
#[query]
fn get_allowances(args: GetAllowancesArgs) -> Vec<AllowanceEntry> {
    let parse = |text: &str| {
        AccountIdentifier::from_hex(text)
            .unwrap_or_else(|e| trap(format!("invalid account identifier {text:?}: {e:?}")))
    };
    let from = parse(&args.from_account_id);
    let after = args.prev_spender_id.as_deref().map(parse);
    let take = args
        .take
        .unwrap_or(MAX_TAKE_ALLOWANCES)
        .min(MAX_TAKE_ALLOWANCES) as usize;
    state::read(|l| l.allowances_of(&from, after.as_ref(), take, time()))
        .into_iter()
        .map(|(spender, allowance)| AllowanceEntry {
            from_account_id: from.to_hex(),
            to_spender_id: spender.to_hex(),
            allowance: Tokens::from_e8s(allowance.amount),
            expires_at: allowance.expires_at,
        })
        .collect()
}

#[query]
fn icrc2_allowance(args: AllowanceArgs) -> Allowance {
    require_icrc2();
    let allowance = state::read(|l| {
        l.allowance(
            &icrc::account_id(&args.account),
            &icrc::account_id(&args.spender),
            time(),
        )
    });
    Allowance {
        allowance: Nat::from(allowance.amount),
        expires_at: allowance.expires_at,
    }
}

#[update(
    hidden = true,
    decode_with = "codec::decode_transfer_from_args",
    encode_with = "codec::encode_transfer_from_result"
)]
fn icrc2_transfer_from(arg: TransferFromArgs) -> Result<Nat, TransferFromError> {
    require_icrc2();
    let caller = msg_caller();
    icrc::transfer_from_request(caller, arg)
        .and_then(|req| record(|l, now| l.transfer(req, now)))
        .map(Nat::from)
        .map_err(|e| match e {
            // The real ledger rejects a transfer_from of the minting account.
            TxError::Generic {
                error_code: generic_error::MINTING_ACCOUNT_MISUSE,
                message,
            } => trap(message),
            e => icrc::transfer_from_error(e),
        })
}

// ---- HTTP ----

#[query(
    hidden = true,
    decode_with = "canister_common::http::decode_http_request"
)]
fn http_request(request: HttpRequest) -> HttpResponse {
    if request.path() != "/metrics" {
        return HttpResponse::not_found();
    }
    let mut m = Metrics::default();
    state::read(|l| {
        let tip = l.tip();
        // e8s fit a double exactly up to 2^53 (90 M ICP); beyond that the
        // text is rounded, as Prometheus values always are.
        m.gauge(
            "ledger_total_supply_e8s",
            "Total supply, in e8s.",
            tip.total_supply() as f64,
        )
        .counter(
            "ledger_minted_e8s",
            "Minted since genesis, in e8s.",
            tip.minted as f64,
        )
        .counter(
            "ledger_burned_e8s",
            "Burned by burn operations, in e8s.",
            tip.burned as f64,
        )
        .counter(
            "ledger_fees_burned_e8s",
            "Burned as fees, in e8s.",
            tip.fees_burned as f64,
        )
        .counter(
            "ledger_blocks",
            "Blocks in the chain.",
            l.chain_length() as f64,
        )
        .gauge(
            "ledger_accounts",
            "Accounts with a positive balance.",
            l.number_of_accounts() as f64,
        )
        .gauge(
            "ledger_approvals",
            "Stored approvals.",
            l.approvals() as f64,
        )
        .gauge(
            "ledger_dedup_entries",
            "Transactions remembered for deduplication.",
            l.dedup_entries() as f64,
        )
        .gauge(
            "ledger_last_upgrade_instructions",
            "Instructions used by the last post_upgrade.",
            tip.last_upgrade_instructions as f64,
        );
    });
    m.gauge(
        "ledger_stable_memory_bytes",
        "Stable memory size, in bytes.",
        (ic_cdk::stable::stable_size() << 16) as f64,
    )
    .gauge(
        "ledger_cycles_balance",
        "The canister's cycle balance.",
        ic_cdk::api::canister_cycle_balance() as f64,
    );
    HttpResponse::text(200, "text/plain; version=0.0.4", m.finish())
}

// ---- ICRC-3 ----

#[query]
fn icrc3_get_blocks(requests: Vec<GetBlocksRequest>) -> GetBlocksResult {
    state::read(|l| {
        let len = l.chain_length();
        let mut budget = MAX_BLOCKS_PER_RESPONSE;
        let mut blocks = Vec::new();
        for request in requests {
            let (Ok(start), length) = (
                u64::try_from(&request.start.0),
                u64::try_from(&request.length.0).unwrap_or(u64::MAX),
            ) else {
                continue;
            };
            let end = start.saturating_add(length.min(budget)).min(len);
            for id in start..end {
                let block = l.block(id).expect("index below the chain length");
                blocks.push(BlockWithId {
                    id: Nat::from(id),
                    block: icrc3::block_value(&block),
                });
            }
            budget -= end.saturating_sub(start);
        }
        GetBlocksResult {
            log_length: Nat::from(len),
            blocks,
            archived_blocks: vec![],
        }
    })
}

#[query]
fn icrc3_get_tip_certificate() -> Option<ICRC3DataCertificate> {
    let certificate = data_certificate()?;
    let tree = certification::tip_tree_cbor(state::read(|l| l.last_block()));
    Some(ICRC3DataCertificate {
        certificate: ByteBuf::from(certificate),
        hash_tree: ByteBuf::from(tree),
    })
}

#[query]
fn icrc3_get_archives(_: GetArchivesArgs) -> GetArchivesResult {
    vec![]
}

#[query]
fn icrc3_supported_block_types() -> Vec<SupportedBlockType> {
    ["mint", "burn", "xfer", "approve"]
        .into_iter()
        .map(|op| SupportedBlockType {
            block_type: op.to_string(),
            url: "https://github.com/dfinity/ICRC-1/blob/main/standards/ICRC-3/README.md"
                .to_string(),
        })
        .collect()
}

/// The Candid signatures of the endpoints above that decode and encode by
/// hand (`hidden` keeps the macro from declaring them as blob to blob).
#[cfg(test)]
#[allow(dead_code)]
mod hand_coded_signatures {
    use super::*;

    #[candid::candid_method(query)]
    fn http_request(_: HttpRequest) -> HttpResponse {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(update)]
    fn transfer(_: TransferArgs) -> TransferResult {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(update)]
    fn icrc1_transfer(_: TransferArg) -> Result<Nat, Icrc1TransferError> {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(update)]
    fn icrc4_transfer_batch(_: Vec<TransferArg>) -> Vec<Option<TransferBatchResult>> {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(update)]
    fn icrc2_approve(_: ApproveArgs) -> Result<Nat, ApproveError> {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(update)]
    fn icrc2_transfer_from(_: TransferFromArgs) -> Result<Nat, TransferFromError> {
        unreachable!("declares a signature only")
    }
}

#[cfg(test)]
mod candid_interface {
    use super::*;

    candid::export_service!();

    #[test]
    fn did_file_matches_the_code() {
        canister_common::assert_candid_interface(
            &__export_service(),
            include_str!("../../../candid/ledger.did"),
            CANDID_INIT_ARGS,
        );
    }
}
