//! `canister_inspect_message` filters ingress update calls only: a refusal
//! rejects the call before it runs; calls from canisters and queries skip it.

mod common;

use candid::Principal;
use common::{as_reject, caller_wasm, forward, install};
use ic_runtime::{ErrorCode, PocketIc, RejectCode};

/// inspect_message accepts unless the method name starts with "refused" and
/// the argument is empty. `refused` and `allowed` count their runs; the
/// queries `count` and `refused_query` reply with the count (4 bytes LE).
const MODULE: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_method_name_size" (func $name_size (result i32)))
  (import "ic0" "msg_method_name_copy" (func $name_copy (param i32 i32 i32)))
  (import "ic0" "accept_message" (func $accept))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (data (i32.const 100) "refused")
  (func (export "canister_inspect_message")
    (call $name_copy (i32.const 200) (i32.const 0) (call $name_size))
    (if (i32.and
          (i32.and
            (i32.ge_u (call $name_size) (i32.const 7))
            (i64.eq (i64.load (i32.const 200)) (i64.load (i32.const 100))))
          (i32.eqz (call $arg_size)))
      (then (return)))
    (call $accept))
  (func $bump_and_reply
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply))
  (func (export "canister_update refused") (call $bump_and_reply))
  (func (export "canister_update allowed") (call $bump_and_reply))
  (func $reply_count (call $append (i32.const 0) (i32.const 4)) (call $reply))
  (func (export "canister_query count") (call $reply_count))
  (func (export "canister_query refused_query") (call $reply_count))
)"#;

fn setup() -> (PocketIc, Principal) {
    common::runtime_with(MODULE)
}

fn count(pic: &mut PocketIc, id: Principal) -> u32 {
    let reply = pic
        .query_call(id, Principal::anonymous(), "count", vec![])
        .unwrap();
    u32::from_le_bytes(reply[..].try_into().unwrap())
}

#[test]
fn should_reject_a_refused_ingress_message_without_running_it() {
    let (mut pic, id) = setup();
    let error = pic
        .update_call(id, Principal::anonymous(), "refused", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterRejectedMessage);
    assert_eq!(error.error_code.to_string(), "IC0406");
    assert_eq!(error.reject_code, RejectCode::CanisterReject);
    assert_eq!(error.reject_code as u8, 4);
    assert!(
        error.reject_message.contains("rejected the message"),
        "{}",
        error.reject_message
    );
    assert_eq!(count(&mut pic, id), 0, "the method never ran");
    // Refused at submission: nothing is queued.
    let error = pic
        .submit_call(id, Principal::anonymous(), "refused", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterRejectedMessage);
    pic.tick();
    assert_eq!(count(&mut pic, id), 0);
}

#[test]
fn should_run_accepted_ingress_messages() {
    let (mut pic, id) = setup();
    let reply = pic
        .update_call(id, Principal::anonymous(), "allowed", vec![])
        .unwrap();
    assert_eq!(reply, 1u32.to_le_bytes());
    // The same method, with an argument, is accepted.
    let reply = pic
        .update_call(id, Principal::anonymous(), "refused", b"please".to_vec())
        .unwrap();
    assert_eq!(reply, 2u32.to_le_bytes());
    assert_eq!(count(&mut pic, id), 2);
}

#[test]
fn should_not_inspect_calls_from_canisters_or_queries() {
    let (mut pic, id) = setup();
    let caller = install(&mut pic, caller_wasm());
    let reply = forward(&mut pic, caller, id, "refused", b"").unwrap();
    assert_ne!(reply.first(), Some(&b'R'), "{:?}", as_reject(&reply));
    assert_eq!(reply, 1u32.to_le_bytes(), "a canister's call runs");
    assert_eq!(count(&mut pic, id), 1);
    let reply = pic
        .query_call(id, Principal::anonymous(), "refused_query", vec![])
        .unwrap();
    assert_eq!(reply, 1u32.to_le_bytes(), "a query is not inspected");
}
