//! One API for the integration tests over two backends: the in-process
//! runtime (`ic-runtime`, the default) and a real PocketIC server (the
//! `pocket-ic` crate, when `POCKET_IC_BIN` names a server binary).
//!
//! A test takes a [`Backend`], builds a [`TestEnv`] with [`TestEnv::new`] and
//! calls the methods below, which have the names and shapes of pocket-ic 16's
//! `PocketIc`; [`on_both_backends!`](crate::on_both_backends) turns it into one
//! `#[test]` per backend. Rejects from either backend are pocket-ic's
//! [`RejectResponse`], so tests compare [`ErrorCode`]s the same way on both.

use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{CandidType, Principal, decode_args, encode_args};
use ic_management_canister_types::CanisterSettings;
pub use ic_runtime::{CanisterLogRecord, Time};
pub use pocket_ic::{ErrorCode, RejectCode, RejectResponse};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The environment variable that names the PocketIC server binary, as the
/// `pocket-ic` crate reads it.
pub const POCKET_IC_BIN: &str = "POCKET_IC_BIN";

/// Where the canisters under test run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `ic-runtime`: in this process, no server needed.
    Runtime,
    /// A PocketIC server started from `POCKET_IC_BIN`, with an NNS subnet
    /// (where the well-known ids live and where only the CMC may mint
    /// cycles) and an application subnet.
    PocketIcServer,
}

/// An Internet Computer to test on, whichever the backend.
pub enum TestEnv {
    Runtime(ic_runtime::PocketIc),
    // Boxed: the server handle is much larger than the runtime's.
    Server(Box<pocket_ic::PocketIc>),
}

/// A message submitted with [`TestEnv::submit_call`], for [`TestEnv::await_call`].
#[derive(Clone, Debug)]
pub enum MessageId {
    Runtime(ic_runtime::RawMessageId),
    Server(pocket_ic::common::rest::RawMessageId),
}

