//! The runtime's front: an API shaped like the `pocket-ic` crate's
//! `PocketIc`, so that tests switch between the two by changing one line.

use crate::canister::{self, Code, EntryPoint, Executed, Failure, limits};
use crate::error::{ErrorCode, RejectResponse};
use crate::module;
use crate::stable_memory::StableMemory;
use crate::system_api::{Context, ExecState, Response};
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{Principal, decode_args, encode_args};
use ic_management_canister_types::CanisterSettings;
use std::collections::BTreeMap;
use std::time::Duration;

/// PocketIC's genesis time: 2021-05-06 19:17:10 UTC.
const GENESIS_NANOS: u64 = 1_620_328_630_000_000_000;
/// Cycles a canister gets from `create_canister`, as in PocketIC.
const INITIAL_CYCLES: u128 = 100_000_000_000_000;
/// The CMC's well-known id: the only canister that may mint cycles.
const CYCLES_MINTING_CANISTER_ID: Principal =
    Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 4, 1, 1]);

/// A point in time, in nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(u64);

impl Time {
    pub const fn from_nanos_since_unix_epoch(nanos: u64) -> Self {
        Self(nanos)
    }

    pub const fn as_nanos_since_unix_epoch(&self) -> u64 {
        self.0
    }
}

/// One line of a canister's log (`ic0.debug_print` and traps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanisterLogRecord {
    pub idx: u64,
    pub timestamp_nanos: u64,
    pub content: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Running,
    Stopped,
}

struct Canister {
    controllers: Vec<Principal>,
    balance: u128,
    status: Status,
    version: u64,
    certified_data: Vec<u8>,
    global_timer: u64,
    code: Option<Code>,
    logs: Vec<CanisterLogRecord>,
    next_log_index: u64,
    cycles_minted: u128,
    cycles_burned: u128,
}

impl Canister {
    fn new(controllers: Vec<Principal>, balance: u128) -> Self {
        Self {
            controllers,
            balance,
            status: Status::Running,
            version: 0,
            certified_data: Vec::new(),
            global_timer: 0,
            code: None,
            logs: Vec::new(),
            next_log_index: 0,
            cycles_minted: 0,
            cycles_burned: 0,
        }
    }

    fn log(&mut self, time: u64, content: Vec<u8>) {
        self.logs.push(CanisterLogRecord {
            idx: self.next_log_index,
            timestamp_nanos: time,
            content,
        });
        self.next_log_index += 1;
    }
}

/// An Internet Computer in this process.
pub struct PocketIc {
    canisters: BTreeMap<Principal, Canister>,
    time: u64,
    next_canister_index: u64,
}

impl Default for PocketIc {
    fn default() -> Self {
        Self::new()
    }
}

impl PocketIc {
    pub fn new() -> Self {
        // Above the NNS range, so well-known ids stay free for `create_canister_with_id`.
        Self {
            canisters: BTreeMap::new(),
            time: GENESIS_NANOS,
            next_canister_index: 1 << 20,
        }
    }

    pub fn get_time(&self) -> Time {
        Time(self.time)
    }

    /// Moves time to `time`; never backwards.
    pub fn set_time(&mut self, time: Time) {
        assert!(time.0 >= self.time, "time cannot move backwards");
        self.time = time.0;
    }

    pub fn advance_time(&mut self, duration: Duration) {
        self.time += u64::try_from(duration.as_nanos()).expect("a reasonable duration");
    }

    /// A canister controlled by the anonymous principal, with 100 T cycles.
    pub fn create_canister(&mut self) -> Principal {
        self.create_canister_with_settings(None, None)
    }

    pub fn create_canister_with_settings(
        &mut self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
    ) -> Principal {
        let id = loop {
            let index = self.next_canister_index;
            self.next_canister_index += 1;
            let mut bytes = index.to_be_bytes().to_vec();
            bytes.extend_from_slice(&[1, 1]);
            let id = Principal::from_slice(&bytes);
            if !self.canisters.contains_key(&id) {
                break id;
            }
        };
        self.insert_canister(id, sender, settings);
        id
    }

    pub fn create_canister_with_id(
        &mut self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        canister_id: Principal,
    ) -> Result<Principal, String> {
        if self.canisters.contains_key(&canister_id) {
            return Err(format!("canister {canister_id} already exists"));
        }
        self.insert_canister(canister_id, sender, settings);
        Ok(canister_id)
    }

