//! The runtime's core: one state machine of subnets, canisters, messages,
//! time and certification. It knows nothing of the fronts that drive it
//! (the pocket-ic-shaped API in [`crate::pocket_ic`], the IC's HTTP
//! interface); they call it, it never calls them.

pub mod certified_state;
pub(crate) mod composite_query;
pub(crate) mod execution;
mod management;
pub mod messages;
mod snapshot;
pub mod state;
pub mod subnet;

use crate::canister::{self, Code, EntryPoint, Executed, Failure, limits};
use crate::certification::DataCertificate;
use crate::error::{ErrorCode, RejectResponse, no_wasm, not_controller, not_found};
use crate::module;
use crate::stable_memory::StableMemory;
use crate::system_api::{Context, ExecState, fees};
use candid::Principal;
use ic_management_canister_types::CanisterSettings;
use messages::{Messages, Outcome};
use state::{Canister, INITIAL_CYCLES, Status};
use std::collections::BTreeMap;
use std::time::Duration;
use subnet::Topology;

/// PocketIC's genesis time: 2021-05-06 19:17:10 UTC.
pub const GENESIS_NANOS: u64 = 1_620_328_630_000_000_000;

/// An Internet Computer in this process.
pub struct Ic {
    pub(crate) canisters: BTreeMap<Principal, Canister>,
    pub(crate) messages: Messages,
    pub(crate) time: u64,
    /// The time of the latest round: a round starts 1 ns after it when the
    /// test has not moved time since.
    time_of_last_round: u64,
    pub(crate) topology: Topology,
    /// How many `raw_rand` results were drawn: the generator's position.
    pub(crate) random_draws: u64,
    /// Whether executions, calls, ingress and storage cost cycles.
    pub(crate) charges_cycles: bool,
    /// Storage is paid for up to this time.
    storage_paid_until: u64,
    /// Each subnet's state tree, kept when a front serves `read_state`.
    pub(crate) certified: Option<Box<certified_state::CertifiedState>>,
}

impl Default for Ic {
    fn default() -> Self {
        Self::new()
    }
}

impl Ic {
    pub fn new() -> Self {
        Self {
            canisters: BTreeMap::new(),
            messages: Messages::default(),
            time: GENESIS_NANOS,
            time_of_last_round: GENESIS_NANOS,
            topology: Topology::default(),
            random_draws: 0,
            charges_cycles: false,
            storage_paid_until: GENESIS_NANOS,
            certified: None,
        }
    }

    /// Keeps each subnet's certified state tree from now on, updated at the
    /// end of every round, for `read_state` and ingress status.
    pub fn enable_certification(&mut self) {
        if self.certified.is_none() {
            let mut state = certified_state::CertifiedState::new(&self.topology, self.time);
            state.end_round(
                self.time,
                &self.topology,
                self.canisters.iter(),
                Vec::new(),
                |_| true,
            );
            self.certified = Some(Box::new(state));
        }
    }

    pub fn certified_state(&self) -> Option<&certified_state::CertifiedState> {
        self.certified.as_deref()
    }

    pub fn certified_state_mut(&mut self) -> Option<&mut certified_state::CertifiedState> {
        self.certified.as_deref_mut()
    }

    /// The end of a round: the certified state takes in what changed.
    fn certify_round(&mut self) {
        let Some(certified) = self.certified.as_deref_mut() else {
            self.messages.clear_touched_ingress();
            return;
        };
        let touched = self.messages.take_touched_ingress();
        let messages = &self.messages;
        let expired = certified.end_round(
            self.time,
            &self.topology,
            self.canisters.iter(),
            touched,
            |id| !matches!(messages.ingress_status(id), Some(None)),
        );
        for message_id in expired {
            self.messages.forget_ingress(&message_id);
        }
    }

    /// The DER-encoded public key that signs this IC's certificates.
    pub fn root_key_der(&self) -> Vec<u8> {
        crate::certification::root_key_der()
    }

    /// Nanoseconds since the Unix epoch.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// Moves time to `nanos`; never backwards.
    pub fn set_time(&mut self, nanos: u64) {
        assert!(nanos >= self.time, "time cannot move backwards");
        self.time = nanos;
    }

