//! Figures for the runtime itself:
//!
//! - update and query calls per second on a trivial WAT method;
//! - per-message overhead of an update that writes 8 bytes of stable memory,
//!   with 1 MiB and with 1 GiB of stable memory written (should be flat);
//! - rollback of an update that writes heap pages and traps, by pages written;
//! - compiling a real canister module (`target/canisters/ledger.wasm.gz`,
//!   built by `scripts/build-canisters.sh`; else a generated large module):
//!   cold, from the disk cache, from the in-process cache;
//! - resident memory (VmRSS) after creating 100 canisters with that module.

use crate::report::Figures;
use candid::{CandidType, Principal};
use ic_runtime::{PocketIc, module};
use std::time::{Duration, Instant};

const TRIVIAL: &str = r#"(module
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "stable64_grow" (func $stable_grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (global $count (mut i64) (i64.const 0))
  ;; counts, keeps the count at heap[0..8] and replies with it
  (func (export "canister_update inc")
    (global.set $count (i64.add (global.get $count) (i64.const 1)))
    (i64.store (i32.const 0) (global.get $count))
    (call $append (i32.const 0) (i32.const 8))
    (call $reply))
  (func (export "canister_query get")
    (call $append (i32.const 0) (i32.const 8))
    (call $reply))
  ;; grows stable memory by the u32 argument (64 KiB pages) and writes all of it
  (func (export "canister_update fill") (local $pages i64) (local $page i64)
    (call $arg_copy (i32.const 8) (i32.const 0) (i32.const 4))
    (local.set $pages (i64.extend_i32_u (i32.load (i32.const 8))))
    (drop (call $stable_grow (local.get $pages)))
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536))
    (block $done (loop $next
      (br_if $done (i64.ge_u (local.get $page) (local.get $pages)))
      (call $stable_write (i64.mul (local.get $page) (i64.const 65536)) (i64.const 0) (i64.const 65536))
      (local.set $page (i64.add (local.get $page) (i64.const 1)))
      (br $next)))
    (call $reply))
  ;; writes 8 bytes of stable memory at the u64 argument
  (func (export "canister_update touch")
    (call $arg_copy (i32.const 8) (i32.const 0) (i32.const 8))
    (call $stable_write (i64.load (i32.const 8)) (i64.const 0) (i64.const 8))
    (call $reply))
  ;; writes one byte in each of the first N 4 KiB heap pages (N: u32 argument), then traps
  (func (export "canister_update write_pages_then_trap") (local $pages i32) (local $page i32)
    (call $arg_copy (i32.const 8) (i32.const 0) (i32.const 4))
    (local.set $pages (i32.load (i32.const 8)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $page) (local.get $pages)))
      (i32.store8 (i32.mul (local.get $page) (i32.const 4096)) (i32.const 7))
      (local.set $page (i32.add (local.get $page) (i32.const 1)))
      (br $next)))
    (call $trap (i32.const 0) (i32.const 0)))
  (func (export "canister_init") (drop (memory.grow (i32.const 63))))
)"#;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

