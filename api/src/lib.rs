//! Candid types shared by the canisters of this workspace and their clients.
//!
//! This crate must not depend on `ic-cdk` (the test command checks it), so
//! that off-chain clients and tests can use it without pulling in the
//! canister runtime.

pub mod account_identifier;
pub mod cmc;
pub mod cycles_ledger;
pub mod governance;
pub mod http;
pub mod icp_block;
pub mod ids;
pub mod index;
pub mod ledger;
pub mod metadata;
pub mod node_rewards;
pub mod protobuf;
pub mod swap;
pub mod token_ledger;

pub use account_identifier::{AccountIdentifier, Subaccount};
