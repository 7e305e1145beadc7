//! An execution that runs out of instructions fails with IC0522 and keeps
//! nothing it wrote; the canister goes on working.

mod common;

use candid::Principal;
use ic_runtime::{ErrorCode, PocketIc, RejectCode};

/// `spin` and the query `spin_query` write heap[0] and stable[0], then loop
/// forever (each iteration costs thousands of instructions, so the limit is
/// reached quickly); `set` writes `s` to both; the query `read` replies
/// heap[0] and stable[0].
fn module() -> String {
    let body = "(local.set $x (i32.add (local.get $x) (i32.const 1)))\n".repeat(2500);
    format!(
        r#"(module
  (import "ic0" "stable64_grow" (func $grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $stable_read (param i64 i64 i64)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (func (export "canister_init") (drop (call $grow (i64.const 1))))
  (func $set (param $b i32)
    (i32.store8 (i32.const 0) (local.get $b))
    (call $stable_write (i64.const 0) (i64.const 0) (i64.const 1)))
  (func $spin (local $x i32)
    (call $set (i32.const 108))
    (loop $forever {body} (br $forever)))
  (func (export "canister_update spin") (call $spin))
  (func (export "canister_query spin_query") (call $spin))
  (func (export "canister_update set") (call $set (i32.const 115)) (call $reply))
  (func (export "canister_query read")
    (call $stable_read (i64.const 1) (i64.const 0) (i64.const 1))
    (call $append (i32.const 0) (i32.const 2))
    (call $reply))
)"#
    )
}

fn setup() -> (PocketIc, Principal) {
    let (mut pic, id) = common::runtime_with(&module());
    pic.update_call(id, Principal::anonymous(), "set", vec![])
        .unwrap();
    (pic, id)
}

fn read(pic: &mut PocketIc, id: Principal) -> Vec<u8> {
    pic.query_call(id, Principal::anonymous(), "read", vec![])
        .unwrap()
}

#[test]
fn should_stop_an_endless_update_at_the_limit_and_roll_it_back() {
    let (mut pic, id) = setup();
    assert_eq!(read(&mut pic, id), b"ss");
    let error = pic
        .update_call(id, Principal::anonymous(), "spin", vec![])
        .unwrap_err();
    assert_eq!(
        error.error_code,
        ErrorCode::CanisterInstructionLimitExceeded
    );
    assert_eq!(error.error_code.to_string(), "IC0522");
    assert_eq!(error.reject_code, RejectCode::CanisterError);
    assert!(
        error.reject_message.contains("40000000000"),
        "{}",
        error.reject_message
    );
    assert!(error.certified);
    assert_eq!(
        read(&mut pic, id),
        b"ss",
        "the writes before the loop are rolled back"
    );
    assert!(pic.last_execution_instructions(id) >= 40_000_000_000);
    pic.update_call(id, Principal::anonymous(), "set", vec![])
        .unwrap();
    assert_eq!(read(&mut pic, id), b"ss", "the canister keeps working");
}

#[test]
fn should_stop_an_endless_query_at_the_query_limit() {
    let (mut pic, id) = setup();
    let error = pic
        .query_call(id, Principal::anonymous(), "spin_query", vec![])
        .unwrap_err();
    assert_eq!(
        error.error_code,
        ErrorCode::CanisterInstructionLimitExceeded
    );
    assert_eq!(error.reject_code, RejectCode::CanisterError);
    assert!(
        error.reject_message.contains("5000000000 "),
        "the query limit, not the update limit: {}",
        error.reject_message
    );
    assert!(!error.certified);
    assert_eq!(read(&mut pic, id), b"ss");
    pic.update_call(id, Principal::anonymous(), "set", vec![])
        .unwrap();
    assert_eq!(read(&mut pic, id), b"ss");
}
