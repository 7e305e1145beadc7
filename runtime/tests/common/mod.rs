//! Hand-written test canisters: a caller that forwards calls and reports
//! what its callbacks saw, and a callee that echoes, accepts cycles or traps.

#![allow(dead_code)] // each test binary uses a different part

use candid::Principal;
use ic_runtime::PocketIc;

/// Function table indexes of the caller's callbacks.
pub const ON_REPLY: u8 = 0;
pub const TRAPPING_REPLY: u8 = 2;
pub const CALL_AGAIN_ON_REPLY: u8 = 4;
/// An index past the end of the table.
pub const NO_SUCH_CALLBACK: u8 = 99;

/// `forward` takes `cycles: u64 LE, reply callback index: u8, callee length: u8,
/// callee, method length: u8, method, payload` and calls `callee.method(payload)`
/// with the cycles attached. Callbacks:
/// - 0 replies with the callee's reply;
/// - 1 (every reject) replies with `"R", reject code, reject message`;
/// - 2 sets the state byte to `c` and traps;
/// - 3 (cleanup, always registered) sets the cleanup byte;
/// - 4 makes the same call again with the reply as payload; its reply
///   callback 5 replies with both replies.
///
/// Every callback records `msg_cycles_refunded128`; `forward` sets the state
/// byte to `b`. The query `state` replies with the state and cleanup bytes
/// and the last refund (16 bytes LE).
pub const CALLER: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "msg_cycles_refunded128" (func $refunded (param i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_on_cleanup" (func $on_cleanup (param i32 i32)))
  (import "ic0" "call_data_append" (func $call_append (param i32 i32)))
  (import "ic0" "call_cycles_add128" (func $cycles_add (param i64 i64)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (table 6 funcref)
  (elem (i32.const 0) $on_reply $on_reject $trapping_reply $cleanup $call_again $second_reply)
  ;; heap: 10 state byte, 11 cleanup byte, 16..32 last refund,
  ;; 48 forward's arg size, 52 first reply's size, 1024 forward's arg,
  ;; 4096 reply buffer, 8192 saved replies
  (func $callee_len (result i32) (i32.load8_u (i32.const 1033)))
  (func $method_ptr (result i32) (i32.add (i32.const 1034) (call $callee_len)))
  (func $method_len (result i32) (i32.load8_u (call $method_ptr)))
  (func $payload_ptr (result i32)
    (i32.add (i32.add (call $method_ptr) (i32.const 1)) (call $method_len)))
  (func $call_with (param $payload i32) (param $len i32) (param $reply_fun i32)
    (local $cycles i64)
    (call $call_new
      (i32.const 1034) (call $callee_len)
      (i32.add (call $method_ptr) (i32.const 1)) (call $method_len)
      (local.get $reply_fun) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $on_cleanup (i32.const 3) (i32.const 0))
    (call $call_append (local.get $payload) (local.get $len))
    (local.set $cycles (i64.load (i32.const 1024)))
    (if (i64.ne (local.get $cycles) (i64.const 0))
      (then (call $cycles_add (i64.const 0) (local.get $cycles))))
    (if (call $perform) (then (call $trap (i32.const 0) (i32.const 0)))))
  (func (export "canister_update forward")
    (i32.store (i32.const 48) (call $arg_size))
    (call $arg_copy (i32.const 1024) (i32.const 0) (call $arg_size))
    (i32.store8 (i32.const 10) (i32.const 98))
    (call $call_with
      (call $payload_ptr)
      (i32.sub (i32.add (i32.const 1024) (i32.load (i32.const 48))) (call $payload_ptr))
      (i32.load8_u (i32.const 1032))))
  (func $on_reply (param $env i32)
    (call $refunded (i32.const 16))
    (call $arg_copy (i32.const 4096) (i32.const 0) (call $arg_size))
    (call $append (i32.const 4096) (call $arg_size))
    (call $reply))
  (func $on_reject (param $env i32)
    (call $refunded (i32.const 16))
    (i32.store8 (i32.const 4096) (i32.const 82))
    (i32.store8 (i32.const 4097) (call $reject_code))
    (call $reject_msg_copy (i32.const 4098) (i32.const 0) (call $reject_msg_size))
    (call $append (i32.const 4096) (i32.add (i32.const 2) (call $reject_msg_size)))
    (call $reply))
  (func $trapping_reply (param $env i32)
    (i32.store8 (i32.const 10) (i32.const 99))
    (call $trap (i32.const 0) (i32.const 0)))
  (func $cleanup (param $env i32)
    (i32.store8 (i32.const 11) (i32.const 1)))
  (func $call_again (param $env i32)
    (i32.store (i32.const 52) (call $arg_size))
    (call $arg_copy (i32.const 8192) (i32.const 0) (call $arg_size))
    (call $call_with (i32.const 8192) (call $arg_size) (i32.const 5)))
  (func $second_reply (param $env i32)
    (local $first i32)
    (local.set $first (i32.load (i32.const 52)))
    (call $arg_copy (i32.add (i32.const 8192) (local.get $first)) (i32.const 0) (call $arg_size))
    (call $append (i32.const 8192) (i32.add (local.get $first) (call $arg_size)))
    (call $reply))
  (func (export "canister_query state")
    (call $append (i32.const 10) (i32.const 2))
    (call $append (i32.const 16) (i32.const 16))
    (call $reply))
)"#;

/// `echo` replies with its argument and counts its calls (`count`, 4 bytes
/// LE); `accept` accepts the u64 LE amount of its argument and replies with
/// what it accepted (16 bytes LE); `trap` traps; `silent` never replies;
/// the query `peek` replies with its argument.
pub const CALLEE: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_cycles_accept128" (func $accept (param i64 i64 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (func $reply_with_arg
    (call $arg_copy (i32.const 64) (i32.const 0) (call $arg_size))
    (call $append (i32.const 64) (call $arg_size))
    (call $reply))
  (func (export "canister_update echo")
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (call $reply_with_arg))
  (func (export "canister_update accept")
    (call $arg_copy (i32.const 64) (i32.const 0) (i32.const 8))
    (call $accept (i64.const 0) (i64.load (i32.const 64)) (i32.const 0))
    (call $append (i32.const 0) (i32.const 16))
    (call $reply))
  (func (export "canister_update trap") (call $trap (i32.const 0) (i32.const 0)))
  (func (export "canister_update silent"))
  (func (export "canister_query peek") (call $reply_with_arg))
  (func (export "canister_query count")
    (i32.store (i32.const 0) (global.get $count))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply))
)"#;

