//! icp-cli's network launcher interface, version 1.1.0: the arguments icp
//! passes and the status file it waits for. What the project's network
//! does with each argument is said where it is parsed.

use candid::Principal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The interface version this launcher implements.
pub const INTERFACE_VERSION: (u64, u64, u64) = (1, 1, 0);

/// What to launch.
#[derive(Debug, PartialEq)]
pub struct Launch {
    pub address: SocketAddr,
    pub state_dir: Option<PathBuf>,
    /// Where `status.json` goes; the interface makes it optional.
    pub status_dir: Option<PathBuf>,
    pub verbose: bool,
    /// Arguments accepted but without effect here, and why.
    pub warnings: Vec<String>,
}

/// Flags that take a value.
const VALUED: &[&str] = &[
    "--interface-version",
    "--state-dir",
    "--bind",
    "--gateway-port",
    "--config-port",
    "--status-dir",
    "--artificial-delay-ms",
    "--subnet",
    "--bitcoind-addr",
    "--dogecoind-addr",
    "--domain",
    "--pocketic-config-bind",
    "--pocketic-server-path",
    "--custom-domains-file",
    "--stdout-file",
    "--stderr-file",
];
/// Flags without a value.
const SWITCHES: &[&str] = &["--verbose", "--ii", "--nns"];

fn version(text: &str) -> Result<(u64, u64, u64), String> {
    let parts: Vec<u64> = text
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("not an interface version: {text}"))?;
    match parts[..] {
        [major, minor, patch] => Ok((major, minor, patch)),
        [major, minor] => Ok((major, minor, 0)),
        [major] => Ok((major, 0, 0)),
        _ => Err(format!("not an interface version: {text}")),
    }
}

/// Parses the launcher's arguments; `env_version` is
/// `ICP_CLI_NETWORK_LAUNCHER_INTERFACE_VERSION`, which the flag overrides.
/// Unknown flags are errors, unless the caller asked for a newer minor
/// version than this launcher's (then they are warnings, as the interface
/// says).
pub fn parse(args: Vec<String>, env_version: Option<&str>) -> Result<Launch, String> {
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        if !arg.starts_with("--") {
            return Err(format!("unexpected argument {arg}"));
        }
        if let Some((flag, value)) = arg.split_once('=') {
            pairs.push((flag.to_string(), Some(value.to_string())));
        } else if SWITCHES.contains(&arg.as_str()) {
            pairs.push((arg, None));
        } else if VALUED.contains(&arg.as_str()) {
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            pairs.push((arg, Some(value)));
        } else {
            // An unknown flag: its value, if any, is the next word that is
            // not a flag.
            let value = args.next_if(|next| !next.starts_with("--"));
            pairs.push((arg, value));
        }
    }
    let requested = pairs
        .iter()
        .find(|(flag, _)| flag == "--interface-version")
        .and_then(|(_, value)| value.as_deref())
        .or(env_version)
        .map(version)
        .transpose()?
        .unwrap_or(INTERFACE_VERSION);
    if requested.0 != INTERFACE_VERSION.0 {
        return Err(format!(
            "Unsupported interface version {}.{}.{}: this launcher implements {}.{}.{}",
            requested.0,
            requested.1,
            requested.2,
            INTERFACE_VERSION.0,
            INTERFACE_VERSION.1,
            INTERFACE_VERSION.2
        ));
    }
    let lenient = requested.1 > INTERFACE_VERSION.1;

    let mut bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = 0;
    let mut state_dir = None;
    let mut status_dir = None;
    let mut verbose = false;
    let mut warnings = Vec::new();
    let mut unknown = Vec::new();
    for (flag, value) in pairs {
        let value = value.unwrap_or_default();
        match flag.as_str() {
            "--interface-version" => {}
            "--bind" => {
                bind = match value.as_str() {
                    "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    other => other.parse().map_err(|e| format!("--bind {other}: {e}"))?,
                }
            }
            "--gateway-port" => {
                port = value
                    .parse()
                    .map_err(|e| format!("--gateway-port {value}: {e}"))?
            }
            "--state-dir" => state_dir = Some(PathBuf::from(value)),
            "--status-dir" => status_dir = Some(PathBuf::from(value)),
            "--verbose" => verbose = true,
            // The NNS is always there: ledger, index, CMC, governance and
            // the cycles ledger.
            "--nns" => warnings.push(
                "--nns: the project's NNS canisters are always installed; no SNS subnet and no Internet Identity are added".into(),
            ),
            "--ii" => warnings.push("--ii: no Internet Identity canister on this network".into()),
            "--subnet" => warnings.push(format!(
                "--subnet={value}: the subnets are fixed (NNS, Internet Identity, one application subnet)"
            )),
            "--domain" if value == "localhost" || value.parse::<IpAddr>().is_ok() => {}
            "--domain" => warnings.push(format!(
                "--domain={value}: canisters are served at <id>.localhost and ?canisterId= only"
            )),
            "--artificial-delay-ms" | "--bitcoind-addr" | "--dogecoind-addr" | "--config-port"
            | "--pocketic-config-bind" | "--pocketic-server-path" | "--custom-domains-file"
            | "--stdout-file" | "--stderr-file" => {
                warnings.push(format!("{flag}: not supported by this launcher, ignored"))
            }
            _ => unknown.push(flag),
        }
    }
    if !unknown.is_empty() {
        if !lenient {
            return Err(format!("unknown arguments {unknown:?}"));
        }
        warnings.push(format!("Unknown launcher parameters: {unknown:?}"));
    }
    Ok(Launch {
        address: SocketAddr::new(bind, port),
        state_dir,
        status_dir,
        verbose,
        warnings,
    })
}

