//! `canister_heartbeat` runs once per round on every running canister that
//! exports it, as a transaction of its own.

mod common;

use candid::Principal;
use ic_runtime::PocketIc;

/// The heartbeat adds one to a counter in the heap (at 0) and one in stable
/// memory (at 0); when armed (heap byte 8) it traps after doing so. `arm` and
/// `disarm` set and clear that byte; the query `count` replies with both
/// counters (4 bytes LE each).
const MODULE: &str = r#"(module
  (import "ic0" "stable64_grow" (func $grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $stable_read (param i64 i64 i64)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "heartbeat armed")
  (func (export "canister_init") (drop (call $grow (i64.const 1))))
  (func (export "canister_heartbeat")
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $stable_read (i64.const 16) (i64.const 0) (i64.const 4))
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (call $stable_write (i64.const 0) (i64.const 16) (i64.const 4))
    (if (i32.load8_u (i32.const 8))
      (then (call $trap (i32.const 100) (i32.const 15)))))
  (func (export "canister_update arm") (i32.store8 (i32.const 8) (i32.const 1)) (call $reply))
  (func (export "canister_update disarm") (i32.store8 (i32.const 8) (i32.const 0)) (call $reply))
  (func (export "canister_query count")
    (call $stable_read (i64.const 16) (i64.const 0) (i64.const 4))
    (call $append (i32.const 0) (i32.const 4))
    (call $append (i32.const 16) (i32.const 4))
    (call $reply))
)"#;

fn setup() -> (PocketIc, Principal) {
    common::runtime_with(MODULE)
}

/// (heap counter, stable counter)
fn count(pic: &mut PocketIc, id: Principal) -> (u32, u32) {
    let reply = pic
        .query_call(id, Principal::anonymous(), "count", vec![])
        .unwrap();
    assert_eq!(reply.len(), 8);
    (
        u32::from_le_bytes(reply[0..4].try_into().unwrap()),
        u32::from_le_bytes(reply[4..8].try_into().unwrap()),
    )
}

#[test]
fn should_run_the_heartbeat_once_per_tick() {
    let (mut pic, id) = setup();
    let (heap, stable) = count(&mut pic, id);
    assert_eq!(heap, stable, "both counters move together");
    pic.tick();
    assert_eq!(count(&mut pic, id), (heap + 1, stable + 1));
    for _ in 0..4 {
        pic.tick();
    }
    assert_eq!(count(&mut pic, id), (heap + 5, stable + 5));
    // Queries and time moving do not run it.
    count(&mut pic, id);
    pic.advance_time(std::time::Duration::from_secs(10));
    assert_eq!(count(&mut pic, id), (heap + 5, stable + 5));
}

#[test]
fn should_run_one_heartbeat_in_each_round_another_canisters_call_takes() {
    let (mut pic, id) = setup();
    let other = pic.create_canister();
    let noop = r#"(module (import "ic0" "msg_reply" (func $r)) (func (export "canister_update noop") (call $r)))"#;
    pic.install_canister(other, wat::parse_str(noop).unwrap(), vec![], None);
    let before = count(&mut pic, id);
    pic.update_call(other, Principal::anonymous(), "noop", vec![])
        .unwrap();
    assert_eq!(
        count(&mut pic, id),
        (before.0 + 1, before.1 + 1),
        "one round ran, so one heartbeat"
    );
}

#[test]
fn should_roll_back_a_trapping_heartbeat_and_keep_the_canister_usable() {
    let (mut pic, id) = setup();
    pic.update_call(id, Principal::anonymous(), "arm", vec![])
        .unwrap();
    let armed = count(&mut pic, id);
    assert_eq!(armed.0, armed.1);
    for _ in 0..3 {
        pic.tick();
    }
    assert_eq!(
        count(&mut pic, id),
        armed,
        "a trapping heartbeat keeps neither its heap nor its stable memory writes"
    );
    let logs = pic.fetch_canister_logs(id, Principal::anonymous()).unwrap();
    assert!(
        logs.iter()
            .any(|r| String::from_utf8_lossy(&r.content).contains("heartbeat armed")),
        "the trap is logged: {logs:?}"
    );
    // The canister still takes messages; once disarmed, heartbeats count again.
    pic.update_call(id, Principal::anonymous(), "disarm", vec![])
        .unwrap();
    let disarmed = count(&mut pic, id);
    assert_eq!(
        disarmed,
        (armed.0 + 1, armed.1 + 1),
        "the round of `disarm`"
    );
    pic.tick();
    assert_eq!(count(&mut pic, id), (armed.0 + 2, armed.1 + 2));
}
