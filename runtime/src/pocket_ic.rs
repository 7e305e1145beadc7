//! The runtime's front: an API shaped like the `pocket-ic` crate's
//! `PocketIc`, so that tests switch between the two by changing one line.

use crate::canister::{self, Code, EntryPoint, Executed, Failure, limits};
use crate::error::{ErrorCode, RejectResponse, no_wasm, not_controller, not_found};
use crate::messages::{Messages, Outcome, RawEffectivePrincipal, RawMessageId};
use crate::module;
use crate::stable_memory::StableMemory;
use crate::state::{Canister, INITIAL_CYCLES, Status};
use crate::system_api::{Context, ExecState, fees};
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{Principal, decode_args, encode_args};
use ic_management_canister_types::CanisterSettings;
use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::state::CanisterLogRecord;

/// Canisters whose index is below this are on the system subnet: the NNS
/// subnet's canister range, which holds every well-known NNS id. Canisters
/// the runtime creates without a specified id get indexes above it.
const SYSTEM_SUBNET_CANISTER_INDEXES: u64 = 1 << 20;

/// Whether `canister_id` is in the system subnet's range, where nothing is
/// charged for, as on the IC's NNS subnet.
pub fn on_system_subnet(canister_id: &Principal) -> bool {
    match <[u8; 10]>::try_from(canister_id.as_slice()) {
        Ok(bytes) if bytes[8..] == [1, 1] => {
            let index = u64::from_be_bytes(bytes[..8].try_into().expect("eight bytes"));
            index < SYSTEM_SUBNET_CANISTER_INDEXES
        }
        _ => false,
    }
}

/// PocketIC's genesis time: 2021-05-06 19:17:10 UTC.
const GENESIS_NANOS: u64 = 1_620_328_630_000_000_000;

/// How `set_stable_memory`'s data is sent, as pocket-ic's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobCompression {
    Gzip,
    NoCompression,
}

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

