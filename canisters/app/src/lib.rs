//! A small application canister: the demand side of the economy. Each call
//! to `work` hashes and stores, so it burns cycles for its instructions and,
//! over time, for the memory it keeps — the cycles that developers buy with
//! ICP through the cycles-minting canister.

pub mod work;

use candid::CandidType;
use ic_cdk::{init, inspect_message, query, trap, update};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableCell, StableLog, StableVec};
use serde::Deserialize;
use std::cell::RefCell;

nns_api::embed_candid_metadata!("../../../candid/app.did", b"()");

type Memory = VirtualMemory<DefaultMemoryImpl>;

/// Stable-memory layout: one virtual memory each.
const DIGESTS: MemoryId = MemoryId::new(0);
const ROUNDS: MemoryId = MemoryId::new(1);
const VISITS: MemoryId = MemoryId::new(2);
const STORED_INDEX: MemoryId = MemoryId::new(3);
const STORED_DATA: MemoryId = MemoryId::new(4);
const SERVED_TOTALS: MemoryId = MemoryId::new(5);

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> = MemoryManager::init(DefaultMemoryImpl::default());
    /// Every call's final digest, in call order.
    static DIGEST_LOG: RefCell<StableVec<[u8; 32], Memory>> =
        RefCell::new(StableVec::init(MEMORY.with(|m| m.get(DIGESTS))));
    /// Rounds hashed over all calls.
    static TOTAL_ROUNDS: RefCell<StableCell<u64, Memory>> =
        RefCell::new(StableCell::init(MEMORY.with(|m| m.get(ROUNDS)), 0));
    /// Visits recorded over HTTP (`POST /visits`).
    static VISIT_COUNT: RefCell<StableCell<u64, Memory>> =
        RefCell::new(StableCell::init(MEMORY.with(|m| m.get(VISITS)), 0));
    /// What `serve` keeps for its requests (a mail app's messages): the
    /// canister's memory, and so its storage fees, grow with its use.
    static STORED: RefCell<StableLog<Vec<u8>, Memory, Memory>> = RefCell::new(
        StableLog::init(MEMORY.with(|m| m.get(STORED_INDEX)), MEMORY.with(|m| m.get(STORED_DATA))),
    );
    /// Requests served and cycles burned beyond execution, over all calls.
    static SERVED: RefCell<StableCell<(u64, u128), Memory>> =
        RefCell::new(StableCell::init(MEMORY.with(|m| m.get(SERVED_TOTALS)), (0, 0)));
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WorkReceipt {
    /// This call's place in the digest log.
    pub call_index: u64,
    pub digest: serde_bytes::ByteBuf,
    /// Instructions this call had used when it replied.
    pub instructions: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AppStats {
    pub calls: u64,
    /// Requests `serve` served, and the cycles it burned beyond execution.
    pub served_requests: u64,
    pub burned_extra_cycles: candid::Nat,
    /// Items `serve` keeps.
    pub stored_items: u64,
    pub rounds: u64,
    pub last_digest: Option<serde_bytes::ByteBuf>,
}

/// Nothing to configure: the app starts with an empty log.
#[init]
fn init() {}

/// Ingress for `work` from anyone but a controller is turned away before
/// it runs, so that it costs this canister nothing; `work` checks again
/// for calls from other canisters, which this does not see.
#[inspect_message]
fn inspect_message() {
    let method = ic_cdk::api::msg_method_name();
    let controller_only = method == "work" || method == "serve";
    if !controller_only || ic_cdk::api::is_controller(&ic_cdk::api::msg_caller()) {
        ic_cdk::api::accept_message();
    }
}

/// Hashes `rounds` times from the previous call's digest and keeps the
/// result. Only a controller may ask: the work burns the canister's cycles.
#[update]
fn work(rounds: u32) -> WorkReceipt {
    if !ic_cdk::api::is_controller(&ic_cdk::api::msg_caller()) {
        trap("only a controller of this canister may call work");
    }
    work::check_rounds(rounds).unwrap_or_else(|e| trap(e));
    let previous = DIGEST_LOG.with_borrow(|log| log.len().checked_sub(1).and_then(|i| log.get(i)));
    let digest = work::hash_chain(previous.unwrap_or_default(), rounds);
    let call_index = DIGEST_LOG.with_borrow_mut(|log| {
        log.push(&digest);
        log.len() - 1
    });
    TOTAL_ROUNDS.with_borrow_mut(|total| {
        let rounds = total.get() + u64::from(rounds);
        total.set(rounds);
    });
    WorkReceipt {
        call_index,
        digest: serde_bytes::ByteBuf::from(digest.to_vec()),
        instructions: ic_cdk::api::instruction_counter(),
    }
}

/// A batch of requests the app serves in one message: each hashes
/// `rounds` times and keeps `stored_bytes`; `extra_burn_cycles` are the
/// cycles of the computation the batch stands for beyond what it executes
/// (burned with `ic0.cycles_burn128`, as far as the balance above the
/// freezing threshold allows), so that a few executed messages can stand
/// for a network's demand.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub requests: u32,
    pub rounds: u32,
    pub stored_bytes: u32,
    pub extra_burn_cycles: candid::Nat,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BatchReceipt {
    pub requests: u32,
    /// Instructions this message had used when it replied.
    pub instructions: u64,
    /// What `cycles_burn128` burned of `extra_burn_cycles`.
    pub burned_extra_cycles: candid::Nat,
}

/// Serves a batch (see [`Batch`]). Only a controller may ask.
#[update]
fn serve(batch: Batch) -> BatchReceipt {
    if !ic_cdk::api::is_controller(&ic_cdk::api::msg_caller()) {
        trap("only a controller of this canister may call serve");
    }
    work::check_batch(batch.requests, batch.rounds, batch.stored_bytes).unwrap_or_else(|e| trap(e));
    let extra: u128 = batch
        .extra_burn_cycles
        .0
        .try_into()
        .unwrap_or_else(|_| trap("extra_burn_cycles must fit in 128 bits"));
    let mut digest = [0u8; 32];
    for request in 0..batch.requests {
        digest = work::hash_chain(digest, batch.rounds);
        if batch.stored_bytes > 0 {
            let kept = work::stored_item(digest, request, batch.stored_bytes);
            STORED
                .with_borrow(|log| log.append(&kept))
                .unwrap_or_else(|_| trap("stable memory is full"));
        }
    }
    let burned = ic_cdk::api::cycles_burn(extra);
    SERVED.with_borrow_mut(|totals| {
        let (requests, cycles) = *totals.get();
        totals.set((requests + u64::from(batch.requests), cycles + burned));
    });
    BatchReceipt {
        requests: batch.requests,
        instructions: ic_cdk::api::instruction_counter(),
        burned_extra_cycles: candid::Nat::from(burned),
    }
}

#[query]
fn stats() -> AppStats {
    let (calls, last_digest) = DIGEST_LOG.with_borrow(|log| {
        let last = log.len().checked_sub(1).and_then(|i| log.get(i));
        (log.len(), last)
    });
    let (served, burned_extra) = SERVED.with_borrow(|totals| *totals.get());
    AppStats {
        calls,
        served_requests: served,
        burned_extra_cycles: candid::Nat::from(burned_extra),
        stored_items: STORED.with_borrow(|log| log.len()),
        rounds: TOTAL_ROUNDS.with_borrow(|total| *total.get()),
        last_digest: last_digest.map(|d| serde_bytes::ByteBuf::from(d.to_vec())),
    }
}

/// A web request, as the HTTP gateway sends it (its other fields, such as
/// `certificate_version`, are not needed here).
#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: serde_bytes::ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: Vec<(String, String)>,
    pub body: serde_bytes::ByteBuf,
    /// Asks the gateway to send the request again as `http_request_update`.
    pub upgrade: Option<bool>,
}

