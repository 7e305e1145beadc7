//! Best-effort (bounded-wait) calls: `ic0.call_with_best_effort_response`
//! gives a call a deadline; past it the caller's reject callback runs with
//! SYS_UNKNOWN and the real answer is dropped. `ic0.msg_deadline` shows the
//! deadline to the callee and to the callbacks of its call context.

mod common;

use candid::Principal;
use common::install;
use ic_runtime::{PocketIc, RejectCode};
use std::time::Duration;

/// `call` takes `timeout: u32 LE (0 = guaranteed response), cycles: u64 LE,
/// callee length: u8, callee, method length: u8, method, payload` and makes
/// that call. Its reply callback replies `"Y", msg_deadline (8 bytes LE),
/// the reply`; its reject callback `"N", reject code, msg_deadline, reject
/// message`. Both count their runs and record `msg_cycles_refunded128`.
/// `echo` replies with its argument and counts its runs; `deadline` (update)
/// and `deadline_query` (query) reply with `msg_deadline`. The query `state`
/// replies with the callback count (4 bytes), the last refund (16) and the
/// echo count (4).
const BOUNDED: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "msg_deadline" (func $deadline (result i64)))
  (import "ic0" "msg_cycles_refunded128" (func $refunded (param i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $call_append (param i32 i32)))
  (import "ic0" "call_with_best_effort_response" (func $best_effort (param i32)))
  (import "ic0" "call_cycles_add128" (func $cycles_add (param i64 i64)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  ;; heap: 0 callback count, 16..32 last refund, 32 echo count, 48 arg size,
  ;; 1024 call's arg, 4096 reply buffer
  (func $callee_len (result i32) (i32.load8_u (i32.const 1036)))
  (func $method_ptr (result i32) (i32.add (i32.const 1037) (call $callee_len)))
  (func $method_len (result i32) (i32.load8_u (call $method_ptr)))
  (func $payload_ptr (result i32)
    (i32.add (i32.add (call $method_ptr) (i32.const 1)) (call $method_len)))
  (func (export "canister_update call")
    (i32.store (i32.const 48) (call $arg_size))
    (call $arg_copy (i32.const 1024) (i32.const 0) (call $arg_size))
    (call $call_new
      (i32.const 1037) (call $callee_len)
      (i32.add (call $method_ptr) (i32.const 1)) (call $method_len)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $call_append (call $payload_ptr)
      (i32.sub (i32.add (i32.const 1024) (i32.load (i32.const 48))) (call $payload_ptr)))
    (if (i32.load (i32.const 1024))
      (then (call $best_effort (i32.load (i32.const 1024)))))
    (if (i64.ne (i64.load (i32.const 1028)) (i64.const 0))
      (then (call $cycles_add (i64.const 0) (i64.load (i32.const 1028)))))
    (if (call $perform) (then (call $trap (i32.const 0) (i32.const 0)))))
  (func $count_callback
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $refunded (i32.const 16)))
  (func $on_reply (param $env i32)
    (call $count_callback)
    (i32.store8 (i32.const 4096) (i32.const 89))
    (i64.store (i32.const 4097) (call $deadline))
    (call $arg_copy (i32.const 4105) (i32.const 0) (call $arg_size))
    (call $append (i32.const 4096) (i32.add (i32.const 9) (call $arg_size)))
    (call $reply))
  (func $on_reject (param $env i32)
    (call $count_callback)
    (i32.store8 (i32.const 4096) (i32.const 78))
    (i32.store8 (i32.const 4097) (call $reject_code))
    (i64.store (i32.const 4098) (call $deadline))
    (call $reject_msg_copy (i32.const 4106) (i32.const 0) (call $reject_msg_size))
    (call $append (i32.const 4096) (i32.add (i32.const 10) (call $reject_msg_size)))
    (call $reply))
  (func (export "canister_update echo")
    (i32.store (i32.const 32) (i32.add (i32.load (i32.const 32)) (i32.const 1)))
    (call $arg_copy (i32.const 4096) (i32.const 0) (call $arg_size))
    (call $append (i32.const 4096) (call $arg_size))
    (call $reply))
  (func $reply_deadline
    (i64.store (i32.const 4096) (call $deadline))
    (call $append (i32.const 4096) (i32.const 8))
    (call $reply))
  (func (export "canister_update deadline") (call $reply_deadline))
  (func (export "canister_query deadline_query") (call $reply_deadline))
  (func (export "canister_query state")
    (call $append (i32.const 0) (i32.const 4))
    (call $append (i32.const 16) (i32.const 16))
    (call $append (i32.const 32) (i32.const 4))
    (call $reply))
)"#;

const SECOND: u64 = 1_000_000_000;

fn canisters(pic: &mut PocketIc, count: usize) -> Vec<Principal> {
    (0..count)
        .map(|_| install(pic, wat::parse_str(BOUNDED).unwrap()))
        .collect()
}

/// The argument of `call`.
fn call_arg(timeout: u32, cycles: u64, callee: Principal, method: &str, payload: &[u8]) -> Vec<u8> {
    let mut arg = timeout.to_le_bytes().to_vec();
    arg.extend_from_slice(&cycles.to_le_bytes());
    arg.push(callee.as_slice().len() as u8);
    arg.extend_from_slice(callee.as_slice());
    arg.push(method.len() as u8);
    arg.extend_from_slice(method.as_bytes());
    arg.extend_from_slice(payload);
    arg
}

/// What a reply callback replied: (its msg_deadline, the reply it got).
fn as_reply(bytes: &[u8]) -> (u64, Vec<u8>) {
    assert_eq!(bytes[0], b'Y', "not a reply: {bytes:?}");
    (
        u64::from_le_bytes(bytes[1..9].try_into().unwrap()),
        bytes[9..].to_vec(),
    )
}

/// What a reject callback replied: (reject code, its msg_deadline, message).
fn as_reject(bytes: &[u8]) -> (u8, u64, String) {
    assert_eq!(bytes[0], b'N', "not a reject: {bytes:?}");
    let deadline = u64::from_le_bytes(bytes[2..10].try_into().unwrap());
    (
        bytes[1],
        deadline,
        String::from_utf8_lossy(&bytes[10..]).into_owned(),
    )
}

/// (callbacks run, last refund, echoes run) of a canister.
fn state(pic: &mut PocketIc, id: Principal) -> (u32, u128, u32) {
    let bytes = pic
        .query_call(id, Principal::anonymous(), "state", vec![])
        .unwrap();
    (
        u32::from_le_bytes(bytes[0..4].try_into().unwrap()),
        u128::from_le_bytes(bytes[4..20].try_into().unwrap()),
        u32::from_le_bytes(bytes[20..24].try_into().unwrap()),
    )
}

fn as_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap())
}