    fn insert_canister(
        &mut self,
        id: Principal,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
    ) {
        let controllers = settings
            .and_then(|s| s.controllers)
            .unwrap_or_else(|| vec![sender.unwrap_or_else(Principal::anonymous)]);
        self.canisters
            .insert(id, Canister::new(controllers, INITIAL_CYCLES));
    }

    pub fn canister_exists(&self, canister_id: Principal) -> bool {
        self.canisters.contains_key(&canister_id)
    }

    pub fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
        self.canister(canister_id)
            .map(|c| c.controllers.clone())
            .unwrap_or_default()
    }

    pub fn cycle_balance(&self, canister_id: Principal) -> u128 {
        self.canister(canister_id).map_or(0, |c| c.balance)
    }

    pub fn add_cycles(&mut self, canister_id: Principal, amount: u128) -> u128 {
        let canister = self
            .canisters
            .get_mut(&canister_id)
            .expect("the canister exists");
        canister.balance += amount;
        canister.balance
    }

    /// Cycles the canister minted with `ic0.mint_cycles128`.
    pub fn cycles_minted(&self, canister_id: Principal) -> u128 {
        self.canister(canister_id).map_or(0, |c| c.cycles_minted)
    }

    /// The committed stable memory of a canister.
    pub fn get_stable_memory(&self, canister_id: Principal) -> Vec<u8> {
        self.canister(canister_id)
            .ok()
            .and_then(|c| c.code.as_ref())
            .map(|code| code.stable().to_vec())
            .unwrap_or_default()
    }

    pub fn fetch_canister_logs(
        &self,
        canister_id: Principal,
        sender: Principal,
    ) -> Result<Vec<CanisterLogRecord>, RejectResponse> {
        let canister = self.canister(canister_id)?;
        if !canister.controllers.contains(&sender) {
            return Err(not_controller(canister_id, "fetch_canister_logs"));
        }
        Ok(canister.logs.clone())
    }

    fn canister(&self, id: Principal) -> Result<&Canister, RejectResponse> {
        self.canisters.get(&id).ok_or_else(|| not_found(id))
    }

    /// Installs `wasm` (raw or gzipped) on an empty canister; panics on failure, as PocketIC's does.
    pub fn install_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) {
        self.install_code(canister_id, InstallMode::Install, &wasm, arg, sender)
            .unwrap_or_else(|e| panic!("installing {canister_id} failed: {e}"));
    }

    pub fn reinstall_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.install_code(canister_id, InstallMode::Reinstall, &wasm, arg, sender)
    }

    pub fn upgrade_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.install_code(
            canister_id,
            InstallMode::Upgrade {
                skip_pre_upgrade: false,
            },
            &wasm,
            arg,
            sender,
        )
    }

    /// `install_code` of the management canister.
    pub fn install_code(
        &mut self,
        canister_id: Principal,
        mode: InstallMode,
        wasm: &[u8],
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        let sender = sender.unwrap_or_else(Principal::anonymous);
        let time = self.time;
        let canister = self
            .canisters
            .get_mut(&canister_id)
            .ok_or_else(|| not_found(canister_id))?;
        if !canister.controllers.contains(&sender) {
            return Err(not_controller(canister_id, "install_code"));
        }
        let compiled = module::compile(wasm)?;
        let mut exec = base_exec(
            canister,
            canister_id,
            Context::Init,
            sender,
            time,
            limits::INSTALL,
        );
        exec.arg = arg;
        // Install and upgrade both clear the global timer.
        exec.global_timer = 0;
        match mode {
            InstallMode::Install | InstallMode::Reinstall => {
                if mode == InstallMode::Install && canister.code.is_some() {
                    return Err(RejectResponse::new(
                        ErrorCode::CanisterNonEmpty,
                        format!(
                            "Canister {canister_id} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead."
                        ),
                    ));
                }
                exec.certified_data.clear();
                let mut code = Code::instantiate(compiled, StableMemory::default(), exec.clone())
                    .map_err(|(failure, _)| failure.into_reject(canister_id))?;
                let executed = if code.compiled.exports_method("canister_init") {
                    code.execute(EntryPoint::Export("canister_init"), exec, true)
                } else {
                    Executed {
                        result: Ok(()),
                        exec,
                        instructions: 0,
                    }
                };
                finish(canister, canister_id, time, executed)?;
                canister.code = Some(code);
            }
            InstallMode::Upgrade { skip_pre_upgrade } => {
                let Some(old) = canister.code.take() else {
                    return Err(no_wasm(canister_id));
                };
                let pre = (!skip_pre_upgrade).then(|| ExecState {
                    context: Context::PreUpgrade,
                    arg: Vec::new(),
                    ..exec.clone()
                });
                match canister::upgrade(old, compiled, pre, exec) {
                    Ok((new, executed)) => {
                        canister.code = Some(new);
                        finish(canister, canister_id, time, executed)?;
                    }
                    Err((old, failure)) => {
                        canister.code = Some(old);
                        canister.log(time, failure.message.clone().into_bytes());
                        return Err(failure.into_reject(canister_id));
                    }
                }
            }
        }
        canister.version += 1;
        Ok(())
    }

    /// An update call from `sender` (an ingress message), run to completion.
    pub fn update_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        self.ingress(canister_id, sender, method, payload, true)
    }

    /// A query answered by one node: nothing it writes is kept.
    pub fn query_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        self.ingress(canister_id, sender, method, payload, false)
            .map_err(|reject| RejectResponse {
                certified: false,
                ..reject
            })
    }

    fn ingress(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
        replicated: bool,
    ) -> Result<Vec<u8>, RejectResponse> {
        let time = self.time;
        let canister = self
            .canisters
            .get_mut(&canister_id)
            .ok_or_else(|| not_found(canister_id))?;
        if canister.status == Status::Stopped {
            return Err(RejectResponse::new(
                ErrorCode::CanisterStopped,
                format!("Canister {canister_id} is stopped"),
            ));
        }
        let Some(code) = canister.code.as_ref() else {
            return Err(no_wasm(canister_id));
        };
        let update_export = format!("canister_update {method}");
        let query_export = format!("canister_query {method}");
        let (export, context, limit) = if replicated && code.compiled.exports_method(&update_export)
        {
            (update_export, Context::Update, limits::UPDATE)
        } else if code.compiled.exports_method(&query_export) {
            let context = if replicated {
                Context::ReplicatedQuery
            } else {
                Context::NonReplicatedQuery
            };
            (query_export, context, limits::QUERY)
        } else {
            let kind = if replicated { "update" } else { "query" };
            return Err(RejectResponse::new(
                ErrorCode::CanisterMethodNotFound,
                format!(
                    "Error from Canister {canister_id}: Canister has no {kind} method '{method}'."
                ),
            ));
        };
        if context == Context::Update && code.compiled.exports_method("canister_inspect_message") {
            inspect_message(canister, canister_id, sender, method, &payload, time)?;
        }
        let mut exec = base_exec(canister, canister_id, context, sender, time, limit);
        exec.arg = payload;
        let keep = context == Context::Update;
        let code = canister.code.as_mut().expect("checked above");
        let executed = code.execute(EntryPoint::Export(&export), exec, keep);
        let response = executed.exec.response.clone();
        let made_calls = !executed.exec.calls.is_empty();
        if keep {
            finish(canister, canister_id, time, executed)?;
            canister.version += 1;
        } else {
            executed.result.map_err(|f| f.into_reject(canister_id))?;
        }
        match response {
            Some(Response::Reply(bytes)) => Ok(bytes),
            Some(Response::Reject(message)) => Err(RejectResponse::canister_reject(message)),
            None if made_calls => Err(RejectResponse::new(
                ErrorCode::CanisterDidNotReply,
                format!(
                    "Error from Canister {canister_id}: inter-canister calls are not supported by this runtime version."
                ),
            )),
            None => Err(RejectResponse::new(
                ErrorCode::CanisterDidNotReply,
                format!("Error from Canister {canister_id}: Canister did not produce a response."),
            )),
        }
    }

    /// Runs what is due: global timers whose time has come.
    pub fn tick(&mut self) {
        let time = self.time;
        let due: Vec<Principal> = self
            .canisters
            .iter()
            .filter(|(_, c)| {
                c.code.is_some()
                    && c.global_timer != 0
                    && c.global_timer <= time
                    && c.status == Status::Running
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let canister = self.canisters.get_mut(&id).expect("listed above");
            canister.global_timer = 0;
            if !canister
                .code
                .as_ref()
                .unwrap()
                .compiled
                .exports_method("canister_global_timer")
            {
                continue;
            }
            let exec = base_exec(
                canister,
                id,
                Context::SystemTask,
                Principal::management_canister(),
                time,
                limits::UPDATE,
            );
            let code = canister.code.as_mut().unwrap();
            let executed = code.execute(EntryPoint::Export("canister_global_timer"), exec, true);
            if finish(canister, id, time, executed).is_ok() {
                canister.version += 1;
            }
        }
    }
}

