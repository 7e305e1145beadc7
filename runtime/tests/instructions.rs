//! The runtime reports the instructions each execution used, as benchmarks need.

use candid::Principal;
use ic_runtime::PocketIc;

const MODULE: &str = r#"(module
  (import "ic0" "msg_reply" (func $reply))
  (func $spin (param $n i32)
    (loop $again
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (i32.gt_s (local.get $n) (i32.const 0)))))
  (func (export "canister_update short") (call $spin (i32.const 10)) (call $reply))
  (func (export "canister_update long") (call $spin (i32.const 10000)) (call $reply))
)"#;

#[test]
fn should_report_the_instructions_of_the_last_execution_and_their_total() {
    let mut pic = PocketIc::new();
    let id = pic.create_canister();
    pic.install_canister(id, wat::parse_str(MODULE).unwrap(), vec![], None);
    let after_install = pic.total_instructions(id);
    pic.update_call(id, Principal::anonymous(), "short", vec![])
        .unwrap();
    let short = pic.last_execution_instructions(id);
    pic.update_call(id, Principal::anonymous(), "long", vec![])
        .unwrap();
    let long = pic.last_execution_instructions(id);
    assert!(short > 10 && short < 1_000, "{short}");
    assert!(long > 10_000 * 3, "{long}");
    assert_eq!(pic.total_instructions(id), after_install + short + long);
}
