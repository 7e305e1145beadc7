//! The local network through a real client: `ic-agent`, with certificate
//! and query-signature verification on, against the project's NNS served
//! over the IC's HTTP interface. One network serves every test of this
//! binary: the one `IC_NETWORK_URL` names (with `IC_NETWORK_ROOT_KEY`, hex),
//! or else one started in this process.

use candid::{Decode, Encode, Principal};
use ic_agent::Agent;
use ic_agent::identity::{AnonymousIdentity, BasicIdentity, Identity, Secp256k1Identity};
use ic_runtime::ic::subnet::canister_id;
use integration_tests::{did_text, wasm_gz_path};
use nns_api::AccountIdentifier;
use nns_api::ids::LEDGER_CANISTER_ID;
use nns_api::ledger::{AccountBalanceArgs, Memo, Tokens, TransferArgs, TransferError};
use std::sync::OnceLock;

pub(super) struct Endpoint {
    pub url: String,
    pub root_key: Vec<u8>,
}

/// The network the tests share, and a runtime for the agents' futures.
pub(super) fn endpoint() -> &'static Endpoint {
    static NETWORK: OnceLock<Endpoint> = OnceLock::new();
    NETWORK.get_or_init(|| {
        if let Ok(url) = std::env::var("IC_NETWORK_URL") {
            let key = std::env::var("IC_NETWORK_ROOT_KEY")
                .expect("IC_NETWORK_ROOT_KEY with IC_NETWORK_URL");
            return Endpoint {
                url,
                root_key: hex::decode(key).expect("a hex root key"),
            };
        }
        let modules = wasm_gz_path("ledger").parent().unwrap().to_path_buf();
        let options = icp_economy_network::Options {
            allow_time_control: true,
        };
        let network = icp_economy_network::start(&modules, "127.0.0.1:0".parse().unwrap(), options)
            .expect("the network starts");
        let endpoint = Endpoint {
            url: network.url(),
            root_key: network.root_key_der(),
        };
        // It serves until the test process exits.
        std::mem::forget(network);
        endpoint
    })
}

pub(super) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

pub(super) fn agent(identity: impl Identity + 'static) -> Agent {
    let endpoint = endpoint();
    agent_at(&endpoint.url, &endpoint.root_key, Box::new(identity))
}

/// An agent of the network at `url`, verifying what it answers.
pub(super) fn agent_at(url: &str, root_key: &[u8], identity: Box<dyn Identity>) -> Agent {
    let agent = Agent::builder()
        .with_url(url)
        .with_arc_identity(identity.into())
        .with_verify_query_signatures(true)
        .build()
        .expect("an agent");
    agent.set_root_key(root_key.to_vec());
    agent
}

/// One HTTP/1.1 request on its own connection to `address` (host:port),
/// written by hand so that it can be as broken as a test needs; the status
/// and the body of the answer.
pub(super) fn http(
    address: &str,
    head: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("the network listens");
    let mut request = format!("{head} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request.push_str(&format!("Host: {address}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(request.as_bytes()).unwrap();
    // A body over the limit may be refused before it is all sent.
    let _ = stream.write_all(body);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP reply");
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, reply[split + 4..].to_vec())
}

/// The network's address, host:port.
pub(super) fn address() -> String {
    endpoint().url.trim_start_matches("http://").to_string()
}

pub(super) fn ed25519_identity(seed: u8) -> BasicIdentity {
    BasicIdentity::from_raw_key(&[seed; 32])
}

fn secp256k1_identity(seed: u8) -> Secp256k1Identity {
    Secp256k1Identity::from_private_key(k256::SecretKey::from_slice(&[seed; 32]).unwrap())
}

const FEE: u64 = 10_000;

pub(super) fn transfer(
    agent: &Agent,
    to: Principal,
    e8s: u64,
    memo: u64,
) -> Result<u64, TransferError> {
    let args = TransferArgs {
        memo: Memo(memo),
        amount: Tokens::from_e8s(e8s),
        fee: Tokens::from_e8s(FEE),
        from_subaccount: None,
        to: AccountIdentifier::new(&to, None),
        created_at_time: None,
    };
    let reply = runtime()
        .block_on(
            agent
                .update(&LEDGER_CANISTER_ID, "transfer")
                .with_arg(Encode!(&args).unwrap())
                .call_and_wait(),
        )
        .expect("a certified reply");
    Decode!(&reply, Result<u64, TransferError>).unwrap()
}