    pub fn advance_time(&mut self, duration: Duration) {
        self.time += u64::try_from(duration.as_nanos()).expect("a reasonable duration");
    }

    /// Sets the time of a new round as PocketIC's state machine does: the
    /// time the test set, or 1 ns after the previous round when time did not
    /// move, so that rounds (and the blocks a ledger makes in them) have
    /// strictly increasing times.
    pub fn start_round(&mut self) {
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
            if !self.topology.subnet_of(id).kind.is_system() {
                canister.charge(fees::storage(canister.memory_bytes(), elapsed));
            }
        }
    }

    /// Whether `canister_id` pays for what it uses: when charging is on,
    /// every canister but those of system subnets.
    pub(crate) fn charges(&self, canister_id: &Principal) -> bool {
        self.charges_cycles && !self.topology.subnet_of(canister_id).kind.is_system()
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

    /// A new canister on `subnet` (the default application subnet if
    /// `None`) with `cycles`, controlled by `sender` unless `settings` say
    /// otherwise; `None` when the subnet is unknown or its range is full.
    pub fn create_canister_on(
        &mut self,
        subnet: Option<Principal>,
        sender: Principal,
        settings: Option<CanisterSettings>,
        cycles: u128,
    ) -> Option<Principal> {
        let subnet = subnet.unwrap_or(self.topology.default_subnet().id);
        let id = self.fresh_canister_id(&subnet)?;
        self.insert_canister(id, sender, settings, cycles);
        Some(id)
    }

    pub fn create_canister_with_id(
        &mut self,
        sender: Principal,
        settings: Option<CanisterSettings>,
        canister_id: Principal,
    ) -> Result<Principal, String> {
        if self.canisters.contains_key(&canister_id) {
            return Err(format!("canister {canister_id} already exists"));
        }
        self.insert_canister(canister_id, sender, settings, INITIAL_CYCLES);
        Ok(canister_id)
    }

    /// An id on `subnet` that no canister has.
    pub(crate) fn fresh_canister_id(&mut self, subnet: &Principal) -> Option<Principal> {
        let canisters = &self.canisters;
        self.topology
            .fresh_canister_id(subnet, |id| canisters.contains_key(id))
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

    /// The instruction limits of the subnet `canister` is on.
    pub(crate) fn limits(&self, canister: &Principal) -> limits::Limits {
        limits::Limits::of(self.topology.subnet_of(canister).kind.is_system())
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn canister_exists(&self, canister_id: Principal) -> bool {
        self.canisters.contains_key(&canister_id)
    }

    pub fn canisters(&self) -> impl Iterator<Item = (&Principal, &Canister)> {
        self.canisters.iter()
    }

    pub fn canister_mut(&mut self, id: Principal) -> Result<&mut Canister, RejectResponse> {
        self.canisters.get_mut(&id).ok_or_else(|| not_found(id))
    }

    /// Off by default. On, every canister outside the system subnets pays
    /// the 13-node application-subnet prices: `fees::execution` for every
    /// replicated execution after install, `fees::call` for every call
    /// sent, `fees::ingress` for every ingress message and `fees::storage`
    /// for its memory over time; what is charged is burned. The NNS
    /// canisters, at their well-known ids, pay nothing, as on the IC's NNS
    /// subnet.
    pub fn set_cycle_charging(&mut self, enabled: bool) {
        self.charges_cycles = enabled;
        self.storage_paid_until = self.time;
    }

    pub fn canister(&self, id: Principal) -> Result<&Canister, RejectResponse> {
        self.canisters.get(&id).ok_or_else(|| not_found(id))
    }

    /// Replaces the stable memory of an installed canister with `data`,
    /// grown to whole pages.
    pub fn set_stable_memory(
        &mut self,
        canister_id: Principal,
        data: &[u8],
    ) -> Result<(), RejectResponse> {
        let code = self
            .canister_mut(canister_id)?
            .code
            .as_mut()
            .ok_or_else(|| no_wasm(canister_id))?;
        *code.stable_mut() = StableMemory::from_bytes(data)
            .map_err(|why| RejectResponse::new(ErrorCode::InvalidManagementPayload, why))?;
        Ok(())
    }

    /// `install_code` of the management canister.
    pub fn install_code(
        &mut self,
        canister_id: Principal,
        mode: InstallMode,
        wasm: &[u8],
        arg: Vec<u8>,
        sender: Principal,
    ) -> Result<(), RejectResponse> {
        let time = self.time;
        let limit = self.limits(&canister_id).install;
        let canister = self
            .canisters
            .get_mut(&canister_id)
            .ok_or_else(|| not_found(canister_id))?;
        if !canister.is_controller(&sender) {
            return Err(not_controller(canister_id, "install_code"));
        }
        let compiled = module::compile(wasm)?;
        let mut exec = canister.exec_state(canister_id, Context::Init, sender, time, limit);
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

    /// An ingress update call, queued to run in the next rounds; its
    /// message id. Refused at once, as by the IC's ingress filter, when the
    /// canister cannot take it or its `canister_inspect_message` refuses it.
    pub fn submit_ingress(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        self.admit_ingress(canister_id, sender, method, &payload)?;
        Ok(self
            .messages
            .submit_ingress(canister_id, sender, method, payload))
    }

    /// The IC's ingress filter: the canister takes messages, is not frozen
    /// and its `canister_inspect_message` accepts; then the ingress fee.
    fn admit_ingress(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: &[u8],
    ) -> Result<(), RejectResponse> {
        if canister_id != Principal::management_canister() {
            self.check_accepts_messages(canister_id)?;
            self.check_not_frozen(canister_id)?;
            self.inspect_ingress(canister_id, sender, method, payload)?;
            if self.charges(&canister_id) {
                let fee = fees::ingress(method.len() as u64, payload.len() as u64);
                self.canister_mut(canister_id)
                    .expect("it accepts messages")
                    .charge(fee);
            }
        }
        Ok(())
    }

    /// The answer to a submitted message: `None` if no message has this
    /// id, `Some(None)` while it is in progress.
    pub fn ingress_status(&self, message_id: &[u8]) -> Option<Option<&Outcome>> {
        self.messages.ingress_status(message_id)
    }

    /// Forgets a message whose id nobody can ask for again.
    pub fn forget_ingress(&mut self, message_id: &[u8]) {
        self.messages.forget_ingress(message_id);
    }

    /// Runs rounds until the message submitted as `message_id` is answered.
    pub fn run_until_answered(&mut self, message_id: &[u8]) -> Outcome {
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
    pub fn query(
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
        let limit = self.limits(&canister_id).query;
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
            limit,
        );
        exec.arg = payload;
        exec.data_certificate = Some(certificate);
        let code = canister.code.as_mut().expect("checked above");
        let executed = code.execute(EntryPoint::Export(&export), exec, false);
        composite_query::answer_of(canister_id, executed)
    }

    /// One round: every queued message, then heartbeats and due global
    /// timers; then the state is certified.
    pub fn tick(&mut self) {
        self.start_round();
        self.execute_round();
        self.certify_round();
    }

    /// An ingress message of the HTTP interface: its id is the request id,
    /// and its status is certified until `expiry`. The caller checked the
    /// request (signature, expiry, that the id is new); this checks what
    /// the IC's ingress filter checks, as `submit_ingress` does.
    #[allow(clippy::too_many_arguments)]
    pub fn submit_http_ingress(
        &mut self,
        message_id: Vec<u8>,
        effective_canister_id: Principal,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
        expiry: u64,
    ) -> Result<(), RejectResponse> {
        self.admit_ingress(canister_id, sender, method, &payload)?;
        let subnet = self.topology.subnet_of(&effective_canister_id).id;
        self.certified
            .as_deref_mut()
            .expect("certification is on for the HTTP interface")
            .track_ingress(message_id.clone(), subnet, sender, canister_id, expiry);
        self.messages.submit_ingress_with_id(
            message_id,
            Some(effective_canister_id),
            canister_id,
            sender,
            method,
            payload,
        );
        Ok(())
    }

    /// The certificate a non-replicated query of `canister_id` sees: the
    /// current state, as certified at the end of the latest round.
    pub(crate) fn data_certificate(&self, canister_id: Principal) -> DataCertificate {
        let installed = self
            .canisters
            .iter()
            .filter(|(_, canister)| canister.code.is_some())
            .map(|(id, canister)| (id.as_slice(), canister.certified_data.as_slice()));
        DataCertificate::new(canister_id.as_slice(), installed, self.time)
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
