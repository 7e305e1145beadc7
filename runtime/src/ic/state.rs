//! What the IC records about one canister besides its code's memory:
//! settings, cycles, run status, logs and counters, and how an execution's
//! effects are applied to them.

use crate::canister::{Code, Executed};
use crate::error::RejectResponse;
use crate::ic::messages::Origin;
use crate::system_api::{Context, ExecState};
use candid::{Nat, Principal};
use ic_management_canister_types::{CanisterSettings, DefiniteCanisterSettings};

/// Cycles a canister gets from `create_canister`, as in PocketIC.
pub const INITIAL_CYCLES: u128 = 100_000_000_000_000;
/// The CMC's well-known id: the only canister that may mint cycles.
const CYCLES_MINTING_CANISTER_ID: Principal =
    Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 4, 1, 1]);

/// One line of a canister's log (`ic0.debug_print` and traps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanisterLogRecord {
    pub idx: u64,
    pub timestamp_nanos: u64,
    pub content: Vec<u8>,
}

/// A `stop_canister` call waiting for the canister's call contexts to close.
#[derive(Clone, Debug)]
pub struct StopRequest {
    pub origin: Origin,
    pub cycles: u128,
}

#[derive(Clone, Debug)]
pub enum Status {
    Running,
    /// Stopped as soon as its open call contexts close.
    Stopping(Vec<StopRequest>),
    Stopped,
}

impl Status {
    /// The value of `ic0.canister_status`.
    fn code(&self) -> u32 {
        match self {
            Self::Running => 1,
            Self::Stopping(_) => 2,
            Self::Stopped => 3,
        }
    }
}

pub struct Canister {
    pub settings: DefiniteCanisterSettings,
    pub balance: u128,
    pub status: Status,
    pub version: u64,
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub code: Option<Code>,
    logs: Vec<CanisterLogRecord>,
    next_log_index: u64,
    pub cycles_minted: u128,
    /// Cycles burned with `ic0.cycles_burn128` and, when charging is on, as fees.
    pub cycles_burned: u128,
    /// Instructions of the canister's latest replicated execution.
    pub last_execution_instructions: u64,
    /// Instructions of all its replicated executions.
    pub total_instructions: u64,
    /// The most instructions one replicated execution used since the
    /// figure was last taken.
    pub largest_execution_instructions: u64,
    /// Replicated executions (messages, callbacks, timers, installs) since
    /// the canister was created or its state loaded.
    pub executions: u64,
    /// The wasm chunk store (`upload_chunk`): chunks by their SHA-256.
    pub chunks: std::collections::BTreeMap<[u8; 32], Vec<u8>>,
}

impl Canister {
    pub fn new(controllers: Vec<Principal>, balance: u128) -> Self {
        Self {
            settings: default_settings(controllers),
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
            last_execution_instructions: 0,
            total_instructions: 0,
            largest_execution_instructions: 0,
            executions: 0,
            chunks: std::collections::BTreeMap::new(),
        }
    }

    pub fn controllers(&self) -> &[Principal] {
        &self.settings.controllers
    }

    pub fn is_controller(&self, principal: &Principal) -> bool {
        self.settings.controllers.contains(principal)
    }

    pub fn is_running(&self) -> bool {
        matches!(self.status, Status::Running)
    }

    pub fn logs(&self) -> &[CanisterLogRecord] {
        &self.logs
    }

    pub fn log(&mut self, time: u64, content: Vec<u8>) {
        self.logs.push(CanisterLogRecord {
            idx: self.next_log_index,
            timestamp_nanos: time,
            content,
        });
        self.next_log_index += 1;
    }

    pub fn record_instructions(&mut self, instructions: u64) {
        self.last_execution_instructions = instructions;
        self.total_instructions += instructions;
        self.largest_execution_instructions = self.largest_execution_instructions.max(instructions);
        self.executions += 1;
    }

    /// Bytes of memory the canister holds: heap and stable memory.
    pub fn memory_bytes(&self) -> u64 {
        self.code.as_ref().map_or(0, |c| {
            c.heap_bytes() as u64 + c.stable().size_pages() * crate::stable_memory::WASM_PAGE
        })
    }

