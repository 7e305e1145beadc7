//! The decentralization sale: a project sells a share of its tokens for
//! ICP, as the SNS swap canister does (the rules in `docs/sns-swap.md`).
//! Plain-Rust rules first: what a participant may put in, what they get
//! back, and what the Neurons' Fund adds.

pub mod basket;
pub mod lifecycle;
pub mod neurons_fund;
pub mod participation;
pub mod sale;
pub mod views;
