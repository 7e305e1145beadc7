//! The project's NNS on a local network: the ICP ledger, its index, the
//! CMC, governance and the cycles ledger at their well-known ids, served
//! over the IC's HTTP interface by the runtime's HTTP front.

pub mod launcher;

use candid::{Nat, Principal};
use ic_management_canister_types::CanisterSettings;
use ic_runtime::PocketIc;
use ic_runtime::http::Network;
pub use ic_runtime::http::Options;
use icrc_ledger_types::icrc1::account::Account;
use nns_api::AccountIdentifier;
use nns_api::ids::{
    CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
    INDEX_CANISTER_ID, LEDGER_CANISTER_ID, ROOT_CANISTER_ID,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the anonymous principal holds at the start, as PocketIC funds it:
/// 1 B ICP…
pub const ANONYMOUS_E8S: u64 = 1_000_000_000 * 100_000_000;
/// …and 2^127 cycles on the cycles ledger.
pub const ANONYMOUS_CYCLES: u128 = 1 << 127;
/// The ICP/XDR rate the CMC starts with: 3.5 XDR per ICP.
pub const XDR_PERMYRIAD_PER_ICP: u64 = 35_000;

/// Where `scripts/build-canisters.sh` puts the modules.
pub fn default_modules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("canisters")
}

fn read_module(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let path = dir.join(format!("{name}.wasm.gz"));
    std::fs::read(&path).map_err(|e| {
        format!(
            "{}: {e}; build the canisters with scripts/build-canisters.sh first",
            path.display()
        )
    })
}

/// Controlled by governance, as the NNS canisters are by the NNS.
fn governed() -> CanisterSettings {
    CanisterSettings {
        controllers: Some(vec![GOVERNANCE_CANISTER_ID]),
        ..Default::default()
    }
}

fn install(
    pic: &mut PocketIc,
    id: Principal,
    settings: CanisterSettings,
    wasm: Vec<u8>,
    arg: Vec<u8>,
) -> Result<(), String> {
    pic.create_canister_with_id(None, Some(settings.clone()), id)
        .map_err(|e| format!("creating {id}: {e}"))?;
    let controller = settings.controllers.and_then(|c| c.first().copied());
    pic.install_code(id, ic_runtime::InstallMode::Install, &wasm, arg, controller)
        .map_err(|e| format!("installing {id}: {e}"))
}

/// The NNS canisters installed on a fresh IC at the wall clock's time.
pub fn boot_nns(modules: &Path) -> Result<PocketIc, String> {
    let mut pic = PocketIc::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as u64;
    pic.set_time(ic_runtime::Time::from_nanos_since_unix_epoch(now));
    let anonymous = Principal::anonymous();

    let ledger = nns_api::ledger::LedgerArg::Init(nns_api::ledger::InitArgs {
        minting_account: AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, None).to_hex(),
        icrc1_minting_account: Some(Account::from(GOVERNANCE_CANISTER_ID)),
        initial_values: vec![(
            AccountIdentifier::new(&anonymous, None).to_hex(),
            nns_api::ledger::Tokens::from_e8s(ANONYMOUS_E8S),
        )],
        transaction_window: None,
        transfer_fee: None,
        token_symbol: None,
        token_name: None,
        feature_flags: None,
    });
    install(
        &mut pic,
        LEDGER_CANISTER_ID,
        governed(),
        read_module(modules, "ledger")?,
        candid::encode_one(ledger).expect("init args encode"),
    )?;

    let index = Some(nns_api::index::IndexArg::Init(nns_api::index::InitArg {
        ledger_id: LEDGER_CANISTER_ID,
        retrieve_blocks_from_ledger_interval_seconds: None,
    }));
    install(
        &mut pic,
        INDEX_CANISTER_ID,
        governed(),
        read_module(modules, "index")?,
        candid::encode_one(index).expect("init args encode"),
    )?;

    // Governance answers to the NNS root, which this network does not run:
    // like mainnet's, it is upgraded by proposal only. Its id is taken by
    // an empty canister that controls itself, so that nobody can create a
    // canister there and so control governance.
    pic.create_canister_with_id(
        None,
        Some(CanisterSettings {
            controllers: Some(vec![ROOT_CANISTER_ID]),
            ..Default::default()
        }),
        ROOT_CANISTER_ID,
    )
    .map_err(|e| format!("reserving the root's id: {e}"))?;
    let governance = nns_api::governance::GovernanceArg::default();
    install(
        &mut pic,
        GOVERNANCE_CANISTER_ID,
        CanisterSettings {
            controllers: Some(vec![ROOT_CANISTER_ID]),
            ..Default::default()
        },
        read_module(modules, "governance")?,
        candid::encode_one(governance).expect("init args encode"),
    )?;

    let cmc = Some(nns_api::cmc::CyclesCanisterInitPayload {
        exchange_rate: Some(nns_api::cmc::IcpXdrConversionRate {
            timestamp_seconds: now / 1_000_000_000,
            xdr_permyriad_per_icp: XDR_PERMYRIAD_PER_ICP,
        }),
        ..Default::default()
    });
    install(
        &mut pic,
        CYCLES_MINTING_CANISTER_ID,
        governed(),
        read_module(modules, "cmc")?,
        candid::encode_one(cmc).expect("init args encode"),
    )?;
    // As on the NNS: anyone may create canisters on the application subnets.
    let defaults = nns_api::cmc::SetAuthorizedSubnetworkListArgs {
        who: None,
        subnets: pic.topology().get_app_subnets(),
    };
    pic.update_call(
        CYCLES_MINTING_CANISTER_ID,
        GOVERNANCE_CANISTER_ID,
        "set_authorized_subnetwork_list",
        candid::encode_one(defaults).expect("args encode"),
    )
    .map_err(|e| format!("setting the CMC's default subnets: {e}"))?;

    let cycles_ledger =
        nns_api::cycles_ledger::LedgerArgs::Init(nns_api::cycles_ledger::InitArgs {
            max_blocks_per_request: 100,
            index_id: None,
            initial_balances: Some(vec![(
                Account::from(anonymous),
                Nat::from(ANONYMOUS_CYCLES),
            )]),
        });
    install(
        &mut pic,
        CYCLES_LEDGER_CANISTER_ID,
        governed(),
        read_module(modules, "cycles-ledger")?,
        candid::encode_one(cycles_ledger).expect("init args encode"),
    )?;
    // The cycles behind the anonymous balance, as deposits would have brought.
    pic.add_cycles(CYCLES_LEDGER_CANISTER_ID, ANONYMOUS_CYCLES);
    Ok(pic)
}