pub(super) fn balance(agent: &Agent, owner: Principal) -> u64 {
    let args = AccountBalanceArgs {
        account: AccountIdentifier::new(&owner, None),
    };
    let reply = runtime()
        .block_on(
            agent
                .query(&LEDGER_CANISTER_ID, "account_balance")
                .with_arg(Encode!(&args).unwrap())
                .call(),
        )
        .expect("a signed query reply");
    Decode!(&reply, Tokens).unwrap().e8s
}

#[test]
fn status_gives_the_networks_root_key() {
    let agent = agent(AnonymousIdentity);
    let status = runtime().block_on(agent.status()).expect("a status");
    assert_eq!(
        status.root_key.as_deref(),
        Some(endpoint().root_key.as_slice())
    );
    assert_eq!(status.replica_health_status.as_deref(), Some("healthy"));
}

/// The anonymous principal funds an identity of each signature scheme,
/// which then pays another: every reply certified and verified.
#[test]
fn ledger_transfers_signed_with_ed25519_and_secp256k1() {
    let anonymous = agent(AnonymousIdentity);
    let identities: Vec<(&str, Box<dyn Identity>)> = vec![
        ("Ed25519", Box::new(ed25519_identity(11))),
        ("secp256k1", Box::new(secp256k1_identity(12))),
    ];
    for (n, (scheme, identity)) in identities.into_iter().enumerate() {
        let sender = identity.sender().unwrap();
        let payee = Principal::from_slice(&[0xAB, n as u8, 7]);
        transfer(&anonymous, sender, 10 * FEE + 5_000, n as u64).expect("anonymous pays");
        let before = balance(&anonymous, sender);
        let signer = agent(identity);
        let block =
            transfer(&signer, payee, 5_000, 1).unwrap_or_else(|e| panic!("{scheme}: {e:?}"));
        assert!(block > 0, "{scheme}");
        assert_eq!(balance(&signer, sender), before - 5_000 - FEE, "{scheme}");
        assert_eq!(balance(&signer, payee), 5_000, "{scheme}");
        // The same transfer again is a duplicate of that block.
        let again = transfer(&signer, payee, 5_000, 1);
        assert!(
            matches!(again, Ok(_) | Err(TransferError::TxDuplicate { .. })),
            "{scheme}: {again:?}"
        );
    }
}

/// The index answers `icrc1_balance_of` (on a Candid path of its own) to
/// ic-agent as the ledger does once it has followed the ledger's blocks:
/// the signed reply decodes as the official interface's `nat64`, another
/// subaccount is another account, and an argument that is not an account
/// is refused with the canister's error.
#[test]
fn the_index_answers_balances_as_the_ledger_does() {
    use icrc_ledger_types::icrc1::account::Account;
    use nns_api::ids::INDEX_CANISTER_ID;
    let anonymous = agent(AnonymousIdentity);
    let holder = Principal::from_slice(&[0xAB, 0x1D, 0xE5]);
    transfer(&anonymous, holder, 7 * FEE + 1_234, 77).expect("anonymous pays");
    let on_ledger = balance(&anonymous, holder);
    let query = |arg: Vec<u8>| {
        runtime().block_on(
            anonymous
                .query(&INDEX_CANISTER_ID, "icrc1_balance_of")
                .with_arg(arg)
                .call(),
        )
    };
    let of = |subaccount: Option<[u8; 32]>| {
        let reply = query(
            Encode!(&Account {
                owner: holder,
                subaccount
            })
            .unwrap(),
        )?;
        Ok::<_, ic_agent::AgentError>(
            Decode!(&reply, u64).expect("a nat64, as the official index.did declares"),
        )
    };
    // The index follows the ledger on a timer, every second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while of(None).ok() != Some(on_ledger) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let of = |subaccount| of(subaccount).expect("a signed query reply");
    assert_eq!(of(None), on_ledger);
    assert_eq!(
        of(Some([0; 32])),
        on_ledger,
        "the default subaccount spelled out"
    );
    assert_eq!(of(Some([1; 32])), 0);
    match query(Encode!(&"not an account").unwrap()) {
        Err(ic_agent::AgentError::UncertifiedReject { reject, .. }) => {
            assert_eq!(
                reject.reject_code,
                ic_agent::agent::RejectCode::CanisterError
            );
            assert_eq!(reject.error_code.as_deref(), Some("IC0503"));
            assert!(
                reject
                    .reject_message
                    .contains("failed to decode the call's argument"),
                "{}",
                reject.reject_message
            );
        }
        other => panic!("not a reject: {other:?}"),
    }
}