impl TestEnv {
    /// A fresh IC on `backend`. For the server, panics unless `POCKET_IC_BIN`
    /// is set: a server test never passes without a server.
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Runtime => Self::Runtime(ic_runtime::PocketIc::new()),
            Backend::PocketIcServer => {
                let binary = std::env::var_os(POCKET_IC_BIN).unwrap_or_else(|| {
                    panic!(
                        "this test runs on a PocketIC server, but {POCKET_IC_BIN} is not set: \
                         point {POCKET_IC_BIN} at a PocketIC server binary (version 16) or run \
                         the test's `runtime` variant"
                    )
                });
                let pic = pocket_ic::PocketIcBuilder::new()
                    .with_server_binary(binary.into())
                    .with_nns_subnet()
                    .with_ii_subnet()
                    .with_application_subnet()
                    .build();
                Self::Server(Box::new(pic))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Runtime(_) => Backend::Runtime,
            Self::Server(_) => Backend::PocketIcServer,
        }
    }

    /// The runtime itself, for what only it measures (instructions, cycles
    /// burned). Panics on the server: tests that need it run on the runtime only.
    pub fn as_runtime(&mut self) -> &mut ic_runtime::PocketIc {
        match self {
            Self::Runtime(pic) => pic,
            Self::Server(_) => {
                panic!("this needs the runtime: the PocketIC server has no such figure")
            }
        }
    }

    /// The runtime, for code that goes on with it alone (benchmarks).
    pub fn into_runtime(self) -> ic_runtime::PocketIc {
        match self {
            Self::Runtime(pic) => pic,
            Self::Server(_) => panic!("this needs the runtime, not a PocketIC server"),
        }
    }

    pub fn root_key(&self) -> Option<Vec<u8>> {
        match self {
            Self::Runtime(pic) => pic.root_key(),
            Self::Server(pic) => pic.root_key(),
        }
    }

    pub fn get_time(&self) -> Time {
        let nanos = match self {
            Self::Runtime(pic) => pic.get_time().as_nanos_since_unix_epoch(),
            Self::Server(pic) => pic.get_time().as_nanos_since_unix_epoch(),
        };
        Time::from_nanos_since_unix_epoch(nanos)
    }

    pub fn set_time(&mut self, time: Time) {
        match self {
            Self::Runtime(pic) => pic.set_time(time),
            Self::Server(pic) => pic.set_time(pocket_ic::Time::from_nanos_since_unix_epoch(
                time.as_nanos_since_unix_epoch(),
            )),
        }
    }

    pub fn advance_time(&mut self, duration: Duration) {
        match self {
            Self::Runtime(pic) => pic.advance_time(duration),
            Self::Server(pic) => pic.advance_time(duration),
        }
    }

    /// One round.
    pub fn tick(&mut self) {
        match self {
            Self::Runtime(pic) => pic.tick(),
            Self::Server(pic) => pic.tick(),
        }
    }

    /// An empty canister controlled by the anonymous principal, with 100 T
    /// cycles (on the server, on the application subnet).
    pub fn create_canister(&mut self) -> Principal {
        match self {
            Self::Runtime(pic) => pic.create_canister(),
            Self::Server(pic) => pic.create_canister(),
        }
    }

    pub fn create_canister_with_settings(
        &mut self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
    ) -> Principal {
        match self {
            Self::Runtime(pic) => pic.create_canister_with_settings(sender, settings),
            Self::Server(pic) => {
                pic.create_canister_with_settings(sender, settings.map(|s| recode(&s)))
            }
        }
    }

    /// An empty canister at `canister_id`; the well-known NNS ids are on the
    /// server's NNS subnet.
    pub fn create_canister_with_id(
        &mut self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        canister_id: Principal,
    ) -> Result<Principal, String> {
        match self {
            Self::Runtime(pic) => pic.create_canister_with_id(sender, settings, canister_id),
            Self::Server(pic) => {
                pic.create_canister_with_id(sender, settings.map(|s| recode(&s)), canister_id)
            }
        }
    }

    /// The subnet a canister lives on.
    pub fn get_subnet(&self, canister_id: Principal) -> Option<Principal> {
        match self {
            Self::Runtime(pic) => pic.get_subnet(canister_id),
            Self::Server(pic) => pic.get_subnet(canister_id),
        }
    }

    pub fn nns_subnet(&self) -> Option<Principal> {
        match self {
            Self::Runtime(pic) => pic.topology().get_nns(),
            Self::Server(pic) => pic.topology().get_nns(),
        }
    }

    /// The application subnets, where the CMC creates canisters.
    pub fn app_subnets(&self) -> Vec<Principal> {
        match self {
            Self::Runtime(pic) => pic.topology().get_app_subnets(),
            Self::Server(pic) => pic.topology().get_app_subnets(),
        }
    }

    /// The Internet Identity subnet, whose range holds the cycles ledger's id.
    pub fn ii_subnet(&self) -> Option<Principal> {
        match self {
            Self::Runtime(pic) => pic.topology().get_ii(),
            Self::Server(pic) => pic.topology().get_ii(),
        }
    }

    pub fn canister_exists(&self, canister_id: Principal) -> bool {
        match self {
            Self::Runtime(pic) => pic.canister_exists(canister_id),
            Self::Server(pic) => pic.canister_exists(canister_id),
        }
    }

    pub fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
        match self {
            Self::Runtime(pic) => pic.get_controllers(canister_id),
            Self::Server(pic) => pic.get_controllers(canister_id),
        }
    }

    pub fn cycle_balance(&self, canister_id: Principal) -> u128 {
        match self {
            Self::Runtime(pic) => pic.cycle_balance(canister_id),
            Self::Server(pic) => pic.cycle_balance(canister_id),
        }
    }

    /// Adds cycles to a canister; returns its new balance.
    /// Cycles `canister_id` burned, as the runtime counts them; `None` on
    /// the server, which has no such counter.
    pub fn cycles_burned(&self, canister_id: Principal) -> Option<u128> {
        match self {
            Self::Runtime(pic) => Some(pic.cycles_burned(canister_id)),
            Self::Server(_) => None,
        }
    }

    /// Makes canisters outside the NNS subnet pay for what they use, as an
    /// application subnet does. The server's application subnet always
    /// charges; the runtime charges once this is called.
    /// Replicated executions of every canister so far, on the runtime (a
    /// PocketIC server does not count them).
    pub fn executions(&mut self) -> Option<u64> {
        match self.backend() {
            Backend::Runtime => Some(self.as_runtime().total_executions()),
            Backend::PocketIcServer => None,
        }
    }

    /// Instructions `canister` has executed so far, counted as the IC
    /// meters them, on the runtime (a PocketIC server does not count them).
    pub fn instructions(&mut self, canister: Principal) -> Option<u64> {
        match self.backend() {
            Backend::Runtime => Some(self.as_runtime().total_instructions(canister)),
            Backend::PocketIcServer => None,
        }
    }

    pub fn charge_application_canisters(&mut self) {
        if let Self::Runtime(pic) = self {
            pic.set_cycle_charging(true);
        }
    }

    pub fn add_cycles(&mut self, canister_id: Principal, amount: u128) -> u128 {
        match self {
            Self::Runtime(pic) => pic.add_cycles(canister_id, amount),
            Self::Server(pic) => pic.add_cycles(canister_id, amount),
        }
    }

    pub fn get_stable_memory(&self, canister_id: Principal) -> Vec<u8> {
        match self {
            Self::Runtime(pic) => pic.get_stable_memory(canister_id),
            Self::Server(pic) => pic.get_stable_memory(canister_id),
        }
    }

    pub fn fetch_canister_logs(
        &self,
        canister_id: Principal,
        sender: Principal,
    ) -> Result<Vec<CanisterLogRecord>, RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .fetch_canister_logs(canister_id, sender)
                .map_err(from_runtime),
            Self::Server(pic) => pic.fetch_canister_logs(canister_id, sender).map(|records| {
                records
                    .into_iter()
                    .map(|r| CanisterLogRecord {
                        idx: r.idx,
                        timestamp_nanos: r.timestamp_nanos,
                        content: r.content,
                    })
                    .collect()
            }),
        }
    }

    /// Installs `wasm` (raw or gzipped) on an empty canister; panics on failure, as pocket-ic's does.
    pub fn install_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) {
        match self {
            Self::Runtime(pic) => pic.install_canister(canister_id, wasm, arg, sender),
            Self::Server(pic) => pic.install_canister(canister_id, wasm, arg, sender),
        }
    }

    pub fn upgrade_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .upgrade_canister(canister_id, wasm, arg, sender)
                .map_err(from_runtime),
            Self::Server(pic) => pic.upgrade_canister(canister_id, wasm, arg, sender),
        }
    }

    pub fn reinstall_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .reinstall_canister(canister_id, wasm, arg, sender)
                .map_err(from_runtime),
            Self::Server(pic) => pic.reinstall_canister(canister_id, wasm, arg, sender),
        }
    }

    pub fn uninstall_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .uninstall_canister(canister_id, sender)
                .map_err(from_runtime),
            Self::Server(pic) => pic.uninstall_canister(canister_id, sender),
        }
    }

    pub fn start_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .start_canister(canister_id, sender)
                .map_err(from_runtime),
            Self::Server(pic) => pic.start_canister(canister_id, sender),
        }
    }

    /// Stops the canister, waiting until its open call contexts close.
    pub fn stop_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        match self {
            Self::Runtime(pic) => pic.stop_canister(canister_id, sender).map_err(from_runtime),
            Self::Server(pic) => pic.stop_canister(canister_id, sender),
        }
    }

    pub fn delete_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .delete_canister(canister_id, sender)
                .map_err(from_runtime),
            Self::Server(pic) => pic.delete_canister(canister_id, sender),
        }
    }

    /// An update call (an ingress message), run until it is answered.
    pub fn update_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .update_call(canister_id, sender, method, payload)
                .map_err(from_runtime),
            Self::Server(pic) => pic.update_call(canister_id, sender, method, payload),
        }
    }

    pub fn query_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .query_call(canister_id, sender, method, payload)
                .map_err(from_runtime),
            Self::Server(pic) => pic.query_call(canister_id, sender, method, payload),
        }
    }

    /// Queues an update call without running it; see [`Self::await_call`].
    pub fn submit_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<MessageId, RejectResponse> {
        match self {
            Self::Runtime(pic) => pic
                .submit_call(canister_id, sender, method, payload)
                .map(MessageId::Runtime)
                .map_err(from_runtime),
            Self::Server(pic) => pic
                .submit_call(canister_id, sender, method, payload)
                .map(MessageId::Server),
        }
    }

    /// Runs rounds until the submitted message is answered.
    pub fn await_call(&mut self, message_id: MessageId) -> Result<Vec<u8>, RejectResponse> {
        match (self, message_id) {
            (Self::Runtime(pic), MessageId::Runtime(id)) => {
                pic.await_call(id).map_err(from_runtime)
            }
            (Self::Server(pic), MessageId::Server(id)) => pic.await_call(id),
            (env, id) => panic!(
                "message {id:?} was not submitted to this {:?} backend",
                env.backend()
            ),
        }
    }
}

