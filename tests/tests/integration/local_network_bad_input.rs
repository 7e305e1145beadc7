//! Bad input to the local network's HTTP interface: each request answered
//! with the status (and, past the HTTP checks, the reject code) a replica
//! gives, nothing moved, the network still serving. Requests are written
//! by hand over TCP, so that they can be as broken as needed; delegations
//! are made with `ic-agent`'s identities.

use super::local_network::{
    address, agent, balance, ed25519_identity, endpoint, http, runtime, transfer,
};
use candid::{Encode, Principal};
use ic_agent::agent::{Envelope, EnvelopeContent};
use ic_agent::identity::{
    BasicIdentity, DelegatedIdentity, Identity, Prime256v1Identity, SignedDelegation,
};
use ic_runtime::ic::subnet::canister_id;
use nns_api::AccountIdentifier;
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{AccountBalanceArgs, Memo, Tokens, TransferArgs};
use serde_cbor::Value;
use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

struct HttpReply {
    status: u16,
    body: Vec<u8>,
}

impl HttpReply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A CBOR body's field, the self-describing tag removed.
    fn field(&self, name: &str) -> Value {
        let value: Value = serde_cbor::from_slice(&self.body).expect("a CBOR body");
        let Value::Map(fields) = value else {
            panic!("not a map: {value:?}")
        };
        fields
            .get(&Value::Text(name.into()))
            .cloned()
            .unwrap_or_else(|| panic!("no field {name}"))
    }
}

/// A POST to the shared network.
fn post(path: &str, content_type: &str, body: &[u8]) -> HttpReply {
    let (status, body) = http(
        &address(),
        &format!("POST {path}"),
        &[("Content-Type", content_type)],
        body,
    );
    HttpReply { status, body }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn transfer_content(sender: Principal, e8s: u64, expiry: u64) -> EnvelopeContent {
    let args = TransferArgs {
        memo: Memo(0),
        amount: Tokens::from_e8s(e8s),
        fee: Tokens::from_e8s(10_000),
        from_subaccount: None,
        to: AccountIdentifier::new(&Principal::from_slice(&[0xEE, 1]), None),
        created_at_time: None,
    };
    EnvelopeContent::Call {
        nonce: Some(now_nanos().to_be_bytes().to_vec()),
        ingress_expiry: expiry,
        sender,
        canister_id: LEDGER_CANISTER_ID,
        method_name: "transfer".into(),
        arg: Encode!(&args).unwrap(),
        sender_info: None,
    }
}

fn signed(identity: &dyn Identity, content: EnvelopeContent) -> Vec<u8> {
    let signature = identity.sign(&content).unwrap();
    Envelope {
        content: Cow::Owned(content),
        sender_pubkey: signature.public_key,
        sender_sig: signature.signature,
        sender_delegation: signature.delegations,
    }
    .encode_bytes()
}

fn soon() -> u64 {
    now_nanos() + 60_000_000_000
}

const CALL: &str = "/api/v3/canister/ryjl3-tyaaa-aaaaa-aaaba-cai/call";

/// A funded Ed25519 identity whose balance must not move.
fn funded(seed: u8) -> (BasicIdentity, Principal, u64) {
    let identity = ed25519_identity(seed);
    let principal = identity.sender().unwrap();
    transfer(
        &agent(ic_agent::identity::AnonymousIdentity),
        principal,
        100_000_000,
        0,
    )
    .expect("funded");
    let before = balance(&agent(ic_agent::identity::AnonymousIdentity), principal);
    (identity, principal, before)
}

#[test]
fn malformed_requests_are_refused_with_400() {
    let garbage = post(CALL, "application/cbor", b"\x01\x02 not cbor");
    assert_eq!(garbage.status, 400);
    assert!(
        garbage
            .text()
            .contains("Failed to deserialize cbor request"),
        "{}",
        garbage.text()
    );
    let (identity, _, _) = funded(21);
    let body = signed(
        &identity,
        transfer_content(identity.sender().unwrap(), 1, soon()),
    );
    let wrong_type = post(CALL, "text/plain", &body);
    assert_eq!(wrong_type.status, 400);
    assert!(wrong_type.text().contains("content-type"));
    // A query envelope sent to the call endpoint.
    let query = EnvelopeContent::Query {
        ingress_expiry: soon(),
        sender: Principal::anonymous(),
        canister_id: LEDGER_CANISTER_ID,
        method_name: "account_balance".into(),
        arg: Encode!().unwrap(),
        nonce: None,
        sender_info: None,
    };
    let mismatch = post(
        CALL,
        "application/cbor",
        &signed(&ic_agent::identity::AnonymousIdentity, query),
    );
    assert_eq!(mismatch.status, 400);
    assert_eq!(post("/api/v9/status", "application/cbor", b"").status, 404);
}

#[test]
fn forged_and_missing_signatures_move_nothing() {
    let (owner, owner_id, before) = funded(22);
    let thief = ed25519_identity(23);
    // The thief signs a transfer from the owner's account, presenting the
    // owner's public key.
    let content = transfer_content(owner_id, 1_000, soon());
    let forged = thief.sign(&content).unwrap();
    let body = Envelope {
        content: Cow::Owned(content.clone()),
        sender_pubkey: owner.public_key(),
        sender_sig: forged.signature,
        sender_delegation: None,
    }
    .encode_bytes();
    let reply = post(CALL, "application/cbor", &body);
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("Invalid signature"),
        "{}",
        reply.text()
    );
    // The thief's own key for the owner's principal.
    let body = Envelope {
        content: Cow::Owned(content.clone()),
        sender_pubkey: thief.public_key(),
        sender_sig: thief.sign(&content).unwrap().signature,
        sender_delegation: None,
    }
    .encode_bytes();
    let reply = post(CALL, "application/cbor", &body);
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("does not match the public key"),
        "{}",
        reply.text()
    );
    // No signature at all.
    let body = Envelope {
        content: Cow::Owned(content),
        sender_pubkey: None,
        sender_sig: None,
        sender_delegation: None,
    }
    .encode_bytes();
    let reply = post(CALL, "application/cbor", &body);
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("Missing signature from user"),
        "{}",
        reply.text()
    );
    assert_eq!(balance(&agent(owner), owner_id), before);
}