#[test]
fn should_reject_with_sys_unknown_when_the_deadline_passes_and_drop_the_late_reply() {
    let mut pic = PocketIc::new();
    let ids = canisters(&mut pic, 3);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    // a waits 1 s for b, which itself waits (guaranteed) for c.
    let inner = call_arg(0, 0, c, "echo", b"late");
    let arg = call_arg(1, 0, b, "call", &inner);
    let message = pic
        .submit_call(a, Principal::anonymous(), "call", arg)
        .unwrap();
    pic.tick(); // a calls b
    pic.advance_time(Duration::from_secs(2));
    pic.tick(); // a's deadline has passed: its reject callback runs; b calls c
    let reply = pic
        .ingress_status(message.clone())
        .expect("answered by the timeout")
        .unwrap();
    let (code, deadline, text) = as_reject(&reply);
    assert_eq!(code, RejectCode::SysUnknown as u8);
    assert_eq!(text, "Call deadline has expired.");
    assert_eq!(
        deadline, 0,
        "a's own call context came from an ingress message"
    );
    pic.tick(); // c echoes
    pic.tick(); // b's callback replies to a: too late, dropped
    pic.tick();
    assert_eq!(state(&mut pic, c).2, 1, "c ran");
    let (b_callbacks, _, _) = state(&mut pic, b);
    assert_eq!(b_callbacks, 1, "b got c's reply and answered");
    let (a_callbacks, refund, _) = state(&mut pic, a);
    assert_eq!(a_callbacks, 1, "the late reply ran no callback of a");
    assert_eq!(refund, 0);
    assert_eq!(pic.await_call(message).unwrap(), reply, "the answer stays");
    // a is still usable.
    let arg = call_arg(10, 0, b, "echo", b"in time");
    let reply = pic
        .update_call(a, Principal::anonymous(), "call", arg)
        .unwrap();
    assert_eq!(as_reply(&reply).1, b"in time");
}

