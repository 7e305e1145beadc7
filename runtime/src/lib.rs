//! An in-process Internet Computer: runs canister wasm modules with wasmtime
//! the way the IC does, behind an API shaped like the `pocket-ic` crate's.

pub mod canister;
pub mod certification;
mod disk_cache;
pub mod error;
mod heap_journal;
#[cfg(feature = "http")]
pub mod http;
pub mod ic;
pub mod metering;
pub mod module;
pub mod pocket_ic;
pub mod stable_memory;
pub mod system_api;

pub use error::{ErrorCode, RejectCode, RejectResponse};
pub use ic::messages::{RawEffectivePrincipal, RawMessageId};
pub use ic::state::CanisterLogRecord;
pub use ic::subnet::SubnetKind;
pub use pocket_ic::{
    BlobCompression, CanisterIdRange, InstallMode, PocketIc, SubnetConfig, Time, Topology,
    on_system_subnet, query_candid, query_candid_as, update_candid, update_candid_as,
};

/// Whether heaps are journalled by the kernel's write tracking (Linux 6.7
/// and later) rather than by protecting their pages; the environment
/// variable `IC_RUNTIME_HEAP_JOURNAL=protect` asks for the latter.
pub fn heap_writes_tracked_by_kernel() -> bool {
    heap_journal::tracked_by_kernel()
}
