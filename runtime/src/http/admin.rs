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
/// The network's time stays below this (2200-01-01), far from where
/// nanoseconds since 1970 overflow.
const LATEST_TIME_NANOS: u64 = 7_258_118_400 * 1_000_000_000;

pub(super) async fn handle(
    method: &Method,
    path: &str,
    query: Option<&str>,
    from_a_web_page: bool,
    shared: &Shared,
) -> Reply {
    // Browsers send an Origin with every cross-site request; the admin
    // endpoints are for the command line and tests, not for web pages.
    if from_a_web_page {
        return error(
            StatusCode::FORBIDDEN,
            "the admin endpoints do not answer web pages",
        );
    }
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
            let step = seconds * 1_000_000_000;
            let moved =
                shared
                    .time_offset
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                        let offset = offset.checked_add(step)?;
                        (shared.wall_clock().checked_add(offset)? < LATEST_TIME_NANOS)
                            .then_some(offset)
                    });
            if moved.is_err() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "the network's time would pass the year 2200",
                );
            }
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