    /// Cycles the canister keeps back for its freezing threshold.
    pub fn freezing_reserve(&self) -> u128 {
        let threshold =
            u64::try_from(self.settings.freezing_threshold.0.clone()).unwrap_or(u64::MAX);
        crate::system_api::fees::freezing_reserve(self.memory_bytes(), threshold)
    }

    /// Whether the canister can pay for an execution: the base fee on top of
    /// its freezing reserve. A canister that cannot is frozen.
    pub fn can_pay_for_execution(&self) -> bool {
        self.balance >= self.freezing_reserve() + crate::system_api::fees::UPDATE_MESSAGE_EXECUTION
    }

    /// Takes `fee` (or what is left of the balance) and burns it.
    pub fn charge(&mut self, fee: u128) {
        let fee = fee.min(self.balance);
        self.balance -= fee;
        self.cycles_burned += fee;
    }

    /// Applies the fields of `settings` that are set.
    pub fn update_settings(&mut self, settings: CanisterSettings) {
        let current = &mut self.settings;
        if let Some(controllers) = settings.controllers {
            current.controllers = controllers;
        }
        let nats = [
            (settings.compute_allocation, &mut current.compute_allocation),
            (settings.memory_allocation, &mut current.memory_allocation),
            (settings.freezing_threshold, &mut current.freezing_threshold),
            (
                settings.reserved_cycles_limit,
                &mut current.reserved_cycles_limit,
            ),
            (
                settings.minimum_incoming_canister_call_cycles,
                &mut current.minimum_incoming_canister_call_cycles,
            ),
            (settings.log_memory_limit, &mut current.log_memory_limit),
            (settings.wasm_memory_limit, &mut current.wasm_memory_limit),
            (
                settings.wasm_memory_threshold,
                &mut current.wasm_memory_threshold,
            ),
        ];
        for (new, field) in nats {
            if let Some(value) = new {
                *field = value;
            }
        }
        if let Some(visibility) = settings.log_visibility {
            current.log_visibility = visibility;
        }
        if let Some(visibility) = settings.snapshot_visibility {
            current.snapshot_visibility = visibility;
        }
        if let Some(visibility) = settings.status_visibility {
            current.status_visibility = visibility;
        }
        if let Some(variables) = settings.environment_variables {
            current.environment_variables = variables;
        }
    }

    /// The state an execution of `context` starts from.
    pub fn exec_state(
        &self,
        id: Principal,
        context: Context,
        caller: Principal,
        time: u64,
        limit: u64,
    ) -> ExecState {
        let mut exec = ExecState::new(context, id, caller, time);
        exec.controllers = self.settings.controllers.clone();
        exec.canister_version = self.version;
        exec.status = self.status.code();
        exec.balance = self.balance;
        exec.certified_data = self.certified_data.clone();
        exec.global_timer = self.global_timer;
        exec.instruction_limit = limit;
        exec.may_mint_cycles = id == CYCLES_MINTING_CANISTER_ID;
        exec
    }

    /// Applies a finished execution: its effects when it succeeded, only its
    /// log lines when it failed. Either way its instructions are recorded.
    pub fn finish(
        &mut self,
        id: Principal,
        time: u64,
        executed: Executed,
    ) -> Result<ExecState, RejectResponse> {
        let Executed {
            result,
            mut exec,
            instructions,
        } = executed;
        self.record_instructions(instructions);
        for line in std::mem::take(&mut exec.logs) {
            self.log(time, line);
        }
        if let Err(failure) = result {
            self.log(time, failure.message.clone().into_bytes());
            return Err(failure.into_reject(id));
        }
        // Cycles attached to a call that was begun but never performed stay.
        if let Some(abandoned) = exec.pending_call.take() {
            exec.balance = exec.balance.saturating_add(abandoned.cycles);
        }
        self.balance = exec.balance;
        self.certified_data = exec.certified_data.clone();
        self.global_timer = exec.global_timer;
        self.cycles_minted += exec.cycles_minted;
        self.cycles_burned += exec.cycles_burned;
        Ok(exec)
    }
}