#[test]
fn read_state_of_the_ledgers_candid_interface() {
    let agent = agent(ed25519_identity(13));
    let service = runtime()
        .block_on(agent.read_state_canister_metadata(LEDGER_CANISTER_ID, "candid:service"))
        .expect("certified metadata");
    assert_eq!(String::from_utf8(service).unwrap(), did_text("ledger"));
    let module_hash = runtime()
        .block_on(agent.read_state_canister_info(LEDGER_CANISTER_ID, "module_hash"))
        .expect("certified module hash");
    let wasm = std::fs::read(wasm_gz_path("ledger")).unwrap();
    assert_eq!(
        module_hash,
        <sha2::Sha256 as sha2::Digest>::digest(&wasm).to_vec()
    );
}

/// The cycles ledger lives on another subnet than the NNS's: its answers
/// carry the NNS's delegation, in the sharded form of `/api/v4` calls and
/// the flat form of `/api/v3`'s reads, and its query signatures come
/// from that subnet's node.
#[test]
fn the_cycles_ledger_answers_through_its_subnets_delegation() {
    use icrc_ledger_types::icrc1::account::Account;
    use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError};
    use nns_api::ids::CYCLES_LEDGER_CANISTER_ID;
    let anonymous = agent(AnonymousIdentity);
    let payee = ed25519_identity(14).sender().unwrap();
    let balance_of = |owner: Principal| {
        let reply = runtime()
            .block_on(
                anonymous
                    .query(&CYCLES_LEDGER_CANISTER_ID, "icrc1_balance_of")
                    .with_arg(Encode!(&Account::from(owner)).unwrap())
                    .call(),
            )
            .expect("a signed query reply");
        Decode!(&reply, candid::Nat).unwrap()
    };
    let before = balance_of(payee);
    let arg = TransferArg {
        from_subaccount: None,
        to: Account::from(payee),
        fee: None,
        created_at_time: None,
        memo: None,
        amount: candid::Nat::from(1_000_000_000_000u64),
    };
    let reply = runtime()
        .block_on(
            anonymous
                .update(&CYCLES_LEDGER_CANISTER_ID, "icrc1_transfer")
                .with_arg(Encode!(&arg).unwrap())
                .call_and_wait(),
        )
        .expect("a certified reply under the subnet's delegation");
    Decode!(&reply, Result<candid::Nat, TransferError>)
        .unwrap()
        .expect("the anonymous principal holds cycles");
    assert_eq!(balance_of(payee), before + 1_000_000_000_000u64);
    let subnet = runtime()
        .block_on(anonymous.get_subnet_by_canister(&CYCLES_LEDGER_CANISTER_ID))
        .expect("the subnet of the cycles ledger");
    assert!(subnet.contains_canister(&CYCLES_LEDGER_CANISTER_ID));
    assert!(!subnet.contains_canister(&LEDGER_CANISTER_ID));
}

