//! Cycles as the IC charges them, when charging is on: ingress, execution,
//! storage over time, and a canister frozen when it cannot pay above its
//! freezing threshold.

mod common;

use candid::{Nat, Principal};
use common::{CALLEE, CALLER, ON_REPLY, as_reject, caller_state, forward_arg, install};
use ic_management_canister_types::CanisterSettings;
use ic_runtime::system_api::fees;
use ic_runtime::{ErrorCode, PocketIc, RejectCode};
use std::time::Duration;

fn setup() -> (PocketIc, Principal) {
    let mut pic = PocketIc::new();
    let id = install(&mut pic, wat::parse_str(CALLEE).unwrap());
    pic.set_cycle_charging(true);
    (pic, id)
}

fn heap_bytes(pic: &mut PocketIc, id: Principal) -> u64 {
    let status = pic.canister_status(id, None).unwrap();
    u64::try_from(status.memory_size.0).unwrap()
}

#[test]
fn should_charge_ingress_execution_and_storage() {
    let (mut pic, id) = setup();
    let before = pic.cycle_balance(id);
    let instructions = pic.total_instructions(id);
    pic.update_call(id, Principal::anonymous(), "echo", b"ab".to_vec())
        .unwrap();
    let executed = pic.total_instructions(id) - instructions;
    let burned = pic.cycles_burned(id);
    assert_eq!(
        burned,
        fees::ingress(4, 2) + fees::execution(executed),
        "the ingress message and its execution"
    );
    // A day of holding its memory.
    let bytes = heap_bytes(&mut pic, id);
    assert_eq!(bytes, 65_536);
    pic.advance_time(Duration::from_secs(24 * 3600));
    pic.tick();
    let storage = pic.cycles_burned(id) - burned;
    let day = fees::storage(bytes, 24 * 3600 * 1_000_000_000);
    assert!(
        (day..=day + 1).contains(&storage),
        "{storage} cycles for a day of 64 KiB, {day} expected"
    );
    assert_eq!(pic.cycle_balance(id), before - pic.cycles_burned(id));
}

#[test]
fn should_freeze_a_canister_that_cannot_pay_above_its_threshold() {
    let (mut pic, id) = setup();
    let freezing = |pic: &mut PocketIc, seconds: u64| {
        let settings = CanisterSettings {
            freezing_threshold: Some(Nat::from(seconds)),
            ..Default::default()
        };
        pic.update_canister_settings(id, None, settings).unwrap();
    };
    // A threshold so long that the reserve exceeds the whole balance.
    freezing(&mut pic, u64::MAX / 2);
    let balance = pic.cycle_balance(id);
    let error = pic
        .update_call(id, Principal::anonymous(), "echo", b"x".to_vec())
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterOutOfCycles);
    assert_eq!(error.reject_code, RejectCode::SysTransient);
    assert!(
        error.reject_message.contains("out of cycles"),
        "{}",
        error.reject_message
    );
    assert_eq!(
        pic.cycle_balance(id),
        balance,
        "a frozen canister pays nothing"
    );
    // Queries still answer.
    assert_eq!(
        pic.query_call(id, Principal::anonymous(), "peek", b"q".to_vec()),
        Ok(b"q".to_vec())
    );
    // Back under the threshold, it takes messages again.
    freezing(&mut pic, 30 * 24 * 3600);
    assert_eq!(
        pic.update_call(id, Principal::anonymous(), "echo", b"y".to_vec()),
        Ok(b"y".to_vec())
    );
}

#[test]
fn should_charge_nothing_when_charging_is_off() {
    let mut pic = PocketIc::new();
    let id = install(&mut pic, wat::parse_str(CALLEE).unwrap());
    let before = pic.cycle_balance(id);
    pic.update_call(id, Principal::anonymous(), "echo", b"ab".to_vec())
        .unwrap();
    pic.advance_time(Duration::from_secs(24 * 3600));
    pic.tick();
    assert_eq!(pic.cycle_balance(id), before);
    assert_eq!(pic.cycles_burned(id), 0);
}

#[test]
fn should_reject_calls_from_other_canisters_to_a_frozen_one() {
    let (mut pic, callee) = setup();
    let caller = install(&mut pic, common::caller_wasm());
    let settings = CanisterSettings {
        freezing_threshold: Some(Nat::from(u64::MAX / 2)),
        ..Default::default()
    };
    pic.update_canister_settings(callee, None, settings)
        .unwrap();
    let reply = common::forward(&mut pic, caller, callee, "echo", b"z").unwrap();
    let (code, message) = common::as_reject(&reply);
    assert_eq!(code, RejectCode::SysTransient as u8);
    assert!(message.contains("out of cycles"), "{message}");
}

#[test]
fn should_charge_nothing_on_the_system_subnet() {
    let mut pic = PocketIc::new();
    // Governance's well-known id, in the NNS subnet's range.
    let system = Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap();
    pic.create_canister_with_id(None, None, system).unwrap();
    pic.install_canister(system, wat::parse_str(CALLEE).unwrap(), vec![], None);
    let application = install(&mut pic, wat::parse_str(CALLEE).unwrap());
    assert!(ic_runtime::on_system_subnet(&system));
    assert!(!ic_runtime::on_system_subnet(&application));
    pic.set_cycle_charging(true);
    let balance = pic.cycle_balance(system);
    for id in [system, application] {
        pic.update_call(id, Principal::anonymous(), "echo", b"ab".to_vec())
            .unwrap();
    }
    pic.advance_time(Duration::from_secs(24 * 60 * 60));
    pic.tick();
    assert_eq!(pic.cycle_balance(system), balance);
    assert_eq!(pic.cycles_burned(system), 0);
    assert!(pic.cycles_burned(application) > 0);
}

#[test]
fn should_take_the_creation_fee_from_the_cycles_attached() {
    let (mut pic, _) = setup();
    let caller = install(&mut pic, wat::parse_str(CALLER).unwrap());
    let management = Principal::management_canister();
    let args =
        candid::encode_one(ic_management_canister_types::CreateCanisterArgs::default()).unwrap();
    let attached = fees::CANISTER_CREATION + 100_000_000_000;
    let create = |cycles: u128| {
        forward_arg(
            management,
            "create_canister",
            &args,
            cycles as u64,
            ON_REPLY,
        )
    };

    let reply = pic
        .update_call(caller, Principal::anonymous(), "forward", create(attached))
        .unwrap();
    let (created,): (ic_management_canister_types::CanisterIdRecord,) =
        candid::decode_args(&reply).unwrap();
    let id = created.canister_id;
    assert_eq!(pic.cycle_balance(id), attached - fees::CANISTER_CREATION);
    assert_eq!(pic.cycles_burned(id), fees::CANISTER_CREATION);

    // Too few cycles for the fee: refused, and every cycle comes back.
    let too_few = fees::CANISTER_CREATION - 1;
    let reply = pic
        .update_call(caller, Principal::anonymous(), "forward", create(too_few))
        .unwrap();
    let (code, message) = as_reject(&reply);
    assert_eq!(code, RejectCode::CanisterError as u8);
    assert!(message.contains("requires a fee of"), "{message}");
    assert_eq!(caller_state(&mut pic, caller).2, too_few, "refunded");
}
