//! `icp-economy-launcher`: a network launcher for icp-cli (launcher
//! interface 1.1.0) that serves this project's NNS, so that `icp network
//! start`, `icp deploy`, `icp token` and `icp cycles` run against the
//! project's ledger, CMC, cycles ledger and governance.
//!
//! ```text
//! ICP_CLI_NETWORK_LAUNCHER_PATH=target/debug/icp-economy-launcher icp network start -d
//! ```
//! It boots the network (or serves the state in `--state-dir`), writes
//! `<status dir>/status.json` once the gateway answers, and on SIGINT or
//! SIGTERM saves the state, removes the status file and exits.
//!
//! icp-cli passes only the interface's flags, so the network's own switch
//! comes from the environment: `ICP_ECONOMY_ALLOW_TIME_CONTROL=1` lets
//! `POST /_/time/advance` move the network's time (off otherwise).

use icp_economy_network::StopSignals;
use icp_economy_network::launcher::{Launch, parse};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let signals = match icp_economy_network::StopSignals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("Error: signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let requested = std::env::var("ICP_CLI_NETWORK_LAUNCHER_INTERFACE_VERSION")
        .ok()
        .filter(|version| !version.is_empty());
    let launch = match parse(std::env::args().skip(1).collect(), requested.as_deref()) {
        Ok(launch) => launch,
        Err(message) => {
            eprintln!("Error: {message}");
            return ExitCode::from(2);
        }
    };
    for warning in &launch.warnings {
        eprintln!("Warning: {warning}");
    }
    match run(launch, signals) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The status file while it exists: removed when dropped, so that icp-cli
/// (and any other watcher) learns that the network stopped, whichever way
/// the launcher ends.
struct StatusFile(PathBuf);

impl Drop for StatusFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(launch: Launch, signals: StopSignals) -> Result<(), String> {
    let modules = icp_economy_network::default_modules_dir();
    let options = icp_economy_network::Options {
        allow_time_control: std::env::var("ICP_ECONOMY_ALLOW_TIME_CONTROL").as_deref() == Ok("1"),
    };
    let network = match &launch.state_dir {
        Some(dir) => icp_economy_network::start_in(dir, &modules, launch.address, options)?.0,
        None => icp_economy_network::start(&modules, launch.address, options)?,
    };
    let url = network.url();
    let (status, _) = icp_economy_network::plain_http(&url, "GET", "/api/v2/status")?;
    if status != 200 {
        return Err(format!(
            "the network at {url} answers its status with HTTP {status}"
        ));
    }
    let default_effective_canister_id =
        network.with_ic(|ic| ic.topology().default_subnet().canister_range().0);
    let _status_file = match &launch.status_dir {
        Some(dir) => {
            let path = dir.join("status.json");
            icp_economy_network::launcher::write_status(
                &path,
                network.address().port(),
                &network.root_key_der(),
                default_effective_canister_id,
            )?;
            Some(StatusFile(path))
        }
        None => None,
    };
    if launch.verbose || launch.status_dir.is_none() {
        eprintln!("icp-economy-launcher: serving the project's NNS at {url}");
    }
    signals.wait();
    match &launch.state_dir {
        Some(dir) => icp_economy_network::stop_and_save(network, dir),
        None => network.stop().map(drop),
    }
}