#[test]
fn expired_and_far_future_ingress_is_refused() {
    let (identity, principal, before) = funded(24);
    for expiry in [
        now_nanos() - 1_000_000_000,
        now_nanos() + 10 * 60 * 1_000_000_000,
    ] {
        let reply = post(
            CALL,
            "application/cbor",
            &signed(&identity, transfer_content(principal, 1_000, expiry)),
        );
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert!(
            reply.text().contains("Invalid request expiry"),
            "{}",
            reply.text()
        );
    }
    assert_eq!(balance(&agent(identity), principal), before);
}

/// A session key (P-256) delegated by an Ed25519 key: it may act for the
/// delegating principal while the delegation lasts and where it allows.
fn delegated(
    from: &BasicIdentity,
    expiration: u64,
    targets: Option<Vec<Principal>>,
) -> DelegatedIdentity {
    let session =
        Prime256v1Identity::from_private_key(p256::SecretKey::from_slice(&[31; 32]).unwrap());
    let delegation = ic_agent::identity::Delegation {
        pubkey: session.public_key().unwrap(),
        expiration,
        targets,
        permissions: None,
    };
    let signature = from
        .sign_delegation(&delegation)
        .unwrap()
        .signature
        .unwrap();
    DelegatedIdentity::new_unchecked(
        from.public_key().unwrap(),
        Box::new(session),
        vec![SignedDelegation {
            delegation,
            signature,
        }],
    )
}

