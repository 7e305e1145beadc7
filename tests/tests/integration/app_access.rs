//! The app canister's `work` burns its cycles: only its controllers may
//! call it. Ingress from anyone else is turned away before it runs (it
//! costs the app nothing); a call from another canister traps.

use candid::{Encode, Principal, Reserved};
use integration_tests::env::{Backend, ErrorCode, RejectResponse, TestEnv, update_candid_as};
use integration_tests::{on_both_backends, wasm_gz_path};

on_both_backends!(should_let_only_controllers_call_work);

fn work(env: &mut TestEnv, app: Principal, caller: Principal) -> Result<(), RejectResponse> {
    update_candid_as::<_, (Reserved,)>(env, app, caller, "work", (10u32,)).map(|_| ())
}

fn should_let_only_controllers_call_work(backend: Backend) {
    let mut env = TestEnv::new(backend);
    let developer = Principal::from_slice(&[7, 0xa9, 1]);
    let stranger = Principal::from_slice(&[8, 0xa9, 1]);
    let app = env.create_canister_with_settings(
        None,
        Some(ic_management_canister_types::CanisterSettings {
            controllers: Some(vec![developer, Principal::anonymous()]),
            ..Default::default()
        }),
    );
    let wasm = std::fs::read(wasm_gz_path("app")).unwrap();
    env.install_canister(app, wasm, Encode!().unwrap(), None);
    // As on an application subnet: every message the app takes costs it.
    env.charge_application_canisters();
    for caller in [developer, Principal::anonymous()] {
        work(&mut env, app, caller).unwrap_or_else(|e| panic!("{caller} controls the app: {e}"));
    }
    let cycles = env.cycle_balance(app);
    let refused = work(&mut env, app, stranger).unwrap_err();
    assert!(
        refused.error_code == ErrorCode::CanisterRejectedMessage
            || refused.reject_message.contains("controller"),
        "{refused:?}"
    );
    assert_eq!(env.cycle_balance(app), cycles, "the stranger cost nothing");
}
