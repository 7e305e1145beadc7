//! The management canister, called by canisters and by users.

mod common;

use candid::{Decode, Encode, Nat, Principal};
use common::*;
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterSettings, CanisterStatusResult,
    CanisterStatusType, CreateCanisterArgs, InstallCodeArgs,
    ProvisionalCreateCanisterWithCyclesArgs, UninstallCodeArgs,
};
use ic_runtime::{BlobCompression, ErrorCode, PocketIc, RejectCode};
use sha2::{Digest, Sha256};

const MANAGEMENT: Principal = Principal::management_canister();

/// `caller.forward(aaaaa-aa.method(arg))` with `cycles` attached.
fn manage(
    pic: &mut PocketIc,
    caller: Principal,
    method: &str,
    arg: Vec<u8>,
    cycles: u64,
) -> Vec<u8> {
    let arg = forward_arg(MANAGEMENT, method, &arg, cycles, ON_REPLY);
    pic.update_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap()
}

fn install_code_arg(canister_id: Principal, mode: CanisterInstallMode) -> Vec<u8> {
    Encode!(&InstallCodeArgs {
        mode,
        canister_id,
        wasm_module: callee_wasm(),
        arg: vec![],
        sender_canister_version: None,
    })
    .unwrap()
}

#[test]
fn should_create_and_install_a_canister_from_a_canister() {
    let mut pic = PocketIc::new();
    let creator = install(&mut pic, caller_wasm());
    let balance = pic.cycle_balance(creator);
    let create = Encode!(&CreateCanisterArgs::default()).unwrap();
    let reply = manage(
        &mut pic,
        creator,
        "create_canister",
        create,
        2_000_000_000_000,
    );
    let created = Decode!(&reply, CanisterIdRecord).unwrap().canister_id;
    assert_eq!(pic.get_controllers(created), [creator]);
    assert_eq!(pic.cycle_balance(created), 2_000_000_000_000);
    assert_eq!(pic.cycle_balance(creator), balance - 2_000_000_000_000);

    let install = install_code_arg(created, CanisterInstallMode::Install);
    let reply = manage(&mut pic, creator, "install_code", install, 0);
    Decode!(&reply).unwrap();
    let echoed = pic
        .update_call(created, Principal::anonymous(), "echo", b"hi".to_vec())
        .unwrap();
    assert_eq!(echoed, b"hi");

    let status = manage(
        &mut pic,
        creator,
        "canister_status",
        Encode!(&CanisterIdRecord {
            canister_id: created
        })
        .unwrap(),
        0,
    );
    let status = Decode!(&status, CanisterStatusResult).unwrap();
    assert_eq!(status.status, CanisterStatusType::Running);
    assert_eq!(
        status.module_hash,
        Some(Sha256::digest(callee_wasm()).to_vec())
    );
    assert_eq!(status.settings.controllers, [creator]);
    assert_eq!(status.cycles, Nat::from(2_000_000_000_000u64));

    // Installing again is refused; an upgrade starts from a fresh heap.
    let again = install_code_arg(created, CanisterInstallMode::Install);
    let (code, message) = as_reject(&manage(&mut pic, creator, "install_code", again, 0));
    assert_eq!(code, RejectCode::CanisterError as u8);
    assert!(message.contains("not empty"), "{message}");
    let upgrade = install_code_arg(created, CanisterInstallMode::Upgrade(None));
    Decode!(&manage(&mut pic, creator, "install_code", upgrade, 0)).unwrap();
    let count = pic
        .query_call(created, Principal::anonymous(), "count", vec![])
        .unwrap();
    assert_eq!(count, [0, 0, 0, 0]);
}

#[test]
fn should_refuse_install_code_and_status_to_non_controllers() {
    let mut pic = PocketIc::new();
    let stranger = install(&mut pic, caller_wasm());
    let target = pic.create_canister();
    let install = install_code_arg(target, CanisterInstallMode::Install);
    let (code, message) = as_reject(&manage(&mut pic, stranger, "install_code", install, 0));
    assert_eq!(code, RejectCode::CanisterError as u8);
    assert!(message.contains("Only controllers"), "{message}");
    let error = pic
        .update_call(
            MANAGEMENT,
            Principal::from_slice(&[7; 29]),
            "install_code",
            install_code_arg(target, CanisterInstallMode::Install),
        )
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterInvalidController);
    let error = pic
        .canister_status(target, Some(Principal::from_slice(&[7; 29])))
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterInvalidController);
    assert!(
        pic.canister_status(target, None)
            .unwrap()
            .module_hash
            .is_none()
    );
}