#[test]
fn delegations_are_followed_and_checked() {
    let (owner, owner_id, before) = funded(25);
    let session = delegated(
        &owner,
        soon() + 600_000_000_000,
        Some(vec![LEDGER_CANISTER_ID]),
    );
    assert_eq!(session.sender().unwrap(), owner_id);
    let session_agent = agent(session);
    transfer(&session_agent, Principal::from_slice(&[0xEE, 2]), 1_000, 9)
        .expect("a delegated transfer");
    let after = before - 1_000 - 10_000;
    assert_eq!(balance(&session_agent, owner_id), after);

    let expired = delegated(&owner, now_nanos() - 1, None);
    let reply = post(
        CALL,
        "application/cbor",
        &signed(&expired, transfer_content(owner_id, 1_000, soon())),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("expired"), "{}", reply.text());

    let elsewhere = delegated(
        &owner,
        soon() + 600_000_000_000,
        Some(vec![CYCLES_MINTING_CANISTER_ID]),
    );
    let reply = post(
        CALL,
        "application/cbor",
        &signed(&elsewhere, transfer_content(owner_id, 1_000, soon())),
    );
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("not one of the delegation targets"),
        "{}",
        reply.text()
    );

    // A delegation signed by another key than the one it claims.
    let mut chain = delegated(&owner, soon() + 600_000_000_000, None).delegation_chain();
    chain[0].signature[0] ^= 1;
    let content = transfer_content(owner_id, 1_000, soon());
    let session_key =
        Prime256v1Identity::from_private_key(p256::SecretKey::from_slice(&[31; 32]).unwrap());
    let body = Envelope {
        content: Cow::Owned(content.clone()),
        sender_pubkey: owner.public_key(),
        sender_sig: session_key.sign(&content).unwrap().signature,
        sender_delegation: Some(chain),
    }
    .encode_bytes();
    let reply = post(CALL, "application/cbor", &body);
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("Invalid delegation"),
        "{}",
        reply.text()
    );
    assert_eq!(balance(&session_agent, owner_id), after);
}

#[test]
fn bodies_over_the_limits_are_refused_with_413() {
    let (identity, principal, before) = funded(26);
    // Over the application of the subnet's 2 MiB (here the NNS's 3.5 MiB)
    // message limit, under the HTTP limit of 5 MiB.
    let mut content = transfer_content(principal, 1_000, soon());
    if let EnvelopeContent::Call { arg, .. } = &mut content {
        arg.resize(4 * 1024 * 1024, 0);
    }
    let reply = post(CALL, "application/cbor", &signed(&identity, content));
    assert_eq!(reply.status, 413);
    assert!(reply.text().contains("too large"), "{}", reply.text());
    let reply = post(CALL, "application/cbor", &vec![0u8; 6 * 1024 * 1024]);
    assert_eq!(reply.status, 413);
    assert_eq!(balance(&agent(identity), principal), before);
}

#[test]
fn unknown_canisters_and_update_methods_queried_are_rejects() {
    // An id in the application subnet's range where no canister lives.
    let nobody = canister_id(0x1F_FFF0);
    let content = EnvelopeContent::Call {
        nonce: None,
        ingress_expiry: soon(),
        sender: Principal::anonymous(),
        canister_id: nobody,
        method_name: "hello".into(),
        arg: Encode!().unwrap(),
        sender_info: None,
    };
    let body = signed(&ic_agent::identity::AnonymousIdentity, content);
    let sync = post(
        &format!("/api/v3/canister/{nobody}/call"),
        "application/cbor",
        &body,
    );
    assert_eq!(sync.status, 200);
    assert_eq!(
        sync.field("status"),
        Value::Text("non_replicated_rejection".into())
    );
    assert_eq!(sync.field("reject_code"), Value::Integer(3));
    assert_eq!(sync.field("error_code"), Value::Text("IC0301".into()));
    let asynchronous = post(
        &format!("/api/v2/canister/{nobody}/call"),
        "application/cbor",
        &body,
    );
    assert_eq!(asynchronous.status, 200);
    assert_eq!(asynchronous.field("reject_code"), Value::Integer(3));

    // `transfer` is an update method: as a query, a signed reject.
    let agent = agent(ic_agent::identity::AnonymousIdentity);
    let error = runtime()
        .block_on(
            agent
                .query(&LEDGER_CANISTER_ID, "transfer")
                .with_arg(
                    Encode!(&AccountBalanceArgs {
                        account: AccountIdentifier::new(&Principal::anonymous(), None)
                    })
                    .unwrap(),
                )
                .call(),
        )
        .unwrap_err();
    match error {
        ic_agent::AgentError::UncertifiedReject { reject, .. } => {
            assert_eq!(
                reject.reject_code,
                ic_agent::agent::RejectCode::CanisterError
            );
            assert_eq!(reject.error_code.as_deref(), Some("IC0536"));
        }
        other => panic!("not a reject: {other:?}"),
    }
}

