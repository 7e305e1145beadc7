//! The HTTP gateway's `http_request` types, as the NNS canisters serve them.

use candid::{CandidType, Deserialize};
use serde_bytes::ByteBuf;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: ByteBuf,
}

impl HttpRequest {
    /// The URL without its query string.
    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or_default()
    }
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: Vec<(String, String)>,
    pub body: ByteBuf,
}

impl HttpResponse {
    pub fn text(status_code: u16, content_type: &str, body: String) -> Self {
        Self {
            status_code,
            headers: vec![
                ("Content-Type".into(), content_type.into()),
                ("Content-Length".into(), body.len().to_string()),
            ],
            body: ByteBuf::from(body.into_bytes()),
        }
    }

    pub fn not_found() -> Self {
        Self::text(404, "text/plain", "not found".into())
    }
}
