//! The heap journal against a model: random sequences of committed writes,
//! trapping writes, query writes and composite-query writes, over a few
//! recurring pages (which the journal keeps writable between executions as
//! "hot") and many others (more than it keeps hot). Steps come in bursts
//! with no read between them, so that an execution finds the pages the one
//! before it wrote still hot; after every burst the heap equals the model:
//! what was committed stays, nothing else does. Run in both of the
//! journal's ways where the kernel has write tracking.

mod common;

use candid::Principal;
use ic_runtime::PocketIc;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The argument of the writing methods is `(offset: u32 LE, byte)` records,
/// of `read` `offset: u32 LE` records; both are copied to the heap's first
/// OS page, which the model leaves out.
const MODULE: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 40)
  (func $apply
    (local $n i32) (local $i i32)
    (local.set $n (call $arg_size))
    (call $arg_copy (i32.const 0) (i32.const 0) (local.get $n))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.load (local.get $i)) (i32.load8_u (i32.add (local.get $i) (i32.const 4))))
      (local.set $i (i32.add (local.get $i) (i32.const 5)))
      (br $next))))
  (func (export "canister_update write") (call $apply) (call $reply))
  (func (export "canister_update write_then_trap") (call $apply) (call $trap (i32.const 0) (i32.const 0)))
  (func (export "canister_query write_in_query") (call $apply) (call $reply))
  (func (export "canister_composite_query write_in_composite") (call $apply) (call $reply))
  (func (export "canister_query read")
    (local $n i32) (local $i i32)
    (local.set $n (call $arg_size))
    (call $arg_copy (i32.const 0) (i32.const 0) (local.get $n))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8
        (i32.add (i32.const 3072) (i32.shr_u (local.get $i) (i32.const 2)))
        (i32.load8_u (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next)))
    (call $append (i32.const 3072) (i32.shr_u (local.get $n) (i32.const 2)))
    (call $reply))
)"#;

const OS_PAGE: u32 = 4096;
/// The heap's OS pages past the first (40 wasm pages).
const PAGES: u32 = 40 * 16 - 1;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Commit,
    Trap,
    Query,
    Composite,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Commit),
        2 => Just(Kind::Trap),
        3 => Just(Kind::Query),
        1 => Just(Kind::Composite),
    ]
}

/// An offset past the first page: mostly on a dozen recurring pages,
/// sometimes anywhere.
fn offset() -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => (0u32..12, 0..OS_PAGE).prop_map(|(page, at)| (1 + page * 7) * OS_PAGE + at),
        1 => (1..=PAGES, 0..OS_PAGE).prop_map(|(page, at)| page * OS_PAGE + at),
    ]
}

fn step() -> impl Strategy<Value = (Kind, Vec<(u32, u8)>)> {
    (
        kind(),
        prop_oneof![
            5 => proptest::collection::vec((offset(), any::<u8>()), 1..12),
            // More pages than the journal keeps hot.
            1 => proptest::collection::vec(((1..=PAGES).prop_map(|p| p * OS_PAGE), any::<u8>()), 70..100),
        ],
    )
}

fn encode(writes: &[(u32, u8)]) -> Vec<u8> {
    writes
        .iter()
        .flat_map(|(offset, byte)| {
            let mut record = offset.to_le_bytes().to_vec();
            record.push(*byte);
            record
        })
        .collect()
}

fn read(pic: &mut PocketIc, id: Principal, offsets: &[u32]) -> Vec<u8> {
    let arg: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    pic.query_call(id, Principal::anonymous(), "read", arg)
        .expect("read answers")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(24)
    ))]
    #[test]
    fn the_heap_keeps_exactly_what_committed_executions_wrote(
        bursts in proptest::collection::vec(proptest::collection::vec(step(), 1..5), 1..20)
    ) {
        let (mut pic, id) = common::runtime_with(MODULE);
        let mut model: BTreeMap<u32, u8> = BTreeMap::new();
        for burst in bursts {
          for (kind, writes) in burst.iter().cloned() {
            let arg = encode(&writes);
            let anonymous = Principal::anonymous();
            match kind {
                Kind::Commit => {
                    pic.update_call(id, anonymous, "write", arg).expect("write commits");
                    model.extend(writes.iter().copied());
                }
                Kind::Trap => {
                    pic.update_call(id, anonymous, "write_then_trap", arg).expect_err("it traps");
                    // Untouched bytes are read too: they must still be 0.
                    model.extend(writes.iter().map(|&(o, _)| (o, 0)).filter(|(o, _)| !model.contains_key(o)).collect::<Vec<_>>());
                }
                Kind::Query => {
                    pic.query_call(id, anonymous, "write_in_query", arg).expect("the query answers");
                    model.extend(writes.iter().map(|&(o, _)| (o, 0)).filter(|(o, _)| !model.contains_key(o)).collect::<Vec<_>>());
                }
                Kind::Composite => {
                    pic.query_call(id, anonymous, "write_in_composite", arg).expect("the composite query answers");
                    model.extend(writes.iter().map(|&(o, _)| (o, 0)).filter(|(o, _)| !model.contains_key(o)).collect::<Vec<_>>());
                }
            }
          }
            let offsets: Vec<u32> = model.keys().copied().collect();
            for chunk in offsets.chunks(200) {
                let expected: Vec<u8> = chunk.iter().map(|o| model[o]).collect();
                let kinds: Vec<Kind> = burst.iter().map(|(kind, _)| *kind).collect();
                prop_assert_eq!(read(&mut pic, id, chunk), expected, "after {:?}", kinds);
            }
        }
    }
}

/// The model test again in a process of its own that journals by
/// protecting pages, when this one uses the kernel's write tracking: both
/// ways are checked wherever the kernel has both.
#[test]
fn the_heap_keeps_exactly_what_committed_executions_wrote_when_pages_are_protected() {
    if std::env::var_os("IC_RUNTIME_HEAP_JOURNAL").is_some() {
        return;
    }
    if !ic_runtime::heap_writes_tracked_by_kernel() {
        eprintln!("this process already protects pages: the model test covers it");
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_heap_keeps_exactly_what_committed_executions_wrote",
        ])
        .env("IC_RUNTIME_HEAP_JOURNAL", "protect")
        .status()
        .unwrap();
    assert!(status.success());
}

fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|maps| maps.lines().count())
        .unwrap_or(0)
}

/// Each run of hot pages splits the heap's mapping; canisters that wrote
/// scattered pages and then stay idle must not use up the process's
/// mappings (Linux allows 65 530; past them `mprotect` fails).
#[test]
fn hot_pages_split_a_heap_into_a_bounded_number_of_mappings() {
    let mut pic = PocketIc::new();
    let wasm = wat::parse_str(MODULE).unwrap();
    let scattered: Vec<(u32, u8)> = (0..64).map(|k| ((2 + 2 * k) * OS_PAGE, 1)).collect();
    let canisters = 100;
    let mut ids = Vec::new();
    // Instances first, so that what is measured is what the writes add.
    for _ in 0..canisters {
        ids.push(common::install(&mut pic, wasm.clone()));
    }
    let before = mappings();
    for id in ids {
        pic.update_call(id, Principal::anonymous(), "write", encode(&scattered))
            .expect("write commits");
    }
    let added = mappings().saturating_sub(before);
    // At most 8 runs of hot pages a heap, each up to two more mappings (and
    // room for what other tests in this process map meanwhile); 64
    // scattered hot pages would add about 124 a canister.
    assert!(
        added < canisters * 30,
        "{added} mappings added by {canisters} canisters"
    );
}
