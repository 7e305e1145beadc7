//! Bad input is refused with the IC's error codes, and the runtime goes on
//! working.

mod common;

use candid::Principal;
use ic_runtime::{ErrorCode, InstallMode, PocketIc, RejectCode};

/// `expect_u32` traps with "expected 4 bytes" unless its argument has 4
/// bytes, which it replies with.
const MODULE: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "expected 4 bytes")
  (func (export "canister_update expect_u32")
    (if (i32.ne (call $arg_size) (i32.const 4))
      (then (call $trap (i32.const 100) (i32.const 16))))
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 4))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply))
)"#;

fn setup() -> (PocketIc, Principal) {
    common::runtime_with(MODULE)
}

#[test]
fn should_report_a_trap_on_a_bad_argument_with_its_message() {
    let (mut pic, id) = setup();
    let error = pic
        .update_call(id, Principal::anonymous(), "expect_u32", b"abc".to_vec())
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
    assert_eq!(error.error_code.to_string(), "IC0503");
    assert_eq!(error.reject_code, RejectCode::CanisterError);
    assert!(
        error.reject_message.contains("expected 4 bytes"),
        "{}",
        error.reject_message
    );
    let reply = pic
        .update_call(id, Principal::anonymous(), "expect_u32", b"abcd".to_vec())
        .unwrap();
    assert_eq!(reply, b"abcd");
}

#[test]
fn should_refuse_to_install_modules_that_are_not_valid_canisters() {
    let (mut pic, other) = setup();
    let id = pic.create_canister();
    let unknown_import =
        wat::parse_str(r#"(module (import "ic0" "no_such_call" (func)))"#).unwrap();
    for (wasm, what) in [
        (b"definitely not wasm".to_vec(), "bytes"),
        (unknown_import, "no_such_call"),
    ] {
        let error = pic
            .install_code(id, InstallMode::Install, &wasm, vec![], None)
            .unwrap_err();
        assert_eq!(error.error_code, ErrorCode::CanisterInvalidWasm, "{what}");
        assert_eq!(error.error_code.to_string(), "IC0505");
        assert_eq!(error.reject_code, RejectCode::CanisterError);
    }
    // The canister is still empty, and the runtime still works.
    let error = pic
        .update_call(id, Principal::anonymous(), "expect_u32", b"abcd".to_vec())
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterWasmModuleNotFound);
    let reply = pic
        .update_call(
            other,
            Principal::anonymous(),
            "expect_u32",
            b"abcd".to_vec(),
        )
        .unwrap();
    assert_eq!(reply, b"abcd");
    pic.install_canister(id, wat::parse_str(MODULE).unwrap(), vec![], None);
    let reply = pic
        .update_call(id, Principal::anonymous(), "expect_u32", b"wxyz".to_vec())
        .unwrap();
    assert_eq!(reply, b"wxyz");
}

#[test]
fn should_keep_the_old_module_when_an_upgrade_to_an_invalid_one_is_refused() {
    let (mut pic, id) = setup();
    let error = pic
        .upgrade_canister(id, b"\0asm\x01\0\0\0\x99".to_vec(), vec![], None)
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterInvalidWasm);
    let reply = pic
        .update_call(id, Principal::anonymous(), "expect_u32", b"abcd".to_vec())
        .unwrap();
    assert_eq!(reply, b"abcd");
}

#[test]
#[should_panic(expected = "installing")]
fn should_panic_when_install_canister_is_given_garbage() {
    let mut pic = PocketIc::new();
    let id = pic.create_canister();
    pic.install_canister(id, b"garbage".to_vec(), vec![], None);
}
