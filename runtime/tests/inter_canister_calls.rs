//! Calls between canisters: requests run on the callee, responses in the
//! caller's callbacks, with the IC's reject codes and cycle refunds.

mod common;

use candid::{Encode, Principal};
use common::*;
use ic_management_canister_types::{CanisterIdRecord, CanisterStatusType};
use ic_runtime::system_api::fees;
use ic_runtime::{ErrorCode, PocketIc, RejectCode};

fn setup() -> (PocketIc, Principal, Principal) {
    let mut pic = PocketIc::new();
    let caller = install(&mut pic, caller_wasm());
    let callee = install(&mut pic, callee_wasm());
    (pic, caller, callee)
}

fn count(pic: &mut PocketIc, callee: Principal) -> u32 {
    let bytes = pic
        .query_call(callee, Principal::anonymous(), "count", vec![])
        .unwrap();
    u32::from_le_bytes(bytes.try_into().unwrap())
}

#[test]
fn should_reply_from_the_callback_with_the_callees_reply() {
    let (mut pic, caller, callee) = setup();
    let reply = forward(&mut pic, caller, callee, "echo", b"hello").unwrap();
    assert_eq!(reply, b"hello");
    assert_eq!(count(&mut pic, callee), 1);
    // A query method called by a canister runs replicated and answers too.
    let reply = forward(&mut pic, caller, callee, "peek", b"seen").unwrap();
    assert_eq!(reply, b"seen");
}

#[test]
fn should_reply_after_two_sequential_calls() {
    let (mut pic, caller, callee) = setup();
    let arg = forward_arg(callee, "echo", b"ab", 0, CALL_AGAIN_ON_REPLY);
    let reply = pic
        .update_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap();
    assert_eq!(reply, b"abab", "the first reply, then the second");
    assert_eq!(count(&mut pic, callee), 2);
}

#[test]
fn should_run_cleanup_on_the_state_before_a_trapping_callback() {
    let (mut pic, caller, callee) = setup();
    let arg = forward_arg(callee, "echo", b"x", 0, TRAPPING_REPLY);
    let error = pic
        .update_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
    assert_eq!(error.reject_code, RejectCode::CanisterError);
    let (state, cleanup_ran, _) = caller_state(&mut pic, caller);
    assert_eq!(
        state, b'b',
        "forward's write is kept, the callback's is rolled back"
    );
    assert_eq!(cleanup_ran, 1, "the cleanup callback ran and was kept");
}

#[test]
fn should_trap_the_callback_when_its_table_index_is_invalid() {
    let (mut pic, caller, callee) = setup();
    let arg = forward_arg(callee, "echo", b"x", 0, NO_SUCH_CALLBACK);
    let error = pic
        .update_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterTrapped);
    assert_eq!(caller_state(&mut pic, caller).1, 1, "cleanup ran");
}

#[test]
fn should_reject_a_call_to_a_missing_canister_with_destination_invalid() {
    let (mut pic, caller, _) = setup();
    let missing = Principal::from_slice(&[9; 10]);
    let reply = forward(&mut pic, caller, missing, "echo", b"").unwrap();
    let (code, message) = as_reject(&reply);
    assert_eq!(code, RejectCode::DestinationInvalid as u8);
    assert!(message.contains("not found"), "{message}");
}

#[test]
fn should_reject_unknown_methods_traps_empty_and_silent_callees_with_canister_error() {
    let (mut pic, caller, callee) = setup();
    let empty = pic.create_canister();
    for (target, method, expected) in [
        (callee, "no_such_method", "IC0536"),
        (callee, "trap", "IC0503"),
        (callee, "silent", "IC0506"),
        (empty, "echo", "IC0537"),
    ] {
        let reply = forward(&mut pic, caller, target, method, b"").unwrap();
        let (code, message) = as_reject(&reply);
        assert_eq!(code, RejectCode::CanisterError as u8, "{method}: {message}");
        assert!(message.contains(&target.to_string()), "{method}: {message}");
        let error = pic
            .update_call(target, Principal::anonymous(), method, vec![])
            .unwrap_err();
        assert_eq!(error.error_code.to_string(), expected, "{method}");
    }
}

