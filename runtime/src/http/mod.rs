//! The runtime's second front: the IC's HTTP interface, which agents
//! (`ic-agent`, `@icp-sdk/core`), dfx and icp-cli speak. A thin layer over
//! the core ([`crate::ic::Ic`]): it authenticates and routes requests,
//! runs the core's rounds by the wall clock (live mode), and cuts
//! certificates from the core's certified state.

mod admin;
pub mod envelope;
mod gateway;
mod live;
mod routes;

use crate::ic::Ic;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// The largest request body the network reads, as a replica's HTTP limit
/// (calls have a lower one: the subnet's ingress message limit).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// How long a synchronous call waits for its answer before it answers 202.
const SYNC_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the rounds and the requests share.
pub(crate) struct Shared {
    ic: Mutex<Ic>,
    /// Counts rounds; requests waiting for an answer watch it.
    rounds: watch::Sender<u64>,
    /// Wakes the round loop when a message arrives.
    wake: (Mutex<bool>, Condvar),
    /// Nanoseconds added to the wall clock (time moved ahead by the admin
    /// endpoint).
    time_offset: AtomicU64,
    /// Whether `/_/time/advance` may move time ahead.
    allow_time_control: bool,
    /// The replay guard of calls (held after the core's lock, never before).
    pub(crate) seen: Mutex<envelope::Seen>,
    /// Serves canisters' `http_request`, once the address is known.
    gateway: std::sync::OnceLock<gateway::Gateway>,
    stopping: AtomicBool,
}

/// How a network serves, beyond its address.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Lets `POST /_/time/advance` move the network's time ahead.
    pub allow_time_control: bool,
}

impl Shared {
    pub(crate) fn ic(&self) -> MutexGuard<'_, Ic> {
        self.ic
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The network's time now: the wall clock, plus what the admin moved.
    pub(crate) fn now(&self) -> u64 {
        self.wall_clock() + self.time_offset()
    }

    /// Clients set `ingress_expiry` and delegations' expiry by their own
    /// clock: requests are checked against it, not the network's time,
    /// so that a network moved ahead still takes them.
    pub(crate) fn wall_clock(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as u64
    }

    pub(crate) fn clocks(&self) -> envelope::Clocks {
        let wall = self.wall_clock();
        envelope::Clocks {
            wall,
            network: wall + self.time_offset(),
        }
    }

    /// How far the network's time is ahead of the wall clock.
    pub(crate) fn time_offset(&self) -> u64 {
        self.time_offset.load(Ordering::SeqCst)
    }

    /// Asks the round loop for a round now.
    pub(crate) fn wake(&self) {
        let (pending, condvar) = &self.wake;
        *pending.lock().unwrap_or_else(|p| p.into_inner()) = true;
        condvar.notify_one();
    }
}

/// A running local network: its HTTP server and its round loop.
pub struct Network {
    shared: Arc<Shared>,
    address: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    rounds: Option<std::thread::JoinHandle<()>>,
    stop_server: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Network {
    /// Serves `ic` on `address` (port 0 picks a free port): certification
    /// is switched on, time set to the wall clock, and rounds run by
    /// themselves from now on.
    pub fn start(mut ic: Ic, address: SocketAddr, options: Options) -> std::io::Result<Self> {
        ic.enable_certification();
        let (rounds, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            ic: Mutex::new(ic),
            rounds,
            wake: (Mutex::new(false), Condvar::new()),
            time_offset: AtomicU64::new(0),
            allow_time_control: options.allow_time_control,
            gateway: std::sync::OnceLock::new(),
            seen: Mutex::new(envelope::Seen::default()),
            stopping: AtomicBool::new(false),
        });
        {
            let mut ic = shared.ic();
            // A saved state's time may be ahead of the clock (time was
            // moved): the network goes on from it.
            let wall = shared.wall_clock();
            if ic.time() > wall {
                shared.time_offset.store(ic.time() - wall, Ordering::SeqCst);
            }
            let now = shared.now();
            if now > ic.time() {
                ic.set_time(now);
            }
            ic.tick();
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            // Queries run on the workers and may take a while: a few more
            // workers than cores keep the others answering meanwhile.
            .worker_threads(2)
            .thread_name("network-http")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(address))?;
        let address = listener.local_addr()?;
        let root_key = shared.ic().root_key_der();
        let _ = shared
            .gateway
            .set(gateway::Gateway::new(format!("http://{address}"), root_key));
        let (stop_server, stopped) = tokio::sync::oneshot::channel();
        runtime.spawn(routes::serve(listener, shared.clone(), stopped));
        let rounds = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("network-rounds".into())
                .spawn(move || live::run_rounds(&shared))?
        };
        Ok(Self {
            shared,
            address,
            runtime: Some(runtime),
            rounds: Some(rounds),
            stop_server: Some(stop_server),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn root_key_der(&self) -> Vec<u8> {
        self.shared.ic().root_key_der()
    }

    /// The core, for a front-end-independent look (or a snapshot).
    pub fn with_ic<T>(&self, f: impl FnOnce(&mut Ic) -> T) -> T {
        f(&mut self.shared.ic())
    }

    /// Stops serving and running rounds; returns the core as it is.
    pub fn stop(mut self) -> Result<Ic, String> {
        self.shutdown();
        let shared = self.shared.clone();
        drop(self);
        Arc::try_unwrap(shared)
            .map(|shared| shared.ic.into_inner().unwrap_or_else(|p| p.into_inner()))
            .map_err(|_| "a request still being served holds the network's state".to_string())
    }

    fn shutdown(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if let Some(rounds) = self.rounds.take() {
            let _ = rounds.join();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.shutdown();
    }
}