/// Boots the NNS and serves it on `address`.
pub fn start(modules: &Path, address: SocketAddr, options: Options) -> Result<Network, String> {
    let pic = boot_nns(modules)?;
    Network::start(pic.into_core(), address, options)
        .map_err(|e| format!("serving on {address}: {e}"))
}

/// The file in a state directory that holds the network's state.
pub fn state_file(state_dir: &Path) -> PathBuf {
    state_dir.join("state.cbor")
}

/// Serves the state saved in `state_dir`, or a new NNS if there is none;
/// whether it was a saved state.
pub fn start_in(
    state_dir: &Path,
    modules: &Path,
    address: SocketAddr,
    options: Options,
) -> Result<(Network, bool), String> {
    std::fs::create_dir_all(state_dir)
        .map_err(|e| format!("creating {}: {e}", state_dir.display()))?;
    let file = state_file(state_dir);
    let (ic, restored) = if file.exists() {
        (ic_runtime::ic::Ic::load(&file)?, true)
    } else {
        (boot_nns(modules)?.into_core(), false)
    };
    let network =
        Network::start(ic, address, options).map_err(|e| format!("serving on {address}: {e}"))?;
    Ok((network, restored))
}

/// Stops `network`, lets the messages in flight finish (a bounded number
/// of rounds) and saves its state in `state_dir`.
pub fn stop_and_save(network: Network, state_dir: &Path) -> Result<(), String> {
    let mut ic = network.stop()?;
    if !ic.run_until_quiet(10_000) {
        eprintln!("icp-economy-network: messages still in flight are not saved");
    }
    ic.save(&state_file(state_dir))
}

/// `POST /_/time/advance?seconds=N` to the network at `url`; the new time (ns).
pub fn advance_time(url: &str, seconds: u64) -> Result<u64, String> {
    let (status, body) = plain_http(url, "POST", &format!("/_/time/advance?seconds={seconds}"))?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    body.trim()
        .strip_prefix("{\"nanos_since_epoch\":")
        .and_then(|rest| rest.strip_suffix('}'))
        .and_then(|nanos| nanos.parse().ok())
        .ok_or_else(|| format!("an unexpected reply: {body}"))
}

/// One HTTP/1.1 request without a body to the network at `url`
/// (`http://host:port`): the status code and the body.
pub fn plain_http(url: &str, method: &str, path: &str) -> Result<(u16, String), String> {
    use std::net::ToSocketAddrs;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
    let address = url
        .strip_prefix("http://")
        .ok_or("the URL must start with http://")?
        .trim_end_matches('/');
    let socket = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| format!("{url}: not an address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&socket, TIMEOUT)
        .map_err(|e| format!("connecting to {url}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    std::io::Write::write_all(&mut stream, request.as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut reply).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply);
    let (head, body) = reply.split_once("\r\n\r\n").ok_or("not an HTTP reply")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {head}"))?;
    Ok((status, body.to_string()))
}

/// Lowercase hex, as root keys are printed.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SIGINT (Ctrl-C) and SIGTERM, caught from the moment `install` returns:
/// one that arrives while the network boots is kept, and `wait` returns at
/// once, so that a stop never kills the process half-way.
pub struct StopSignals {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let (interrupt, terminate) = {
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            )
        };
        Ok(Self {
            runtime,
            interrupt,
            terminate,
        })
    }

    /// Blocks until one of the signals came (or had come).
    pub fn wait(mut self) {
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        });
    }
}