/// The management canister over HTTP, as dfx and icp-cli use it: a
/// canister created at a chosen id on the application subnet, the app
/// installed from chunks, called, inspected, reconfigured, topped up,
/// stopped and deleted; its logs read with a query.
#[test]
fn the_management_canister_over_http() {
    use ic_management_canister_types::{
        CanisterIdRecord, CanisterInstallMode, CanisterSettings, CanisterStatusResult,
        CanisterStatusType, ChunkHash, FetchCanisterLogsArgs, FetchCanisterLogsResult,
        InstallChunkedCodeArgs, ProvisionalCreateCanisterWithCyclesArgs,
        ProvisionalTopUpCanisterArgs, UpdateSettingsArgs, UploadChunkArgs,
    };
    let owner = ed25519_identity(15);
    let owner_id = owner.sender().unwrap();
    let agent = agent(owner);
    let ic00 = Principal::management_canister();
    let call = |method: &str, effective: Principal, arg: Vec<u8>| {
        runtime().block_on(
            agent
                .update(&ic00, method)
                .with_effective_canister_id(effective)
                .with_arg(arg)
                .call_and_wait(),
        )
    };
    // An id on the application subnet (index 0x1F0000 of its range).
    let specified = canister_id(0x1F_0000);
    let created = call(
        "provisional_create_canister_with_cycles",
        specified,
        Encode!(&ProvisionalCreateCanisterWithCyclesArgs {
            amount: Some(candid::Nat::from(5_000_000_000_000u64)),
            settings: None,
            specified_id: Some(specified),
            sender_canister_version: None,
        })
        .unwrap(),
    )
    .expect("created");
    let id = Decode!(&created, CanisterIdRecord).unwrap().canister_id;
    assert_eq!(id, specified);

    let wasm = std::fs::read(wasm_gz_path("app")).unwrap();
    let mut hashes = Vec::new();
    for chunk in wasm.chunks(100_000) {
        let reply = call(
            "upload_chunk",
            id,
            Encode!(&UploadChunkArgs {
                canister_id: id,
                chunk: chunk.to_vec(),
            })
            .unwrap(),
        )
        .expect("a chunk stored");
        hashes.push(Decode!(&reply, ChunkHash).unwrap());
    }
    let stored = call(
        "stored_chunks",
        id,
        Encode!(&CanisterIdRecord { canister_id: id }).unwrap(),
    )
    .expect("stored chunks");
    assert_eq!(
        Decode!(&stored, Vec<ChunkHash>).unwrap().len(),
        hashes.len()
    );
    call(
        "install_chunked_code",
        id,
        Encode!(&InstallChunkedCodeArgs {
            mode: CanisterInstallMode::Install,
            target_canister: id,
            store_canister: None,
            chunk_hashes_list: hashes,
            wasm_module_hash: <sha2::Sha256 as sha2::Digest>::digest(&wasm).to_vec(),
            arg: Encode!().unwrap(),
            sender_canister_version: None,
        })
        .unwrap(),
    )
    .expect("installed from chunks");
    let receipt = runtime()
        .block_on(
            agent
                .update(&id, "work")
                .with_arg(Encode!(&3u32).unwrap())
                .call_and_wait(),
        )
        .expect("the app works");
    assert!(!receipt.is_empty());

    let status = |agent: &Agent| {
        let reply = runtime()
            .block_on(
                agent
                    .update(&ic00, "canister_status")
                    .with_effective_canister_id(id)
                    .with_arg(Encode!(&CanisterIdRecord { canister_id: id }).unwrap())
                    .call_and_wait(),
            )
            .expect("a status");
        Decode!(&reply, CanisterStatusResult).unwrap()
    };
    let before = status(&agent);
    assert_eq!(before.status, CanisterStatusType::Running);
    assert_eq!(before.settings.controllers, vec![owner_id]);

    let friend = secp256k1_identity(16);
    let friend_id = friend.sender().unwrap();
    call(
        "update_settings",
        id,
        Encode!(&UpdateSettingsArgs {
            canister_id: id,
            settings: CanisterSettings {
                controllers: Some(vec![owner_id, friend_id]),
                ..Default::default()
            },
            sender_canister_version: None,
        })
        .unwrap(),
    )
    .expect("settings updated");
    let friend = self::agent(friend);
    assert_eq!(status(&friend).settings.controllers.len(), 2);

    call(
        "provisional_top_up_canister",
        id,
        Encode!(&ProvisionalTopUpCanisterArgs {
            canister_id: id,
            amount: candid::Nat::from(1_000_000u64),
        })
        .unwrap(),
    )
    .expect("topped up");

    let logs = runtime()
        .block_on(
            agent
                .query(&ic00, "fetch_canister_logs")
                .with_effective_canister_id(id)
                .with_arg(
                    Encode!(&FetchCanisterLogsArgs {
                        canister_id: id,
                        filter: None,
                    })
                    .unwrap(),
                )
                .call(),
        )
        .expect("logs, for a controller");
    Decode!(&logs, FetchCanisterLogsResult).unwrap();
    let stranger = self::agent(ed25519_identity(17));
    let refused = runtime().block_on(
        stranger
            .query(&ic00, "fetch_canister_logs")
            .with_effective_canister_id(id)
            .with_arg(
                Encode!(&FetchCanisterLogsArgs {
                    canister_id: id,
                    filter: None
                })
                .unwrap(),
            )
            .call(),
    );
    assert!(refused.is_err(), "a stranger reads no logs");

    for method in ["stop_canister", "delete_canister"] {
        call(
            method,
            id,
            Encode!(&CanisterIdRecord { canister_id: id }).unwrap(),
        )
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    }
    let gone = runtime().block_on(
        agent
            .update(&id, "work")
            .with_arg(Encode!(&3u32).unwrap())
            .call_and_wait(),
    );
    assert!(gone.is_err(), "a deleted canister takes no calls");
}

