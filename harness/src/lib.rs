//! The NNS canisters on a [`TestEnv`] (the project's runtime or a PocketIC
//! server; see [`env`]): where the repository, its interfaces and the built
//! canister modules are, and the canisters installed as on the NNS. Shared
//! by the integration tests, the economy simulator and the benchmarks.

pub mod candid_cache;
pub mod env;
pub mod nns;

use env::TestEnv;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The NNS canisters, at their well-known ids.
pub const CANISTERS: [&str; 5] = ["ledger", "index", "cmc", "governance", "cycles-ledger"];

/// The application canister that burns cycles doing work (no fixed id).
pub const APP: &str = "app";

/// Every canister of the workspace, as named in `dfx.json`, `icp.yaml`,
/// `candid/` and the build script.
pub const ALL_CANISTERS: [&str; 6] = ["ledger", "index", "cmc", "governance", "cycles-ledger", APP];
/// The canisters of a decentralization sale, installed by the NNS proposal
/// that opens it (not deployed by dfx or icp-cli).
pub const SALE_CANISTERS: [&str; 2] = ["swap", "token-ledger"];
/// The node-rewards canister: its table is mainnet's registry data, so it
/// is installed with a table by the tests and the simulator (not deployed
/// by dfx or icp-cli, nor part of the local network's NNS).
pub const NODE_REWARDS: &str = "node-rewards";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn did_path(canister: &str) -> PathBuf {
    repo_root().join("candid").join(format!("{canister}.did"))
}

pub fn did_text(canister: &str) -> String {
    std::fs::read_to_string(did_path(canister)).unwrap()
}

/// Where `scripts/build-canisters.sh` puts a canister's module.
pub fn wasm_gz_path(canister: &str) -> PathBuf {
    repo_root()
        .join("target/canisters")
        .join(format!("{canister}.wasm.gz"))
}

/// The built module, gunzipped. Panics with what to run if it is missing:
/// the README's test command builds the canisters before running the tests.
pub fn wasm_module(canister: &str) -> Vec<u8> {
    let path = wasm_gz_path(canister);
    let gz = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the canisters with scripts/build-canisters.sh first",
            path.display()
        )
    });
    let mut wasm = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut wasm)
        .unwrap();
    wasm
}

/// The contents of every custom section named `name` in a wasm module.
pub fn custom_sections(wasm: &[u8], name: &str) -> Vec<Vec<u8>> {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(|payload| match payload.expect("a valid wasm module") {
            wasmparser::Payload::CustomSection(section) if section.name() == name => {
                Some(section.data().to_vec())
            }
            _ => None,
        })
        .collect()
}

/// Encodes Candid text `args` against the init types of `canister`'s `.did`,
/// failing when the text does not parse or does not have those types.
pub fn encode_init_args(canister: &str, args: &str) -> Result<Vec<u8>, String> {
    use candid_parser::utils::{CandidSource, instantiate_candid};
    let did = did_text(canister);
    let (init_types, (env, _)) =
        instantiate_candid(CandidSource::Text(&did)).map_err(|e| e.to_string())?;
    let parsed = candid_parser::parse_idl_args(args).map_err(|e| e.to_string())?;
    parsed
        .to_bytes_with_types(&env, &init_types)
        .map_err(|e| e.to_string())
}

/// What `args` decode to as `canister`'s init types when encoded without
/// types, as icp-cli encodes an `init_args` text, next to what they decode
/// to when encoded with them. Unannotated numbers encode as `int`: in an
/// `opt` field of type `opt nat` that decodes as `null`, silently.
pub fn init_args_untyped_and_typed(
    canister: &str,
    args: &str,
) -> Result<(candid_parser::IDLArgs, candid_parser::IDLArgs), String> {
    use candid_parser::utils::{CandidSource, instantiate_candid};
    let did = did_text(canister);
    let (init_types, (env, _)) =
        instantiate_candid(CandidSource::Text(&did)).map_err(|e| e.to_string())?;
    let parsed = candid_parser::parse_idl_args(args).map_err(|e| e.to_string())?;
    let decode = |bytes: Vec<u8>| {
        candid_parser::IDLArgs::from_bytes_with_types(&bytes, &env, &init_types)
            .map_err(|e| e.to_string())
    };
    let untyped = decode(parsed.to_bytes().map_err(|e| e.to_string())?)?;
    let typed = decode(encode_init_args(canister, args)?)?;
    Ok((untyped, typed))
}

