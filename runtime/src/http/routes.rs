//! The endpoints of the IC's HTTP interface: status, calls (asynchronous
//! on `/api/v2`, synchronous on `/api/v3` and `/api/v4`), queries with node
//! signatures, and `read_state` of canisters and subnets.

use super::envelope::{Authenticated, Refusal, authenticate, hex};
use super::{MAX_BODY_BYTES, SYNC_CALL_TIMEOUT, Shared};
use crate::error::RejectResponse;
use crate::ic::certified_state::{Path, RangesForm};
use bytes::Bytes;
use candid::Principal;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use ic_transport_types::EnvelopeContent;
use serde::Serialize;
use std::sync::Arc;
use tokio::net::TcpListener;

type Reply = Response<Full<Bytes>>;

/// Accepts connections until `stop` fires.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, say: wait rather than spin.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => return,
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(request, &shared).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(30))
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Which API version a path names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Version {
    V2,
    V3,
    V4,
}

async fn handle(request: Request<Incoming>, shared: &Shared) -> Reply {
    let admin = request.uri().path().starts_with("/_/");
    let mut reply = route(request, shared).await;
    if admin {
        return reply;
    }
    // Any web page may call the API, as on the IC's boundary nodes.
    let headers = reply.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, HEAD, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Cookie,X-Ic-Canister-Id"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Length,Content-Range"),
    );
    reply
}

async fn route(request: Request<Incoming>, shared: &Shared) -> Reply {
    if request.method() == Method::OPTIONS {
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Full::default())
            .expect("a valid response");
    }
    let path = request.uri().path().to_string();
    if path.starts_with("/_/") {
        let query = request.uri().query().map(str::to_string);
        let from_a_web_page = request.headers().contains_key(header::ORIGIN);
        return super::admin::handle(
            request.method(),
            &path,
            query.as_deref(),
            from_a_web_page,
            shared,
        )
        .await;
    }
    if !path.starts_with("/api/") {
        return gateway(request, shared).await;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let version = match segments.get(1) {
        Some(&"v2") => Version::V2,
        Some(&"v3") => Version::V3,
        Some(&"v4") => Version::V4,
        _ => return text(StatusCode::NOT_FOUND, format!("No route for {path}")),
    };
    match (request.method().clone(), segments.as_slice()) {
        (Method::GET, ["api", "v2", "status"]) => status(shared),
        (Method::POST, ["api", _, kind @ ("canister" | "subnet"), id, endpoint]) => {
            let Ok(id) = Principal::from_text(id) else {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("Could not parse the effective id {id:?} as a principal"),
                );
            };
            let is_cbor = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.eq_ignore_ascii_case("application/cbor"));
            if !is_cbor {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Unexpected content-type, expected application/cbor.",
                );
            }
            let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes(),
                Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded"),
            };
            match (*kind, *endpoint, version) {
                ("canister", "call", _) => call(shared, id, &body, version).await,
                // Executing a query or signing a round's tree blocks its
                // worker; there are more workers than cores (see
                // `Network::start`), and handing the worker over per
                // request (`block_in_place`) costs 16 % of the queries.
                ("canister", "query", Version::V2 | Version::V3) => query(shared, id, &body),
                ("canister", "read_state", Version::V2 | Version::V3) => {
                    read_state(shared, Target::Canister(id), &body, version)
                }
                ("subnet", "read_state", Version::V2 | Version::V3) => {
                    read_state(shared, Target::Subnet(id), &body, version)
                }
                _ => text(StatusCode::NOT_FOUND, format!("No route for {path}")),
            }
        }
        _ => text(StatusCode::NOT_FOUND, format!("No route for {path}")),
    }
}

/// A web request for a canister: through the HTTP gateway.
async fn gateway(request: Request<Incoming>, shared: &Shared) -> Reply {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let Some(target) = super::gateway::target(host.as_deref(), request.uri().query()) else {
        return text(
            StatusCode::NOT_FOUND,
            "No canister named: use http://<canister-id>.localhost:<port>/ or ?canisterId=<canister-id>",
        );
    };
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded"),
    };
    let gateway = shared.gateway.get().expect("set when the network starts");
    gateway
        .serve(target, Request::from_parts(parts, body))
        .await
}

fn text(status: StatusCode, message: impl Into<String>) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(message.into())))
        .expect("a valid response")
}

fn refused(refusal: Refusal) -> Reply {
    text(
        StatusCode::from_u16(refusal.status).expect("a valid status"),
        refusal.message,
    )
}

