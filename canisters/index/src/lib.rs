//! The ICP index canister: follows the ledger's blocks and answers, per
//! account, the balance and the history. This file holds the endpoints and
//! the sync's calls; the rules live in the modules below, which unit-test
//! without a runtime.
//!
//! Syncing: a timer asks the ledger's `query_encoded_blocks` for up to
//! 2 000 blocks from the first one the index lacks, checks each (it decodes,
//! it names its predecessor's hash, it overdraws no account) and appends it.
//! While the ledger has more, the next sync starts at once; otherwise the
//! interval timer (`retrieve_blocks_from_ledger_interval_seconds`) asks
//! again. One sync runs at a time. A failed call is retried at the next
//! interval; a block that fails its checks stops syncing (the blocks before
//! it stay indexed) until an upgrade, since asking again would get the same
//! block. Blocks the ledger has archived are fetched from the archive its
//! answer names, as the real index does; this project's ledger archives
//! nothing.

mod codec;
pub mod config;
pub mod index;
pub mod queries;
pub mod state;
pub mod sync;

use candid::Principal;
use canister_common::metrics::Metrics;
use config::Config;
use ic_cdk::api::{in_replicated_execution, msg_caller};
use ic_cdk::call::Call;
use ic_cdk::{init, post_upgrade, query, trap};
use nns_api::http::{HttpRequest, HttpResponse};
use nns_api::index::{
    Account, GetAccountIdentifierTransactionsArgs, GetAccountIdentifierTransactionsResult,
    GetAccountTransactionsArgs, GetBlocksRequest, GetBlocksResponse, IndexArg, Status,
};
use nns_api::ledger::{GetEncodedBlocksResult, QueryEncodedBlocksResponse};
use std::cell::{Cell, RefCell};
use std::time::Duration;
use sync::Step;

nns_api::embed_candid_metadata!("../../../candid/index.did", b"(opt IndexArg)");

#[init]
fn init(arg: Option<IndexArg>) {
    let config = Config::from_init(arg).unwrap_or_else(|e| trap(e));
    state::set_config(config);
    codec::prepare();
    start_syncing();
}

/// Applies the upgrade argument and lets a stopped sync try again: the
/// upgrade may have named the ledger that continues the chain. Touches no
/// per-block or per-account data.
#[post_upgrade]
fn post_upgrade(arg: Option<IndexArg>) {
    let mut config = state::config();
    config.apply_upgrade(arg).unwrap_or_else(|e| trap(e));
    state::set_config(config);
    state::mutate(|index| index.resume_sync());
    codec::prepare();
    start_syncing();
}

fn start_syncing() {
    ic_cdk_timers::set_timer_interval(state::config().interval(), sync);
    ic_cdk_timers::set_timer(Duration::ZERO, sync());
}