/// Settings of a canister governance controls, as on the NNS (the test,
/// calling as the anonymous principal, controls it too).
pub fn nns_controlled() -> ic_management_canister_types::CanisterSettings {
    ic_management_canister_types::CanisterSettings {
        controllers: Some(vec![
            candid::Principal::anonymous(),
            nns_api::ids::GOVERNANCE_CANISTER_ID,
        ]),
        ..Default::default()
    }
}

/// A ledger at its well-known id, as on the NNS (governance is the minting
/// account), holding `initial` balances; its module from the build script.
pub fn install_ledger(
    pic: &mut TestEnv,
    initial: impl IntoIterator<Item = (candid::Principal, u64)>,
) {
    let wasm = std::fs::read(wasm_gz_path("ledger")).expect("scripts/build-canisters.sh has run");
    install_ledger_module(pic, wasm, initial);
}

/// As [`install_ledger`], with the given module (e.g. an older build).
pub fn install_ledger_module(
    pic: &mut TestEnv,
    wasm: Vec<u8>,
    initial: impl IntoIterator<Item = (candid::Principal, u64)>,
) {
    let initial = initial
        .into_iter()
        .map(|(owner, e8s)| (nns_api::AccountIdentifier::new(&owner, None), e8s));
    install_ledger_module_with_accounts(pic, wasm, initial);
}

/// As [`install_ledger`], with balances on any accounts (a neuron's staking
/// account, say).
pub fn install_ledger_with_accounts(
    pic: &mut TestEnv,
    initial: impl IntoIterator<Item = (nns_api::AccountIdentifier, u64)>,
) {
    let wasm = std::fs::read(wasm_gz_path("ledger")).expect("scripts/build-canisters.sh has run");
    install_ledger_module_with_accounts(pic, wasm, initial);
}

fn install_ledger_module_with_accounts(
    pic: &mut TestEnv,
    wasm: Vec<u8>,
    initial: impl IntoIterator<Item = (nns_api::AccountIdentifier, u64)>,
) {
    use icrc_ledger_types::icrc1::account::Account;
    use nns_api::AccountIdentifier;
    use nns_api::ids::{GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
    use nns_api::ledger::{InitArgs, LedgerArg, Tokens};

    let init = InitArgs {
        minting_account: AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, None).to_hex(),
        icrc1_minting_account: Some(Account::from(GOVERNANCE_CANISTER_ID)),
        initial_values: initial
            .into_iter()
            .map(|(account, e8s)| (account.to_hex(), Tokens::from_e8s(e8s)))
            .collect(),
        transaction_window: None,
        transfer_fee: None,
        token_symbol: None,
        token_name: None,
        feature_flags: None,
    };
    pic.create_canister_with_id(None, Some(nns_controlled()), LEDGER_CANISTER_ID)
        .expect("the ledger's id is free");
    let arg = candid::encode_one(LedgerArg::Init(init)).expect("init args encode");
    pic.install_canister(LEDGER_CANISTER_ID, wasm, arg, None);
}