#[test]
fn read_state_refuses_what_the_sender_may_not_read() {
    let (identity, principal, _) = funded(27);
    // The owner's request, then a stranger asking for its status.
    let content = transfer_content(principal, 1_000, soon());
    let request_id = content.to_request_id();
    assert_eq!(
        post(CALL, "application/cbor", &signed(&identity, content)).status,
        200
    );
    let stranger = ed25519_identity(28);
    let read = |paths: Vec<Vec<Vec<u8>>>, who: &dyn Identity| {
        let content = EnvelopeContent::ReadState {
            ingress_expiry: soon(),
            sender: who.sender().unwrap(),
            paths: paths
                .into_iter()
                .map(|path| {
                    path.into_iter()
                        .map(|label| ic_agent::hash_tree::Label::from_bytes(&label))
                        .collect()
                })
                .collect(),
        };
        post(
            "/api/v3/canister/ryjl3-tyaaa-aaaaa-aaaba-cai/read_state",
            "application/cbor",
            &signed(who, content),
        )
    };
    let status_path = vec![b"request_status".to_vec(), request_id.to_vec()];
    assert_eq!(read(vec![status_path.clone()], &stranger).status, 403);
    assert_eq!(read(vec![status_path], &identity).status, 200);
    assert_eq!(
        read(vec![vec![b"no_such_subtree".to_vec()]], &identity).status,
        404
    );
    let other_canister = vec![
        b"canister".to_vec(),
        CYCLES_MINTING_CANISTER_ID.as_slice().to_vec(),
        b"module_hash".to_vec(),
    ];
    assert_eq!(read(vec![other_canister], &identity).status, 400);
    // Still serving.
    assert!(runtime().block_on(agent(stranger).status()).is_ok());
}

/// A call sent again is not run again: on `/api/v2` it is accepted again,
/// on `/api/v3` answered with its status; and after the network's time
/// moved ahead (on a network of its own), a call still valid by the wall
/// clock is still known.
#[test]
fn a_call_sent_again_runs_once() {
    let (identity, principal, before) = funded(29);
    let body = signed(&identity, transfer_content(principal, 1_000, soon()));
    let v2 = "/api/v2/canister/ryjl3-tyaaa-aaaaa-aaaba-cai/call";
    assert_eq!(post(v2, "application/cbor", &body).status, 202);
    assert_eq!(post(v2, "application/cbor", &body).status, 202);
    let again = post(CALL, "application/cbor", &body);
    assert_eq!(again.status, 200);
    assert_eq!(again.field("status"), Value::Text("replied".into()));
    // Let the rounds run, then count.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        balance(&agent(identity), principal),
        before - 1_000 - 10_000
    );
}

#[test]
fn a_call_stays_known_after_the_network_moves_ahead() {
    let modules = integration_tests::wasm_gz_path("ledger")
        .parent()
        .unwrap()
        .to_path_buf();
    let options = icp_economy_network::Options {
        allow_time_control: true,
    };
    let network =
        icp_economy_network::start(&modules, "127.0.0.1:0".parse().unwrap(), options).unwrap();
    let address = network.url().trim_start_matches("http://").to_string();
    let send = |body: &[u8]| {
        let call = "POST /api/v2/canister/ryjl3-tyaaa-aaaaa-aaaba-cai/call";
        http(
            &address,
            call,
            &[("Content-Type", "application/cbor")],
            body,
        )
        .0
    };
    // The anonymous principal pays: its balance is read from the core.
    let content = transfer_content(Principal::anonymous(), 1_000, soon());
    let body = signed(&ic_agent::identity::AnonymousIdentity, content);
    assert_eq!(send(&body), 202);
    icp_economy_network::advance_time(&network.url(), 3_600).unwrap();
    assert_eq!(send(&body), 202);
    icp_economy_network::advance_time(&network.url(), 1).unwrap();
    let anonymous = AccountIdentifier::new(&Principal::anonymous(), None);
    let (blocks,) = network.with_ic(|ic| {
        let reply = ic
            .query(
                LEDGER_CANISTER_ID,
                Principal::anonymous(),
                "account_balance",
                Encode!(&AccountBalanceArgs { account: anonymous }).unwrap(),
            )
            .unwrap();
        (candid::decode_one::<Tokens>(&reply).unwrap(),)
    });
    assert_eq!(
        blocks.e8s,
        icp_economy_network::ANONYMOUS_E8S - 1_000 - 10_000,
        "paid once"
    );
}

