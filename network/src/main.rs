//! `icp-economy-network`: the project's NNS on a local network.
//!
//! ```text
//! icp-economy-network [--bind ADDRESS] [--port PORT] [--modules DIR]
//! ```
//! Prints the URL and the root key, serves until Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

struct Options {
    bind: IpAddr,
    port: u16,
    modules: PathBuf,
}

const USAGE: &str = "usage: icp-economy-network [--bind ADDRESS] [--port PORT] [--modules DIR]
  --bind ADDRESS  the address to listen on (default 127.0.0.1)
  --port PORT     the port of the HTTP interface (default 4943; 0 picks a free one)
  --modules DIR   where the canister modules are (default target/canisters)";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        bind: IpAddr::from([127, 0, 0, 1]),
        port: 4943,
        modules: icp_economy_network::default_modules_dir(),
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--bind" => options.bind = value()?.parse().map_err(|e| format!("--bind: {e}"))?,
            "--port" => options.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--modules" => options.modules = PathBuf::from(value()?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let address = SocketAddr::new(options.bind, options.port);
    let network = match icp_economy_network::start(&options.modules, address) {
        Ok(network) => network,
        Err(message) => {
            eprintln!("icp-economy-network: {message}");
            return ExitCode::FAILURE;
        }
    };
    println!("url: {}", network.url());
    println!(
        "root key: {}",
        network
            .root_key_der()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a signal runtime");
    signals.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    eprintln!("icp-economy-network: stopping");
    drop(network);
    ExitCode::SUCCESS
}