/// The cycles ledger at its well-known id (on the subnet whose range holds
/// it, as on mainnet), with `initial` balances (cycles, default
/// subaccounts) and 100 blocks per `icrc3_get_blocks`.
pub fn install_cycles_ledger(
    env: &mut TestEnv,
    initial: impl IntoIterator<Item = (candid::Principal, u128)>,
) {
    use icrc_ledger_types::icrc1::account::Account;
    use nns_api::cycles_ledger::{InitArgs, LedgerArgs};
    use nns_api::ids::CYCLES_LEDGER_CANISTER_ID;

    let initial: Vec<_> = initial.into_iter().collect();
    let backing = initial.iter().map(|(_, cycles)| cycles).sum();
    let init = LedgerArgs::Init(InitArgs {
        max_blocks_per_request: 100,
        index_id: None,
        initial_balances: Some(
            initial
                .into_iter()
                .map(|(owner, cycles)| (Account::from(owner), candid::Nat::from(cycles)))
                .collect(),
        ),
    });
    env.create_canister_with_id(None, Some(nns_controlled()), CYCLES_LEDGER_CANISTER_ID)
        .expect("the cycles ledger's id is free");
    let wasm =
        std::fs::read(wasm_gz_path("cycles-ledger")).expect("scripts/build-canisters.sh has run");
    let arg = candid::encode_one(init).expect("init args encode");
    env.install_canister(CYCLES_LEDGER_CANISTER_ID, wasm, arg, None);
    // The cycles behind the initial balances, as deposits would have brought.
    env.add_cycles(CYCLES_LEDGER_CANISTER_ID, backing);
}

/// A project's token ledger, in a new canister, installed with `init`.
pub fn install_token_ledger(
    env: &mut TestEnv,
    init: nns_api::token_ledger::InitArgs,
) -> candid::Principal {
    let id = env.create_canister();
    env.add_cycles(id, 10_000_000_000_000);
    let wasm =
        std::fs::read(wasm_gz_path("token-ledger")).expect("scripts/build-canisters.sh has run");
    let arg =
        candid::encode_one(nns_api::token_ledger::LedgerArg::Init(init)).expect("init args encode");
    env.install_canister(id, wasm, arg, None);
    id
}

/// The ICP index at its well-known id, following `ledger_id` and asking it
/// for new blocks every `interval_seconds` once caught up (the default, a
/// second, when `None`).
pub fn install_index(
    env: &mut TestEnv,
    ledger_id: candid::Principal,
    interval_seconds: Option<u64>,
) {
    use nns_api::ids::INDEX_CANISTER_ID;
    use nns_api::index::{IndexArg, InitArg};

    let arg = Some(IndexArg::Init(InitArg {
        ledger_id,
        retrieve_blocks_from_ledger_interval_seconds: interval_seconds,
    }));
    env.create_canister_with_id(None, Some(nns_controlled()), INDEX_CANISTER_ID)
        .expect("the index's id is free");
    let wasm = std::fs::read(wasm_gz_path("index")).expect("scripts/build-canisters.sh has run");
    let arg = candid::encode_one(arg).expect("init args encode");
    env.install_canister(INDEX_CANISTER_ID, wasm, arg, None);
}

