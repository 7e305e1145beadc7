//! `icp-economy-network`: the project's NNS on a local network.
//!
//! ```text
//! icp-economy-network [--bind ADDRESS] [--port PORT] [--modules DIR] [--state-dir DIR] [--allow-time-control]
//! icp-economy-network advance-time SECONDS [--url URL]
//! ```
//! The first form prints the URL and the root key and serves until Ctrl-C;
//! the second moves a running network's time ahead (it must have been
//! started with `--allow-time-control`).

use icp_economy_network::Options;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: icp-economy-network [--bind ADDRESS] [--port PORT] [--modules DIR] [--state-dir DIR] [--allow-time-control]
       icp-economy-network advance-time SECONDS [--url URL]
  --bind ADDRESS          the address to listen on (default 127.0.0.1)
  --port PORT             the port of the HTTP interface (default 4943; 0 picks a free one)
  --modules DIR           where the canister modules are (default target/canisters)
  --state-dir DIR         keep the network's state there: saved at Ctrl-C, served again at
                          the next start (a new NNS when the directory holds none)
  --allow-time-control    let POST /_/time/advance (and advance-time) move time ahead
  advance-time SECONDS    move the network at --url (default http://127.0.0.1:4943) ahead
                          and run what falls due";

enum Command {
    Serve {
        address: SocketAddr,
        modules: PathBuf,
        state_dir: Option<PathBuf>,
        options: Options,
    },
    AdvanceTime {
        url: String,
        seconds: u64,
    },
}

/// `--flag value` or `--flag=value`.
fn flags(args: Vec<String>) -> Result<Vec<(String, Option<String>)>, String> {
    let mut parsed = Vec::new();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        if let Some((flag, value)) = arg.split_once('=') {
            parsed.push((flag.to_string(), Some(value.to_string())));
        } else if matches!(arg.as_str(), "--allow-time-control" | "-h" | "--help") {
            parsed.push((arg, None));
        } else if arg.starts_with("--") {
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            parsed.push((arg, Some(value)));
        } else {
            parsed.push((arg, None));
        }
    }
    Ok(parsed)
}

fn parse(args: Vec<String>) -> Result<Command, String> {
    if args.first().map(String::as_str) == Some("advance-time") {
        let mut url = "http://127.0.0.1:4943".to_string();
        let mut seconds = None;
        for (flag, value) in flags(args[1..].to_vec())? {
            match (flag.as_str(), value) {
                ("--url", Some(value)) => url = value,
                (number, None) if seconds.is_none() => {
                    seconds = Some(number.parse().map_err(|e| format!("SECONDS: {e}"))?)
                }
                (other, _) => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        let seconds = seconds.ok_or(USAGE)?;
        return Ok(Command::AdvanceTime { url, seconds });
    }
    let mut bind = IpAddr::from([127, 0, 0, 1]);
    let mut port = 4943;
    let mut modules = icp_economy_network::default_modules_dir();
    let mut options = Options::default();
    let mut state_dir = None;
    for (flag, value) in flags(args)? {
        match (flag.as_str(), value) {
            ("--bind", Some(value)) => bind = value.parse().map_err(|e| format!("--bind: {e}"))?,
            ("--port", Some(value)) => port = value.parse().map_err(|e| format!("--port: {e}"))?,
            ("--modules", Some(value)) => modules = PathBuf::from(value),
            ("--state-dir", Some(value)) => state_dir = Some(PathBuf::from(value)),
            ("--allow-time-control", None) => options.allow_time_control = true,
            ("-h" | "--help", None) => return Err(USAGE.to_string()),
            (other, _) => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Command::Serve {
        address: SocketAddr::new(bind, port),
        modules,
        state_dir,
        options,
    })
}

fn main() -> ExitCode {
    let signals = match icp_economy_network::StopSignals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("icp-economy-network: signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let command = match parse(std::env::args().skip(1).collect()) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let (address, modules, state_dir, options) = match command {
        Command::AdvanceTime { url, seconds } => {
            return match icp_economy_network::advance_time(&url, seconds) {
                Ok(nanos) => {
                    println!("time: {nanos} ns since the Unix epoch");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("icp-economy-network: {message}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Serve {
            address,
            modules,
            state_dir,
            options,
        } => (address, modules, state_dir, options),
    };
    let started = match &state_dir {
        Some(dir) => icp_economy_network::start_in(dir, &modules, address, options).map(
            |(network, restored)| {
                if restored {
                    eprintln!(
                        "icp-economy-network: serving the state saved in {}",
                        dir.display()
                    );
                }
                network
            },
        ),
        None => icp_economy_network::start(&modules, address, options),
    };
    let network = match started {
        Ok(network) => network,
        Err(message) => {
            eprintln!("icp-economy-network: {message}");
            return ExitCode::FAILURE;
        }
    };
    println!("url: {}", network.url());
    println!(
        "root key: {}",
        icp_economy_network::hex(&network.root_key_der())
    );
    signals.wait();
    eprintln!("icp-economy-network: stopping");
    match state_dir {
        Some(dir) => match icp_economy_network::stop_and_save(network, &dir) {
            Ok(()) => eprintln!("icp-economy-network: state saved in {}", dir.display()),
            Err(message) => {
                eprintln!("icp-economy-network: {message}");
                return ExitCode::FAILURE;
            }
        },
        None => drop(network),
    }
    ExitCode::SUCCESS
}
