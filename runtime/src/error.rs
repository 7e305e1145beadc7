//! Reject codes and error codes, as the IC (and pocket-ic's `RejectResponse`)
//! report them.

use std::fmt;

/// The IC's reject codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectCode {
    SysFatal = 1,
    SysTransient = 2,
    DestinationInvalid = 3,
    CanisterReject = 4,
    CanisterError = 5,
    SysUnknown = 6,
}

/// The IC's error codes (the `IC0xxx` in reject messages) that this runtime
/// produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// IC0101
    SubnetOversubscribed = 101,
    /// IC0205
    CanisterIdAlreadyExists = 205,
    /// IC0207
    CanisterOutOfCycles = 207,
    /// IC0301
    CanisterNotFound = 301,
    /// IC0406
    CanisterRejectedMessage = 406,
    /// IC0407
    UnknownManagementMessage = 407,
    /// IC0408
    InvalidManagementPayload = 408,
    /// IC0502
    CanisterTrapped = 502,
    /// IC0503
    CanisterCalledTrap = 503,
    /// IC0504
    CanisterContractViolation = 504,
    /// IC0505
    CanisterInvalidWasm = 505,
    /// IC0506
    CanisterDidNotReply = 506,
    /// IC0508
    CanisterStopped = 508,
    /// IC0509
    CanisterStopping = 509,
    /// IC0510
    CanisterNotStopped = 510,
    /// IC0511
    CanisterStoppingCancelled = 511,
    /// IC0512
    CanisterInvalidController = 512,
    /// IC0514
    CanisterNonEmpty = 514,
    /// IC0520
    InsufficientCyclesForCreateCanister = 520,
    /// IC0522
    CanisterInstructionLimitExceeded = 522,
    /// IC0525
    QueryCallGraphTooDeep = 525,
    /// IC0526
    QueryCallGraphTotalInstructionLimitExceeded = 526,
    /// IC0527
    CompositeQueryCalledInReplicatedMode = 527,
    /// IC0536
    CanisterMethodNotFound = 536,
    /// IC0537
    CanisterWasmModuleNotFound = 537,
    /// IC0538
    CanisterAlreadyInstalled = 538,
    /// IC0539
    CanisterWasmMemoryLimitExceeded = 539,
}

impl ErrorCode {
    /// The IC derives the reject code from the error code's hundreds.
    pub fn reject_code(self) -> RejectCode {
        match self as u16 / 100 {
            1 => RejectCode::SysFatal,
            2 => RejectCode::SysTransient,
            3 => RejectCode::DestinationInvalid,
            4 => RejectCode::CanisterReject,
            _ => RejectCode::CanisterError,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IC{:04}", *self as u16)
    }
}

/// A rejected call, as pocket-ic reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectResponse {
    pub reject_code: RejectCode,
    pub reject_message: String,
    pub error_code: ErrorCode,
    /// Whether the answer went through consensus (update calls) or not.
    pub certified: bool,
}

impl RejectResponse {
    pub(crate) fn new(error_code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            reject_code: error_code.reject_code(),
            reject_message: message.into(),
            error_code,
            certified: true,
        }
    }

    /// The answer to a best-effort call whose deadline passed first. Only a
    /// canister's reject callback receives it, which sees the reject code and
    /// message but no error code, so the one here is never shown.
    pub(crate) fn deadline_expired() -> Self {
        Self {
            reject_code: RejectCode::SysUnknown,
            reject_message: "Call deadline has expired.".to_string(),
            error_code: ErrorCode::CanisterDidNotReply,
            certified: true,
        }
    }

    /// A reject issued by the canister itself (`ic0.msg_reject`).
    pub(crate) fn canister_reject(message: String) -> Self {
        Self {
            reject_code: RejectCode::CanisterReject,
            reject_message: message,
            error_code: ErrorCode::CanisterRejectedMessage,
            certified: true,
        }
    }
}

/// The canister does not exist.
pub(crate) fn not_found(id: candid::Principal) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterNotFound,
        format!("Canister {id} not found"),
    )
}

/// The canister exists but has no code.
pub(crate) fn no_wasm(id: candid::Principal) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterWasmModuleNotFound,
        format!(
            "Error from Canister {id}: Attempted to execute a message, but the canister contains no Wasm module."
        ),
    )
}

/// A management method that only the canister's controllers may call.
pub(crate) fn not_controller(id: candid::Principal, method: &str) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterInvalidController,
        format!("Only controllers of canister {id} can call ic00 method {method}"),
    )
}

impl fmt::Display for RejectResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} ({}): {}",
            self.reject_code, self.error_code, self.reject_message
        )
    }
}

impl std::error::Error for RejectResponse {}
