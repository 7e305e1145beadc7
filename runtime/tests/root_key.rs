//! `ic0.root_key_size` / `ic0.root_key_copy`: the DER-encoded root key the
//! runtime signs certificates with, in the contexts the specification allows.

mod common;

use candid::Principal;
use ic_runtime::{ErrorCode, PocketIc, RejectCode};

/// `key` replies with the whole root key; `part` copies `size` bytes at
/// `offset` (both u32 LE in the argument); the query `key` tries the same
/// in a non-replicated query, where the key is not available.
const ROOT_KEY_CANISTER: &str = r#"(module
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "root_key_size" (func $key_size (result i32)))
  (import "ic0" "root_key_copy" (func $key_copy (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func $reply_key
    (call $key_copy (i32.const 1024) (i32.const 0) (call $key_size))
    (call $append (i32.const 1024) (call $key_size))
    (call $reply))
  (func (export "canister_update key") (call $reply_key))
  (func (export "canister_query key_in_query") (call $reply_key))
  (func (export "canister_update part")
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 8))
    (call $key_copy (i32.const 1024) (i32.load (i32.const 0)) (i32.load (i32.const 4)))
    (call $append (i32.const 1024) (i32.load (i32.const 4)))
    (call $reply))
)"#;

fn setup() -> (PocketIc, Principal) {
    common::runtime_with(ROOT_KEY_CANISTER)
}

fn part(
    pic: &mut PocketIc,
    id: Principal,
    offset: u32,
    size: u32,
) -> Result<Vec<u8>, ic_runtime::RejectResponse> {
    let arg = [offset.to_le_bytes(), size.to_le_bytes()].concat();
    pic.update_call(id, Principal::anonymous(), "part", arg)
}

#[test]
fn should_copy_the_root_key_that_pocket_ic_reports() {
    let (mut pic, id) = setup();
    let key = pic
        .update_call(id, Principal::anonymous(), "key", vec![])
        .unwrap();
    assert_eq!(Some(key.clone()), pic.root_key());
    assert_eq!(key.len(), 133, "a DER-encoded BLS12-381 public key");
    assert_eq!(part(&mut pic, id, 100, 33).unwrap(), key[100..]);
}

#[test]
fn should_trap_on_a_copy_past_the_end_of_the_key() {
    let (mut pic, id) = setup();
    let error = part(&mut pic, id, 100, 34).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterContractViolation);
    assert_eq!(error.reject_code, RejectCode::CanisterError);
    assert!(error.reject_message.contains("root_key_copy"), "{error}");
}

#[test]
fn should_refuse_the_root_key_in_a_non_replicated_query() {
    let (mut pic, id) = setup();
    let error = pic
        .query_call(id, Principal::anonymous(), "key_in_query", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterContractViolation);
    assert!(
        error.reject_message.contains("non-replicated query"),
        "{error}"
    );
    // The same query run replicated (through an update call) may read it.
    let key = pic
        .update_call(id, Principal::anonymous(), "key_in_query", vec![])
        .unwrap();
    assert_eq!(Some(key), pic.root_key());
}