#[test]
fn should_create_a_canister_with_cycles_at_a_specified_id_once() {
    let mut pic = PocketIc::new();
    let wanted = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 42, 1, 1]);
    let arg = Encode!(&ProvisionalCreateCanisterWithCyclesArgs {
        amount: Some(Nat::from(7_000u64)),
        specified_id: Some(wanted),
        ..Default::default()
    })
    .unwrap();
    let sender = Principal::from_slice(&[3; 29]);
    let reply = pic
        .update_call(
            MANAGEMENT,
            sender,
            "provisional_create_canister_with_cycles",
            arg.clone(),
        )
        .unwrap();
    assert_eq!(
        Decode!(&reply, CanisterIdRecord).unwrap().canister_id,
        wanted
    );
    assert_eq!(pic.cycle_balance(wanted), 7_000);
    assert_eq!(pic.get_controllers(wanted), [sender]);
    let error = pic
        .update_call(
            MANAGEMENT,
            sender,
            "provisional_create_canister_with_cycles",
            arg,
        )
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterIdAlreadyExists);
}

#[test]
fn should_deposit_attached_cycles_and_draw_reproducible_randomness() {
    let mut pic = PocketIc::new();
    let caller = install(&mut pic, caller_wasm());
    let target = pic.create_canister();
    let (caller_before, target_before) = (pic.cycle_balance(caller), pic.cycle_balance(target));
    let arg = Encode!(&CanisterIdRecord {
        canister_id: target
    })
    .unwrap();
    Decode!(&manage(&mut pic, caller, "deposit_cycles", arg, 12_345)).unwrap();
    assert_eq!(pic.cycle_balance(target), target_before + 12_345);
    assert_eq!(pic.cycle_balance(caller), caller_before - 12_345);
    assert_eq!(caller_state(&mut pic, caller).2, 0, "nothing refunded");

    let draw = |pic: &mut PocketIc, caller| {
        let reply = manage(pic, caller, "raw_rand", Encode!().unwrap(), 0);
        Decode!(&reply, Vec<u8>).unwrap()
    };
    let first = draw(&mut pic, caller);
    let second = draw(&mut pic, caller);
    assert_eq!(first.len(), 32);
    assert_ne!(first, second);
    let mut other = PocketIc::new();
    let other_caller = install(&mut other, caller_wasm());
    assert_eq!(
        draw(&mut other, other_caller),
        first,
        "same seed, same bytes"
    );
    let error = pic
        .update_call(
            MANAGEMENT,
            Principal::anonymous(),
            "raw_rand",
            Encode!().unwrap(),
        )
        .unwrap_err();
    assert_eq!(error.reject_code, RejectCode::CanisterReject);
}

#[test]
fn should_stop_start_update_and_delete_canisters_for_their_controllers() {
    let mut pic = PocketIc::new();
    let id = install(&mut pic, callee_wasm());
    let version = pic.canister_status(id, None).unwrap().version;
    pic.stop_canister(id, None).unwrap();
    let status = pic.canister_status(id, None).unwrap();
    assert_eq!(status.status, CanisterStatusType::Stopped);
    assert!(status.version > version);
    let error = pic
        .update_call(id, Principal::anonymous(), "echo", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterStopped);
    pic.start_canister(id, None).unwrap();
    pic.update_call(id, Principal::anonymous(), "echo", vec![])
        .unwrap();

    let owner = Principal::from_slice(&[5; 29]);
    pic.update_canister_settings(
        id,
        None,
        CanisterSettings {
            controllers: Some(vec![owner]),
            freezing_threshold: Some(Nat::from(60u8)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(pic.get_controllers(id), [owner]);
    let settings = pic.canister_status(id, Some(owner)).unwrap().settings;
    assert_eq!(settings.freezing_threshold, Nat::from(60u8));
    let error = pic.stop_canister(id, None).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterInvalidController);

    let error = pic.delete_canister(id, Some(owner)).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterNotStopped);
    pic.stop_canister(id, Some(owner)).unwrap();
    pic.delete_canister(id, Some(owner)).unwrap();
    assert!(!pic.canister_exists(id));
    let error = pic
        .update_call(MANAGEMENT, owner, "no_such_method", Encode!().unwrap())
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::UnknownManagementMessage);
}