thread_local! {
    static SYNC_IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
    /// Failed syncs since the last install or upgrade, and the last reason.
    static SYNC_FAILURES: Cell<u64> = const { Cell::new(0) };
    static LAST_SYNC_FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Marks a sync as running from its start to its end, across its awaits.
/// Dropped when the sync ends, or by the cleanup after a trap in a callback.
struct SyncInFlight;

impl SyncInFlight {
    /// `None` while another sync runs. (No guard may be made and dropped
    /// here: its drop would clear the other sync's mark.)
    fn start() -> Option<Self> {
        if SYNC_IN_FLIGHT.replace(true) {
            None
        } else {
            Some(Self)
        }
    }
}

impl Drop for SyncInFlight {
    fn drop(&mut self) {
        SYNC_IN_FLIGHT.set(false);
    }
}

enum SyncError {
    /// A call failed or answered something unreadable: try again later.
    Retry(String),
    /// The ledger's blocks do not continue the index: stop.
    Stop(String),
}

async fn sync() {
    let Some(_in_flight) = SyncInFlight::start() else {
        return;
    };
    if state::read(|index| index.sync_stop().is_some()) {
        return;
    }
    let before = state::read(|index| index.num_blocks());
    match fetch_and_append(before).await {
        Ok(chain_length) => {
            let (appended, num_blocks) = state::read(|index| {
                let num_blocks = index.num_blocks();
                (num_blocks - before, num_blocks)
            });
            if sync::sync_again_at_once(appended, num_blocks, chain_length) {
                ic_cdk_timers::set_timer(Duration::ZERO, sync());
            }
        }
        Err(SyncError::Retry(reason)) => {
            ic_cdk::println!("sync failed, retrying at the next interval: {reason}");
            SYNC_FAILURES.set(SYNC_FAILURES.get() + 1);
            LAST_SYNC_FAILURE.set(Some(reason));
        }
        Err(SyncError::Stop(reason)) => {
            ic_cdk::println!("sync stopped: {reason}");
            state::mutate(|index| index.stop_sync(reason));
        }
    }
}

/// One sync step from block `next`; answers the ledger's chain length.
async fn fetch_and_append(next: u64) -> Result<u64, SyncError> {
    let ledger = state::config().ledger_id;
    // A bounded wait: a read may be abandoned, and a ledger that does not
    // answer cannot keep the index from being upgraded.
    let reply: QueryEncodedBlocksResponse = Call::bounded_wait(ledger, "query_encoded_blocks")
        .with_arg(sync::request(next))
        .await
        .map_err(|e| SyncError::Retry(format!("query_encoded_blocks: {e}")))?
        .candid()
        .map_err(|e| SyncError::Retry(format!("query_encoded_blocks' answer: {e}")))?;
    let chain_length = reply.chain_length;
    let blocks = match sync::next_step(next, reply).map_err(SyncError::Stop)? {
        Step::Append(blocks) => blocks,
        Step::FetchArchived {
            canister_id,
            method,
            args,
        } => {
            let result: GetEncodedBlocksResult = Call::bounded_wait(canister_id, &method)
                .with_arg(args)
                .await
                .map_err(|e| SyncError::Retry(format!("archive {canister_id} {method}: {e}")))?
                .candid()
                .map_err(|e| SyncError::Retry(format!("archive {canister_id}'s answer: {e}")))?;
            let blocks = result
                .map_err(|e| SyncError::Retry(format!("archive {canister_id} refused: {e:?}")))?;
            sync::truncated(blocks)
        }
    };
    // A reply to a request made before the index moved on (which only an
    // upgrade between the call and its reply could cause) is dropped.
    if state::read(|index| index.num_blocks()) != next {
        return Err(SyncError::Retry(format!(
            "a reply for blocks from {next} arrived after the index had moved on"
        )));
    }
    state::mutate(|index| index.append_blocks(&blocks))
        .map_err(|e| SyncError::Stop(e.to_string()))?;
    Ok(chain_length)
}

// ---- Queries ----

fn max_results() -> u64 {
    queries::max_results(&msg_caller(), in_replicated_execution())
}

#[query]
fn ledger_id() -> Principal {
    state::config().ledger_id
}

#[query]
fn status() -> Status {
    Status {
        num_blocks_synced: state::read(|index| index.num_blocks()),
    }
}

/// Traps on text that is not an account identifier: the answer has no
/// place for an error.
#[query]
fn get_account_identifier_balance(account_identifier: String) -> u64 {
    let account =
        queries::parse_account_identifier(&account_identifier).unwrap_or_else(|e| trap(e));
    state::read(|index| index.balance(&account))
}

#[query(
    hidden = true,
    decode_with = "codec::decode_account",
    encode_with = "canister_common::fast_candid::encode_nat64"
)]
fn icrc1_balance_of(account: Account) -> u64 {
    let account = queries::account_identifier_of(&account).unwrap_or_else(|e| trap(e));
    state::read(|index| index.balance(&account))
}

