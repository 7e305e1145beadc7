//! Time as PocketIC's state machine keeps it: a round runs at the time the
//! test set, or 1 ns after the previous round when time did not move.

use candid::Principal;
use ic_runtime::{PocketIc, Time};
use std::time::Duration;

const CLOCK: &str = r#"(module
  (import "ic0" "time" (func $time (result i64)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (func $reply_time
    (i64.store (i32.const 0) (call $time))
    (call $append (i32.const 0) (i32.const 8))
    (call $reply))
  (func (export "canister_update now") (call $reply_time))
  (func (export "canister_query now_query") (call $reply_time))
)"#;

fn nanos(reply: Vec<u8>) -> u64 {
    u64::from_le_bytes(reply.try_into().unwrap())
}

#[test]
fn should_advance_time_by_one_nanosecond_per_round_unless_the_test_moves_it() {
    let mut pic = PocketIc::new();
    let id = pic.create_canister();
    pic.install_canister(id, wat::parse_str(CLOCK).unwrap(), vec![], None);
    let now = |pic: &mut PocketIc| {
        nanos(
            pic.update_call(id, Principal::anonymous(), "now", vec![])
                .unwrap(),
        )
    };

    let first = now(&mut pic);
    assert_eq!(pic.get_time().as_nanos_since_unix_epoch(), first);
    assert_eq!(
        now(&mut pic),
        first + 1,
        "strictly increasing without set_time"
    );
    pic.tick();
    assert_eq!(now(&mut pic), first + 3, "every round counts");

    pic.advance_time(Duration::from_secs(1));
    let moved = pic.get_time().as_nanos_since_unix_epoch();
    assert_eq!(
        now(&mut pic),
        moved,
        "a round runs at the time the test set"
    );
    let set = Time::from_nanos_since_unix_epoch(moved + 1_000);
    pic.set_time(set);
    assert_eq!(now(&mut pic), set.as_nanos_since_unix_epoch());

    // A query runs at the time of the latest round and does not move it.
    let latest = pic.get_time().as_nanos_since_unix_epoch();
    let query = pic
        .query_call(id, Principal::anonymous(), "now_query", vec![])
        .unwrap();
    assert_eq!(nanos(query), latest);
    assert_eq!(pic.get_time().as_nanos_since_unix_epoch(), latest);
}
