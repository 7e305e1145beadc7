//! Every integration test in one binary: each file below is a module of it.
//! One binary links the runtime, pocket-ic and their dependencies once,
//! instead of once per file, which saves CI minutes and gigabytes of disk.

mod api_crate;
mod app_access;
mod canisters;
mod cmc;
mod cmc_cycles_ledger;
mod cmc_model;
mod cmc_upgrade;
mod cycles_ledger;
mod deploy_configs;
mod dfx_deployment;
mod economy;
mod governance;
mod governance_mission70;
mod governance_model;
mod governance_official_replies;
mod icrc1_acceptance;
mod index;
mod ledger;
mod ledger_model;
mod local_network;
mod local_network_bad_input;
mod official_interfaces;
mod proposals;
mod sns_sale;
mod swap;
mod wasm_metadata;