/// The status file's one line: what icp-cli needs to reach the network.
pub fn status_line(gateway_port: u16, root_key_der: &[u8], effective: Principal) -> String {
    format!(
        "{{\"v\":\"1\",\"gateway_port\":{gateway_port},\"root_key\":\"{}\",\"default_effective_canister_id\":\"{effective}\",\"supported_features\":[]}}\n",
        crate::hex(root_key_der)
    )
}

/// Writes the status file whole or not at all (a watcher never sees half).
pub fn write_status(
    path: &Path,
    gateway_port: u16,
    root_key_der: &[u8],
    effective: Principal,
) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, status_line(gateway_port, root_key_der, effective))
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn icp_clis_arguments_are_understood() {
        let launch = parse(
            args("--interface-version 1.1.0 --state-dir /s --bind 127.0.0.1 --gateway-port 8000 --status-dir /t --verbose --nns --domain=localhost"),
            None,
        )
        .unwrap();
        assert_eq!(launch.address, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(launch.state_dir, Some(PathBuf::from("/s")));
        assert_eq!(launch.status_dir, Some(PathBuf::from("/t")));
        assert!(launch.verbose);
        assert_eq!(launch.warnings.len(), 1, "{:?}", launch.warnings);
        assert!(launch.warnings[0].starts_with("--nns"));
    }

    #[test]
    fn without_a_gateway_port_a_free_one_is_taken() {
        let launch = parse(args("--status-dir /t"), None).unwrap();
        assert_eq!(launch.address.port(), 0);
        let launch = parse(args("--bind ::1"), None).unwrap();
        assert_eq!(launch.address, "[::1]:0".parse().unwrap());
        assert_eq!(launch.status_dir, None, "every flag is optional");
    }

    #[test]
    fn unknown_flags_are_errors_unless_a_newer_minor_version_is_asked() {
        let error = parse(
            args("--interface-version 1.1.0 --status-dir /t --future 3"),
            None,
        );
        assert!(error.unwrap_err().contains("--future"));
        let error = parse(
            args("--interface-version 1.0.0 --status-dir /t --future"),
            None,
        );
        assert!(error.is_err());
        let launch = parse(
            args("--interface-version 1.2.0 --status-dir /t --future 3 --other"),
            None,
        )
        .unwrap();
        assert!(
            launch.warnings[0].contains("--future"),
            "{:?}",
            launch.warnings
        );
        // The environment variable counts when the flag is absent.
        assert!(parse(args("--status-dir /t --future"), Some("1.3.0")).is_ok());
        assert!(
            parse(
                args("--interface-version 1.1.0 --status-dir /t --future"),
                Some("1.3.0")
            )
            .is_err()
        );
    }

    #[test]
    fn other_major_versions_are_refused() {
        let error = parse(args("--interface-version 2.0.0 --status-dir /t"), None).unwrap_err();
        assert!(
            error.contains("Unsupported interface version 2.0.0"),
            "{error}"
        );
        assert!(parse(args("--interface-version x --status-dir /t"), None).is_err());
    }

    #[test]
    fn the_status_line_is_the_json_icp_cli_reads() {
        let effective = Principal::from_slice(&[1]);
        let line = status_line(8000, &[0x30, 0x81], effective);
        assert_eq!(
            line,
            format!(
                "{{\"v\":\"1\",\"gateway_port\":8000,\"root_key\":\"3081\",\"default_effective_canister_id\":\"{effective}\",\"supported_features\":[]}}\n"
            )
        );
    }
}
