//! What a failed inter-canister call tells its caller, read once for every
//! canister.

use ic_cdk::call::CallFailed;

/// The IC's reject code for a call that could not be made at all
/// (`SYS_TRANSIENT`: retrying may work).
const SYS_TRANSIENT: u32 = 2;

/// Of `attached` cycles sent with a failed call, those back in this
/// canister: all of them if the call never left, what the system refunded
/// if it was rejected (a callee may have kept some).
pub fn returned_cycles(attached: u128, failure: &CallFailed) -> u128 {
    match failure {
        CallFailed::CallRejected(_) => ic_cdk::api::msg_cycles_refunded().min(attached),
        _ => attached,
    }
}

/// The reject code and message of a failed call; one that never left is
/// `SYS_TRANSIENT`, with the reason it did not.
pub fn reject_code_and_message(failure: &CallFailed) -> (u32, String) {
    match failure {
        CallFailed::CallRejected(r) => (r.raw_reject_code(), r.reject_message().to_string()),
        other => (SYS_TRANSIENT, other.to_string()),
    }
}