/// How `install_code` treats the canister's current code and state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallMode {
    Install,
    Reinstall,
    Upgrade { skip_pre_upgrade: bool },
}

fn base_exec(
    canister: &Canister,
    id: Principal,
    context: Context,
    caller: Principal,
    time: u64,
    limit: u64,
) -> ExecState {
    let mut exec = ExecState::new(context, id, caller, time);
    exec.controllers = canister.controllers.clone();
    exec.canister_version = canister.version;
    exec.balance = canister.balance;
    exec.certified_data = canister.certified_data.clone();
    exec.global_timer = canister.global_timer;
    exec.instruction_limit = limit;
    exec.may_mint_cycles = id == CYCLES_MINTING_CANISTER_ID;
    exec
}

/// Applies a finished execution to the canister: its effects when it
/// succeeded, only its log lines when it failed.
fn finish(
    canister: &mut Canister,
    id: Principal,
    time: u64,
    executed: Executed,
) -> Result<(), RejectResponse> {
    let Executed { result, exec, .. } = executed;
    for line in exec.logs {
        canister.log(time, line);
    }
    if let Err(failure) = result {
        canister.log(time, failure.message.clone().into_bytes());
        return Err(failure.into_reject(id));
    }
    canister.balance = exec.balance;
    canister.certified_data = exec.certified_data;
    canister.global_timer = exec.global_timer;
    canister.cycles_minted += exec.cycles_minted;
    canister.cycles_burned += exec.cycles_burned;
    Ok(())
}

