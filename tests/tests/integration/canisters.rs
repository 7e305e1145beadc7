//! The built canisters, installed at their well-known ids with the init
//! arguments of `dfx.json`, answer as the NNS's would, on both backends.

use candid::{Encode, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use integration_tests::env::{Backend, ErrorCode, RejectCode, TestEnv, query_candid};
use integration_tests::{boot_nns, dfx_init_arg, encode_init_args, on_both_backends, wasm_gz_path};
use nns_api::governance::NetworkEconomics;
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{LedgerArg, Tokens, TransferFee, TransferFeeArg, UpgradeArgs};

on_both_backends!(
    should_answer_ledger_metadata_as_configured,
    should_serve_governance_economics_and_cmc_metadata,
    should_keep_configuration_in_stable_memory_across_upgrades,
    should_refuse_an_upgrade_with_an_init_argument_and_keep_the_canister,
    should_reject_bad_install_arguments_and_leave_the_canister_empty,
    should_answer_unknown_methods_missing_canisters_and_strangers_with_ic_errors,
    should_run_the_app_keep_its_log_across_upgrades_and_uninstall_it,
);

fn wasm(canister: &str) -> Vec<u8> {
    std::fs::read(wasm_gz_path(canister)).expect("scripts/build-canisters.sh has run")
}

fn setup(backend: Backend) -> TestEnv {
    let mut pic = TestEnv::new(backend);
    boot_nns(&mut pic);
    pic
}

fn should_answer_ledger_metadata_as_configured(backend: Backend) {
    let mut pic = setup(backend);
    let (symbol,): (String,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "icrc1_symbol", ()).unwrap();
    assert_eq!(symbol, "ICP");
    let (fee,): (Nat,) = query_candid(&mut pic, LEDGER_CANISTER_ID, "icrc1_fee", ()).unwrap();
    assert_eq!(fee, Nat::from(10_000u64));
    let (minter,): (Option<Account>,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "icrc1_minting_account", ()).unwrap();
    assert_eq!(minter.map(|a| a.owner), Some(GOVERNANCE_CANISTER_ID));
    let (legacy_fee,): (TransferFee,) = query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "transfer_fee",
        (TransferFeeArg {},),
    )
    .unwrap();
    assert_eq!(legacy_fee.transfer_fee, Tokens::from_e8s(10_000));
}

fn should_serve_governance_economics_and_cmc_metadata(backend: Backend) {
    let mut pic = setup(backend);
    let (economics,): (NetworkEconomics,) = query_candid(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        "get_network_economics_parameters",
        (),
    )
    .unwrap();
    assert_eq!(economics, NetworkEconomics::default());
    let (build,): (String,) = query_candid(
        &mut pic,
        CYCLES_MINTING_CANISTER_ID,
        "get_build_metadata",
        (),
    )
    .unwrap();
    assert!(build.starts_with("cmc "), "{build}");
}

fn should_keep_configuration_in_stable_memory_across_upgrades(backend: Backend) {
    let mut pic = setup(backend);
    let upgrade = Encode!(&Some(LedgerArg::Upgrade(Some(UpgradeArgs::default())))).unwrap();
    pic.upgrade_canister(LEDGER_CANISTER_ID, wasm("ledger"), upgrade, None)
        .unwrap();
    let (name,): (String,) = query_candid(&mut pic, LEDGER_CANISTER_ID, "icrc1_name", ()).unwrap();
    assert_eq!(name, "Internet Computer");
    assert!(!pic.get_stable_memory(LEDGER_CANISTER_ID).is_empty());
}

fn should_refuse_an_upgrade_with_an_init_argument_and_keep_the_canister(backend: Backend) {
    let mut pic = setup(backend);
    let error = pic
        .upgrade_canister(
            LEDGER_CANISTER_ID,
            wasm("ledger"),
            dfx_init_arg("ledger"),
            None,
        )
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
    assert!(
        error.reject_message.contains("Upgrade variant"),
        "{}",
        error.reject_message
    );
    let (symbol,): (String,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "icrc1_symbol", ()).unwrap();
    assert_eq!(symbol, "ICP");
}

fn should_reject_bad_install_arguments_and_leave_the_canister_empty(backend: Backend) {
    let mut pic = TestEnv::new(backend);
    let id = pic.create_canister();
    let bad = encode_init_args(
        "ledger",
        r#"(variant { Init = record { minting_account = "00"; initial_values = vec {} } })"#,
    )
    .unwrap();
    let error = pic
        .reinstall_canister(id, wasm("ledger"), bad, None)
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
    assert!(
        error.reject_message.contains("minting_account"),
        "{}",
        error.reject_message
    );
    let error = query_candid::<(), (String,)>(&mut pic, id, "icrc1_symbol", ()).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterWasmModuleNotFound);
    // Malformed Candid is refused the same way.
    let error = pic
        .reinstall_canister(id, wasm("ledger"), b"not candid".to_vec(), None)
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
}

