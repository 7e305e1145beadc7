//! Helpers of the integration tests: the harness (the NNS canisters on
//! either backend), and what only the tests need — the real ICP ledger's
//! protobuf messages and transaction hashes, to check the ledger against.

pub use nns_harness::*;

pub mod icp_agreement;
pub mod icp_proto;
pub mod icp_tx_hash;