#[test]
fn a_queries_only_delegation_cannot_call() {
    let (owner, owner_id, before) = funded(30);
    let session =
        Prime256v1Identity::from_private_key(p256::SecretKey::from_slice(&[32; 32]).unwrap());
    let delegation = ic_agent::identity::Delegation {
        pubkey: session.public_key().unwrap(),
        expiration: soon() + 600_000_000_000,
        targets: None,
        permissions: Some(ic_agent::identity::DelegationPermissions::Queries),
    };
    let signature = owner
        .sign_delegation(&delegation)
        .unwrap()
        .signature
        .unwrap();
    let delegated = DelegatedIdentity::new_unchecked(
        owner.public_key().unwrap(),
        Box::new(session),
        vec![SignedDelegation {
            delegation,
            signature,
        }],
    );
    let reply = post(
        CALL,
        "application/cbor",
        &signed(&delegated, transfer_content(owner_id, 1_000, soon())),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("queries"), "{}", reply.text());
    assert_eq!(balance(&agent(owner), owner_id), before);
}

#[test]
fn management_calls_must_name_their_effective_canister() {
    use ic_management_canister_types::{
        ProvisionalCreateCanisterWithCyclesArgs, ProvisionalTopUpCanisterArgs,
    };
    let ic00 = Principal::management_canister();
    let app = canister_id;
    let call = |effective: Principal, method: &str, arg: Vec<u8>| {
        let content = EnvelopeContent::Call {
            nonce: Some(now_nanos().to_be_bytes().to_vec()),
            ingress_expiry: soon(),
            sender: Principal::anonymous(),
            canister_id: ic00,
            method_name: method.into(),
            arg,
            sender_info: None,
        };
        post(
            &format!("/api/v3/canister/{effective}/call"),
            "application/cbor",
            &signed(&ic_agent::identity::AnonymousIdentity, content),
        )
    };
    // A specified id elsewhere than the effective canister id.
    let create = ProvisionalCreateCanisterWithCyclesArgs {
        amount: None,
        settings: None,
        specified_id: Some(app(0x1F_1234)),
        sender_canister_version: None,
    };
    let reply = call(
        app(0x1F_0001),
        "provisional_create_canister_with_cycles",
        Encode!(&create).unwrap(),
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    // The NNS root's id is taken.
    let root = ProvisionalCreateCanisterWithCyclesArgs {
        specified_id: Some(nns_api::ids::ROOT_CANISTER_ID),
        ..create
    };
    let reply = call(
        nns_api::ids::ROOT_CANISTER_ID,
        "provisional_create_canister_with_cycles",
        Encode!(&root).unwrap(),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.field("status"), Value::Text("replied".into()));
    // An argument that names no canister.
    let reply = call(
        app(0x1F_0001),
        "install_chunked_code",
        Encode!(&7u8).unwrap(),
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    // Cycles that would overflow saturate; the network goes on.
    let top_up = ProvisionalTopUpCanisterArgs {
        canister_id: CYCLES_MINTING_CANISTER_ID,
        amount: candid::Nat::from(u128::MAX),
    };
    for _ in 0..2 {
        let reply = call(
            CYCLES_MINTING_CANISTER_ID,
            "provisional_top_up_canister",
            Encode!(&top_up).unwrap(),
        );
        assert_eq!(reply.status, 200);
    }
    assert!(
        runtime()
            .block_on(agent(ic_agent::identity::AnonymousIdentity).status())
            .is_ok()
    );
}

#[test]
fn sender_info_and_web_pages_at_the_admin_endpoint_are_refused() {
    let content = EnvelopeContent::Call {
        nonce: None,
        ingress_expiry: soon(),
        sender: Principal::anonymous(),
        canister_id: LEDGER_CANISTER_ID,
        method_name: "transfer".into(),
        arg: Encode!().unwrap(),
        sender_info: Some(ic_agent::identity::SenderInfo {
            info: vec![1],
            signer: vec![2],
            sig: vec![3],
        }),
    };
    let reply = post(
        CALL,
        "application/cbor",
        &signed(&ic_agent::identity::AnonymousIdentity, content),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("sender info"), "{}", reply.text());

    use std::io::{Read, Write};
    let address = endpoint().url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let head = format!(
        "POST /_/time/advance?seconds=1 HTTP/1.1\r\nHost: {address}\r\nOrigin: http://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    assert!(
        !reply
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{reply}"
    );
}