#[query]
fn get_account_identifier_transactions(
    args: GetAccountIdentifierTransactionsArgs,
) -> GetAccountIdentifierTransactionsResult {
    let cap = max_results();
    state::read(|index| queries::account_identifier_transactions(index, &args, cap))
}

#[query]
fn get_account_transactions(
    args: GetAccountTransactionsArgs,
) -> GetAccountIdentifierTransactionsResult {
    let cap = max_results();
    state::read(|index| queries::account_transactions(index, &args, cap))
}

#[query]
fn get_blocks(request: GetBlocksRequest) -> GetBlocksResponse {
    let cap = max_results();
    state::read(|index| queries::blocks(index, &request, cap))
}

/// `/metrics` in the Prometheus format; `/logs`, why syncing failed or
/// stopped, in plain text.
#[query(
    hidden = true,
    decode_with = "canister_common::http::decode_http_request"
)]
fn http_request(request: HttpRequest) -> HttpResponse {
    match request.path() {
        "/metrics" => {
            let mut m = Metrics::default();
            state::read(|index| {
                m.gauge(
                    "index_number_of_blocks",
                    "Blocks indexed.",
                    index.num_blocks(),
                )
                .gauge(
                    "index_funded_accounts",
                    "Account identifiers with a positive balance.",
                    index.funded_accounts(),
                )
                .gauge(
                    "index_history_entries",
                    "Entries of the per-account histories (one per account a block shows).",
                    index.history_entries(),
                )
                .gauge(
                    "index_sync_stopped",
                    "1 when a block failed its checks and syncing stopped (see /logs).",
                    u32::from(index.sync_stop().is_some()),
                );
            });
            m.counter(
                "index_sync_failures",
                "Syncs whose calls failed since the last install or upgrade (see /logs).",
                SYNC_FAILURES.get(),
            )
            .gauge(
                "index_stable_memory_bytes",
                "Stable memory in use, in bytes.",
                ic_cdk::stable::stable_size() * 65_536,
            )
            .gauge(
                "index_cycle_balance",
                "Cycles held.",
                ic_cdk::api::canister_cycle_balance(),
            );
            HttpResponse::text(200, "text/plain; version=0.0.4", m.finish())
        }
        "/logs" => {
            let stopped = state::read(|index| index.sync_stop().map(str::to_string));
            let last_failure = LAST_SYNC_FAILURE.with_borrow(Clone::clone);
            let text = format!(
                "blocks indexed: {}\nsync stopped: {}\nlast failed sync: {}\n",
                state::read(|index| index.num_blocks()),
                stopped.as_deref().unwrap_or("no"),
                last_failure.as_deref().unwrap_or("none"),
            );
            HttpResponse::text(200, "text/plain; charset=utf-8", text)
        }
        _ => HttpResponse::not_found(),
    }
}

#[cfg(test)]
mod sync_in_flight {
    use super::*;

    #[test]
    fn one_sync_at_a_time_and_the_next_after_it_ends() {
        let first = SyncInFlight::start().expect("nothing runs");
        assert!(SyncInFlight::start().is_none());
        assert!(SyncInFlight::start().is_none(), "a refusal keeps the mark");
        drop(first);
        assert!(SyncInFlight::start().is_some());
    }
}

/// The Candid signatures of the endpoints above that decode by hand
/// (`hidden` keeps the macro from declaring them as blob to blob).
#[cfg(test)]
#[allow(dead_code)]
mod hand_coded_signatures {
    use super::*;

    #[candid::candid_method(query)]
    fn http_request(_: HttpRequest) -> HttpResponse {
        unreachable!("declares a signature only")
    }

    #[candid::candid_method(query)]
    fn icrc1_balance_of(_: Account) -> u64 {
        unreachable!("declares a signature only")
    }
}

#[cfg(test)]
canister_common::candid_interface_test!("../../../candid/index.did");
