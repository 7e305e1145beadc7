//! Each execution is a transaction: a trap leaves heap and stable memory as
//! they were, and a query's writes never persist.

mod common;

use candid::Principal;
use ic_runtime::{ErrorCode, PocketIc};

const MODULE: &str = r#"(module
  (import "ic0" "stable64_grow" (func $grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $stable_read (param i64 i64 i64)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "canister_init") (drop (call $grow (i64.const 1))))
  ;; heap[0] := b; stable[0] := heap[0]
  (func $set (param $b i32)
    (i32.store8 (i32.const 0) (local.get $b))
    (call $stable_write (i64.const 0) (i64.const 0) (i64.const 1)))
  (func (export "canister_update set_x") (call $set (i32.const 120)) (call $reply))
  (func (export "canister_update set_y_then_trap")
    (call $set (i32.const 121))
    (drop (memory.grow (i32.const 3)))
    (call $trap (i32.const 0) (i32.const 1)))
  (func (export "canister_query set_z_in_query") (call $set (i32.const 122)) (call $reply))
  ;; replies heap[0], stable[0], and the heap size in pages
  (func (export "canister_query read")
    (call $stable_read (i64.const 1) (i64.const 0) (i64.const 1))
    (i32.store8 (i32.const 2) (memory.size))
    (call $append (i32.const 0) (i32.const 3))
    (call $reply))
)"#;

fn setup() -> (PocketIc, Principal) {
    common::runtime_with(MODULE)
}

fn read(pic: &mut PocketIc, id: Principal) -> Vec<u8> {
    pic.query_call(id, Principal::anonymous(), "read", vec![])
        .unwrap()
}

#[test]
fn should_roll_back_heap_stable_memory_and_growth_when_a_message_traps() {
    let (mut pic, id) = setup();
    pic.update_call(id, Principal::anonymous(), "set_x", vec![])
        .unwrap();
    assert_eq!(read(&mut pic, id), b"xx\x01");
    let error = pic
        .update_call(id, Principal::anonymous(), "set_y_then_trap", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
    assert!(
        error.reject_message.contains("'y'"),
        "{}",
        error.reject_message
    );
    assert_eq!(
        read(&mut pic, id),
        b"xx\x01",
        "heap, stable memory and heap size are as before"
    );
    pic.update_call(id, Principal::anonymous(), "set_x", vec![])
        .unwrap();
    assert_eq!(
        read(&mut pic, id),
        b"xx\x01",
        "the canister keeps working after a rollback"
    );
}

#[test]
fn should_discard_what_a_query_writes() {
    let (mut pic, id) = setup();
    pic.update_call(id, Principal::anonymous(), "set_x", vec![])
        .unwrap();
    pic.query_call(id, Principal::anonymous(), "set_z_in_query", vec![])
        .unwrap();
    // Through update_call a query runs replicated, and still keeps nothing.
    pic.update_call(id, Principal::anonymous(), "set_z_in_query", vec![])
        .unwrap();
    assert_eq!(read(&mut pic, id), b"xx\x01");
}

#[test]
fn should_answer_an_update_to_a_query_method_only_through_query_rules() {
    let (mut pic, id) = setup();
    let error = pic
        .query_call(id, Principal::anonymous(), "set_x", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterMethodNotFound);
    assert!(!error.certified);
}

/// A heap of 64 4-KiB pages, written by wasm stores, bulk memory
/// instructions and host functions.
const PAGES: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "stable64_grow" (func $stable_grow (param i64) (result i64)))
  (import "ic0" "stable64_read" (func $stable_read (param i64 i64 i64)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 4)
  (global $fills (mut i64) (i64.const 0))
  (func (export "canister_init") (drop (call $stable_grow (i64.const 4))))
  ;; fills the whole heap with the argument's byte
  (func $fill
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 1))
    (memory.fill (i32.const 0) (i32.load8_u (i32.const 0)) (i32.const 262144))
    (global.set $fills (i64.add (global.get $fills) (i64.const 1))))
  (func (export "canister_update fill") (call $fill) (call $reply))
  (func (export "canister_update fill_then_trap") (call $fill) (call $trap (i32.const 0) (i32.const 0)))
  (func (export "canister_update copy_within_then_trap")
    (memory.copy (i32.const 4000) (i32.const 250000) (i32.const 12000))
    (call $trap (i32.const 0) (i32.const 0)))
  (func (export "canister_update copy_arg_then_trap")
    (call $arg_copy (i32.const 100000) (i32.const 0) (call $arg_size))
    (call $trap (i32.const 0) (i32.const 0)))
  (func (export "canister_update stable_read_then_trap")
    (call $stable_read (i64.const 190000) (i64.const 0) (i64.const 20000))
    (call $trap (i32.const 0) (i32.const 0)))
  ;; bytes at page edges across the heap, then the fill count
  (func (export "canister_query digest")
    (call $append (i32.const 0) (i32.const 1))
    (call $append (i32.const 4095) (i32.const 1))
    (call $append (i32.const 4096) (i32.const 1))
    (call $append (i32.const 12000) (i32.const 1))
    (call $append (i32.const 100000) (i32.const 1))
    (call $append (i32.const 200000) (i32.const 1))
    (call $append (i32.const 262143) (i32.const 1))
    (i64.store (i32.const 8) (global.get $fills))
    (call $append (i32.const 8) (i32.const 1))
    (call $reply))
)"#;

#[test]
fn should_roll_back_every_page_a_trapping_message_wrote_however_it_wrote_it() {
    let mut pic = PocketIc::new();
    let id = pic.create_canister();
    pic.install_canister(id, wat::parse_str(PAGES).unwrap(), vec![], None);
    let digest = |pic: &mut PocketIc| {
        pic.query_call(id, Principal::anonymous(), "digest", vec![])
            .unwrap()
    };
    let call = |pic: &mut PocketIc, method: &str, arg: Vec<u8>| {
        pic.update_call(id, Principal::anonymous(), method, arg)
    };
    call(&mut pic, "fill", vec![1]).unwrap();
    call(&mut pic, "fill", vec![2]).unwrap();
    assert_eq!(digest(&mut pic), [2, 2, 2, 2, 2, 2, 2, 2]);
    for (method, arg) in [
        ("fill_then_trap", vec![3]),
        ("copy_within_then_trap", vec![]),
        ("copy_arg_then_trap", vec![9; 70_000]),
        ("stable_read_then_trap", vec![]),
    ] {
        call(&mut pic, method, arg).unwrap_err();
        assert_eq!(digest(&mut pic), [2, 2, 2, 2, 2, 2, 2, 2], "after {method}");
    }
    // Pages written, rolled back and written again are tracked as before.
    call(&mut pic, "fill", vec![4]).unwrap();
    call(&mut pic, "fill_then_trap", vec![5]).unwrap_err();
    assert_eq!(digest(&mut pic), [4, 4, 4, 4, 4, 4, 4, 3]);
}
