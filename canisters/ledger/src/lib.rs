//! The ICP ledger canister. This file holds only the endpoints; the logic
//! lives in the modules below, which unit-test without a canister runtime.

pub mod account_ids;
pub mod block;
pub mod codec;
pub mod config;
pub mod consent;
pub mod icrc;
pub mod init_arg;
pub mod kind;
pub mod ledger;
pub mod legacy;
pub mod pb;
pub mod state;

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
use icrc_ledger_types::icrc21::errors::Icrc21Error;
use icrc_ledger_types::icrc21::requests::ConsentMessageRequest;
use icrc_ledger_types::icrc21::responses::ConsentInfo;
use ledger::{TxError, generic_error};
use nns_api::AccountIdentifier;
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::ledger::{
    AccountBalanceArgsDfx, AllowanceEntry, Archives, BalanceQueryArgs, BlockIndex, CandidBlock,
    DECIMALS, Decimals, GetAllowancesArgs, GetBlocksArgs, LedgerArg, MAX_BALANCE_BATCH,
    MAX_BLOCKS_PER_RESPONSE, MAX_TAKE_ALLOWANCES, MAX_TRANSFER_BATCH, Name, QueryBlocksResponse,
    QueryEncodedBlocksResponse, RemoveApprovalArgs, SendArgs, StandardRecord, Symbol,
    TipOfChainRes, Tokens, TransferArgs, TransferBatchError, TransferBatchResult, TransferFee,
    TransferFeeArg, TransferResult, tokens_to_nat,
};
use serde_bytes::ByteBuf;

nns_api::embed_candid_metadata!("../../../candid/ledger.did", b"(LedgerArg)");

/// As the real ledger: the argument is `LedgerArg`, or for older
/// deployment scripts a bare `InitArgs` record. Its initial balances are
/// decoded apart, one at a time (`init_arg`).
fn decode_init_arg(bytes: Vec<u8>) -> LedgerArg {
    init_arg::decode(bytes).unwrap_or_else(|e| trap(e))
}

#[init(decode_with = "decode_init_arg")]
fn init(arg: LedgerArg) {
    let LedgerArg::Init(args) = arg else {
        trap("installing the ledger needs the Init variant");
    };
    let config = Config::from_init(args).unwrap_or_else(|e| trap(e));
    let now = time();
    state::mutate(|l| l.install(config, &[], now)).unwrap_or_else(|e| trap(e));
    init_arg::take_initial_values(move |(hex, tokens)| {
        let (account, e8s) = Config::initial_balance(&hex, tokens)?;
        state::mutate(|l| l.mint_initial(account, e8s, now))
    })
    .unwrap_or_else(|e| trap(e));
    certify_tip();
}