#[test]
fn should_uninstall_code_and_reject_the_open_call_contexts() {
    let mut pic = PocketIc::new();
    let caller = install(&mut pic, caller_wasm());
    let callee = install(&mut pic, callee_wasm());
    pic.set_stable_memory(caller, vec![7; 100], BlobCompression::NoCompression);
    assert_eq!(
        pic.get_stable_memory(caller)[..101],
        [[7; 100].as_slice(), &[0]].concat()
    );
    let balance = pic.cycle_balance(caller);

    // The caller's call to the callee is out: its call context is open.
    // The callee accepts none of the cycles attached.
    let arg = forward_arg(callee, "echo", b"late", 5_000, ON_REPLY);
    let message = pic
        .submit_call(caller, Principal::anonymous(), "forward", arg)
        .unwrap();
    pic.tick();
    assert_eq!(pic.ingress_status(message.clone()), None);

    let stranger = Principal::from_slice(&[9, 9, 9]);
    let refused = pic.uninstall_canister(caller, Some(stranger)).unwrap_err();
    assert_eq!(refused.error_code, ErrorCode::CanisterInvalidController);
    pic.uninstall_canister(caller, None).unwrap();
    let reject = pic.await_call(message).unwrap_err();
    assert_eq!(reject.reject_code, RejectCode::CanisterReject);
    assert!(reject.reject_message.contains("uninstalled"), "{reject:?}");
    // The callee's answer arrives to no callback; its refund still does.
    pic.tick();
    pic.tick();
    assert!(pic.get_stable_memory(caller).is_empty());
    assert_eq!(pic.cycle_balance(caller), balance);
    assert_eq!(pic.get_controllers(caller), [Principal::anonymous()]);
    let error = pic
        .update_call(caller, Principal::anonymous(), "forward", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterWasmModuleNotFound);
    // Empty again, it takes a fresh install.
    pic.install_canister(caller, caller_wasm(), vec![], None);
    assert_eq!(caller_state(&mut pic, caller), (0, 0, 0));

    // A canister uninstalls the code of one it controls.
    let create = Encode!(&CreateCanisterArgs::default()).unwrap();
    let reply = manage(&mut pic, caller, "create_canister", create, 1_000_000);
    let child = Decode!(&reply, CanisterIdRecord).unwrap().canister_id;
    let install = install_code_arg(child, CanisterInstallMode::Install);
    manage(&mut pic, caller, "install_code", install, 0);
    let uninstall = Encode!(&UninstallCodeArgs {
        canister_id: child,
        sender_canister_version: None,
    })
    .unwrap();
    Decode!(&manage(&mut pic, caller, "uninstall_code", uninstall, 0)).unwrap();
    let error = pic
        .update_call(child, Principal::anonymous(), "echo", vec![])
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterWasmModuleNotFound);
}

/// The creator's subnet's management canister creates on that subnet; an
/// NNS canister may address another subnet's by its id, an application
/// canister may not.
#[test]
fn should_create_canisters_on_the_subnet_the_call_addresses() {
    let mut pic = PocketIc::new();
    let topology = pic.topology();
    let (nns, ii) = (topology.get_nns().unwrap(), topology.get_ii().unwrap());
    let app = topology.get_app_subnets()[0];
    let create = Encode!(&CreateCanisterArgs::default()).unwrap();
    let created = |reply: &[u8]| Decode!(reply, CanisterIdRecord).unwrap().canister_id;

    // An application canister's aaaaa-aa: its own subnet.
    let on_app = install(&mut pic, caller_wasm());
    assert_eq!(pic.get_subnet(on_app), Some(app));
    let reply = manage(&mut pic, on_app, "create_canister", create.clone(), 1 << 40);
    assert_eq!(pic.get_subnet(created(&reply)), Some(app));
    // ...and not another subnet's.
    let arg = forward_arg(ii, "create_canister", &create, 1 << 40, ON_REPLY);
    let reply = pic
        .update_call(on_app, Principal::anonymous(), "forward", arg)
        .unwrap();
    let (code, message) = as_reject(&reply);
    assert_eq!(code, RejectCode::CanisterReject as u8);
    assert!(message.contains("Only NNS canisters"), "{message}");

    // An NNS canister (the CMC's well-known id) addresses the II subnet.
    let cmc = Principal::from_text("rkp4c-7iaaa-aaaaa-aaaca-cai").unwrap();
    pic.create_canister_with_id(None, None, cmc).unwrap();
    pic.install_canister(cmc, caller_wasm(), vec![], None);
    assert_eq!(pic.get_subnet(cmc), Some(nns));
    let arg = forward_arg(ii, "create_canister", &create, 1 << 40, ON_REPLY);
    let reply = pic
        .update_call(cmc, Principal::anonymous(), "forward", arg)
        .unwrap();
    assert_eq!(pic.get_subnet(created(&reply)), Some(ii));
    // Its own aaaaa-aa creates on the application subnet (see the README).
    let reply = manage(&mut pic, cmc, "create_canister", create, 1 << 40);
    assert_eq!(pic.get_subnet(created(&reply)), Some(app));
}