fn inspect_message(
    canister: &mut Canister,
    id: Principal,
    sender: Principal,
    method: &str,
    payload: &[u8],
    time: u64,
) -> Result<(), RejectResponse> {
    let mut exec = base_exec(
        canister,
        id,
        Context::InspectMessage,
        sender,
        time,
        limits::INSPECT_MESSAGE,
    );
    exec.arg = payload.to_vec();
    exec.method_name = method.to_string();
    let code = canister.code.as_mut().expect("installed");
    let executed = code.execute(EntryPoint::Export("canister_inspect_message"), exec, false);
    executed.result.map_err(|f: Failure| f.into_reject(id))?;
    if !executed.exec.message_accepted {
        return Err(RejectResponse::new(
            ErrorCode::CanisterRejectedMessage,
            format!("Error from Canister {id}: Canister rejected the message"),
        ));
    }
    Ok(())
}

fn not_found(id: Principal) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterNotFound,
        format!("Canister {id} not found"),
    )
}

fn no_wasm(id: Principal) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterWasmModuleNotFound,
        format!(
            "Error from Canister {id}: Attempted to execute a message, but the canister contains no Wasm module."
        ),
    )
}

fn not_controller(id: Principal, method: &str) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterInvalidController,
        format!("Only controllers of canister {id} can call ic00 method {method}"),
    )
}

/// `update_call` with Candid arguments and results, as pocket-ic's `update_candid_as`.
pub fn update_candid_as<Input, Output>(
    env: &mut PocketIc,
    canister_id: Principal,
    sender: Principal,
    method: &str,
    input: Input,
) -> Result<Output, RejectResponse>
where
    Input: ArgumentEncoder,
    Output: for<'a> ArgumentDecoder<'a>,
{
    let bytes = env.update_call(
        canister_id,
        sender,
        method,
        encode_args(input).expect("arguments encode"),
    )?;
    Ok(decode_args(&bytes).unwrap_or_else(|e| panic!("{method}: cannot decode the reply: {e}")))
}

/// `query_call` with Candid arguments and results, as pocket-ic's `query_candid_as`.
pub fn query_candid_as<Input, Output>(
    env: &mut PocketIc,
    canister_id: Principal,
    sender: Principal,
    method: &str,
    input: Input,
) -> Result<Output, RejectResponse>
where
    Input: ArgumentEncoder,
    Output: for<'a> ArgumentDecoder<'a>,
{
    let bytes = env.query_call(
        canister_id,
        sender,
        method,
        encode_args(input).expect("arguments encode"),
    )?;
    Ok(decode_args(&bytes).unwrap_or_else(|e| panic!("{method}: cannot decode the reply: {e}")))
}

/// As `update_candid_as`, from the anonymous principal.
pub fn update_candid<Input, Output>(
    env: &mut PocketIc,
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

/// As `query_candid_as`, from the anonymous principal.
pub fn query_candid<Input, Output>(
    env: &mut PocketIc,
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