/// Touches no per-account data: its cost does not grow with the ledger,
/// except once, when a ledger of an earlier layout migrates (bounded by
/// [`UPGRADE_MIGRATION_INSTRUCTIONS`], the rest on timers).
#[post_upgrade]
fn post_upgrade(arg: Option<LedgerArg>) {
    state::read(|l| l.check_layout()).unwrap_or_else(|e| trap(e));
    state::mutate(|l| l.start_migration());
    if !migrate_until(UPGRADE_MIGRATION_INSTRUCTIONS) {
        // An interval, not a one-off timer: a run that traps is retried.
        let id = ic_cdk_timers::set_timer_interval(MIGRATION_INTERVAL, continue_migration);
        MIGRATION_TIMER.set(Some(id));
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
    state::mutate(|l| l.set_last_upgrade_instructions(ic_cdk::api::instruction_counter()));
}

/// Migration steps per chunk (a dedup entry re-keyed or a block re-hashed).
const MIGRATION_CHUNK: usize = 200;
/// Instructions the upgrade may spend on the migration (of its 300 B).
const UPGRADE_MIGRATION_INSTRUCTIONS: u64 = 100_000_000_000;
/// Instructions a timer message may spend on it (of its 40 B).
const TIMER_MIGRATION_INSTRUCTIONS: u64 = 10_000_000_000;

/// Migrates chunks while this message has used fewer than `budget`
/// instructions; returns whether the migration is done (the tip is then
/// certified).
fn migrate_until(budget: u64) -> bool {
    loop {
        if state::mutate(|l| l.migrate(MIGRATION_CHUNK)) {
            certify_tip();
            return true;
        }
        if ic_cdk::api::performance_counter(0) >= budget {
            return false;
        }
    }
}

/// How often a migration continues after the upgrade.
const MIGRATION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

thread_local! {
    static MIGRATION_TIMER: std::cell::Cell<Option<ic_cdk_timers::TimerId>> =
        const { std::cell::Cell::new(None) };
}

async fn continue_migration() {
    if migrate_until(TIMER_MIGRATION_INSTRUCTIONS)
        && let Some(id) = MIGRATION_TIMER.take()
    {
        ic_cdk_timers::clear_timer(id);
    }
}

/// As the real ledger: the certified data is the raw hash of the newest
/// block (32 zero bytes before the first), which Rosetta and other clients
/// check `tip_of_chain`'s certificate against.
fn certify_tip() {
    let hash = state::read(|l| l.last_block()).map_or([0; 32], |(_, hash)| hash);
    certified_data_set(hash);
}

/// While the ledger migrates, transactions and block reads trap, as on the
/// real ledger.
fn require_ready() {
    if !state::read(|l| l.is_ready()) {
        trap("The Ledger is not ready");
    }
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
    require_ready();
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

/// `account_balance`'s argument as it arrives: any blob.
#[derive(candid::CandidType, serde::Deserialize)]
struct AccountBalanceBlob {
    account: ByteBuf,
}

/// As the real ledger: a blob that is not 32 bytes long has nothing (0); a
/// 32-byte blob with a wrong checksum traps.
#[query(hidden = true)]
fn account_balance(args: AccountBalanceBlob) -> Tokens {
    let Ok(bytes) = <[u8; 32]>::try_from(args.account.as_slice()) else {
        return Tokens::from_e8s(0);
    };
    let account = AccountIdentifier::from_slice(&bytes)
        .unwrap_or_else(|e| trap(format!("Invalid account identifier: {e}")));
    Tokens::from_e8s(state::read(|l| l.balance(&account)))
}

/// `transfer` with the destination as text, as `dfx ledger transfer`
/// sends it; a refusal traps, as on the real ledger.
#[update]
fn send_dfx(args: SendArgs) -> BlockIndex {
    let to = AccountIdentifier::from_hex_or_hash(&args.to)
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
    let account = AccountIdentifier::from_hex_or_hash(&args.account).unwrap_or_else(|e| {
        trap(format!(
            "invalid account identifier {:?}: {e:?}",
            args.account
        ))
    });
    Tokens::from_e8s(state::read(|l| l.balance(&account)))
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
    require_ready();
    let most = max_blocks_per_request(&msg_caller());
    let (chain_length, blocks, first) = state::read(|l| {
        let len = l.chain_length();
        let range = served_range(len, args.start, args.length, most);
        let first = range.start;
        let blocks = range
            .map(|i| CandidBlock::from(l.block(i).expect("index below the chain length")))
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

/// The blocks of `start..start + length` that the chain holds, at most
/// `most` of them.
fn served_range(chain_length: u64, start: u64, length: u64, most: u64) -> std::ops::Range<u64> {
    let first = start.min(chain_length);
    first..first.saturating_add(length.min(most)).min(chain_length)
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

/// `query_blocks` with each block as the protobuf bytes whose SHA-256 is
/// its hash, as the index canister reads them.
#[query]
fn query_encoded_blocks(args: GetBlocksArgs) -> QueryEncodedBlocksResponse {
    require_ready();
    let most = max_blocks_per_request(&msg_caller());
    let (chain_length, blocks, first) = state::read(|l| {
        let len = l.chain_length();
        let range = served_range(len, args.start, args.length, most);
        (len, encoded_blocks(l, range.clone()), range.start)
    });
    QueryEncodedBlocksResponse {
        certificate: data_certificate().map(ByteBuf::from),
        blocks: blocks.into_iter().map(ByteBuf::from).collect(),
        chain_length,
        first_block_index: first,
        archived_blocks: vec![],
    }
}

fn encoded_blocks(
    l: &ledger::Ledger<ic_stable_structures::DefaultMemoryImpl>,
    range: std::ops::Range<u64>,
) -> Vec<Vec<u8>> {
    range
        .map(|i| {
            l.block(i)
                .expect("index below the chain length")
                .to_protobuf()
        })
        .collect()
}

/// Nothing is archived: every block stays in this canister's stable memory.
#[query]
fn archives() -> Archives {
    Archives::default()
}

#[query]
fn tip_of_chain() -> TipOfChainRes {
    require_ready();
    // The real ledger traps on an empty chain too.
    let tip_index = state::read(|l| l.last_block()).map_or_else(
        || trap("the chain is empty: there is no tip yet"),
        |(index, _)| index,
    );
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
    state::read(|l| l.is_ready())
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
            (
                "icrc4:maximum_batch_size".into(),
                MetadataValue::Nat(MAX_TRANSFER_BATCH.into()),
            ),
            (
                "icrc4:maximum_balance_size".into(),
                MetadataValue::Nat(MAX_BALANCE_BATCH.into()),
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
    record(|l, now| {
        let req = icrc::transfer_request(caller, arg, |a| l.balance(a))?;
        l.transfer(req, now)
    })
    .map(Nat::from)
    .map_err(icrc::transfer_error)
}

fn supported_standards() -> Vec<StandardRecord> {
    let standard = |name: &str, url: &str| StandardRecord {
        name: name.into(),
        url: url.into(),
    };
    let mut standards = vec![standard(
        "ICRC-1",
        "https://github.com/dfinity/ICRC-1/tree/main/standards/ICRC-1",
    )];
    if state::read(|l| l.config().icrc2_enabled) {
        standards.push(standard(
            "ICRC-2",
            "https://github.com/dfinity/ICRC-1/tree/main/standards/ICRC-2",
        ));
    }
    // The draft batch methods, which the real ledger does not have.
    standards.push(standard(
        "ICRC-4",
        "https://github.com/dfinity/ICRC/tree/main/ICRCs/ICRC-4",
    ));
    standards.push(standard(
        "ICRC-21",
        "https://github.com/dfinity/wg-identity-authentication/blob/main/topics/ICRC-21/icrc_21_consent_msg.md",
    ));
    standards.push(standard(
        "ICRC-10",
        "https://github.com/dfinity/ICRC/blob/main/ICRCs/ICRC-10/ICRC-10.md",
    ));
    standards
}

/// ICRC-21: the text a signer shows before signing a call of `transfer`,
/// `icrc1_transfer`, `icrc2_approve` or `icrc2_transfer_from`.
#[update]
fn icrc21_canister_call_consent_message(
    request: ConsentMessageRequest,
) -> Result<ConsentInfo, Icrc21Error> {
    let ledger = state::read(|l| {
        let config = l.config();
        consent::LedgerInfo {
            fee_e8s: config.transfer_fee.e8s,
            minting_account: config.minting_account,
            token_symbol: config.token_symbol.clone(),
            token_name: config.token_name.clone(),
            decimals: DECIMALS,
        }
    });
    consent::consent_message(request, msg_caller(), ledger)
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
    require_ready();
    let caller = msg_caller();
    let now = time();
    let results = state::mutate(|l| {
        args.into_iter()
            .map(|arg| {
                let result = icrc::transfer_request(caller, arg, |a| l.balance(a))
                    .and_then(|req| l.transfer(req, now));
                Some(result.map(Nat::from).map_err(icrc::batch_error))
            })
            .collect()
    });
    certify_tip();
    results
}

/// The balances of the accounts asked for, in their order; as the current
/// ICRC-4 draft allows, a longer request is answered for its first
/// [`MAX_BALANCE_BATCH`] accounts.
#[query]
fn icrc4_balance_of_batch(args: BalanceQueryArgs) -> Vec<Nat> {
    state::read(|l| {
        args.accounts
            .iter()
            .take(MAX_BALANCE_BATCH as usize)
            .map(|account| Nat::from(l.balance(&icrc::account_id(account))))
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
        memo: ledger::Memos::default(),
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
        .map(|(_, spender, allowance)| AllowanceEntry {
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
    record(|l, now| {
        let req = icrc::transfer_from_request(caller, arg, |a| l.balance(a))?;
        l.transfer(req, now)
    })
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

// ---- Protobuf endpoints (raw protobuf in and out, see pb.rs) ----

/// The raw argument bytes: these endpoints do not speak Candid.
fn raw(bytes: Vec<u8>) -> Vec<u8> {
    bytes
}

/// As the real ledger: a malformed argument traps.
fn decoded<T>(method: &str, result: Result<T, nns_api::protobuf::DecodeError>) -> T {
    result.unwrap_or_else(|e| trap(format!("failed to decode {method} argument: {e}")))
}

/// `transfer` in protobuf; a refusal traps, as on the real ledger.
#[update(hidden = true, decode_with = "raw", encode_with = "raw")]
fn send_pb(request: Vec<u8>) -> Vec<u8> {
    let args = decoded("send_pb", pb::send_request(&request));
    let index = transfer(args).unwrap_or_else(|e| trap(format!("transfer failed: {e:?}")));
    pb::block_index(index)
}

#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn block_pb(request: Vec<u8>) -> Vec<u8> {
    let index = decoded("block_pb", pb::block_request(&request));
    require_ready();
    let block = state::read(|l| l.block(index)).map(|b| b.to_protobuf());
    pb::block_response(block.as_deref())
}

#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn tip_of_chain_pb(request: Vec<u8>) -> Vec<u8> {
    decoded("tip_of_chain_pb", pb::empty_request(&request));
    let tip = tip_of_chain();
    pb::tip_of_chain_response(tip.certification.as_deref().map(|c| &c[..]), tip.tip_index)
}

/// Blocks `start..start + length` (at most as many as `query_blocks`
/// gives), or an error if any of them does not exist.
#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn get_blocks_pb(request: Vec<u8>) -> Vec<u8> {
    let (start, length) = decoded("get_blocks_pb", pb::range_request(&request));
    require_ready();
    let length = length.min(max_blocks_per_request(&msg_caller()));
    state::read(|l| {
        let available = 0..l.chain_length();
        match start.checked_add(length) {
            Some(end) if start >= available.start && end <= available.end => {
                pb::get_blocks_response(Ok(&encoded_blocks(l, start..end)))
            }
            end => pb::get_blocks_response(Err(&format!(
                "Requested blocks outside the range stored in the ledger node. \
                 Requested [{start} .. {}]. Available [{} .. {}].",
                end.map_or_else(|| "overflow".to_string(), |end| end.to_string()),
                available.start,
                available.end
            ))),
        }
    })
}

/// Blocks by position in this canister, which are their indices here:
/// nothing is archived.
#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn iter_blocks_pb(request: Vec<u8>) -> Vec<u8> {
    let (start, length) = decoded("iter_blocks_pb", pb::range_request(&request));
    require_ready();
    let most = max_blocks_per_request(&msg_caller());
    state::read(|l| {
        let range = served_range(l.chain_length(), start, length, most);
        pb::iter_blocks_response(&encoded_blocks(l, range))
    })
}

/// No archives: an `ArchiveIndexResponse` without entries.
#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn get_archive_index_pb(_: Vec<u8>) -> Vec<u8> {
    Vec::new()
}

#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn account_balance_pb(request: Vec<u8>) -> Vec<u8> {
    let account = decoded("account_balance_pb", pb::account_balance_request(&request));
    pb::tokens(state::read(|l| l.balance(&account)))
}

#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn transfer_fee_pb(request: Vec<u8>) -> Vec<u8> {
    decoded("transfer_fee_pb", pb::empty_request(&request));
    pb::transfer_fee_response(state::read(|l| l.config().transfer_fee.e8s))
}

#[query(hidden = true, decode_with = "raw", encode_with = "raw")]
fn total_supply_pb(request: Vec<u8>) -> Vec<u8> {
    decoded("total_supply_pb", pb::empty_request(&request));
    pb::tokens(state::read(|l| l.tip().total_supply()))
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
            tip.total_supply(),
        )
        .counter(
            "ledger_minted_e8s",
            "Minted since genesis, in e8s.",
            tip.minted,
        )
        .counter(
            "ledger_burned_e8s",
            "Burned by burn operations, in e8s.",
            tip.burned,
        )
        .counter(
            "ledger_fees_burned_e8s",
            "Burned as fees, in e8s.",
            tip.fees_burned,
        )
        .counter("ledger_blocks", "Blocks in the chain.", l.chain_length())
        .gauge(
            "ledger_accounts",
            "Accounts with a positive balance.",
            l.number_of_accounts(),
        )
        .gauge("ledger_approvals", "Stored approvals.", l.approvals())
        .gauge(
            "ledger_dedup_entries",
            "Transactions remembered for deduplication.",
            l.dedup_entries(),
        )
        .gauge(
            "ledger_last_upgrade_instructions",
            "Instructions used by the last post_upgrade.",
            tip.last_upgrade_instructions,
        );
    });
    m.gauge(
        "ledger_stable_memory_bytes",
        "Stable memory size, in bytes.",
        ic_cdk::stable::stable_size() << 16,
    )
    .gauge(
        "ledger_cycles_balance",
        "The canister's cycle balance.",
        ic_cdk::api::canister_cycle_balance(),
    );
    HttpResponse::text(200, "text/plain; version=0.0.4", m.finish())
}

/// The Candid signatures of the endpoints above that decode and encode by
/// hand (`hidden` keeps the macro from declaring them as blob to blob).
#[cfg(test)]
#[allow(dead_code)]
mod hand_coded_signatures {
    use super::*;
    use nns_api::ledger::AccountBalanceArgs;

    #[candid::candid_method(query)]
    fn http_request(_: HttpRequest) -> HttpResponse {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(init)]
    fn init(_: LedgerArg) {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn account_balance(_: AccountBalanceArgs) -> Tokens {
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
canister_common::candid_interface_test!(
    "../../../candid/ledger.did",
    nns_api::ledger::AccountBalanceArgs
);
