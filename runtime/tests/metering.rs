//! Instructions are counted as the IC counts them: each test runs a small
//! module whose count is worked out by hand from the IC's constants
//! (`ic_runtime::metering` cites their sources) and asserts it exactly.

use candid::Principal;
use ic_runtime::PocketIc;

/// What every method below ends with, and its cost: `call $reply` (the
/// `call` operator, 5) and `msg_reply`'s overhead (500).
const REPLY: u64 = 5 + 500;
/// The method's entry: the IC charges a function's first block 1 more.
const ENTRY: u64 = 1;
const DIRTY_PAGE: u64 = 1_000;

const MODULE: &str = r#"(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "debug_print" (func $print (param i32 i32)))
  (import "ic0" "stable64_grow" (func $stable_grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $stable_read (param i64 i64 i64)))
  (import "ic0" "performance_counter" (func $counter (param i32) (result i64)))
  (memory (export "memory") 2)
  (global $g (mut i64) (i64.const 0))
  (func $nothing)
  (func (export "canister_update empty") (call $reply))
  ;; 1 + 1 + 10 + 1
  (func (export "canister_update divide")
    (drop (i32.div_u (i32.const 7) (i32.const 2)))
    (call $reply))
  ;; a call of a function with a body: 5 for the call, 1 for its entry
  (func (export "canister_update call")
    (call $nothing)
    (call $reply))
  ;; 3 constants, the call, 500 + 1 000 bytes, one page written
  (func (export "canister_update arg")
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 1000))
    (call $reply))
  ;; 3 constants, memory.fill: 100 + 10 000 bytes, three pages written
  (func (export "canister_update fill")
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 10000))
    (call $reply))
  ;; 2 constants, the call, 500 + 50 for each of 40 bytes
  (func (export "canister_update append")
    (call $append (i32.const 0) (i32.const 40))
    (call $reply))
  ;; 2 constants, the call, 100 + (2 + 50) for each of 10 bytes
  (func (export "canister_update print")
    (call $print (i32.const 0) (i32.const 10))
    (call $reply))
  ;; fill 3 heap pages (3 constants, 100 + 12 288 bytes, 3 pages); grow
  ;; (1 constant, the call, 100, drop); write them to stable memory (3
  ;; constants, the call, 20 + 12 288 bytes + 3 stable pages); read them
  ;; back into the heap's second wasm page (3 constants, the call, 20 +
  ;; 12 288 bytes, and the 3 heap pages it writes)
  (func (export "canister_update stable")
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 12288))
    (drop (call $stable_grow (i64.const 1)))
    (call $stable_write (i64.const 0) (i64.const 0) (i64.const 12288))
    (call $stable_read (i64.const 65536) (i64.const 0) (i64.const 12288))
    (call $reply))
  ;; global.set costs 2, global.get 2, performance_counter 200
  (func (export "canister_update counter")
    (global.set $g (call $counter (i32.const 0)))
    (call $reply))
  ;; the same stable page written twice: dirtied once
  (func (export "canister_update twice")
    (drop (call $stable_grow (i64.const 1)))
    (call $stable_write (i64.const 0) (i64.const 0) (i64.const 8))
    (call $stable_write (i64.const 100) (i64.const 0) (i64.const 8))
    (call $reply))
  ;; a page grown and written (memory.grow: the IC's 300 is 255 here)
  (func (export "canister_update grow")
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 131072) (i32.const 5))
    (call $reply))
  ;; an explicit return costs 1
  (func (export "canister_update return")
    (call $reply)
    (return))
  (func (export "canister_query counted") (result)
    (i64.store (i32.const 0) (global.get $g))
    (call $append (i32.const 0) (i32.const 8))
    (call $reply))
)"#;

fn setup() -> (PocketIc, Principal) {
    let mut pic = PocketIc::new();
    let id = pic.create_canister();
    pic.install_canister(id, wat::parse_str(MODULE).unwrap(), vec![], None);
    (pic, id)
}

fn instructions_of(pic: &mut PocketIc, id: Principal, method: &str, arg: Vec<u8>) -> u64 {
    pic.update_call(id, Principal::anonymous(), method, arg)
        .unwrap();
    pic.last_execution_instructions(id)
}

#[test]
fn a_call_of_the_system_api_costs_its_overhead_and_the_call() {
    let (mut pic, id) = setup();
    assert_eq!(
        instructions_of(&mut pic, id, "empty", vec![]),
        ENTRY + REPLY
    );
}

#[test]
fn operators_cost_what_the_ic_charges_for_them() {
    let (mut pic, id) = setup();
    assert_eq!(
        instructions_of(&mut pic, id, "divide", vec![]),
        ENTRY + 1 + 1 + 10 + 1 + REPLY
    );
    assert_eq!(
        instructions_of(&mut pic, id, "call", vec![]),
        ENTRY + 5 + 1 + REPLY
    );
}