/// A CBOR body with the self-describing tag.
fn cbor(status: StatusCode, value: &impl Serialize) -> Reply {
    let mut serializer = serde_cbor::Serializer::new(Vec::new());
    serializer.self_describe().expect("writing to a vector");
    value.serialize(&mut serializer).expect("responses encode");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/cbor")
        .body(Full::new(Bytes::from(serializer.into_inner())))
        .expect("a valid response")
}

#[derive(Serialize)]
struct Status {
    #[serde(with = "serde_bytes")]
    root_key: Vec<u8>,
    impl_version: &'static str,
    replica_health_status: &'static str,
}

fn status(shared: &Shared) -> Reply {
    cbor(
        StatusCode::OK,
        &Status {
            root_key: shared.ic().root_key_der(),
            impl_version: concat!("icp-economy-network ", env!("CARGO_PKG_VERSION")),
            replica_health_status: "healthy",
        },
    )
}

/// The canister a request addressed to the management canister acts on,
/// read from its argument: the effective canister id must name it. `None`
/// for a creation without a specified id (any id of the subnet's range
/// will do); an error when the argument names no canister.
fn management_target(method: &str, arg: &[u8]) -> Result<Option<Principal>, Refusal> {
    #[derive(candid::Deserialize, candid::CandidType)]
    struct CanisterIdRecord {
        canister_id: Principal,
    }
    #[derive(candid::Deserialize, candid::CandidType)]
    struct Creation {
        specified_id: Option<Principal>,
    }
    #[derive(candid::Deserialize, candid::CandidType)]
    struct ChunkedInstall {
        target_canister: Principal,
    }
    let undecodable = |e: candid::Error| {
        Refusal::bad_request(format!(
            "Could not decode the argument of ic00 method {method} for its effective canister id: {e}"
        ))
    };
    match method {
        "provisional_create_canister_with_cycles" => candid::decode_one::<Creation>(arg)
            .map(|c| c.specified_id)
            .map_err(undecodable),
        "install_chunked_code" => candid::decode_one::<ChunkedInstall>(arg)
            .map(|c| Some(c.target_canister))
            .map_err(undecodable),
        _ => candid::decode_one::<CanisterIdRecord>(arg)
            .map(|r| Some(r.canister_id))
            .map_err(undecodable),
    }
}

/// The checks common to calls and queries: the request targets the
/// effective canister (or the management canister on its behalf), and the
/// sender's delegations allow it.
fn check_target(
    effective: Principal,
    request: &Authenticated,
    canister_id: Principal,
    method: &str,
    arg: &[u8],
) -> Result<(), Refusal> {
    if canister_id == Principal::management_canister() {
        if let Some(target) = management_target(method, arg)?
            && target != effective
        {
            return Err(Refusal::bad_request(format!(
                "Specified CanisterId {effective} does not match effective canister id in URL {target}"
            )));
        }
    } else if canister_id != effective {
        return Err(Refusal::bad_request(format!(
            "Specified CanisterId {canister_id} does not match effective canister id in URL {effective}"
        )));
    }
    if let Some(targets) = &request.targets
        && !targets.contains(&canister_id)
    {
        return Err(Refusal::bad_request(format!(
            "Canister '{canister_id}' is not one of the delegation targets."
        )));
    }
    Ok(())
}

/// The ingress filter's refusal on `/api/v2`: the reject without a status.
#[derive(Serialize)]
struct AsyncCallRejection {
    reject_code: u64,
    reject_message: String,
    error_code: String,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum SyncCallResponse {
    Replied {
        #[serde(with = "serde_bytes")]
        certificate: Vec<u8>,
    },
    NonReplicatedRejection {
        reject_code: u64,
        reject_message: String,
        error_code: String,
    },
}

impl SyncCallResponse {
    fn rejection(reject: RejectResponse) -> Self {
        Self::NonReplicatedRejection {
            reject_code: reject.reject_code as u64,
            reject_message: reject.reject_message,
            error_code: reject.error_code.to_string(),
        }
    }
}

/// A call or query to a canister, authenticated and addressed to the
/// effective canister id (or to the management canister on its behalf).
struct Message {
    request_id: [u8; 32],
    sender: Principal,
    canister_id: Principal,
    method_name: String,
    arg: Vec<u8>,
    /// On the network's clock.
    ingress_expiry: u64,
    /// As the client sent it, for the replay guard.
    expiry_as_sent: u64,
}

/// Which kind of request an endpoint takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Call,
    Query,
}

