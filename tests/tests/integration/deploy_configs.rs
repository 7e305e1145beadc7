//! `dfx.json` and `icp.yaml` describe what the repository really has: the
//! workspace's canisters, built by the build script, with init arguments of
//! the canisters' init types that wire the three together as on the NNS.

use candid::{Decode, Principal};
use integration_tests::{
    ALL_CANISTERS, APP, NODE_REWARDS, SALE_CANISTERS, did_path, encode_init_args,
    init_args_untyped_and_typed, repo_root, wasm_gz_path,
};
use nns_api::AccountIdentifier;
use nns_api::cmc::CyclesCanisterInitPayload;
use nns_api::cycles_ledger::LedgerArgs;
use nns_api::governance::GovernanceArg;
use nns_api::ids::{
    CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
    INDEX_CANISTER_ID, LEDGER_CANISTER_ID,
};
use nns_api::index::IndexArg;
use nns_api::ledger::LedgerArg;
use std::collections::BTreeMap;

const BUILD_SCRIPT: &str = "scripts/build-canisters.sh";

fn dfx_canisters() -> BTreeMap<String, serde_json::Value> {
    let text = std::fs::read_to_string(repo_root().join("dfx.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(json["canisters"].clone()).unwrap()
}

fn icp_canisters() -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(repo_root().join("icp.yaml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    yaml["canisters"].as_sequence().unwrap().clone()
}

fn workspace_members() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("\"canisters/"))
        .map(|l| l.trim_end_matches("\",").to_string())
        .collect()
}

fn sorted(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut names: Vec<_> = names.into_iter().collect();
    names.sort();
    names
}

fn expected_canisters() -> Vec<String> {
    sorted(ALL_CANISTERS.map(String::from))
}

/// Checks the init argument of each canister: Candid of its init type, and
/// the wiring of the NNS (ledger minting account = governance; the CMC knows
/// ledger, governance and the minting account; governance knows ledger and CMC;
/// the index follows the ledger).
fn check_wiring(init_args: &BTreeMap<String, String>) {
    let governance_account = AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, None);
    for (canister, text) in init_args {
        let bytes = encode_init_args(canister, text)
            .unwrap_or_else(|e| panic!("{canister}: init argument is not of the init type: {e}"));
        match canister.as_str() {
            "ledger" => {
                let LedgerArg::Init(init) = Decode!(&bytes, LedgerArg).unwrap() else {
                    panic!("ledger: install needs the Init variant")
                };
                assert_eq!(init.minting_account, governance_account.to_hex());
                assert_eq!(
                    init.icrc1_minting_account.map(|a| a.owner),
                    Some(GOVERNANCE_CANISTER_ID)
                );
            }
            "cmc" => {
                let payload = Decode!(&bytes, Option<CyclesCanisterInitPayload>)
                    .unwrap()
                    .unwrap();
                assert_eq!(payload.ledger_canister_id, Some(LEDGER_CANISTER_ID));
                assert_eq!(payload.governance_canister_id, Some(GOVERNANCE_CANISTER_ID));
                assert_eq!(
                    payload.cycles_ledger_canister_id,
                    Some(CYCLES_LEDGER_CANISTER_ID)
                );
                assert_eq!(
                    payload.minting_account_id,
                    Some(governance_account.to_hex())
                );
            }
            "governance" => {
                let arg = Decode!(&bytes, GovernanceArg).unwrap();
                assert_eq!(arg.ledger_canister_id, Some(LEDGER_CANISTER_ID));
                assert_eq!(arg.cmc_canister_id, Some(CYCLES_MINTING_CANISTER_ID));
            }
            "index" => {
                let Some(IndexArg::Init(init)) = Decode!(&bytes, Option<IndexArg>).unwrap() else {
                    panic!("index: install needs the Init variant")
                };
                assert_eq!(init.ledger_id, LEDGER_CANISTER_ID);
            }
            "cycles-ledger" => {
                let LedgerArgs::Init(init) = Decode!(&bytes, LedgerArgs).unwrap() else {
                    panic!("cycles-ledger: install needs the Init variant")
                };
                assert!(init.max_blocks_per_request > 0);
            }
            APP => assert!(bytes == candid::encode_args(()).unwrap()),
            other => panic!("unexpected canister {other}"),
        }
    }
}

