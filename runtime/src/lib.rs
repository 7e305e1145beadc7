//! An in-process Internet Computer: runs canister wasm modules with wasmtime
//! the way the IC does, behind an API shaped like the `pocket-ic` crate's.

pub mod canister;
pub mod certification;
mod composite_query;
mod disk_cache;
pub mod error;
mod execution;
mod heap_journal;
mod management;
mod messages;
pub mod module;
pub mod pocket_ic;
pub mod stable_memory;
mod state;
pub mod system_api;

pub use error::{ErrorCode, RejectCode, RejectResponse};
pub use messages::{RawEffectivePrincipal, RawMessageId};
pub use pocket_ic::{
    BlobCompression, CanisterLogRecord, InstallMode, PocketIc, Time, on_system_subnet,
    query_candid, query_candid_as, update_candid, update_candid_as,
};