#[test]
fn copies_into_the_heap_cost_a_byte_each_and_the_pages_they_write() {
    let (mut pic, id) = setup();
    let copy = 3 + 5 + 500 + 1_000 + DIRTY_PAGE;
    assert_eq!(
        instructions_of(&mut pic, id, "arg", vec![7; 1_000]),
        ENTRY + copy + REPLY
    );
}

#[test]
fn bulk_memory_costs_by_size() {
    let (mut pic, id) = setup();
    let fill = 3 + 100 + 10_000 + 3 * DIRTY_PAGE;
    assert_eq!(
        instructions_of(&mut pic, id, "fill", vec![]),
        ENTRY + fill + REPLY
    );
}

#[test]
fn replies_and_logs_cost_more_per_byte() {
    let (mut pic, id) = setup();
    let append = 2 + 5 + 500 + 50 * 40;
    assert_eq!(
        instructions_of(&mut pic, id, "append", vec![]),
        ENTRY + append + REPLY
    );
    let print = 2 + 5 + 100 + (2 + 50) * 10;
    assert_eq!(
        instructions_of(&mut pic, id, "print", vec![]),
        ENTRY + print + REPLY
    );
}

#[test]
fn stable_memory_costs_by_byte_and_by_page_dirtied() {
    let (mut pic, id) = setup();
    let fill = 3 + 100 + 12_288 + 3 * DIRTY_PAGE;
    let grow = 1 + 5 + 100 + 1;
    let write = 3 + 5 + 20 + 12_288 + 3 * DIRTY_PAGE;
    let read = 3 + 5 + 20 + 12_288 + 3 * DIRTY_PAGE;
    assert_eq!(
        instructions_of(&mut pic, id, "stable", vec![]),
        ENTRY + fill + grow + write + read + REPLY
    );
}

#[test]
fn the_performance_counter_includes_its_own_overhead() {
    let (mut pic, id) = setup();
    // Before the call: the entry and the constant; the call, 200. (The IC
    // charges a basic block when it starts, so it would also count the
    // block's rest: the `global.set` and the reply's `call`, 7.)
    let seen = ENTRY + 1 + 5 + 200;
    let total = seen + 2 + REPLY;
    assert_eq!(instructions_of(&mut pic, id, "counter", vec![]), total);
    let reply = pic
        .query_call(id, Principal::anonymous(), "counted", vec![])
        .unwrap();
    assert_eq!(u64::from_le_bytes(reply.try_into().unwrap()), seen);
}

#[test]
fn a_stable_page_is_charged_once_per_execution() {
    let (mut pic, id) = setup();
    let grow = 1 + 5 + 100 + 1;
    let write = |bytes: u64| 3 + 5 + 20 + bytes;
    assert_eq!(
        instructions_of(&mut pic, id, "twice", vec![]),
        ENTRY + grow + write(8) + DIRTY_PAGE + write(8) + REPLY
    );
    // The next message dirties the page anew.
    assert_eq!(
        instructions_of(&mut pic, id, "twice", vec![]),
        ENTRY + grow + write(8) + DIRTY_PAGE + write(8) + REPLY
    );
}

#[test]
fn pages_grown_and_written_are_dirty_and_returns_cost_one() {
    let (mut pic, id) = setup();
    let grow = 1 + 255 + 1;
    let store = 3;
    assert_eq!(
        instructions_of(&mut pic, id, "grow", vec![]),
        ENTRY + grow + store + DIRTY_PAGE + REPLY
    );
    assert_eq!(
        instructions_of(&mut pic, id, "return", vec![]),
        ENTRY + REPLY + 1
    );
}

/// `post_upgrade` pays for the stable page it writes even when
/// `pre_upgrade` wrote the same page just before (their writes are
/// committed together).
#[test]
fn each_half_of_an_upgrade_pays_for_its_own_pages() {
    let module = r#"(module
      (import "ic0" "stable64_grow" (func $grow (param i64) (result i64)))
      (import "ic0" "stable64_write" (func $write (param i64 i64 i64)))
      (memory (export "memory") 1)
      (func (export "canister_init") (drop (call $grow (i64.const 1))))
      (func (export "canister_pre_upgrade")
        (call $write (i64.const 0) (i64.const 0) (i64.const 1)))
      (func (export "canister_post_upgrade")
        (call $write (i64.const 0) (i64.const 0) (i64.const 1))))"#;
    let mut pic = PocketIc::new();
    let id = pic.create_canister();
    let wasm = wat::parse_str(module).unwrap();
    pic.install_canister(id, wasm.clone(), vec![], None);
    pic.upgrade_canister(id, wasm, vec![], None).unwrap();
    let post_upgrade = ENTRY + 3 + 5 + 20 + 1 + DIRTY_PAGE;
    assert_eq!(pic.last_execution_instructions(id), post_upgrade);
}