#[test]
fn should_name_the_workspace_canisters_in_both_configs() {
    // Not deployed by dfx or icp-cli: the shared plumbing, the ledger core
    // and the Neurons' Fund's rules are libraries, and a sale's canisters
    // are made by the NNS proposal that opens the sale; the node-rewards
    // canister is installed with a table by the tests and the simulator.
    let members: Vec<String> = workspace_members()
        .into_iter()
        .filter(|m| {
            !["common", "ledger-core", "neurons-fund"].contains(&m.as_str())
                && !SALE_CANISTERS.contains(&m.as_str())
                && m != NODE_REWARDS
        })
        .collect();
    assert_eq!(sorted(members), expected_canisters());
    assert_eq!(sorted(dfx_canisters().into_keys()), expected_canisters());
    let icp_names = icp_canisters()
        .into_iter()
        .map(|c| c["name"].as_str().unwrap().to_string());
    assert_eq!(sorted(icp_names), expected_canisters());
}

#[test]
fn should_build_dfx_canisters_with_the_build_script_at_the_well_known_ids() {
    let well_known = BTreeMap::from([
        ("ledger", LEDGER_CANISTER_ID),
        ("index", INDEX_CANISTER_ID),
        ("cmc", CYCLES_MINTING_CANISTER_ID),
        ("governance", GOVERNANCE_CANISTER_ID),
        ("cycles-ledger", CYCLES_LEDGER_CANISTER_ID),
    ]);
    let canisters = dfx_canisters();
    for (name, config) in &canisters {
        assert_eq!(config["type"], "custom", "{name}");
        assert_eq!(config["build"], format!("{BUILD_SCRIPT} {name}"), "{name}");
        assert!(repo_root().join(BUILD_SCRIPT).is_file());
        let candid = repo_root().join(config["candid"].as_str().unwrap());
        assert_eq!(candid, did_path(name), "{name}");
        assert!(candid.is_file(), "{name}: {} missing", candid.display());
        assert_eq!(
            repo_root().join(config["wasm"].as_str().unwrap()),
            wasm_gz_path(name)
        );
        match well_known.get(name.as_str()) {
            Some(expected) => {
                let id = config["specified_id"].as_str().unwrap();
                assert_eq!(Principal::from_text(id).unwrap(), *expected, "{name}");
                // On mainnet the NNS's own: `--network ic` creates no copy.
                let remote = config["remote"]["id"]["ic"].as_str().unwrap();
                assert_eq!(Principal::from_text(remote).unwrap(), *expected, "{name}");
            }
            // An application canister takes whatever id the network gives it.
            None => assert!(config.get("specified_id").is_none(), "{name}"),
        }
        for dependency in config["dependencies"].as_array().into_iter().flatten() {
            assert!(
                canisters.contains_key(dependency.as_str().unwrap()),
                "{name}: {dependency}"
            );
        }
    }
}

#[test]
fn should_wire_the_dfx_canisters_together() {
    let init_args = dfx_canisters()
        .into_iter()
        .map(|(name, config)| (name, config["init_arg"].as_str().unwrap().to_string()))
        .collect();
    check_wiring(&init_args);
}

#[test]
fn should_build_icp_cli_canisters_with_the_build_script_and_wire_them() {
    let mut init_args = BTreeMap::new();
    for canister in icp_canisters() {
        let name = canister["name"].as_str().unwrap().to_string();
        let commands: Vec<&str> = canister["build"]["steps"][0]["commands"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(commands[0], format!("{BUILD_SCRIPT} {name}"));
        let wasm = format!("target/canisters/{name}.wasm.gz");
        assert_eq!(commands[1], format!("cp {wasm} \"$ICP_WASM_OUTPUT_PATH\""));
        assert_eq!(repo_root().join(&wasm), wasm_gz_path(&name));
        let text = canister["init_args"].as_str().unwrap().to_string();
        // icp-cli encodes the text without the types: it must mean the same.
        let (untyped, typed) = init_args_untyped_and_typed(&name, &text).unwrap();
        assert_eq!(
            untyped, typed,
            "{name}'s init_args mean something else untyped"
        );
        init_args.insert(name, text);
    }
    check_wiring(&init_args);
}

#[test]
fn should_refuse_init_arguments_of_another_type() {
    assert!(encode_init_args("governance", "(variant { Init = record {} })").is_err());
    assert!(encode_init_args("ledger", "(record {})").is_err());
    assert!(encode_init_args("ledger", "(variant { Upgrade = null })").is_ok());
    assert!(encode_init_args("index", "(record { ledger_id = principal \"aaaaa-aa\" })").is_err());
    assert!(
        encode_init_args(
            "index",
            "(opt variant { Upgrade = record { ledger_id = null; \
             retrieve_blocks_from_ledger_interval_seconds = opt 5 } })"
        )
        .is_ok()
    );
}