/// The install argument `dfx.json` gives `canister`, Candid-encoded.
pub fn dfx_init_arg(canister: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(repo_root().join("dfx.json")).expect("dfx.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("dfx.json is JSON");
    let args = json["canisters"][canister]["init_arg"]
        .as_str()
        .unwrap_or_else(|| panic!("dfx.json has an init_arg for {canister}"));
    encode_init_args(canister, args).expect("dfx.json's init_arg has the init type")
}

/// The three canisters at their well-known ids, installed with `dfx.json`'s
/// arguments, as `dfx deploy` would.
pub fn boot_nns(pic: &mut TestEnv) {
    use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
    for (name, id) in [
        ("ledger", LEDGER_CANISTER_ID),
        ("governance", GOVERNANCE_CANISTER_ID),
        ("cmc", CYCLES_MINTING_CANISTER_ID),
    ] {
        pic.create_canister_with_id(None, None, id)
            .expect("the well-known id is free");
        let wasm = std::fs::read(wasm_gz_path(name)).expect("scripts/build-canisters.sh has run");
        pic.install_canister(id, wasm, dfx_init_arg(name), None);
    }
}

/// Checks an IC certificate as agents do — the BLS signature over
/// `domain_sep("ic-state-root") ‖ root hash` against the IC's root key —
/// and returns the certified data it holds for `canister`. The certificate
/// must come from the root subnet (it carries no delegation), as those of the
/// NNS canisters do.
pub fn verified_certified_data(
    pic: &TestEnv,
    canister: candid::Principal,
    certificate: &[u8],
) -> Result<Vec<u8>, String> {
    use ic_certification::{Certificate, LookupResult};
    let certificate: Certificate =
        serde_cbor::from_slice(certificate).map_err(|e| format!("not a certificate: {e}"))?;
    let root_key = pic.root_key().ok_or("no root key")?;
    // The DER prefix of a BLS12-381 G2 public key; the key is the last 96 bytes.
    let key = &root_key[root_key.len() - 96..];
    let mut message = b"\x0dic-state-root".to_vec();
    message.extend_from_slice(&certificate.tree.digest());
    ic_verify_bls_signature::verify_bls_signature(&certificate.signature, &message, key)
        .map_err(|()| "the certificate's signature does not verify".to_string())?;
    let path = [
        b"canister".as_slice(),
        canister.as_slice(),
        b"certified_data",
    ];
    match certificate.tree.lookup_path(path) {
        LookupResult::Found(data) => Ok(data.to_vec()),
        other => Err(format!("no certified data for {canister}: {other:?}")),
    }
}

/// The CMC at its well-known id, wired to the ledger and governance at
/// theirs, converting at `xdr_permyriad_per_icp` (observed a day before the
/// environment's time: a later rate may be at most a day ahead of the clock)
/// and minting at most
/// `cycles_limit_per_hour` (the NNS default when `None`).
pub fn install_cmc(
    env: &mut TestEnv,
    xdr_permyriad_per_icp: u64,
    cycles_limit_per_hour: Option<u128>,
) {
    use nns_api::cmc::{CyclesCanisterInitPayload, IcpXdrConversionRate};
    use nns_api::ids::CYCLES_MINTING_CANISTER_ID;

    let init = Some(CyclesCanisterInitPayload {
        exchange_rate: Some(IcpXdrConversionRate {
            timestamp_seconds: (env.get_time().as_nanos_since_unix_epoch() / 1_000_000_000)
                .saturating_sub(24 * 3600),
            xdr_permyriad_per_icp,
        }),
        cycles_limit_per_hour: cycles_limit_per_hour.map(candid::Nat::from),
        ..Default::default()
    });
    env.create_canister_with_id(None, Some(nns_controlled()), CYCLES_MINTING_CANISTER_ID)
        .expect("the CMC's id is free");
    let wasm = std::fs::read(wasm_gz_path("cmc")).expect("scripts/build-canisters.sh has run");
    let arg = candid::encode_one(init).expect("init args encode");
    env.install_canister(CYCLES_MINTING_CANISTER_ID, wasm, arg, None);
    // As the NNS's: anyone may create canisters on the application subnets.
    let defaults = nns_api::cmc::SetAuthorizedSubnetworkListArgs {
        who: None,
        subnets: env.app_subnets(),
    };
    env.update_call(
        CYCLES_MINTING_CANISTER_ID,
        nns_api::ids::GOVERNANCE_CANISTER_ID,
        "set_authorized_subnetwork_list",
        candid::encode_one(defaults).expect("args encode"),
    )
    .expect("governance sets the default subnets");
}

/// Governance at its well-known id (the ledger's minting account), wired to
/// the ledger and the CMC at theirs, with `economics` (mainnet's when
/// `None`).
pub fn install_governance(
    env: &mut TestEnv,
    economics: Option<nns_api::governance::NetworkEconomics>,
) {
    install_governance_with(
        env,
        nns_api::governance::GovernanceArg {
            economics,
            ..Default::default()
        },
    );
}

/// Governance at its well-known id, installed with `arg`.
pub fn install_governance_with(env: &mut TestEnv, arg: nns_api::governance::GovernanceArg) {
    use nns_api::ids::GOVERNANCE_CANISTER_ID;

    env.create_canister_with_id(None, None, GOVERNANCE_CANISTER_ID)
        .expect("governance's id is free");
    let wasm =
        std::fs::read(wasm_gz_path("governance")).expect("scripts/build-canisters.sh has run");
    let arg = candid::encode_one(arg).expect("init args encode");
    env.install_canister(GOVERNANCE_CANISTER_ID, wasm, arg, None);
}

/// The node-rewards canister at its well-known id, controlled by
/// governance, with `providers`' nodes and rewards as its table.
pub fn install_node_rewards(
    env: &mut TestEnv,
    providers: Vec<nns_api::node_rewards::NodeProviderNodes>,
) {
    use nns_api::ids::NODE_REWARDS_CANISTER_ID;
    env.create_canister_with_id(None, Some(nns_controlled()), NODE_REWARDS_CANISTER_ID)
        .expect("the node-rewards canister's id is free");
    let wasm =
        std::fs::read(wasm_gz_path("node-rewards")).expect("scripts/build-canisters.sh has run");
    let arg = nns_api::node_rewards::NodeRewardsArg {
        node_providers: providers,
    };
    let arg = candid::encode_one(arg).expect("init args encode");
    env.install_canister(NODE_REWARDS_CANISTER_ID, wasm, arg, None);
}

/// The CMC's ICP/XDR rate, checked as a client checks it: the certificate
/// verifies against the root key, it certifies the hash tree's root, and the
/// tree holds the rate returned.
pub fn certified_icp_xdr_rate(env: &mut TestEnv) -> nns_api::cmc::IcpXdrConversionRate {
    use nns_api::cmc::{IcpXdrConversionRate, IcpXdrConversionRateResponse};
    use nns_api::ids::CYCLES_MINTING_CANISTER_ID;
    let (response,): (IcpXdrConversionRateResponse,) = env::query_candid(
        env,
        CYCLES_MINTING_CANISTER_ID,
        "get_icp_xdr_conversion_rate",
        (),
    )
    .expect("the CMC answers");
    let certified = verified_certified_data(env, CYCLES_MINTING_CANISTER_ID, &response.certificate)
        .expect("the certificate verifies");
    let tree: ic_certification::HashTree =
        serde_cbor::from_slice(&response.hash_tree).expect("a CBOR hash tree");
    assert_eq!(
        certified,
        tree.digest().to_vec(),
        "the tree is the certified one"
    );
    let ic_certification::LookupResult::Found(rate) =
        tree.lookup_path([b"ICP_XDR_CONVERSION_RATE"])
    else {
        panic!("the tree holds the rate")
    };
    let rate: IcpXdrConversionRate = candid::decode_one(rate).expect("a rate");
    assert_eq!(
        rate, response.data,
        "the certified rate is the one returned"
    );
    rate
}

/// What `canister` serves at `/metrics`, by metric name.
pub fn metrics(
    env: &mut TestEnv,
    canister: candid::Principal,
) -> std::collections::BTreeMap<String, f64> {
    metrics_text(env, canister)
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.parse().ok()?)))
        .collect()
}

/// A canister's `/metrics`, each value as its text (counters above 2^53
/// stay exact).
pub fn metrics_text(
    env: &mut TestEnv,
    canister: candid::Principal,
) -> std::collections::BTreeMap<String, String> {
    use nns_api::http::{HttpRequest, HttpResponse};
    let request = HttpRequest {
        method: "GET".into(),
        url: "/metrics".into(),
        headers: vec![],
        body: Default::default(),
    };
    let (response,): (HttpResponse,) =
        env::query_candid(env, canister, "http_request", (request,)).expect("http_request");
    assert_eq!(response.status_code, 200, "{canister} serves /metrics");
    let text = String::from_utf8(response.body.into_vec()).expect("metrics are text");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name, value) = line.split_once(' ')?;
            let value = value.split_whitespace().next()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}
