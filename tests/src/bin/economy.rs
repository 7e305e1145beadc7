//! The main job: boots the three canisters on the local runtime at their
//! well-known ids, wired as on the NNS, and reports the state of the economy
//! as the canisters themselves answer it.

use candid::Nat;
use ic_runtime::{PocketIc, query_candid};
use integration_tests::env::{Backend, TestEnv};
use integration_tests::{CANISTERS, boot_nns, wasm_gz_path};
use nns_api::governance::NetworkEconomics;
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};

fn nat(pic: &mut PocketIc, method: &str) -> Nat {
    let (n,): (Nat,) = query_candid(pic, LEDGER_CANISTER_ID, method, ()).expect(method);
    n
}

fn main() {
    let mut env = TestEnv::new(Backend::Runtime);
    boot_nns(&mut env);
    // The runtime itself: it counts the cycles burned.
    let mut pic = env.into_runtime();

    println!("\nCanisters on the local runtime");
    println!("{:<12} {:<30} {:>10}", "canister", "id", "wasm.gz");
    for (name, id) in CANISTERS.iter().zip([
        LEDGER_CANISTER_ID,
        CYCLES_MINTING_CANISTER_ID,
        GOVERNANCE_CANISTER_ID,
    ]) {
        let bytes = std::fs::metadata(wasm_gz_path(name)).map_or(0, |m| m.len());
        println!("{name:<12} {:<30} {bytes:>10}", id.to_text());
    }

    let (symbol,): (String,) =
        query_candid(&mut pic, LEDGER_CANISTER_ID, "icrc1_symbol", ()).expect("icrc1_symbol");
    let (economics,): (NetworkEconomics,) = query_candid(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        "get_network_economics_parameters",
        (),
    )
    .expect("get_network_economics_parameters");
    println!("\nEconomy at genesis");
    println!(
        "{:<32} {} {symbol}",
        "total supply (e8s)",
        nat(&mut pic, "icrc1_total_supply")
    );
    println!(
        "{:<32} {}",
        "transfer fee (e8s)",
        nat(&mut pic, "icrc1_fee")
    );
    println!(
        "{:<32} {}",
        "neuron minimum stake (e8s)", economics.neuron_minimum_stake_e8s
    );
    println!(
        "{:<32} {}",
        "proposal reject cost (e8s)", economics.reject_cost_e8s
    );
    println!(
        "{:<32} {}",
        "cycles burned so far",
        pic.total_cycles_burned()
    );
}