pub fn caller_wasm() -> Vec<u8> {
    wat::parse_str(CALLER).unwrap()
}

pub fn callee_wasm() -> Vec<u8> {
    wat::parse_str(CALLEE).unwrap()
}

/// A new runtime with one canister running the module `wat`.
pub fn runtime_with(wat: &str) -> (PocketIc, Principal) {
    let mut pic = PocketIc::new();
    let id = install(&mut pic, wat::parse_str(wat).unwrap());
    (pic, id)
}

/// A new canister (controlled by the anonymous principal) running `wasm`.
pub fn install(pic: &mut PocketIc, wasm: Vec<u8>) -> Principal {
    let id = pic.create_canister();
    pic.install_canister(id, wasm, vec![], None);
    id
}

/// The argument of the caller's `forward`.
pub fn forward_arg(
    callee: Principal,
    method: &str,
    payload: &[u8],
    cycles: u64,
    reply_callback: u8,
) -> Vec<u8> {
    let mut arg = cycles.to_le_bytes().to_vec();
    arg.push(reply_callback);
    arg.push(callee.as_slice().len() as u8);
    arg.extend_from_slice(callee.as_slice());
    arg.push(method.len() as u8);
    arg.extend_from_slice(method.as_bytes());
    arg.extend_from_slice(payload);
    arg
}

/// `caller.forward(callee.method(payload))` as an ingress update call.
pub fn forward(
    pic: &mut PocketIc,
    caller: Principal,
    callee: Principal,
    method: &str,
    payload: &[u8],
) -> Result<Vec<u8>, ic_runtime::RejectResponse> {
    let arg = forward_arg(callee, method, payload, 0, ON_REPLY);
    pic.update_call(caller, Principal::anonymous(), "forward", arg)
}

/// What the caller's reject callback saw: (reject code, reject message).
pub fn as_reject(reply: &[u8]) -> (u8, String) {
    assert_eq!(reply[0], b'R', "not a reject: {reply:?}");
    (reply[1], String::from_utf8_lossy(&reply[2..]).into_owned())
}

/// The caller's (state byte, cleanup byte, last refund).
pub fn caller_state(pic: &mut PocketIc, caller: Principal) -> (u8, u8, u128) {
    let state = pic
        .query_call(caller, Principal::anonymous(), "state", vec![])
        .unwrap();
    let refund = u128::from_le_bytes(state[2..18].try_into().unwrap());
    (state[0], state[1], refund)
}