fn text_response(status_code: u16, body: String) -> HttpResponse {
    HttpResponse {
        status_code,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: serde_bytes::ByteBuf::from(body.into_bytes()),
        upgrade: None,
    }
}

fn visits() -> u64 {
    VISIT_COUNT.with_borrow(|count| *count.get())
}

/// The app's web page: its figures at `GET /`; `POST /visits` records a
/// visit, which changes state, so the query asks for the update.
#[query]
fn http_request(request: HttpRequest) -> HttpResponse {
    let path = request.url.split('?').next().unwrap_or_default();
    match (request.method.as_str(), path) {
        ("GET", "/") => {
            let stats = stats();
            text_response(
                200,
                format!(
                    "calls: {}\nrounds: {}\nvisits: {}\n",
                    stats.calls,
                    stats.rounds,
                    visits()
                ),
            )
        }
        ("POST", "/visits") => HttpResponse {
            upgrade: Some(true),
            ..text_response(200, String::new())
        },
        _ => text_response(404, "not found\n".into()),
    }
}

/// `POST /visits`, sent again by the gateway as an update.
#[update]
fn http_request_update(request: HttpRequest) -> HttpResponse {
    let path = request.url.split('?').next().unwrap_or_default();
    if (request.method.as_str(), path) != ("POST", "/visits") {
        return text_response(404, "not found\n".into());
    }
    let count = VISIT_COUNT.with_borrow_mut(|count| {
        let visits = count.get() + 1;
        count.set(visits);
        visits
    });
    text_response(200, format!("visits: {count}\n"))
}

#[cfg(test)]
canister_common::candid_interface_test!("../../../candid/app.did");