fn message(
    shared: &Shared,
    effective: Principal,
    body: &[u8],
    kind: Kind,
) -> Result<Message, Refusal> {
    let request = authenticate(body, shared.clocks())?;
    let (EnvelopeContent::Call {
        sender,
        canister_id,
        method_name,
        arg,
        ..
    }
    | EnvelopeContent::Query {
        sender,
        canister_id,
        method_name,
        arg,
        ..
    }) = &request.content
    else {
        return Err(Refusal::bad_request(
            "Expected a call or a query, not a read_state request",
        ));
    };
    let is_call = matches!(request.content, EnvelopeContent::Call { .. });
    if is_call != (kind == Kind::Call) {
        let expected = if kind == Kind::Call { "call" } else { "query" };
        return Err(Refusal::bad_request(format!(
            "Expected a request of type {expected}"
        )));
    }
    check_target(effective, &request, *canister_id, method_name, arg)?;
    Ok(Message {
        request_id: request.request_id,
        sender: *sender,
        canister_id: *canister_id,
        method_name: method_name.clone(),
        arg: arg.clone(),
        ingress_expiry: request.expiry,
        expiry_as_sent: request.content.ingress_expiry(),
    })
}

async fn call(shared: &Shared, effective: Principal, body: &[u8], version: Version) -> Reply {
    let Message {
        request_id,
        sender,
        canister_id,
        method_name,
        arg,
        ingress_expiry,
        expiry_as_sent,
    } = match message(shared, effective, body, Kind::Call) {
        Ok(message) => message,
        Err(refusal) => return refused(refusal),
    };
    let message_id = request_id.to_vec();
    let form = match version {
        Version::V2 => RangesForm::SubnetSubtree,
        Version::V3 | Version::V4 => RangesForm::Sharded,
    };
    let subnet = {
        let mut ic = shared.ic();
        let subnet = ic.topology().subnet_of(&effective);
        // A replica's ingress limit: 3.5 MiB on the NNS subnet, 2 MiB elsewhere.
        let limit = if subnet.kind == crate::SubnetKind::Nns {
            3_670_016
        } else {
            2_097_152
        };
        let subnet = subnet.id;
        if body.len() > limit {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Request {} is too large. Message byte size {} is larger than the max allowed {limit}.",
                    hex(&message_id),
                    body.len()
                ),
            );
        }
        let mut seen = shared.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.prune(shared.clocks());
        let certified = ic.certified_state_mut().expect("certification is on");
        if seen.contains(&request_id) {
            // Sent again: v2 accepts it again; v3 and v4 answer with the
            // status certified so far.
            if version == Version::V2 {
                return accepted();
            }
            let path: Path = vec![b"request_status".to_vec(), message_id.clone()];
            let certificate = certified.certificate(&subnet, &[path], form);
            return cbor(StatusCode::OK, &SyncCallResponse::Replied { certificate });
        }
        if let Err(reject) = ic.submit_http_ingress(
            message_id.clone(),
            effective,
            canister_id,
            sender,
            &method_name,
            arg,
            ingress_expiry,
        ) {
            // Refused before it ran: the same request may come again.
            return match version {
                Version::V2 => cbor(
                    StatusCode::OK,
                    &AsyncCallRejection {
                        reject_code: reject.reject_code as u64,
                        reject_message: reject.reject_message,
                        error_code: reject.error_code.to_string(),
                    },
                ),
                Version::V3 | Version::V4 => {
                    cbor(StatusCode::OK, &SyncCallResponse::rejection(reject))
                }
            };
        }
        seen.insert(request_id, expiry_as_sent);
        subnet
    };
    shared.wake();
    if version == Version::V2 {
        return accepted();
    }
    match wait_for_answer(shared, &message_id, subnet, form).await {
        Some(certificate) => cbor(StatusCode::OK, &SyncCallResponse::Replied { certificate }),
        None => text(
            StatusCode::ACCEPTED,
            "Message did not complete execution and certification within the replica defined timeout.",
        ),
    }
}

fn accepted() -> Reply {
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .body(Full::default())
        .expect("a valid response")
}

