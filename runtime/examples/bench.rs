//! Figures for the runtime itself; prints a table and asserts nothing.
//!
//! ```sh
//! cargo run --release -p ic-runtime --example bench   # the figures to quote
//! cargo run -p ic-runtime --example bench             # dev profile: slower, same shape
//! ```
//!
//! - update and query calls per second on a trivial WAT method;
//! - per-message overhead of an update that writes 8 bytes of stable memory,
//!   with 1 MiB and with 1 GiB of stable memory written (should be flat);
//! - rollback of an update that writes heap pages and traps, by pages written;
//! - compiling a real canister module (`target/canisters/ledger.wasm.gz`,
//!   built by `scripts/build-canisters.sh`; else a generated large module):
//!   cold, from the disk cache, from the in-process cache;
//! - resident memory (VmRSS) after creating 100 canisters with that module.

use candid::{CandidType, Principal};
use ic_runtime::{PocketIc, module};
use std::path::Path;
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

fn main() {
    let mut rows = Table::default();
    let wasm = wat::parse_str(TRIVIAL).expect("the benchmark module parses");
    let mut pic = PocketIc::new();
    let trivial = install(&mut pic, &wasm);

    let calls = 20_000;
    let update = time(calls, || {
        pic.update_call(trivial, Principal::anonymous(), "inc", vec![])
            .unwrap();
    });
    rows.rate("update calls/s, trivial method", calls, update);
    let query = time(calls, || {
        pic.query_call(trivial, Principal::anonymous(), "get", vec![])
            .unwrap();
    });
    rows.rate("query calls/s, trivial method", calls, query);

    for (label, bytes) in [("1 MiB", MIB), ("1 GiB", GIB)] {
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
        rows.micros(
            &format!("µs per update writing stable memory, {label} written"),
            calls,
            elapsed,
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
        rows.micros(
            &format!("µs per trapping update, {pages} heap pages written"),
            calls,
            elapsed,
        );
    }

    let (name, module_bytes, init_arg) = real_or_generated_module();
    let cold = timed(|| module::prepare(&module_bytes, false).unwrap());
    rows.millis(&format!("compile {name}, cold"), cold);
    // The first use of the disk cache may write it; the second reads it.
    module::prepare(&module_bytes, true).unwrap();
    let from_disk = timed(|| module::prepare(&module_bytes, true).unwrap());
    rows.millis(&format!("compile {name}, disk cache hit"), from_disk);
    module::compile(&module_bytes).unwrap();
    let from_memory = timed(|| module::compile(&module_bytes).unwrap());
    rows.millis(
        &format!("compile {name}, in-process cache hit"),
        from_memory,
    );

    let before = resident_bytes();
    let mut many = PocketIc::new();
    for _ in 0..100 {
        let id = many.create_canister();
        many.install_canister(id, module_bytes.clone(), init_arg.clone(), None);
    }
    let after = resident_bytes();
    rows.text(
        &format!("VmRSS after 100 canisters of {name}"),
        format!(
            "{} MiB (+{} MiB)",
            after / MIB,
            after.saturating_sub(before) / MIB
        ),
    );
    rows.print();
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
    let ledger = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/canisters/ledger.wasm.gz");
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
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

#[derive(Default)]
struct Table(Vec<(String, String)>);

impl Table {
    fn rate(&mut self, name: &str, calls: u32, elapsed: Duration) {
        let rate = f64::from(calls) / elapsed.as_secs_f64();
        self.text(name, format!("{rate:.0}"));
    }

    fn micros(&mut self, name: &str, calls: u32, elapsed: Duration) {
        let micros = elapsed.as_secs_f64() * 1e6 / f64::from(calls);
        self.text(name, format!("{micros:.1}"));
    }

    fn millis(&mut self, name: &str, elapsed: Duration) {
        self.text(name, format!("{:.2} ms", elapsed.as_secs_f64() * 1e3));
    }

    fn text(&mut self, name: &str, value: String) {
        self.0.push((name.to_string(), value));
    }

    fn print(&self) {
        let width = self
            .0
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        println!("{:<width$}  {:>18}", "ic-runtime", "figure");
        for (name, value) in &self.0 {
            println!("{name:<width$}  {value:>18}");
        }
    }
}
