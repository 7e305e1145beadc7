//! What `scripts/dfx-deploy.sh` leaves behind, on both backends: the script's
//! steps (`dfx deploy` with dfx.json's arguments at the well-known ids, then
//! governance made a controller and the identity funded) performed on the
//! test backend, as dfx performs them, and the system then usable at once:
//! the anonymous principal (Candid UI) transfers ICP, the identity stakes a
//! neuron, proposes and votes; and the README's reinstall and upgrade with
//! other arguments work.

use candid::{Encode, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError};
use integration_tests::env::{Backend, TestEnv, query_candid, update_candid_as};
use integration_tests::nns::{NnsEnv, request};
use integration_tests::{
    dfx_init_arg, encode_init_args, on_both_backends, repo_root, wasm_gz_path,
};
use nns_api::governance::{
    MakeProposalRequest, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, Motion, ProposalActionRequest, ProposalId, RegisterVote,
    Vote,
};
use nns_api::ids::{
    CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
    INDEX_CANISTER_ID, LEDGER_CANISTER_ID,
};

on_both_backends!(should_leave_a_deployment_usable_at_once);

const E8S: u64 = 100_000_000;

fn script() -> String {
    std::fs::read_to_string(repo_root().join("scripts/dfx-deploy.sh")).unwrap()
}

/// A shell variable's value as the script sets it (`NAME=value` or
/// `NAME=(a b c)`).
fn script_value(name: &str) -> String {
    let line = script()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string))
        .unwrap_or_else(|| panic!("scripts/dfx-deploy.sh sets {name}"));
    line.trim_matches(['(', ')']).to_string()
}

/// `dfx deploy`: each canister created by the identity at its id (dfx.json's
/// `specified_id`) and installed with dfx.json's `init_arg`.
fn dfx_deploy(env: &mut TestEnv, identity: Principal) {
    for (name, id) in [
        ("ledger", LEDGER_CANISTER_ID),
        ("index", INDEX_CANISTER_ID),
        ("governance", GOVERNANCE_CANISTER_ID),
        ("cmc", CYCLES_MINTING_CANISTER_ID),
        ("cycles-ledger", CYCLES_LEDGER_CANISTER_ID),
    ] {
        env.create_canister_with_id(Some(identity), None, id)
            .unwrap();
        let wasm = std::fs::read(wasm_gz_path(name)).unwrap();
        env.install_canister(id, wasm, dfx_init_arg(name), Some(identity));
    }
}

/// `dfx canister update-settings <canister> --add-controller <principal>`.
fn add_controller(env: &mut TestEnv, identity: Principal, canister: Principal, new: Principal) {
    let mut controllers = env.get_controllers(canister);
    controllers.push(new);
    let args = ic_management_canister_types::UpdateSettingsArgs {
        canister_id: canister,
        settings: ic_management_canister_types::CanisterSettings {
            controllers: Some(controllers),
            ..Default::default()
        },
        sender_canister_version: None,
    };
    env.update_call(
        Principal::management_canister(),
        identity,
        "update_settings",
        Encode!(&args).unwrap(),
    )
    .unwrap();
}

fn icrc1_transfer(
    env: &mut TestEnv,
    from: Principal,
    to: Principal,
    e8s: u64,
) -> Result<Nat, TransferError> {
    let arg = TransferArg {
        from_subaccount: None,
        to: Account::from(to),
        fee: None,
        created_at_time: None,
        memo: None,
        amount: Nat::from(e8s),
    };
    let (r,): (Result<Nat, TransferError>,) =
        update_candid_as(env, LEDGER_CANISTER_ID, from, "icrc1_transfer", (arg,)).unwrap();
    r
}

fn balance(env: &mut TestEnv, owner: Principal) -> u64 {
    let (n,): (Nat,) = query_candid(
        env,
        LEDGER_CANISTER_ID,
        "icrc1_balance_of",
        (Account::from(owner),),
    )
    .unwrap();
    u64::try_from(n.0).unwrap()
}

