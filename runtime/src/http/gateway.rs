//! The HTTP gateway: a canister's `http_request` served as a web page, at
//! `http://<canister-id>.localhost:<port>/…` or `…/?canisterId=<id>`, as
//! boundary nodes serve `icp0.io`; `<canister-id>.raw.localhost` skips
//! response verification, as `raw.icp0.io` does. The gateway protocol
//! (query, upgrade to `http_request_update`, response verification) is the
//! `ic-http-gateway` crate's, with an agent that calls this network over
//! its own HTTP interface, as a boundary node calls the IC.

use bytes::Bytes;
use candid::Principal;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode, header};
use ic_http_gateway::{HttpGatewayClient, HttpGatewayRequestArgs};
use std::sync::OnceLock;

type Reply = Response<Full<Bytes>>;

/// The gateway's client of this network, made once its address is known.
pub(super) struct Gateway {
    url: String,
    root_key: Vec<u8>,
    client: OnceLock<HttpGatewayClient>,
}

/// Which canister a request is for, and whether its answer is checked.
pub(super) struct Target {
    pub canister_id: Principal,
    pub raw: bool,
}

/// The canister named by the host (`<id>.localhost`, `<id>.raw.localhost`)
/// or by the `canisterId` query parameter.
pub(super) fn target(host: Option<&str>, query: Option<&str>) -> Option<Target> {
    let host = host.map(|h| h.split(':').next().unwrap_or(h));
    if let Some(host) = host {
        let mut labels = host.split('.');
        if let (Some(first), Some(second)) = (labels.next(), labels.next())
            && let Ok(canister_id) = Principal::from_text(first)
        {
            return Some(Target {
                canister_id,
                raw: second == "raw",
            });
        }
    }
    let canister_id = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("canisterId="))
        .and_then(|id| Principal::from_text(id).ok())?;
    Some(Target {
        canister_id,
        raw: false,
    })
}

impl Gateway {
    pub(super) fn new(url: String, root_key: Vec<u8>) -> Self {
        Self {
            url,
            root_key,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&HttpGatewayClient, String> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let agent = ic_agent_for_gateway::Agent::builder()
            .with_url(&self.url)
            .build()
            .map_err(|e| e.to_string())?;
        agent.set_root_key(self.root_key.clone());
        let client = HttpGatewayClient::builder()
            .with_agent(agent)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(self.client.get_or_init(|| client))
    }

    pub(super) async fn serve(&self, target: Target, request: hyper::Request<Bytes>) -> Reply {
        let client = match self.client() {
            Ok(client) => client,
            Err(error) => return plain(StatusCode::INTERNAL_SERVER_ERROR, error),
        };
        let mut builder = client.request(HttpGatewayRequestArgs {
            canister_request: request,
            canister_id: target.canister_id,
        });
        builder.unsafe_set_skip_verification(target.raw);
        let response = builder.send().await;
        let (parts, body) = response.canister_response.into_parts();
        let body = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => {
                return plain(
                    StatusCode::BAD_GATEWAY,
                    format!("reading the body: {error}"),
                );
            }
        };
        Response::from_parts(parts, Full::new(body))
    }
}

fn plain(status: StatusCode, message: String) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(message)))
        .expect("a valid response")
}