/// A runtime reject as pocket-ic reports it. The runtime's codes are a
/// subset of pocket-ic's, with the same numbers, so this never loses anything.
fn from_runtime(reject: ic_runtime::RejectResponse) -> RejectResponse {
    let error_code = reject.error_code as u64;
    let reject_code = reject.reject_code as u64;
    RejectResponse {
        reject_code: RejectCode::try_from(reject_code)
            .unwrap_or_else(|_| panic!("the runtime's reject code {reject_code} is not the IC's")),
        reject_message: reject.reject_message,
        error_code: ErrorCode::try_from(error_code).unwrap_or_else(|_| {
            panic!("the runtime's error code IC{error_code:04} is not the IC's")
        }),
        certified: reject.certified,
    }
}

/// `value` as another version of the same Candid type: pocket-ic uses an
/// older `ic-management-canister-types` than the workspace.
fn recode<From: CandidType, To: CandidType + DeserializeOwned>(value: &From) -> To {
    let bytes = candid::encode_one(value).expect("management types encode");
    candid::decode_one(&bytes).expect("both versions of the management types have this shape")
}

/// `update_call` with Candid arguments and results, as pocket-ic's `update_candid_as`.
pub fn update_candid_as<Input, Output>(
    env: &mut TestEnv,
    canister_id: Principal,
    sender: Principal,
    method: &str,
    input: Input,
) -> Result<Output, RejectResponse>
where
    Input: ArgumentEncoder,
    Output: for<'a> ArgumentDecoder<'a>,
{
    let reply = env.update_call(canister_id, sender, method, encode(input))?;
    Ok(decode(method, &reply))
}