fn should_leave_a_deployment_usable_at_once(backend: Backend) {
    let identity = Principal::self_authenticating([0x1d; 32]);
    let mut env = TestEnv::new(backend);
    dfx_deploy(&mut env, identity);

    // The script's steps.
    let governed: Vec<String> = script_value("GOVERNED")
        .split(' ')
        .map(str::to_string)
        .collect();
    assert_eq!(governed, ["ledger", "cmc", "index", "cycles-ledger"]);
    let governance = Principal::from_text(script_value("GOVERNANCE")).unwrap();
    assert_eq!(governance, GOVERNANCE_CANISTER_ID);
    for name in &governed {
        let id = match name.as_str() {
            "ledger" => LEDGER_CANISTER_ID,
            "cmc" => CYCLES_MINTING_CANISTER_ID,
            "index" => INDEX_CANISTER_ID,
            _ => CYCLES_LEDGER_CANISTER_ID,
        };
        add_controller(&mut env, identity, id, governance);
        assert!(
            env.get_controllers(id).contains(&GOVERNANCE_CANISTER_ID),
            "{name}"
        );
    }
    let funded: u64 = script_value("IDENTITY_ICP_E8S")
        .replace('_', "")
        .parse()
        .unwrap();
    assert!(script().contains("--identity anonymous ledger icrc1_transfer"));
    icrc1_transfer(&mut env, Principal::anonymous(), identity, funded).unwrap();

    // Usable at once: Candid UI (anonymous) sends ICP; the identity holds 10 000.
    assert_eq!(balance(&mut env, identity), 10_000 * E8S);
    let friend = Principal::self_authenticating([0x2e; 32]);
    icrc1_transfer(&mut env, Principal::anonymous(), friend, 1_000 * E8S).unwrap();
    assert_eq!(
        balance(&mut env, Principal::anonymous()),
        1_000_000 * E8S - funded - 1_000 * E8S - 2 * 10_000
    );

    // The identity stakes a neuron, proposes a motion, and a friend votes.
    let mut nns = NnsEnv { pic: env };
    let mine = nns.locked_neuron(identity, 1, 100 * E8S);
    let theirs = nns.locked_neuron(friend, 1, 50 * E8S);
    let motion = MakeProposalRequest {
        url: String::new(),
        title: Some("Local motion".into()),
        action: Some(ProposalActionRequest::Motion(Motion {
            motion_text: "Deployed with dfx".into(),
        })),
        summary: "A motion on the local NNS.".into(),
    };
    let Ok(Reply::MakeProposal(made)) = nns.manage_as(
        identity,
        request(Some(mine), Command::MakeProposal(Box::new(motion))),
    ) else {
        panic!("the identity proposes");
    };
    let proposal: ProposalId = made.proposal_id.unwrap();
    let vote = Command::RegisterVote(RegisterVote {
        vote: Vote::Yes as i32,
        proposal: Some(proposal),
    });
    assert!(matches!(
        nns.manage_as(friend, request(Some(theirs), vote)),
        Ok(Reply::RegisterVote(_))
    ));

    // The README's other arguments: a reinstall with Init, an upgrade with Upgrade.
    let mut env = nns.pic;
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let argument = |mode: &str| -> String {
        let start = readme
            .find(&format!("dfx deploy ledger {mode}--argument '"))
            .unwrap_or_else(|| panic!("the README shows `dfx deploy ledger {mode}--argument`"));
        let text = &readme[start..];
        let text = &text[text.find('\'').unwrap() + 1..];
        text[..text.find('\'').unwrap()].to_string()
    };
    let wasm = std::fs::read(wasm_gz_path("ledger")).unwrap();
    let reinstall = encode_init_args("ledger", &argument("--mode reinstall --yes ")).unwrap();
    env.reinstall_canister(LEDGER_CANISTER_ID, wasm.clone(), reinstall, Some(identity))
        .unwrap();
    let (symbol,): (String,) =
        query_candid(&mut env, LEDGER_CANISTER_ID, "icrc1_symbol", ()).unwrap();
    assert_eq!(symbol, "LICP");
    let upgrade = encode_init_args("ledger", &argument("")).unwrap();
    env.upgrade_canister(LEDGER_CANISTER_ID, wasm, upgrade, Some(identity))
        .unwrap();
    #[derive(candid::CandidType, serde::Deserialize)]
    struct Standard {
        name: String,
    }
    let (standards,): (Vec<Standard>,) = query_candid(
        &mut env,
        LEDGER_CANISTER_ID,
        "icrc1_supported_standards",
        (),
    )
    .unwrap();
    let names: Vec<String> = standards.into_iter().map(|s| s.name).collect();
    assert!(
        !names.contains(&"ICRC-2".to_string()),
        "ICRC-2 is off: {names:?}"
    );
    assert_eq!(symbol, "LICP");
}