pub fn bench_runtime(rows: &mut Figures) {
    let wasm = wat::parse_str(TRIVIAL).expect("the benchmark module parses");
    let mut pic = PocketIc::new();
    let trivial = install(&mut pic, &wasm);

    let calls = 20_000;
    let update = time(calls, || {
        pic.update_call(trivial, Principal::anonymous(), "inc", vec![])
            .unwrap();
    });
    rows.rate(
        "runtime.trivial_updates_per_second",
        "runtime update calls/s, trivial method",
        per_second(calls, update),
        "1/s",
        "goal >= 5 000; PocketIC server ~170",
    );
    let query = time(calls, || {
        pic.query_call(trivial, Principal::anonymous(), "get", vec![])
            .unwrap();
    });
    rows.rate(
        "runtime.trivial_queries_per_second",
        "runtime query calls/s, trivial method",
        per_second(calls, query),
        "1/s",
        "PocketIC server ~640",
    );

    for (label, key, bytes) in [("1 MiB", "1mib", MIB), ("1 GiB", "1gib", GIB)] {
        let id = install(&mut pic, &wasm);
        let pages = (bytes / 65536) as u32;
        pic.update_call(
            id,
            Principal::anonymous(),
            "fill",
            pages.to_le_bytes().to_vec(),
        )
        .unwrap();
        let calls = 5_000;
        let mut call = 0u64;
        let elapsed = time(calls, || {
            // Spread over the whole memory, 8 bytes at a time.
            call += 1;
            let offset = (call * 7919 * 4096) % (bytes - 8);
            pic.update_call(
                id,
                Principal::anonymous(),
                "touch",
                offset.to_le_bytes().to_vec(),
            )
            .unwrap();
        });
        rows.timing(
            &format!("runtime.update_with_{key}_stable.micros"),
            &format!("runtime update, {label} of stable memory"),
            micros(calls, elapsed),
            "µs",
            "flat in memory size",
        );
    }

    for pages in [1u32, 64, 1024] {
        let calls = 200;
        let elapsed = time(calls, || {
            pic.update_call(
                trivial,
                Principal::anonymous(),
                "write_pages_then_trap",
                pages.to_le_bytes().to_vec(),
            )
            .unwrap_err();
        });
        rows.timing(
            &format!("runtime.trap_after_{pages}_pages.micros"),
            &format!("runtime trapping update, {pages} pages written"),
            micros(calls, elapsed),
            "µs",
            "in proportion to pages",
        );
    }

    let (name, module_bytes, init_arg) = real_or_generated_module();
    let cold = timed(|| module::prepare(&module_bytes, false).unwrap());
    rows.timing(
        "runtime.compile_cold.millis",
        &format!("runtime compile {name}, cold"),
        millis(cold),
        "ms",
        "",
    );
    // The first use of the disk cache may write it; the second reads it.
    module::prepare(&module_bytes, true).unwrap();
    let from_disk = timed(|| module::prepare(&module_bytes, true).unwrap());
    rows.timing(
        "runtime.compile_disk_cache.millis",
        &format!("runtime compile {name}, disk cache"),
        millis(from_disk),
        "ms",
        "",
    );
    module::compile(&module_bytes).unwrap();
    let from_memory = timed(|| module::compile(&module_bytes).unwrap());
    rows.timing(
        "runtime.compile_memory_cache.millis",
        &format!("runtime compile {name}, memory cache"),
        millis(from_memory),
        "ms",
        "",
    );

    let before = resident_bytes();
    let mut many = PocketIc::new();
    for _ in 0..100 {
        let id = many.create_canister();
        many.install_canister(id, module_bytes.clone(), init_arg.clone(), None);
    }
    let after = resident_bytes();
    rows.timing(
        "runtime.rss_for_100_canisters.mib",
        &format!("runtime resident memory, +100 {name}"),
        (after.saturating_sub(before) / MIB) as f64,
        "MiB",
        "",
    );
}

fn install(pic: &mut PocketIc, wasm: &[u8]) -> Principal {
    let id = pic.create_canister();
    pic.install_canister(id, wasm.to_vec(), vec![], None);
    id
}

/// The ledger's init argument, reduced to what an empty ledger needs.
#[derive(CandidType)]
enum LedgerArg {
    Init(LedgerInit),
}

#[derive(CandidType)]
struct LedgerInit {
    /// The governance canister's account identifier, as on the NNS.
    minting_account: String,
    initial_values: Vec<(String, u64)>,
}

/// The built ledger when there is one, else a generated module with many functions.
fn real_or_generated_module() -> (&'static str, Vec<u8>, Vec<u8>) {
    let ledger = nns_harness::wasm_gz_path("ledger");
    if let Ok(bytes) = std::fs::read(&ledger) {
        let arg = candid::encode_one(LedgerArg::Init(LedgerInit {
            minting_account: "082ecf2e3f647ac600f43f38a68342fba5b8e68b085f02592b77f39808a8d2b5"
                .to_string(),
            initial_values: Vec::new(),
        }))
        .expect("the init argument encodes");
        return ("ledger.wasm.gz", bytes, arg);
    }
    let functions: String = (0..5_000)
        .map(|i| {
            format!(
                "(func (export \"canister_update f{i}\") (local i64) \
                 (local.set 0 (i64.const {i})) \
                 (i64.store (i32.const 0) (i64.mul (local.get 0) (local.get 0))))"
            )
        })
        .collect();
    let wat = format!("(module (memory (export \"memory\") 1) {functions})");
    ("generated module", wat::parse_str(wat).unwrap(), Vec::new())
}

fn time(calls: u32, mut call: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..calls {
        call();
    }
    start.elapsed()
}

fn timed<T>(f: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    let _ = f();
    start.elapsed()
}

fn resident_bytes() -> u64 {
    crate::report::process_status_bytes("VmRSS")
}

fn per_second(calls: u32, elapsed: Duration) -> f64 {
    f64::from(calls) / elapsed.as_secs_f64()
}

fn micros(calls: u32, elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e6 / f64::from(calls)
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}