/// Waits for the round that answers `message_id`; the certificate of its
/// status, or `None` when the wait times out.
async fn wait_for_answer(
    shared: &Shared,
    message_id: &[u8],
    subnet: Principal,
    form: RangesForm,
) -> Option<Vec<u8>> {
    let mut rounds = shared.rounds.subscribe();
    let deadline = tokio::time::Instant::now() + SYNC_CALL_TIMEOUT;
    let path: Path = vec![b"request_status".to_vec(), message_id.to_vec()];
    loop {
        {
            let mut ic = shared.ic();
            let certified = ic.certified_state_mut().expect("certification is on");
            let status = certified.lookup(&subnet, &[b"request_status", message_id, b"status"]);
            if matches!(
                status.map(Vec::as_slice),
                Some(b"replied" | b"rejected" | b"done")
            ) {
                return Some(certified.certificate(&subnet, &[path], form));
            }
        }
        if tokio::time::timeout_at(deadline, rounds.changed())
            .await
            .is_err()
        {
            return None;
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum QueryReply {
    Replied {
        reply: ic_transport_types::ReplyResponse,
        signatures: Vec<ic_transport_types::NodeSignature>,
    },
    Rejected {
        reject_code: u64,
        reject_message: String,
        error_code: String,
        signatures: Vec<ic_transport_types::NodeSignature>,
    },
}

fn query(shared: &Shared, effective: Principal, body: &[u8]) -> Reply {
    let Message {
        request_id,
        sender,
        canister_id,
        method_name,
        arg,
        ..
    } = match message(shared, effective, body, Kind::Query) {
        Ok(message) => message,
        Err(refusal) => return refused(refusal),
    };
    let mut ic = shared.ic();
    let outcome = if canister_id == Principal::management_canister() {
        ic.management_query(sender, &method_name, &arg)
    } else {
        ic.query(canister_id, sender, &method_name, arg)
    };
    let timestamp = ic.time();
    let subnet = ic.topology().subnet_of(&effective).id;
    let certified = ic.certified_state().expect("certification is on");
    let node = &certified.subnet(&subnet).expect("a known subnet").node;
    let transport = match outcome {
        Ok(arg) => ic_transport_types::QueryResponse::Replied {
            reply: ic_transport_types::ReplyResponse { arg },
            signatures: Vec::new(),
        },
        Err(reject) => ic_transport_types::QueryResponse::Rejected {
            reject: ic_transport_types::RejectResponse {
                reject_code: ic_transport_types::RejectCode::try_from(reject.reject_code as u64)
                    .expect("the IC's reject codes"),
                reject_message: reject.reject_message,
                error_code: Some(reject.error_code.to_string()),
            },
            signatures: Vec::new(),
        },
    };
    let signable = transport.signable(ic_transport_types::RequestId::new(&request_id), timestamp);
    let signatures = vec![ic_transport_types::NodeSignature {
        timestamp,
        signature: node.sign(&signable).to_vec(),
        identity: node.node_id(),
    }];
    let reply = match transport {
        ic_transport_types::QueryResponse::Replied { reply, .. } => {
            QueryReply::Replied { reply, signatures }
        }
        ic_transport_types::QueryResponse::Rejected { reject, .. } => QueryReply::Rejected {
            reject_code: reject.reject_code as u64,
            reject_message: reject.reject_message,
            error_code: reject.error_code.unwrap_or_default(),
            signatures,
        },
    };
    cbor(StatusCode::OK, &reply)
}

enum Target {
    Canister(Principal),
    Subnet(Principal),
}

#[derive(Serialize)]
struct ReadStateReply {
    #[serde(with = "serde_bytes")]
    certificate: Vec<u8>,
}

/// At most this many paths in one read, of at most this many labels.
const MAX_READ_STATE_PATHS: usize = 1_000;
const MAX_PATH_LABELS: usize = 127;

fn read_state(shared: &Shared, target: Target, body: &[u8], version: Version) -> Reply {
    let request = match authenticate(body, shared.clocks()) {
        Ok(request) => request,
        Err(refusal) => return refused(refusal),
    };
    let EnvelopeContent::ReadState { sender, paths, .. } = &request.content else {
        return text(
            StatusCode::BAD_REQUEST,
            "Expected a request of type read_state",
        );
    };
    if paths.len() > MAX_READ_STATE_PATHS {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Too many paths: at most {MAX_READ_STATE_PATHS} are allowed"),
        );
    }
    if paths.iter().any(|path| path.len() > MAX_PATH_LABELS) {
        return text(
            StatusCode::BAD_REQUEST,
            format!("At least one path is too deep: at most {MAX_PATH_LABELS} labels are allowed"),
        );
    }
    let paths: Vec<Path> = paths
        .iter()
        .map(|path| path.iter().map(|label| label.as_bytes().to_vec()).collect())
        .collect();
    let mut ic = shared.ic();
    let subnet = match target {
        Target::Canister(id) => ic.topology().subnet_of(&id).id,
        Target::Subnet(id) => {
            if !ic.topology().is_subnet_id(&id) {
                return text(StatusCode::NOT_FOUND, format!("Subnet {id} not found"));
            }
            id
        }
    };
    if let Err(refusal) = authorize_read(&ic, &target, *sender, &request.targets, &paths, version) {
        return refused(refusal);
    }
    let form = match (&target, version) {
        (Target::Subnet(_), _) => RangesForm::None,
        (Target::Canister(_), Version::V2) => RangesForm::SubnetSubtree,
        (Target::Canister(_), _) => RangesForm::Sharded,
    };
    let certified = ic.certified_state_mut().expect("certification is on");
    let certificate = certified.certificate(&subnet, &paths, form);
    cbor(StatusCode::OK, &ReadStateReply { certificate })
}

/// Which paths a sender may read, as the replica allows them: `/time`,
/// `/subnet`, on a canister endpoint the canister's `module_hash`,
/// `controllers` and metadata (private metadata: its controllers only), on
/// a subnet endpoint `/canister_ranges/<subnet>`, and the status of the
/// sender's own requests (one request id per read).
fn authorize_read(
    ic: &crate::ic::Ic,
    target: &Target,
    sender: Principal,
    targets: &Option<Vec<Principal>>,
    paths: &[Path],
    version: Version,
) -> Result<(), Refusal> {
    let not_found = || Refusal {
        status: 404,
        message: "Invalid path requested.".to_string(),
    };
    let mut request_ids: Vec<&[u8]> = Vec::new();
    for path in paths {
        let labels: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
        match (target, labels.as_slice()) {
            (_, [b"time"]) => {}
            (_, [b"subnet", ..]) => {}
            (Target::Subnet(_), [b"canister_ranges", _]) => {}
            (Target::Canister(effective), [b"canister", canister, rest @ ..]) => {
                if *canister != effective.as_slice() {
                    return Err(Refusal::bad_request(format!(
                        "Effective principal id in URL {effective} does not match requested principal id: {}.",
                        Principal::try_from_slice(canister)
                            .map(|p| p.to_text())
                            .unwrap_or_else(|_| hex(canister))
                    )));
                }
                match rest {
                    [b"module_hash"] | [b"controllers"] => {}
                    [b"metadata", name] => {
                        let Ok(name) = std::str::from_utf8(name) else {
                            return Err(Refusal::bad_request(
                                "Could not parse the custom section name as UTF-8",
                            ));
                        };
                        let Ok(canister) = ic.canister(*effective) else {
                            continue;
                        };
                        let private = canister
                            .code
                            .as_ref()
                            .and_then(|code| code.compiled.metadata.get(name))
                            .is_some_and(|section| !section.public);
                        if private && !canister.is_controller(&sender) {
                            return Err(Refusal::forbidden(format!(
                                "Custom section {name} can only be requested by the controllers of the canister."
                            )));
                        }
                    }
                    _ => return Err(not_found()),
                }
            }
            (Target::Subnet(_), [b"request_status", ..]) if version == Version::V2 => {
                return Err(not_found());
            }
            (_, [b"request_status", id, rest @ ..]) => {
                if !matches!(
                    rest,
                    [] | [b"status"
                        | b"reply"
                        | b"reject_code"
                        | b"reject_message"
                        | b"error_code"]
                ) {
                    return Err(not_found());
                }
                if id.len() != 32 {
                    return Err(Refusal::bad_request(
                        "Invalid request id in paths. Maybe the request ID is not of 32 bytes in length?!",
                    ));
                }
                let certified = ic.certified_state().expect("certification is on");
                if let Some(owner) = certified.ingress_sender(id)
                    && owner != sender
                {
                    return Err(Refusal::forbidden(
                        "The user tries to access Request ID not signed by the caller.",
                    ));
                }
                if let (Some(targets), Some(receiver)) = (targets, certified.ingress_receiver(id))
                    && !targets.contains(&receiver)
                {
                    return Err(Refusal::forbidden(
                        "The user tries to access request IDs for canisters not belonging to sender delegation targets.",
                    ));
                }
                if let Some(first) = request_ids.first()
                    && first != id
                {
                    return Err(Refusal::bad_request(format!(
                        "More than one non-unique request ID exists in request_status paths: {} and {}.",
                        hex(first),
                        hex(id)
                    )));
                }
                request_ids.push(id);
            }
            _ => return Err(not_found()),
        }
    }
    Ok(())
}