#[test]
fn should_move_accepted_cycles_and_refund_the_rest_exactly() {
    let (mut pic, caller, callee) = setup();
    let total_before = pic.cycle_balance(caller) + pic.cycle_balance(callee);
    let caller_before = pic.cycle_balance(caller);
    let arg = forward_arg(
        callee,
        "accept",
        &400_000u64.to_le_bytes(),
        1_000_000,
        ON_REPLY,
    );
    let reply = pic
        .update_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap();
    assert_eq!(u128::from_le_bytes(reply.try_into().unwrap()), 400_000);
    assert_eq!(caller_state(&mut pic, caller).2, 600_000, "refunded");
    assert_eq!(pic.cycle_balance(caller), caller_before - 400_000);
    assert_eq!(
        pic.cycle_balance(caller) + pic.cycle_balance(callee),
        total_before
    );

    // All of it comes back from a missing canister and a trapping callee.
    let missing = Principal::from_slice(&[9; 10]);
    for (target, method) in [(missing, "accept"), (callee, "trap")] {
        let arg = forward_arg(target, method, &1u64.to_le_bytes(), 5_000, ON_REPLY);
        pic.update_call(caller, Principal::anonymous(), "forward", arg)
            .unwrap();
        assert_eq!(caller_state(&mut pic, caller).2, 5_000, "{method}");
    }
    assert_eq!(pic.cycle_balance(caller), caller_before - 400_000);
    assert_eq!(
        pic.cycle_balance(caller) + pic.cycle_balance(callee),
        total_before
    );
}

#[test]
fn should_interleave_two_submitted_calls_that_await_a_third_canister() {
    let (mut pic, caller, callee) = setup();
    let submit = |pic: &mut PocketIc, payload: &[u8]| {
        let arg = forward_arg(callee, "echo", payload, 0, ON_REPLY);
        pic.submit_call(caller, Principal::anonymous(), "forward", arg)
            .unwrap()
    };
    let first = submit(&mut pic, b"one");
    let second = submit(&mut pic, b"two");
    pic.tick(); // both run on the caller and call the callee
    assert_eq!(count(&mut pic, callee), 0);
    assert_eq!(pic.ingress_status(first.clone()), None);
    pic.tick(); // the callee answers both
    assert_eq!(count(&mut pic, callee), 2);
    assert_eq!(pic.ingress_status(second.clone()), None);
    pic.tick(); // both callbacks reply
    assert_eq!(pic.ingress_status(first.clone()), Some(Ok(b"one".to_vec())));
    assert_eq!(pic.await_call(second).unwrap(), b"two");
    assert_eq!(pic.await_call(first).unwrap(), b"one");
}

#[test]
fn should_deliver_responses_to_a_stopping_canister_then_stop_it() {
    let (mut pic, caller, callee) = setup();
    let arg = forward_arg(callee, "echo", b"late", 0, ON_REPLY);
    let call = pic
        .submit_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap();
    pic.tick(); // the call to the callee is out
    let stop = pic
        .submit_call(
            Principal::management_canister(),
            Principal::anonymous(),
            "stop_canister",
            Encode!(&CanisterIdRecord {
                canister_id: caller
            })
            .unwrap(),
        )
        .unwrap();
    pic.tick(); // the callee answers; the caller starts stopping
    let error = pic
        .update_call(caller, Principal::anonymous(), "forward", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterStopping);
    assert_eq!(pic.await_call(call).unwrap(), b"late");
    pic.await_call(stop).unwrap();
    let status = pic.canister_status(caller, None).unwrap().status;
    assert_eq!(status, CanisterStatusType::Stopped);
    let error = forward(&mut pic, caller, callee, "echo", b"").unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterStopped);
    // A stopped callee rejects calls from others.
    let other = install(&mut pic, caller_wasm());
    let (code, message) = as_reject(&forward(&mut pic, other, caller, "state", b"").unwrap());
    assert_eq!(code, RejectCode::CanisterError as u8);
    assert!(message.contains("stopped"), "{message}");
    pic.start_canister(caller, None).unwrap();
    assert_eq!(
        forward(&mut pic, caller, callee, "echo", b"again").unwrap(),
        b"again"
    );
}