/// Time control: on a network of its own (time moves for everyone on it),
/// a neuron set dissolving is dissolved a moment after the network is moved
/// 7 days ahead, in seconds of wall time; clients keep their own clock for
/// expiry, and the network still takes their requests.
#[test]
fn advancing_time_dissolves_a_neuron() {
    use integration_tests::nns::{configure, neuron_account, request};
    use nns_api::governance::{
        By, ClaimOrRefresh, ClaimOrRefreshNeuronFromAccount, GovernanceError,
        ManageNeuronCommandRequest as Command, ManageNeuronCommandResponse as Response,
        ManageNeuronResponse, NeuronInfo, Operation,
    };
    use nns_api::ids::GOVERNANCE_CANISTER_ID;
    let modules = wasm_gz_path("ledger").parent().unwrap().to_path_buf();
    let options = icp_economy_network::Options {
        allow_time_control: true,
    };
    let network = icp_economy_network::start(&modules, "127.0.0.1:0".parse().unwrap(), options)
        .expect("a network of its own");
    let identity = ed25519_identity(18);
    let owner = identity.sender().unwrap();
    let client =
        |identity: Box<dyn Identity>| agent_at(&network.url(), &network.root_key_der(), identity);
    let anonymous = client(Box::new(AnonymousIdentity));
    let owner_agent = client(Box::new(identity));
    let manage = |command: Command, id: Option<u64>| {
        let reply = runtime()
            .block_on(
                owner_agent
                    .update(&GOVERNANCE_CANISTER_ID, "manage_neuron")
                    .with_arg(Encode!(&request(id, command)).unwrap())
                    .call_and_wait(),
            )
            .expect("governance answers");
        Decode!(&reply, ManageNeuronResponse)
            .unwrap()
            .command
            .unwrap()
    };
    let stake = TransferArgs {
        memo: Memo(0),
        amount: Tokens::from_e8s(200_000_000),
        fee: Tokens::from_e8s(FEE),
        from_subaccount: None,
        to: neuron_account(owner, 5),
        created_at_time: None,
    };
    let reply = runtime()
        .block_on(
            anonymous
                .update(&LEDGER_CANISTER_ID, "transfer")
                .with_arg(Encode!(&stake).unwrap())
                .call_and_wait(),
        )
        .unwrap();
    Decode!(&reply, Result<u64, TransferError>)
        .unwrap()
        .unwrap();
    let by = By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
        controller: Some(owner),
        memo: 5,
    });
    let Response::ClaimOrRefresh(claimed) = manage(
        Command::ClaimOrRefresh(ClaimOrRefresh { by: Some(by) }),
        None,
    ) else {
        panic!("not claimed")
    };
    let id = claimed.refreshed_neuron_id.unwrap().id;
    manage(configure(Operation::StartDissolving {}), Some(id));
    let state = || {
        let reply = runtime()
            .block_on(
                anonymous
                    .query(&GOVERNANCE_CANISTER_ID, "get_neuron_info")
                    .with_arg(Encode!(&id).unwrap())
                    .call(),
            )
            .unwrap();
        Decode!(&reply, Result<NeuronInfo, GovernanceError>)
            .unwrap()
            .unwrap()
            .state
    };
    assert_eq!(state(), 2, "dissolving");
    let before = network.with_ic(|ic| ic.time());
    let after = icp_economy_network::advance_time(&network.url(), 7 * 24 * 3600 + 1).unwrap();
    assert!(after >= before + (7 * 24 * 3600 + 1) * 1_000_000_000);
    assert_eq!(state(), 3, "dissolved");
    // Requests signed by the wall clock still go through.
    transfer(&anonymous, owner, 1_000, 3).expect("a transfer after the jump");
    drop(network);
}

