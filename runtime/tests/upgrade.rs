//! `upgrade_canister` keeps stable memory and starts a fresh heap between
//! `canister_pre_upgrade` and `canister_post_upgrade`; `reinstall_canister`
//! clears both and runs `canister_init` again.

use candid::Principal;
use ic_runtime::{ErrorCode, PocketIc};

/// - init grows stable memory by a page, writes `i` to heap[16] and adds one
///   to the init count at stable[8];
/// - `set` writes 42 to the global, arg[0] to heap[0], arg[1] to stable[0];
/// - pre_upgrade copies heap[0] to stable[1];
/// - post_upgrade traps if its argument is non-empty, else copies stable[1]
///   to heap[2] and writes `p` to heap[3];
/// - the query `read` replies: the global, heap[0], heap[2], heap[3],
///   heap[16], stable[0], stable[1], stable[8], stable size in pages.
const MODULE: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "stable64_grow" (func $grow (param i64) (result i64)))
  (import "ic0" "stable64_size" (func $stable_size (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $stable_read (param i64 i64 i64)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 7))
  (func (export "canister_init")
    (drop (call $grow (i64.const 1)))
    (i32.store8 (i32.const 16) (i32.const 105))
    (call $stable_read (i64.const 1000) (i64.const 8) (i64.const 1))
    (i32.store8 (i32.const 1000) (i32.add (i32.load8_u (i32.const 1000)) (i32.const 1)))
    (call $stable_write (i64.const 8) (i64.const 1000) (i64.const 1)))
  (func (export "canister_update set")
    (global.set $g (i32.const 42))
    (call $arg_copy (i32.const 1000) (i32.const 0) (i32.const 2))
    (i32.store8 (i32.const 0) (i32.load8_u (i32.const 1000)))
    (call $stable_write (i64.const 0) (i64.const 1001) (i64.const 1))
    (call $reply))
  (func (export "canister_pre_upgrade")
    (call $stable_write (i64.const 1) (i64.const 0) (i64.const 1)))
  (func (export "canister_post_upgrade")
    (if (call $arg_size) (then (call $trap (i32.const 0) (i32.const 0))))
    (call $stable_read (i64.const 2) (i64.const 1) (i64.const 1))
    (i32.store8 (i32.const 3) (i32.const 112)))
  (func (export "canister_query read")
    (i32.store8 (i32.const 2000) (global.get $g))
    (i32.store8 (i32.const 2001) (i32.load8_u (i32.const 0)))
    (i32.store8 (i32.const 2002) (i32.load8_u (i32.const 2)))
    (i32.store8 (i32.const 2003) (i32.load8_u (i32.const 3)))
    (i32.store8 (i32.const 2004) (i32.load8_u (i32.const 16)))
    (call $stable_read (i64.const 2005) (i64.const 0) (i64.const 2))
    (call $stable_read (i64.const 2007) (i64.const 8) (i64.const 1))
    (i32.store8 (i32.const 2008) (i32.wrap_i64 (call $stable_size)))
    (call $append (i32.const 2000) (i32.const 9))
    (call $reply))
)"#;

fn wasm() -> Vec<u8> {
    wat::parse_str(MODULE).unwrap()
}

fn setup() -> (PocketIc, Principal) {
    let mut pic = PocketIc::new();
    let id = pic.create_canister();
    pic.install_canister(id, wasm(), vec![], None);
    (pic, id)
}

fn read(pic: &mut PocketIc, id: Principal) -> Vec<u8> {
    pic.query_call(id, Principal::anonymous(), "read", vec![])
        .unwrap()
}

const AFTER_SET: &[u8] = &[42, b'x', 0, 0, b'i', b'y', 0, 1, 1];

#[test]
fn should_keep_stable_memory_and_reset_the_heap_on_upgrade() {
    let (mut pic, id) = setup();
    assert_eq!(read(&mut pic, id), [7, 0, 0, 0, b'i', 0, 0, 1, 1]);
    pic.update_call(id, Principal::anonymous(), "set", b"xy".to_vec())
        .unwrap();
    assert_eq!(read(&mut pic, id), AFTER_SET);
    pic.upgrade_canister(id, wasm(), vec![], None).unwrap();
    assert_eq!(
        read(&mut pic, id),
        [
            7,    // the global is back to its initial value
            0,    // the heap is fresh
            b'x', // pre_upgrade saw the old heap; post_upgrade restored from stable
            b'p', // post_upgrade ran after, on the new heap
            0,    // init did not run
            b'y', // stable memory is kept
            b'x', 1, 1,
        ]
    );
}

#[test]
fn should_keep_everything_when_post_upgrade_traps() {
    let (mut pic, id) = setup();
    pic.update_call(id, Principal::anonymous(), "set", b"xy".to_vec())
        .unwrap();
    let error = pic
        .upgrade_canister(id, wasm(), b"trap".to_vec(), None)
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
    assert_eq!(
        read(&mut pic, id),
        AFTER_SET,
        "old heap and stable memory, without pre_upgrade's write"
    );
    pic.update_call(id, Principal::anonymous(), "set", b"ab".to_vec())
        .unwrap();
    assert_eq!(read(&mut pic, id), [42, b'a', 0, 0, b'i', b'b', 0, 1, 1]);
}

#[test]
fn should_clear_heap_and_stable_memory_and_run_init_on_reinstall() {
    let (mut pic, id) = setup();
    pic.update_call(id, Principal::anonymous(), "set", b"xy".to_vec())
        .unwrap();
    pic.upgrade_canister(id, wasm(), vec![], None).unwrap();
    pic.reinstall_canister(id, wasm(), vec![], None).unwrap();
    assert_eq!(
        read(&mut pic, id),
        [7, 0, 0, 0, b'i', 0, 0, 1, 1],
        "as after the first install: init ran once on empty stable memory"
    );
}