#[test]
fn should_lose_the_cycles_attached_to_a_call_that_timed_out() {
    let mut pic = PocketIc::new();
    let ids = canisters(&mut pic, 2);
    let (a, b) = (ids[0], ids[1]);
    let (a_before, b_before) = (pic.cycle_balance(a), pic.cycle_balance(b));
    let arg = call_arg(5, 1_000_000, b, "echo", b"x");
    let message = pic
        .submit_call(a, Principal::anonymous(), "call", arg)
        .unwrap();
    pic.tick(); // a calls b with the cycles attached
    pic.advance_time(Duration::from_secs(6));
    pic.tick(); // timeout at a; b echoes without accepting
    pic.tick(); // b's reply, with its refund, is dropped
    let (code, _, _) = as_reject(&pic.await_call(message).unwrap());
    assert_eq!(code, RejectCode::SysUnknown as u8);
    assert_eq!(state(&mut pic, a).1, 0, "the timeout refunds nothing");
    assert_eq!(state(&mut pic, b).2, 1, "b ran echo");
    assert_eq!(
        pic.cycle_balance(a),
        a_before - 1_000_000,
        "the cycles are lost"
    );
    assert_eq!(pic.cycle_balance(b), b_before, "b did not accept them");
}

#[test]
fn should_answer_normally_and_refund_when_the_reply_comes_in_time() {
    let mut pic = PocketIc::new();
    let ids = canisters(&mut pic, 2);
    let (a, b) = (ids[0], ids[1]);
    let before = pic.cycle_balance(a);
    let arg = call_arg(300, 5_000, b, "echo", b"ok");
    let reply = pic
        .update_call(a, Principal::anonymous(), "call", arg)
        .unwrap();
    assert_eq!(as_reply(&reply).1, b"ok");
    // Time passing after the answer changes nothing.
    pic.advance_time(Duration::from_secs(600));
    pic.tick();
    assert_eq!(state(&mut pic, a).0, 1);
    assert_eq!(state(&mut pic, a).1, 5_000, "unaccepted cycles come back");
    assert_eq!(pic.cycle_balance(a), before);
}

#[test]
fn should_show_the_deadline_to_the_callee_and_its_callbacks_only() {
    let mut pic = PocketIc::new();
    let ids = canisters(&mut pic, 3);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    // a calls b.call with a 20 s timeout; b calls c.deadline guaranteed.
    let inner = call_arg(0, 0, c, "deadline", b"");
    let arg = call_arg(20, 0, b, "call", &inner);
    let message = pic
        .submit_call(a, Principal::anonymous(), "call", arg)
        .unwrap();
    pic.tick();
    let deadline = pic.get_time().as_nanos_since_unix_epoch() + 20 * SECOND;
    let (a_deadline, b_reply) = as_reply(&pic.await_call(message).unwrap());
    assert_eq!(a_deadline, 0, "a was called by an ingress message");
    let (b_deadline, c_reply) = as_reply(&b_reply);
    assert_eq!(
        b_deadline, deadline,
        "b's callback sees the deadline of b's call"
    );
    assert_eq!(
        as_u64(&c_reply),
        0,
        "c was called with a guaranteed response"
    );

    // The callee itself sees it; a timeout above 300 s counts as 300 s.
    for (timeout, seconds) in [(7, 7), (1_000, 300)] {
        let arg = call_arg(timeout, 0, b, "deadline", b"");
        let message = pic
            .submit_call(a, Principal::anonymous(), "call", arg)
            .unwrap();
        pic.tick();
        let expected = pic.get_time().as_nanos_since_unix_epoch() + seconds * SECOND;
        let (_, reply) = as_reply(&pic.await_call(message).unwrap());
        assert_eq!(as_u64(&reply), expected, "timeout {timeout}");
    }
    // Calls to queries, and ingress messages, have no deadline.
    let arg = call_arg(20, 0, b, "deadline_query", b"");
    let reply = pic
        .update_call(a, Principal::anonymous(), "call", arg)
        .unwrap();
    assert_eq!(as_u64(&as_reply(&reply).1), 0);
    let reply = pic
        .update_call(b, Principal::anonymous(), "deadline", vec![])
        .unwrap();
    assert_eq!(as_u64(&reply), 0);
}