fn should_answer_unknown_methods_missing_canisters_and_strangers_with_ic_errors(backend: Backend) {
    let mut pic = setup(backend);
    let error = pic
        .query_call(
            LEDGER_CANISTER_ID,
            Principal::anonymous(),
            "no_such_method",
            Encode!().unwrap(),
        )
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterMethodNotFound);
    assert_eq!(error.reject_code, RejectCode::CanisterError);
    let missing = Principal::from_slice(&[9; 10]);
    let error = pic
        .update_call(
            missing,
            Principal::anonymous(),
            "icrc1_symbol",
            Encode!().unwrap(),
        )
        .unwrap_err();
    assert_eq!(error.reject_code, RejectCode::DestinationInvalid);
    let stranger = Principal::from_slice(&[7; 29]);
    let error = pic
        .upgrade_canister(LEDGER_CANISTER_ID, wasm("ledger"), vec![], Some(stranger))
        .unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterInvalidController);
    // `http_request` decodes its argument by hand: a malformed one, or one
    // of another type, is a trap naming the method; a good one still answers.
    for canister in [
        LEDGER_CANISTER_ID,
        CYCLES_MINTING_CANISTER_ID,
        GOVERNANCE_CANISTER_ID,
    ] {
        for bad in [
            b"DIDL\x00\x01\x71".to_vec(),
            b"not candid".to_vec(),
            Encode!(&7u64).unwrap(),
        ] {
            let error = pic
                .query_call(canister, Principal::anonymous(), "http_request", bad)
                .unwrap_err();
            assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap, "{error:?}");
            assert!(
                error.reject_message.contains("http_request: Candid"),
                "{error:?}"
            );
        }
        let metrics = integration_tests::metrics(&mut pic, canister);
        assert!(!metrics.is_empty());
    }
}

#[derive(candid::CandidType, candid::Deserialize, Debug, PartialEq)]
struct WorkReceipt {
    call_index: u64,
    digest: serde_bytes::ByteBuf,
    instructions: u64,
}

#[derive(candid::CandidType, candid::Deserialize, Debug, PartialEq)]
struct AppStats {
    calls: u64,
    rounds: u64,
    last_digest: Option<serde_bytes::ByteBuf>,
}

fn should_run_the_app_keep_its_log_across_upgrades_and_uninstall_it(backend: Backend) {
    use sha2::{Digest, Sha256};
    let mut env = TestEnv::new(backend);
    let app = env.create_canister();
    env.install_canister(app, wasm("app"), Encode!().unwrap(), None);
    let work = |env: &mut TestEnv, rounds: u32| {
        integration_tests::env::update_candid::<_, (WorkReceipt,)>(env, app, "work", (rounds,))
            .map(|(r,)| r)
    };
    let stats = |env: &mut TestEnv| {
        let (s,): (AppStats,) = query_candid(env, app, "stats", ()).unwrap();
        s
    };
    // Three rounds of SHA-256 from the zero digest, then two more from there.
    let chain =
        |seed: [u8; 32], n: usize| (0..n).fold(seed, |d, _| <[u8; 32]>::from(Sha256::digest(d)));
    let first = work(&mut env, 3).unwrap();
    assert_eq!(first.call_index, 0);
    assert_eq!(first.digest.as_slice(), chain([0; 32], 3));
    assert!(first.instructions > 0);
    let second = work(&mut env, 2).unwrap();
    assert_eq!(second.digest.as_slice(), chain([0; 32], 5));
    for bad in [0, 1_001] {
        let error = work(&mut env, bad).unwrap_err();
        assert_eq!(error.error_code, ErrorCode::CanisterCalledTrap);
        assert!(
            error
                .reject_message
                .contains("rounds must be between 1 and 1000")
        );
    }
    let expected = AppStats {
        calls: 2,
        rounds: 5,
        last_digest: Some(second.digest.clone()),
    };
    assert_eq!(stats(&mut env), expected);
    env.upgrade_canister(app, wasm("app"), Encode!().unwrap(), None)
        .unwrap();
    assert_eq!(stats(&mut env), expected, "the log is in stable memory");

    env.uninstall_canister(app, None).unwrap();
    let error = work(&mut env, 1).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterWasmModuleNotFound);
    env.install_canister(app, wasm("app"), Encode!().unwrap(), None);
    assert_eq!(stats(&mut env).calls, 0, "uninstalling cleared its memory");
}