#[test]
fn time_control_is_off_unless_allowed() {
    let error = icp_economy_network::advance_time(&endpoint().url, 1);
    // The shared network allows it only when this process started it.
    if std::env::var("IC_NETWORK_URL").is_err() {
        assert!(error.is_ok(), "{error:?}");
    }
    let modules = wasm_gz_path("ledger").parent().unwrap().to_path_buf();
    let network = icp_economy_network::start(
        &modules,
        "127.0.0.1:0".parse().unwrap(),
        icp_economy_network::Options::default(),
    )
    .unwrap();
    let error = icp_economy_network::advance_time(&network.url(), 60).unwrap_err();
    assert!(
        error.contains("403") && error.contains("--allow-time-control"),
        "{error}"
    );
}

/// A GET through the gateway, with `host` as the Host header.
fn gateway_get(host: &str, path: &str) -> (u16, String) {
    gateway_request("GET", host, path)
}

fn gateway_request(method: &str, host: &str, path: &str) -> (u16, String) {
    let (status, body) = http(
        &address(),
        &format!("{method} {path}"),
        &[("Host", host)],
        b"",
    );
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Each NNS canister's `/metrics`, fetched with plain HTTP through the
/// gateway's raw domain (the metrics are not certified, as the NNS's are
/// not: the verified domain refuses them, as boundary nodes do).
#[test]
fn metrics_of_every_canister_through_the_gateway() {
    use nns_api::ids::{
        CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
        INDEX_CANISTER_ID,
    };
    let port = endpoint().url.rsplit(':').next().unwrap().to_string();
    for (id, metric) in [
        (LEDGER_CANISTER_ID, "ledger_total_supply_e8s"),
        (INDEX_CANISTER_ID, "index_"),
        (CYCLES_MINTING_CANISTER_ID, "cmc_"),
        (GOVERNANCE_CANISTER_ID, "governance_"),
        (CYCLES_LEDGER_CANISTER_ID, "cycles_ledger_"),
    ] {
        let (status, body) = gateway_get(&format!("{id}.raw.localhost:{port}"), "/metrics");
        assert_eq!(status, 200, "{id}: {body}");
        assert!(
            body.contains("# TYPE") && body.contains(metric),
            "{id}: {body}"
        );
    }
    let (status, body) = gateway_get(
        &format!("localhost:{port}"),
        &format!("/metrics?canisterId={LEDGER_CANISTER_ID}"),
    );
    assert_eq!(status, 500);
    assert!(body.contains("Response verification failed"), "{body}");
    let (status, _) = gateway_get(&format!("localhost:{port}"), "/metrics");
    assert_eq!(status, 404, "no canister named");
}

/// `--state-dir`: a network stopped and started again serves the same
/// state — balances, a neuron, a canister and its code, the time moved
/// ahead, the root key — and gives no id twice.
#[test]
fn a_state_directory_keeps_everything_across_a_restart() {
    use ic_management_canister_types::{CanisterIdRecord, ProvisionalCreateCanisterWithCyclesArgs};
    let modules = wasm_gz_path("ledger").parent().unwrap().to_path_buf();
    let dir =
        std::env::temp_dir().join(format!("icp-economy-network-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = || icp_economy_network::Options {
        allow_time_control: true,
    };
    let address = "127.0.0.1:0".parse().unwrap();
    let client = |network: &ic_runtime::http::Network, identity: Box<dyn Identity>| {
        agent_at(&network.url(), &network.root_key_der(), identity)
    };
    let create = |agent: &Agent| {
        let arg = ProvisionalCreateCanisterWithCyclesArgs {
            amount: None,
            settings: None,
            specified_id: None,
            sender_canister_version: None,
        };
        let app_subnet_id = canister_id(0x10_0000);
        let reply = runtime()
            .block_on(
                agent
                    .update(
                        &Principal::management_canister(),
                        "provisional_create_canister_with_cycles",
                    )
                    .with_effective_canister_id(app_subnet_id)
                    .with_arg(Encode!(&arg).unwrap())
                    .call_and_wait(),
            )
            .unwrap();
        Decode!(&reply, CanisterIdRecord).unwrap().canister_id
    };

    let (network, restored) =
        icp_economy_network::start_in(&dir, &modules, address, options()).unwrap();
    assert!(!restored);
    let root_key = network.root_key_der();
    let anonymous = client(&network, Box::new(AnonymousIdentity));
    let payee = ed25519_identity(19).sender().unwrap();
    transfer(&anonymous, payee, 123_456, 1).unwrap();
    let first = create(&anonymous);
    // The app installed on it, which counts its calls in stable memory.
    let wasm = std::fs::read(wasm_gz_path("app")).unwrap();
    network
        .with_ic(|ic| {
            ic.install_code(
                first,
                ic_runtime::InstallMode::Install,
                &wasm,
                Encode!().unwrap(),
                Principal::anonymous(),
            )
        })
        .unwrap();
    runtime()
        .block_on(
            anonymous
                .update(&first, "work")
                .with_arg(Encode!(&2u32).unwrap())
                .call_and_wait(),
        )
        .unwrap();
    let moved = icp_economy_network::advance_time(&network.url(), 3_600).unwrap();
    icp_economy_network::stop_and_save(network, &dir).unwrap();

    let (network, restored) =
        icp_economy_network::start_in(&dir, &modules, address, options()).unwrap();
    assert!(restored);
    assert_eq!(network.root_key_der(), root_key);
    assert!(
        network.with_ic(|ic| ic.time()) >= moved,
        "time goes on from where it was"
    );
    let anonymous = client(&network, Box::new(AnonymousIdentity));
    assert_eq!(balance(&anonymous, payee), 123_456);
    let stats = runtime()
        .block_on(
            anonymous
                .query(&first, "stats")
                .with_arg(Encode!().unwrap())
                .call(),
        )
        .expect("the app, with its state");
    assert!(!stats.is_empty());
    let second = create(&anonymous);
    assert_ne!(second, first, "no id is given twice");
    transfer(&anonymous, payee, 1, 2).expect("the ledger takes transfers again");
    assert_eq!(balance(&anonymous, payee), 123_457);
    drop(network);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A user's canister behind the gateway: its page through the raw domain,
/// and `POST /visits`, which its `http_request` upgrades to
/// `http_request_update`: the gateway sends it again as an update call,
/// whose certified answer it serves on the verified domain too.
#[test]
fn the_gateway_upgrades_a_request_to_an_update() {
    use ic_management_canister_types::{
        CanisterIdRecord, CanisterInstallMode, InstallCodeArgs,
        ProvisionalCreateCanisterWithCyclesArgs,
    };
    let owner = agent(ed25519_identity(20));
    let ic00 = Principal::management_canister();
    let on_app_subnet = canister_id(0x10_0000);
    let created = runtime()
        .block_on(
            owner
                .update(&ic00, "provisional_create_canister_with_cycles")
                .with_effective_canister_id(on_app_subnet)
                .with_arg(
                    Encode!(&ProvisionalCreateCanisterWithCyclesArgs {
                        amount: None,
                        settings: None,
                        specified_id: None,
                        sender_canister_version: None,
                    })
                    .unwrap(),
                )
                .call_and_wait(),
        )
        .unwrap();
    let id = Decode!(&created, CanisterIdRecord).unwrap().canister_id;
    let install = InstallCodeArgs {
        mode: CanisterInstallMode::Install,
        canister_id: id,
        wasm_module: std::fs::read(wasm_gz_path("app")).unwrap(),
        arg: Encode!().unwrap(),
        sender_canister_version: None,
    };
    runtime()
        .block_on(
            owner
                .update(&ic00, "install_code")
                .with_effective_canister_id(id)
                .with_arg(Encode!(&install).unwrap())
                .call_and_wait(),
        )
        .unwrap();
    let port = endpoint().url.rsplit(':').next().unwrap().to_string();
    let raw = format!("{id}.raw.localhost:{port}");
    let verified = format!("{id}.localhost:{port}");
    let (status, page) = gateway_get(&raw, "/");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("visits: 0"), "{page}");
    let (status, body) = gateway_request("POST", &verified, "/visits");
    assert_eq!((status, body.as_str()), (200, "visits: 1\n"));
    let (status, body) = gateway_request("POST", &raw, "/visits");
    assert_eq!((status, body.as_str()), (200, "visits: 2\n"));
    let (_, page) = gateway_get(&raw, "/");
    assert!(page.contains("visits: 2"), "{page}");
    let (status, _) = gateway_get(&raw, "/nowhere");
    assert_eq!(status, 404);
}