/// The IC's defaults for a new canister.
fn default_settings(controllers: Vec<Principal>) -> DefiniteCanisterSettings {
    DefiniteCanisterSettings {
        controllers,
        freezing_threshold: Nat::from(2_592_000u64),
        reserved_cycles_limit: Nat::from(5_000_000_000_000u64),
        log_memory_limit: Nat::from(4096u64),
        wasm_memory_limit: Nat::from(3_221_225_472u64),
        ..DefiniteCanisterSettings::default()
    }
}

/// A canister as data, for a saved state: everything but messages in
/// flight (a canister saved while stopping is saved running).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct CanisterImage {
    pub settings: DefiniteCanisterSettings,
    /// Cycles as decimal text: CBOR has no 128-bit integers.
    pub balance: String,
    pub stopped: bool,
    pub version: u64,
    #[serde(with = "serde_bytes")]
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub logs: Vec<(u64, u64, serde_bytes::ByteBuf)>,
    pub next_log_index: u64,
    pub cycles_minted: String,
    pub cycles_burned: String,
    pub total_instructions: u64,
    pub chunks: Vec<serde_bytes::ByteBuf>,
    pub code: Option<crate::canister::CodeImage>,
}

fn cycles(text: &str) -> Result<u128, String> {
    text.parse().map_err(|e| format!("cycles {text:?}: {e}"))
}

impl Canister {
    pub fn image(&mut self) -> CanisterImage {
        CanisterImage {
            settings: self.settings.clone(),
            balance: self.balance.to_string(),
            stopped: matches!(self.status, Status::Stopped),
            version: self.version,
            certified_data: self.certified_data.clone(),
            global_timer: self.global_timer,
            logs: self
                .logs
                .iter()
                .map(|r| {
                    (
                        r.idx,
                        r.timestamp_nanos,
                        serde_bytes::ByteBuf::from(r.content.clone()),
                    )
                })
                .collect(),
            next_log_index: self.next_log_index,
            cycles_minted: self.cycles_minted.to_string(),
            cycles_burned: self.cycles_burned.to_string(),
            total_instructions: self.total_instructions,
            chunks: self
                .chunks
                .values()
                .map(|chunk| serde_bytes::ByteBuf::from(chunk.clone()))
                .collect(),
            code: self.code.as_mut().map(Code::image),
        }
    }

    /// The canister `image` describes; `module` finds a module by its hash.
    pub fn from_image(
        image: CanisterImage,
        module: impl Fn(&[u8; 32]) -> Option<std::sync::Arc<crate::module::CompiledModule>>,
    ) -> Result<Self, String> {
        let code = match image.code {
            Some(code) => {
                let compiled = module(&code.module_hash).ok_or("a saved module is missing")?;
                Some(Code::from_image(compiled, code)?)
            }
            None => None,
        };
        Ok(Self {
            settings: image.settings,
            balance: cycles(&image.balance)?,
            status: if image.stopped {
                Status::Stopped
            } else {
                Status::Running
            },
            version: image.version,
            certified_data: image.certified_data,
            global_timer: image.global_timer,
            code,
            logs: image
                .logs
                .into_iter()
                .map(|(idx, timestamp_nanos, content)| CanisterLogRecord {
                    idx,
                    timestamp_nanos,
                    content: content.into_vec(),
                })
                .collect(),
            next_log_index: image.next_log_index,
            cycles_minted: cycles(&image.cycles_minted)?,
            cycles_burned: cycles(&image.cycles_burned)?,
            last_execution_instructions: 0,
            total_instructions: image.total_instructions,
            largest_execution_instructions: 0,
            executions: 0,
            chunks: image
                .chunks
                .into_iter()
                .map(|chunk| {
                    let hash: [u8; 32] = sha2::Digest::finalize(
                        <sha2::Sha256 as sha2::Digest>::new_with_prefix(&chunk),
                    )
                    .into();
                    (hash, chunk.into_vec())
                })
                .collect(),
        })
    }
}
