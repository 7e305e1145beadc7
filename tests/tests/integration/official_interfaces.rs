//! Each canister's interface against the official one of the real canister,
//! as DFINITY publishes it in the npm package `@icp-sdk/canisters`
//! (installed into tests/js by the test command): ours must be a subtype of
//! theirs, without Candid's special rule for `opt` fields (which lets a
//! mismatch pass as `null`), so that every client written against the real
//! canister calls every method of ours and decodes every reply.

use candid::types::subtype::{OptReport, subtype_with_config};
use candid_parser::utils::CandidSource;
use integration_tests::repo_root;
use std::path::PathBuf;

fn official(path: &str) -> Option<PathBuf> {
    let path = repo_root()
        .join("tests/js/node_modules/@icp-sdk/canisters/declarations")
        .join(path);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is missing; run `npm ci --prefix tests/js`",
            path.display()
        );
        None
    }
}

/// Ours (`candid/<canister>.did`) <: theirs, both as services with their
/// init arguments dropped (an install argument is the deployer's business).
fn assert_strict_subtype(canister: &str, official_path: &str) {
    let Some(theirs) = official(official_path) else {
        return;
    };
    let ours = repo_root().join(format!("candid/{canister}.did"));
    let (mut env, ours_type) = CandidSource::File(&ours).load().unwrap();
    let (their_env, their_type) = CandidSource::File(&theirs).load().unwrap();
    let service = |t: candid::types::Type| match t.as_ref() {
        candid::types::TypeInner::Class(_, service) => service.clone(),
        _ => t,
    };
    let ours_type = service(ours_type.expect("a service"));
    let their_type = env.merge_type(their_env, service(their_type.expect("a service")));
    let mut gamma = std::collections::HashSet::new();
    if let Err(e) = subtype_with_config(OptReport::Error, &mut gamma, &env, &ours_type, &their_type)
    {
        panic!(
            "candid/{canister}.did is not a strict subtype of the official {official_path}: {e}"
        );
    }
}

#[test]
fn the_ledger_is_a_drop_in_for_the_official_icp_ledger_interface() {
    assert_strict_subtype("ledger", "ledger-icp/ledger.did");
}

#[test]
fn the_index_is_a_drop_in_for_the_official_icp_index_interface() {
    assert_strict_subtype("index", "ledger-icp/index.did");
}

#[test]
fn the_cycles_ledger_is_a_drop_in_for_the_official_cycles_ledger_interface() {
    assert_strict_subtype("cycles-ledger", "cycles-ledger/cycles-ledger.did");
}

#[test]
fn the_sale_is_a_drop_in_for_the_sns_swap_clients() {
    assert_methods_strict_subtypes("swap", "sns/swap.did", &[]);
}

#[test]
fn a_project_token_ledger_is_a_drop_in_for_the_official_icrc_ledger_interface() {
    assert_methods_strict_subtypes("token-ledger", "ledger-icrc/icrc_ledger.did", &[]);
}

#[test]
fn the_cmc_is_a_drop_in_for_the_official_cmc_interface() {
    assert_strict_subtype("cmc", "cmc/cmc.did");
}

/// Method by method: each method ours offers that the official interface
/// has is a strict subtype of it (ours may offer fewer methods, and
/// methods of its own). Every mismatch is reported, not only the first.
fn assert_methods_strict_subtypes(canister: &str, official_path: &str, own: &[&str]) {
    let Some(theirs) = official(official_path) else {
        return;
    };
    let ours = repo_root().join(format!("candid/{canister}.did"));
    let (mut env, ours_type) = CandidSource::File(&ours).load().unwrap();
    let (their_env, their_type) = CandidSource::File(&theirs).load().unwrap();
    let methods = |env: &candid::TypeEnv, t: candid::types::Type| {
        let t = match t.as_ref() {
            candid::types::TypeInner::Class(_, service) => service.clone(),
            _ => t,
        };
        match env.trace_type(&t).unwrap().as_ref() {
            candid::types::TypeInner::Service(methods) => methods.clone(),
            other => panic!("not a service: {other:?}"),
        }
    };
    let ours_methods = methods(&env, ours_type.expect("a service"));
    let their_methods = methods(&their_env, their_type.expect("a service"));
    let mut failures = vec![];
    for (name, our_method) in &ours_methods {
        let Some((_, their_method)) = their_methods.iter().find(|(n, _)| n == name) else {
            assert!(
                own.contains(&name.as_str()),
                "{name} is neither official nor listed as our own"
            );
            continue;
        };
        let their_method = env.merge_type(their_env.clone(), their_method.clone());
        let mut gamma = std::collections::HashSet::new();
        if let Err(e) = subtype_with_config(
            OptReport::Error,
            &mut gamma,
            &env,
            our_method,
            &their_method,
        ) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "candid/{canister}.did differs from the official {official_path}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn governance_is_a_drop_in_for_the_official_nns_governance_interface() {
    assert_methods_strict_subtypes(
        "governance",
        "nns/governance.did",
        &["http_request", "list_deployed_snses"],
    );
}