/// An Internet Computer in this process.
pub struct PocketIc {
    pub(crate) canisters: BTreeMap<Principal, Canister>,
    pub(crate) messages: Messages,
    pub(crate) time: u64,
    /// The time of the latest round: a round starts 1 ns after it when the
    /// test has not moved time since.
    time_of_last_round: u64,
    next_canister_index: u64,
    /// How many `raw_rand` results were drawn: the generator's position.
    pub(crate) random_draws: u64,
    /// Whether executions, calls, ingress and storage cost cycles.
    pub(crate) charges_cycles: bool,
    /// Storage is paid for up to this time.
    storage_paid_until: u64,
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
            messages: Messages::default(),
            time: GENESIS_NANOS,
            time_of_last_round: GENESIS_NANOS,
            next_canister_index: SYSTEM_SUBNET_CANISTER_INDEXES,
            random_draws: 0,
            charges_cycles: false,
            storage_paid_until: GENESIS_NANOS,
        }
    }

    /// The DER-encoded public key that signs this IC's certificates. Always
    /// `Some`: this IC has a root key as if it had an NNS subnet.
    pub fn root_key(&self) -> Option<Vec<u8>> {
        Some(crate::certification::root_key_der())
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

    /// Sets the time of a new round as PocketIC's state machine does: the
    /// time the test set, or 1 ns after the previous round when time did not
    /// move, so that rounds (and the blocks a ledger makes in them) have
    /// strictly increasing times.
    fn start_round(&mut self) {
        if self.time == self.time_of_last_round {
            self.time += 1;
        }
        self.time_of_last_round = self.time;
        self.charge_storage();
    }

    /// Each canister pays for the memory it holds since storage was last
    /// paid for, as the IC charges it over time.
    fn charge_storage(&mut self) {
        if !self.charges_cycles {
            return;
        }
        let elapsed = self.time - self.storage_paid_until;
        self.storage_paid_until = self.time;
        for (id, canister) in &mut self.canisters {
            if !on_system_subnet(id) {
                canister.charge(fees::storage(canister.memory_bytes(), elapsed));
            }
        }
    }

    /// Whether `canister_id` pays for what it uses: when charging is on,
    /// every canister but those of the system subnet.
    pub(crate) fn charges(&self, canister_id: &Principal) -> bool {
        self.charges_cycles && !on_system_subnet(canister_id)
    }

    /// When charging, a canister that cannot pay for an execution above its
    /// freezing reserve is frozen: it takes no messages.
    pub(crate) fn check_not_frozen(&self, canister_id: Principal) -> Result<(), RejectResponse> {
        let Some(canister) = self.canisters.get(&canister_id) else {
            return Ok(());
        };
        if !self.charges(&canister_id) || canister.can_pay_for_execution() {
            return Ok(());
        }
        let missing =
            canister.freezing_reserve() + fees::UPDATE_MESSAGE_EXECUTION - canister.balance;
        Err(RejectResponse::new(
            ErrorCode::CanisterOutOfCycles,
            format!(
                "Canister {canister_id} is out of cycles: please top up the canister with at least {missing} additional cycles"
            ),
        ))
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
        let id = self.fresh_canister_id();
        let sender = sender.unwrap_or_else(Principal::anonymous);
        self.insert_canister(id, sender, settings, INITIAL_CYCLES);
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
        let sender = sender.unwrap_or_else(Principal::anonymous);
        self.insert_canister(canister_id, sender, settings, INITIAL_CYCLES);
        Ok(canister_id)
    }

    /// An id no canister has.
    pub(crate) fn fresh_canister_id(&mut self) -> Principal {
        loop {
            let index = self.next_canister_index;
            self.next_canister_index += 1;
            let mut bytes = index.to_be_bytes().to_vec();
            bytes.extend_from_slice(&[1, 1]);
            let id = Principal::from_slice(&bytes);
            if !self.canisters.contains_key(&id) {
                return id;
            }
        }
    }

    /// A new empty canister; its controller is `sender` unless `settings` say otherwise.
    pub(crate) fn insert_canister(
        &mut self,
        id: Principal,
        sender: Principal,
        settings: Option<CanisterSettings>,
        balance: u128,
    ) {
        let mut canister = Canister::new(vec![sender], balance);
        if let Some(settings) = settings {
            canister.update_settings(settings);
        }
        self.canisters.insert(id, canister);
    }

    pub fn canister_exists(&self, canister_id: Principal) -> bool {
        self.canisters.contains_key(&canister_id)
    }

    pub fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
        self.canister(canister_id)
            .map(|c| c.controllers().to_vec())
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

    /// Off by default. On, every canister outside the system subnet (see
    /// [`on_system_subnet`]) pays the 13-node application-subnet prices:
    /// `fees::execution` for every replicated execution after install,
    /// `fees::call` for every call sent, `fees::ingress` for every ingress
    /// message and `fees::storage` for its memory over time; what is charged
    /// is burned. The NNS canisters, at their well-known ids, pay nothing, as
    /// on the IC's NNS subnet.
    pub fn set_cycle_charging(&mut self, enabled: bool) {
        self.charges_cycles = enabled;
        self.storage_paid_until = self.time;
    }

    /// Cycles the canister burned: with `ic0.cycles_burn128` and as fees.
    pub fn cycles_burned(&self, canister_id: Principal) -> u128 {
        self.canister(canister_id).map_or(0, |c| c.cycles_burned)
    }

    /// Cycles burned by all canisters that exist.
    pub fn total_cycles_burned(&self) -> u128 {
        self.canisters.values().map(|c| c.cycles_burned).sum()
    }

    /// Instructions (wasm fuel) used by the canister's latest replicated
    /// execution: an update, callback, timer, install or upgrade, whether it
    /// succeeded or trapped.
    pub fn last_execution_instructions(&self, canister_id: Principal) -> u64 {
        self.canister(canister_id)
            .map_or(0, |c| c.last_execution_instructions)
    }

    /// The most instructions one of the canister's replicated executions
    /// used since the last call of this method (or since it was created).
    pub fn take_largest_execution_instructions(&mut self, canister_id: Principal) -> u64 {
        self.canisters
            .get_mut(&canister_id)
            .map_or(0, |c| std::mem::take(&mut c.largest_execution_instructions))
    }

    /// Instructions used by all of the canister's replicated executions.
    pub fn total_instructions(&self, canister_id: Principal) -> u64 {
        self.canister(canister_id)
            .map_or(0, |c| c.total_instructions)
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
        if !canister.is_controller(&sender) {
            return Err(not_controller(canister_id, "fetch_canister_logs"));
        }
        Ok(canister.logs().to_vec())
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
        // PocketIC installs through a management call, which takes a round.
        self.start_round();
        self.install_code(canister_id, InstallMode::Install, &wasm, arg, sender)
            .unwrap_or_else(|e| panic!("installing {canister_id} failed: {e}"));
    }

    /// Removes the canister's module and memory, as `uninstall_code` does;
    /// `sender` (anonymous if `None`) must control it.
    pub fn uninstall_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.start_round();
        self.uninstall_code(canister_id, sender.unwrap_or_else(Principal::anonymous))
    }

    /// Replaces the stable memory of an installed canister with `data`
    /// (gzipped if `compression` says so), grown to whole pages.
    pub fn set_stable_memory(
        &mut self,
        canister_id: Principal,
        data: Vec<u8>,
        compression: BlobCompression,
    ) {
        let data = match compression {
            BlobCompression::NoCompression => data,
            BlobCompression::Gzip => {
                let mut raw = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&data[..]), &mut raw)
                    .expect("gzip-compressed stable memory");
                raw
            }
        };
        let code = self
            .canisters
            .get_mut(&canister_id)
            .and_then(|c| c.code.as_mut())
            .expect("an installed canister");
        *code.stable_mut() = StableMemory::from_bytes(&data);
    }

    pub fn reinstall_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.start_round();
        self.install_code(canister_id, InstallMode::Reinstall, &wasm, arg, sender)
    }

    pub fn upgrade_canister(
        &mut self,
        canister_id: Principal,
        wasm: Vec<u8>,
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.start_round();
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
        if !canister.is_controller(&sender) {
            return Err(not_controller(canister_id, "install_code"));
        }
        let compiled = module::compile(wasm)?;
        let mut exec =
            canister.exec_state(canister_id, Context::Init, sender, time, limits::INSTALL);
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
                canister.finish(canister_id, time, executed)?;
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
                        canister.finish(canister_id, time, executed)?;
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

    /// An update call from `sender` (an ingress message), run to completion:
    /// `submit_call`, then rounds until it is answered.
    pub fn update_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        let message_id = self.submit_call(canister_id, sender, method, payload)?;
        let outcome = self.run_until_answered(&message_id.message_id);
        // Its id never left this function: nobody can ask for it again.
        self.messages.forget_ingress(&message_id.message_id);
        outcome
    }

    /// Queues an ingress update call; it runs in the next rounds (`tick`,
    /// `await_call`). Refused at once, as by the IC's ingress filter, when the
    /// canister cannot take it or its `canister_inspect_message` refuses it.
    pub fn submit_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<RawMessageId, RejectResponse> {
        let effective_principal = if canister_id == Principal::management_canister() {
            RawEffectivePrincipal::None
        } else {
            self.check_accepts_messages(canister_id)?;
            self.check_not_frozen(canister_id)?;
            self.inspect_ingress(canister_id, sender, method, &payload)?;
            if self.charges(&canister_id) {
                let fee = fees::ingress(method.len() as u64, payload.len() as u64);
                self.canisters
                    .get_mut(&canister_id)
                    .expect("it accepts messages")
                    .charge(fee);
            }
            RawEffectivePrincipal::CanisterId(canister_id.as_slice().to_vec())
        };
        let message_id = self
            .messages
            .submit_ingress(canister_id, sender, method, payload);
        Ok(RawMessageId {
            effective_principal,
            message_id,
        })
    }

    /// Runs rounds until the message submitted as `message_id` is answered.
    pub fn await_call(&mut self, message_id: RawMessageId) -> Result<Vec<u8>, RejectResponse> {
        self.run_until_answered(&message_id.message_id)
    }

    /// The answer to a submitted message, `None` while it is still in progress.
    pub fn ingress_status(
        &self,
        message_id: RawMessageId,
    ) -> Option<Result<Vec<u8>, RejectResponse>> {
        self.messages
            .ingress_status(&message_id.message_id)
            .flatten()
            .cloned()
    }

    fn run_until_answered(&mut self, message_id: &[u8]) -> Outcome {
        loop {
            match self.messages.ingress_status(message_id) {
                None => panic!("no message was submitted with id {message_id:02x?}"),
                Some(Some(outcome)) => return outcome.clone(),
                Some(None) => {}
            }
            let was_idle = self.messages.is_idle();
            self.tick();
            // When a round started and ended with nothing queued, no
            // response is on its way to the message's call context: later
            // rounds can only run timers, which cannot answer it.
            let answered = matches!(self.messages.ingress_status(message_id), Some(Some(_)));
            assert!(
                answered || !(was_idle && self.messages.is_idle()),
                "message {message_id:02x?} can never be answered: no message is left to run"
            );
        }
    }

    /// `canister_inspect_message`, for an update method of a canister that exports it.
    fn inspect_ingress(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: &[u8],
    ) -> Result<(), RejectResponse> {
        let time = self.time;
        let canister = self.canisters.get_mut(&canister_id).expect("checked");
        let code = canister.code.as_ref().expect("checked");
        if code
            .compiled
            .exports_method(&format!("canister_update {method}"))
            && code.compiled.exports_method("canister_inspect_message")
        {
            inspect_message(canister, canister_id, sender, method, payload, time)?;
        }
        Ok(())
    }

    /// A query answered by one node: nothing it writes is kept.
    pub fn query_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        self.non_replicated_query(canister_id, sender, method, payload)
            .map_err(|reject| RejectResponse {
                certified: false,
                ..reject
            })
    }

    fn non_replicated_query(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        let time = self.time;
        let certificate = self.data_certificate(canister_id);
        let canister = self
            .canisters
            .get_mut(&canister_id)
            .ok_or_else(|| not_found(canister_id))?;
        if matches!(canister.status, Status::Stopped) {
            return Err(RejectResponse::new(
                ErrorCode::CanisterStopped,
                format!("Canister {canister_id} is stopped"),
            ));
        }
        let Some(code) = canister.code.as_ref() else {
            return Err(no_wasm(canister_id));
        };
        let export = format!("canister_query {method}");
        if code
            .compiled
            .exports_method(&format!("canister_composite_query {method}"))
        {
            return self.composite_query(canister_id, sender, method, payload, certificate);
        }
        if !code.compiled.exports_method(&export) {
            return Err(RejectResponse::new(
                ErrorCode::CanisterMethodNotFound,
                format!(
                    "Error from Canister {canister_id}: Canister has no query method '{method}'."
                ),
            ));
        }
        let mut exec = canister.exec_state(
            canister_id,
            Context::NonReplicatedQuery,
            sender,
            time,
            limits::QUERY,
        );
        exec.arg = payload;
        exec.data_certificate = Some(certificate);
        let code = canister.code.as_mut().expect("checked above");
        let executed = code.execute(EntryPoint::Export(&export), exec, false);
        crate::composite_query::answer_of(canister_id, executed)
    }

    /// One round: every queued message, then heartbeats and due global timers.
    pub fn tick(&mut self) {
        self.start_round();
        self.execute_round();
    }
}

/// How `install_code` treats the canister's current code and state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallMode {
    Install,
    Reinstall,
    Upgrade { skip_pre_upgrade: bool },
}

fn inspect_message(
    canister: &mut Canister,
    id: Principal,
    sender: Principal,
    method: &str,
    payload: &[u8],
    time: u64,
) -> Result<(), RejectResponse> {
    let mut exec = canister.exec_state(
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

/// Encodes `input`, makes the call, decodes the reply.
fn candid_call<Input, Output>(
    method: &str,
    input: Input,
    call: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, RejectResponse>,
) -> Result<Output, RejectResponse>
where
    Input: ArgumentEncoder,
    Output: for<'a> ArgumentDecoder<'a>,
{
    let bytes = call(encode_args(input).expect("arguments encode"))?;
    Ok(decode_args(&bytes).unwrap_or_else(|e| panic!("{method}: cannot decode the reply: {e}")))
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
    candid_call(method, input, |arg| {
        env.update_call(canister_id, sender, method, arg)
    })
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
    candid_call(method, input, |arg| {
        env.query_call(canister_id, sender, method, arg)
    })
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