/// How a call is made: as an update (replicated, its effects kept) or as
/// a query (answered by one node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Update,
    Query,
}

/// [`update_candid_as`] or [`query_candid_as`] for one argument and one
/// result, with their Candid types computed once
/// ([`crate::candid_cache`]): for clients that send the same large types
/// many times.
pub fn call_one_as<Input, Output>(
    env: &mut TestEnv,
    kind: CallKind,
    canister_id: Principal,
    sender: Principal,
    method: &str,
    input: &Input,
) -> Result<Output, RejectResponse>
where
    Input: CandidType + 'static,
    Output: CandidType + DeserializeOwned + 'static,
{
    let arg = crate::candid_cache::encode_one(input);
    let reply = match kind {
        CallKind::Update => env.update_call(canister_id, sender, method, arg)?,
        CallKind::Query => env.query_call(canister_id, sender, method, arg)?,
    };
    Ok(crate::candid_cache::decode_one(&reply)
        .unwrap_or_else(|e| panic!("{method}: cannot decode the reply: {e}")))
}

/// `query_call` with Candid arguments and results, as pocket-ic's `query_candid_as`.
pub fn query_candid_as<Input, Output>(
    env: &mut TestEnv,
    canister_id: Principal,
    sender: Principal,
    method: &str,
    input: Input,
) -> Result<Output, RejectResponse>
where
    Input: ArgumentEncoder,
    Output: for<'a> ArgumentDecoder<'a>,
{
    let reply = env.query_call(canister_id, sender, method, encode(input))?;
    Ok(decode(method, &reply))
}

/// As [`update_candid_as`], from the anonymous principal.
pub fn update_candid<Input, Output>(
    env: &mut TestEnv,
    canister_id: Principal,
    method: &str,
    input: Input,
) -> Result<Output, RejectResponse>
where
    Input: ArgumentEncoder,
    Output: for<'a> ArgumentDecoder<'a>,
{
    update_candid_as(env, canister_id, Principal::anonymous(), method, input)
}

/// As [`query_candid_as`], from the anonymous principal.
pub fn query_candid<Input, Output>(
    env: &mut TestEnv,
    canister_id: Principal,
    method: &str,
    input: Input,
) -> Result<Output, RejectResponse>
where
    Input: ArgumentEncoder,
    Output: for<'a> ArgumentDecoder<'a>,
{
    query_candid_as(env, canister_id, Principal::anonymous(), method, input)
}

fn encode(input: impl ArgumentEncoder) -> Vec<u8> {
    encode_args(input).expect("arguments encode")
}

fn decode<Output: for<'a> ArgumentDecoder<'a>>(method: &str, reply: &[u8]) -> Output {
    decode_args(reply).unwrap_or_else(|e| panic!("{method}: cannot decode the reply: {e}"))
}

/// Makes each named test function — `fn name(backend: Backend)` — into a
/// module `name` with two `#[test]`s: `name::runtime`, and
/// `name::pocket_ic_server`, ignored unless asked for (`--include-ignored`,
/// as `scripts/test.sh` does when `POCKET_IC_BIN` is set), so that without a
/// server it counts as skipped, never as passed.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                #[test]
                fn runtime() {
                    super::$test($crate::env::Backend::Runtime)
                }

                #[test]
                #[ignore = "needs a PocketIC server: set POCKET_IC_BIN"]
                fn pocket_ic_server() {
                    super::$test($crate::env::Backend::PocketIcServer)
                }
            }
        )+
    };
}
