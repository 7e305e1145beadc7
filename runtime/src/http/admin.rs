//! Time control, beyond a replica: `POST /_/time/advance?seconds=N` moves
//! the network's time ahead and runs a round at the new time, so that what
//! falls due (timers, reward days, dissolving neurons, deadlines) runs at
//! once; `GET /_/time` reads the time. Off unless the network was started
//! with it allowed; under `/_/`, never under the IC's `/api` paths.

use super::Shared;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode, header};
use std::sync::atomic::Ordering;

type Reply = Response<Full<Bytes>>;

fn json(status: StatusCode, body: String) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

fn error(status: StatusCode, message: &str) -> Reply {
    json(status, format!("{{\"error\":{message:?}}}"))
}

/// The longest single step: a century.
const MAX_ADVANCE_SECONDS: u64 = 100 * 366 * 24 * 3600;

pub(super) async fn handle(
    method: &Method,
    path: &str,
    query: Option<&str>,
    shared: &Shared,
) -> Reply {
    match (method, path) {
        (&Method::GET, "/_/time") => {
            let time = shared.ic().time();
            json(StatusCode::OK, format!("{{\"nanos_since_epoch\":{time}}}"))
        }
        (&Method::POST, "/_/time/advance") => {
            if !shared.allow_time_control {
                return error(
                    StatusCode::FORBIDDEN,
                    "time control is off: start the network with --allow-time-control",
                );
            }
            let seconds = query
                .into_iter()
                .flat_map(|q| q.split('&'))
                .find_map(|pair| pair.strip_prefix("seconds="))
                .and_then(|value| value.parse::<u64>().ok());
            let Some(seconds) = seconds.filter(|s| *s <= MAX_ADVANCE_SECONDS) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "expected ?seconds=N, a whole number of seconds up to a century",
                );
            };
            shared
                .time_offset
                .fetch_add(seconds * 1_000_000_000, Ordering::SeqCst);
            // Two rounds at the new time: the first runs what fell due, the
            // second what that round sent.
            let mut rounds = shared.rounds.subscribe();
            let target = *rounds.borrow_and_update() + 2;
            shared.wake();
            while *rounds.borrow_and_update() < target {
                shared.wake();
                if rounds.changed().await.is_err() {
                    break;
                }
            }
            let time = shared.ic().time();
            json(StatusCode::OK, format!("{{\"nanos_since_epoch\":{time}}}"))
        }
        _ => error(StatusCode::NOT_FOUND, "no such admin endpoint"),
    }
}
