//! The `http_request` argument, read with [`candid_reader`] (see there why)
//! for the canisters' `/metrics` endpoints.

use crate::candid_reader::{self, Cursor, Type, field, required};
use nns_api::http::HttpRequest;
use serde_bytes::ByteBuf;

/// For `#[query(decode_with = ...)]`: traps, and so rejects the call, on a
/// malformed argument.
pub fn decode_http_request(message: Vec<u8>) -> HttpRequest {
    candid_reader::decode_first(&message, read_http_request)
        .unwrap_or_else(|e| ic_cdk::trap(format!("http_request: {e}")))
}

/// `record { method; url; headers : vec record { text; text }; body : blob }`;
/// other fields (the gateway's `certificate_version`) are skipped.
pub fn read_http_request(c: &mut Cursor, ty: Type) -> candid_reader::Result<HttpRequest> {
    const METHOD: u32 = field("method");
    const URL: u32 = field("url");
    const HEADERS: u32 = field("headers");
    const BODY: u32 = field("body");
    let (mut method, mut url, mut body) = (None, None, None);
    let mut headers = Vec::new();
    c.record(ty, |c, hash, ty| {
        match hash {
            METHOD => method = Some(c.text(ty)?.to_string()),
            URL => url = Some(c.text(ty)?.to_string()),
            BODY => body = Some(ByteBuf::from(c.blob(ty)?.to_vec())),
            HEADERS => c.vec(ty, |c, _, ty| {
                let text = |c: &mut Cursor, ty| c.text(ty).map(str::to_string);
                headers.push(c.pair(ty, text, text)?);
                Ok(())
            })?,
            _ => c.skip(ty)?,
        }
        Ok(())
    })?;
    Ok(HttpRequest {
        method: required(method, "method")?,
        url: required(url, "url")?,
        headers,
        body: required(body, "body")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{CandidType, Encode};

    #[test]
    fn reads_a_request_as_candid_wrote_it() {
        let request = HttpRequest {
            method: "GET".into(),
            url: "/metrics?x=1".into(),
            headers: vec![
                ("accept".into(), "text/plain".into()),
                ("a".into(), String::new()),
            ],
            body: ByteBuf::from(vec![1, 2, 3]),
        };
        let bytes = Encode!(&request).unwrap();
        assert_eq!(
            candid_reader::decode_first(&bytes, read_http_request),
            Ok(request)
        );
    }

    #[test]
    fn reads_the_gateways_request_with_its_extra_field() {
        #[derive(CandidType)]
        struct GatewayRequest {
            url: String,
            method: String,
            body: ByteBuf,
            headers: Vec<(String, String)>,
            certificate_version: Option<u16>,
        }
        let bytes = Encode!(&GatewayRequest {
            url: "/metrics".into(),
            method: "GET".into(),
            body: ByteBuf::new(),
            headers: vec![],
            certificate_version: Some(2),
        })
        .unwrap();
        let read = candid_reader::decode_first(&bytes, read_http_request).unwrap();
        assert_eq!(
            (read.method.as_str(), read.url.as_str()),
            ("GET", "/metrics")
        );
        assert!(candid_reader::decode_first(&Encode!(&"GET").unwrap(), read_http_request).is_err());
    }
}