/// A timer that calls its own canister's `bump`, as ic-cdk-timers does.
const SELF_CALLING_TIMER: &str = r#"(module
  (import "ic0" "global_timer_set" (func $timer_set (param i64) (result i64)))
  (import "ic0" "canister_self_size" (func $self_size (result i32)))
  (import "ic0" "canister_self_copy" (func $self_copy (param i32 i32 i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (table 1 funcref)
  (elem (i32.const 0) $answered)
  (global $bumps (mut i32) (i32.const 0))
  (global $answers (mut i32) (i32.const 0))
  (data (i32.const 100) "bump")
  (func (export "canister_init") (drop (call $timer_set (i64.const 1))))
  (func (export "canister_global_timer")
    (call $self_copy (i32.const 0) (i32.const 0) (call $self_size))
    (call $call_new (i32.const 0) (call $self_size) (i32.const 100) (i32.const 4)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (drop (call $perform)))
  (func $answered (param i32)
    (global.set $answers (i32.add (global.get $answers) (i32.const 1))))
  (func (export "canister_update bump")
    (global.set $bumps (i32.add (global.get $bumps) (i32.const 1)))
    (call $reply))
  (func (export "canister_query counts")
    (i32.store8 (i32.const 200) (global.get $bumps))
    (i32.store8 (i32.const 201) (global.get $answers))
    (call $append (i32.const 200) (i32.const 2))
    (call $reply))
)"#;

#[test]
fn should_deliver_a_self_call_made_by_a_global_timer_round_by_round() {
    let mut pic = PocketIc::new();
    let id = install(&mut pic, wat::parse_str(SELF_CALLING_TIMER).unwrap());
    let counts = |pic: &mut PocketIc| pic.query_call(id, Principal::anonymous(), "counts", vec![]);
    assert_eq!(counts(&mut pic).unwrap(), [0, 0]);
    pic.tick(); // the timer fires and calls `bump`
    assert_eq!(counts(&mut pic).unwrap(), [0, 0]);
    pic.tick(); // `bump` runs
    assert_eq!(counts(&mut pic).unwrap(), [1, 0]);
    pic.tick(); // its answer reaches the timer's callback
    assert_eq!(counts(&mut pic).unwrap(), [1, 1]);
    pic.tick();
    assert_eq!(counts(&mut pic).unwrap(), [1, 1], "the timer fired once");
}

#[test]
fn should_burn_exactly_the_fees_it_charges_when_charging_is_on() {
    let (mut pic, caller, callee) = setup();
    pic.set_cycle_charging(true);
    let all_cycles = |pic: &PocketIc| {
        pic.cycle_balance(caller) + pic.cycle_balance(callee) + pic.total_cycles_burned()
    };
    let before = all_cycles(&pic);
    let instructions = |pic: &PocketIc| {
        (
            pic.total_instructions(caller),
            pic.total_instructions(callee),
        )
    };
    let (caller_start, callee_start) = instructions(&pic);
    let payload = 400_000u64.to_le_bytes();
    let arg = forward_arg(callee, "accept", &payload, 1_000_000, ON_REPLY);
    let arg_len = arg.len();
    pic.update_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap();
    let (caller_end, callee_end) = instructions(&pic);
    // The ingress message, `forward` and its callback, and one call sent.
    assert_eq!(
        pic.cycles_burned(caller),
        fees::ingress("forward".len() as u64, arg_len as u64)
            + 2 * fees::UPDATE_MESSAGE_EXECUTION
            + u128::from(caller_end - caller_start) * fees::INSTRUCTION
            + fees::call("accept".len() as u64, payload.len() as u64)
    );
    assert_eq!(
        pic.cycles_burned(callee),
        fees::execution(callee_end - callee_start)
    );
    assert_eq!(all_cycles(&pic), before, "every cycle is somewhere");
}
