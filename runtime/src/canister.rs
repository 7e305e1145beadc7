//! One canister: its settings, its cycles, and its code as a live wasmtime
//! instance; running one entry point as a transaction.

// Failing installs and upgrades hand back the state they were given (the
// stable memory, the old code), so their error variants are large on purpose.
#![allow(clippy::result_large_err)]

use crate::error::{ErrorCode, RejectResponse};
use crate::heap_journal::HeapJournal;
use crate::metering;
use crate::module::{CompiledModule, TABLE_EXPORT, engine};
use crate::stable_memory::StableMemory;
use crate::system_api::{self, Context, Env, ExecState, HostTrap};
use candid::Principal;
use std::sync::{Arc, OnceLock};
use wasmtime::{Global, Linker, Memory, Store, Table, Val};

/// The IC's per-message instruction limits.
/// The IC's instruction limits per message (`rs/config/src/subnet_config.rs`,
/// `execution_environment.rs`): an application subnet's; system subnets
/// allow more ([`Limits::of`]).
pub mod limits {
    pub const UPDATE: u64 = 40_000_000_000;
    pub const QUERY: u64 = 5_000_000_000;
    pub const INSTALL: u64 = 300_000_000_000;
    pub const INSPECT_MESSAGE: u64 = 200_000_000;
    pub const SYSTEM_UPDATE: u64 = 50_000_000_000;
    pub const SYSTEM_QUERY: u64 = 50_000_000_000;
    pub const SYSTEM_INSTALL: u64 = 1_000_000_000_000;

    /// A subnet's limits for each kind of message.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Limits {
        /// Updates, callbacks, timers and heartbeats.
        pub update: u64,
        pub query: u64,
        pub install: u64,
        pub inspect_message: u64,
    }

    impl Limits {
        pub const fn of(system_subnet: bool) -> Self {
            if system_subnet {
                Self {
                    update: SYSTEM_UPDATE,
                    query: SYSTEM_QUERY,
                    install: SYSTEM_INSTALL,
                    inspect_message: INSPECT_MESSAGE,
                }
            } else {
                Self {
                    update: UPDATE,
                    query: QUERY,
                    install: INSTALL,
                    inspect_message: INSPECT_MESSAGE,
                }
            }
        }
    }
}

fn linker() -> &'static Linker<Env> {
    static LINKER: OnceLock<Linker<Env>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        system_api::link(&mut linker).expect("the System API links");
        linker
    })
}

/// Where an execution starts.
#[derive(Clone, Copy, Debug)]
pub enum EntryPoint<'a> {
    /// An exported function such as `canister_update transfer`.
    Export(&'a str),
    /// A callback from the function table, with its environment argument.
    Callback { function: u32, env: u32 },
}

/// An execution that did not complete: its effects were discarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
}

impl Failure {
    pub fn into_reject(self, canister: Principal) -> RejectResponse {
        RejectResponse::new(
            self.code,
            format!("Error from Canister {canister}: {}", self.message),
        )
    }
}

/// What rolling back an execution needs besides the heap journal: the
/// mutable globals and the heap's size when it began.
struct Checkpoint {
    heap_bytes: usize,
    globals: Vec<Val>,
}

/// The state before a scratch span (see `Code::begin_scratch`), besides the
/// pages and chunks the journals keep.
pub struct Scratch(Checkpoint);

/// A mutable global's value, as data.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum GlobalValue {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// Installed code as data: which module, and its heap, mutable globals and
/// stable memory, to be written to disk and instantiated again.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct CodeImage {
    pub module_hash: [u8; 32],
    /// The heap's size and its 4 KiB pages that are not all zeros.
    pub heap_bytes: u64,
    pub heap_pages: Vec<(u64, serde_bytes::ByteBuf)>,
    pub globals: Vec<GlobalValue>,
    /// Stable memory's size in 64 KiB pages and the 4 KiB chunks written.
    pub stable_pages: u64,
    pub stable_chunks: Vec<(u64, serde_bytes::ByteBuf)>,
}

/// Pages of a saved heap: 4 KiB.
const IMAGE_PAGE: usize = 4096;

/// Installed code: a live instance whose heap persists between messages.
pub struct Code {
    pub compiled: Arc<CompiledModule>,
    store: Store<Env>,
    instance: wasmtime::Instance,
    memory: Option<Memory>,
    table: Option<Table>,
    globals: Vec<Global>,
    journal: HeapJournal,
}

impl Code {
    /// Instantiates `compiled` over `stable` (running the wasm `start` function, if any).
    pub fn instantiate(
        compiled: Arc<CompiledModule>,
        stable: StableMemory,
        exec: ExecState,
    ) -> Result<Self, (Failure, StableMemory)> {
        let mut store = Store::new(
            engine(),
            Env {
                stable,
                memory: None,
                exec: ExecState {
                    context: Context::Start,
                    ..exec
                },
            },
        );
        store.set_fuel(limits::INSTALL).expect("fuel is enabled");
        let journal = HeapJournal::new(&mut store);
        let instance = match linker().instantiate(&mut store, &compiled.module) {
            Ok(instance) => instance,
            Err(error) => {
                let failure = classify(&error, limits::INSTALL);
                return Err((failure, store.into_data().stable));
            }
        };
        let memory = instance.get_memory(&mut store, "memory");
        store.data_mut().memory = memory;
        let table = instance.get_table(&mut store, TABLE_EXPORT);
        let globals = compiled
            .mutable_globals
            .iter()
            .map(|name| {
                instance
                    .get_global(&mut store, name)
                    .expect("the rewrite exported it")
            })
            .collect();
        Ok(Self {
            compiled,
            store,
            instance,
            memory,
            table,
            globals,
            journal,
        })
    }

    pub fn stable(&self) -> &StableMemory {
        &self.store.data().stable
    }

    /// The code's state as data (between executions).
    pub fn image(&mut self) -> CodeImage {
        let heap = self.memory.map_or(&[][..], |m| m.data(&self.store));
        let heap_bytes = heap.len() as u64;
        // Untouched pages of a heap read as zeros: they are not saved.
        let heap_pages = heap
            .chunks(IMAGE_PAGE)
            .enumerate()
            .filter(|(_, page)| page.iter().any(|b| *b != 0))
            .map(|(index, page)| (index as u64, serde_bytes::ByteBuf::from(page.to_vec())))
            .collect();
        let globals = self
            .globals
            .iter()
            .map(|g| match g.get(&mut self.store) {
                Val::I32(v) => GlobalValue::I32(v),
                Val::I64(v) => GlobalValue::I64(v),
                Val::F32(v) => GlobalValue::F32(v),
                Val::F64(v) => GlobalValue::F64(v),
                Val::V128(v) => GlobalValue::V128(v.as_u128().to_le_bytes().to_vec()),
                other => panic!("a mutable global of an unexpected type: {other:?}"),
            })
            .collect();
        let (stable_pages, stable_chunks) = self.stable().committed_chunks();
        CodeImage {
            module_hash: self.compiled.hash,
            heap_bytes,
            heap_pages,
            globals,
            stable_pages,
            stable_chunks: stable_chunks
                .into_iter()
                .map(|(index, chunk)| (index, serde_bytes::ByteBuf::from(chunk)))
                .collect(),
        }
    }

    /// Code as `image` describes it: `compiled` instantiated again, its
    /// heap and globals put back.
    pub fn from_image(compiled: Arc<CompiledModule>, image: CodeImage) -> Result<Self, String> {
        let chunks = image
            .stable_chunks
            .into_iter()
            .map(|(index, chunk)| (index, chunk.into_vec()))
            .collect();
        let stable = StableMemory::from_chunks(image.stable_pages, chunks)?;
        let mut code = Self::instantiate(compiled, stable, idle_exec())
            .map_err(|(failure, _)| failure.message)?;
        // Whatever the `start` function wrote is not part of the state.
        code.stable_mut().rollback();
        if let Some(memory) = code.memory {
            let size = usize::try_from(image.heap_bytes).map_err(|_| "a heap too large")?;
            let missing = size.saturating_sub(memory.data_size(&code.store));
            memory
                .grow(&mut code.store, missing.div_ceil(65536) as u64)
                .map_err(|e| format!("growing the heap: {e}"))?;
            let heap = memory.data_mut(&mut code.store);
            // The instance's own initial contents (data segments) are
            // replaced by the saved heap, zeros included.
            heap[..size].fill(0);
            for (index, page) in image.heap_pages {
                let start = index as usize * IMAGE_PAGE;
                let end = start + page.len();
                if end > size || page.len() > IMAGE_PAGE {
                    return Err(format!("a heap page out of place: {index}"));
                }
                heap[start..end].copy_from_slice(&page);
            }
        }
        if image.globals.len() != code.globals.len() {
            return Err("the saved globals do not match the module's".into());
        }
        for (global, value) in code.globals.clone().iter().zip(image.globals) {
            let value = match value {
                GlobalValue::I32(v) => Val::I32(v),
                GlobalValue::I64(v) => Val::I64(v),
                GlobalValue::F32(v) => Val::F32(v),
                GlobalValue::F64(v) => Val::F64(v),
                GlobalValue::V128(bytes) => {
                    let bytes: [u8; 16] = bytes.try_into().map_err(|_| "a v128 of 16 bytes")?;
                    Val::V128(u128::from_le_bytes(bytes).into())
                }
            };
            global
                .set(&mut code.store, value)
                .map_err(|e| format!("setting a global: {e}"))?;
        }
        Ok(code)
    }

    pub fn stable_mut(&mut self) -> &mut StableMemory {
        &mut self.store.data_mut().stable
    }

    /// Gives up the instance, keeping its stable memory.
    pub fn into_stable(self) -> StableMemory {
        self.store.into_data().stable
    }

    pub fn heap_bytes(&self) -> usize {
        self.memory.map_or(0, |m| m.data_size(&self.store))
    }

    /// Starts an execution that may be rolled back.
    fn checkpoint(&mut self) -> Checkpoint {
        if let Some(memory) = self.memory {
            let (base, len) = (memory.data_ptr(&self.store), memory.data_size(&self.store));
            self.journal.begin(base, len);
        }
        let globals = self
            .globals
            .iter()
            .map(|g| g.get(&mut self.store))
            .collect();
        Checkpoint {
            heap_bytes: self.heap_bytes(),
            globals,
        }
    }

    /// Starts a scratch span: executions keep their effects for the ones
    /// that follow, until `end_scratch` undoes them all. Composite queries
    /// need it: a call graph sees its own writes, and nothing of it stays.
    pub fn begin_scratch(&mut self) -> Scratch {
        let globals = self
            .globals
            .iter()
            .map(|g| g.get(&mut self.store))
            .collect();
        self.journal.begin_scratch();
        self.stable_mut().begin_scratch();
        Scratch(Checkpoint {
            heap_bytes: self.heap_bytes(),
            globals,
        })
    }

    /// Puts heap, globals and stable memory back as they were at `begin_scratch`.
    pub fn end_scratch(&mut self, Scratch(checkpoint): Scratch) {
        if let Some(memory) = self.memory {
            let (base, len) = (memory.data_ptr(&self.store), memory.data_size(&self.store));
            self.journal.end_scratch(base, len);
        }
        self.stable_mut().end_scratch();
        self.restore(checkpoint);
    }

    /// Keeps the heap and globals as the execution left them.
    fn commit(&mut self) {
        self.journal.commit();
    }

    /// Puts heap and globals back as they were at `checkpoint`.
    fn rollback(&mut self, checkpoint: Checkpoint) {
        self.journal.rollback();
        self.restore(checkpoint);
    }

    /// Shrinks the heap back to the checkpoint's size and restores the
    /// globals; the heap's contents are put back by the caller.
    fn restore(&mut self, checkpoint: Checkpoint) {
        // Wasm memory cannot shrink: after a rolled-back `memory.grow`,
        // start again from a fresh instance of the same module with the
        // restored heap (a copy of the whole heap, but only on this path).
        if self.heap_bytes() > checkpoint.heap_bytes {
            let heap = self.memory.map_or_else(Vec::new, |m| {
                m.data(&self.store)[..checkpoint.heap_bytes].to_vec()
            });
            let stable = std::mem::take(&mut self.store.data_mut().stable);
            let scratch = self.journal.take_scratch();
            *self = Self::instantiate(self.compiled.clone(), stable, idle_exec())
                .unwrap_or_else(|_| panic!("re-instantiating an installed module cannot fail"));
            // An open scratch span goes on over the same heap contents.
            self.journal.set_scratch(scratch);
            // Whatever the `start` function wrote is not part of the state.
            self.stable_mut().rollback();
            if let Some(memory) = self.memory {
                let missing = heap.len().saturating_sub(memory.data_size(&self.store));
                memory
                    .grow(&mut self.store, (missing / 65536) as u64)
                    .expect("the checkpoint's size was reachable before");
                memory.data_mut(&mut self.store)[..heap.len()].copy_from_slice(&heap);
            }
        }
        for (global, value) in self.globals.iter().zip(checkpoint.globals) {
            global
                .set(&mut self.store, value)
                .expect("same global, same type");
        }
    }

    /// Runs `entry` with `exec`; returns the state after it and the
    /// instructions it used. Commits nothing and rolls nothing back.
    fn call(
        &mut self,
        entry: EntryPoint,
        exec: ExecState,
    ) -> (Result<(), Failure>, ExecState, u64) {
        let limit = exec.instruction_limit;
        let tracks_pages = exec.context.keeps_heap();
        let heap_before = self.heap_bytes();
        if let Some(memory) = self.memory {
            let (base, len) = (memory.data_ptr(&self.store), memory.data_size(&self.store));
            self.journal.begin(base, len);
        }
        self.store.data_mut().exec = exec;
        self.store.data_mut().stable.start_execution();
        self.store.set_fuel(limit).expect("fuel is enabled");
        let result = match entry {
            EntryPoint::Export(name) => self.call_export(name),
            EntryPoint::Callback { function, env } => self.call_callback(function, env),
        };
        let mut used = limit - self.store.get_fuel().expect("fuel is enabled");
        // As on the IC, the heap pages an execution wrote are charged when
        // it ends; the count stops at the limit, and the execution stands.
        if tracks_pages {
            let pages = self.dirty_heap_pages(heap_before);
            used = used.saturating_add(pages * metering::DIRTY_PAGE).min(limit);
        }
        let exec = std::mem::replace(&mut self.store.data_mut().exec, idle_exec());
        (result.map_err(|e| classify(&e, limit)), exec, used)
    }

    /// The 4 KiB heap pages the running execution dirtied: those it
    /// changed in the heap it started with, and those of the heap it grew
    /// that are not zero. (The IC counts the pages written to, also when a
    /// write leaves a page as it was; such writes are free here.)
    fn dirty_heap_pages(&mut self, heap_before: usize) -> u64 {
        let Some(memory) = self.memory else {
            return 0;
        };
        let heap = memory.data(&self.store);
        let os_page = metering::OS_PAGE as usize;
        let changed = self.journal.changed_pages(heap, os_page);
        // OR-folding a page has no early exit, so it vectorises: a 100 MiB
        // grown region takes milliseconds.
        let grown = heap[heap_before.min(heap.len())..]
            .chunks(os_page)
            .filter(|page| page.iter().fold(0, |any, &b| any | b) != 0)
            .count() as u64;
        changed + grown
    }

    fn call_export(&mut self, name: &str) -> wasmtime::Result<()> {
        let func = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, name)?;
        func.call(&mut self.store, ())
    }

    fn call_callback(&mut self, function: u32, env: u32) -> wasmtime::Result<()> {
        let func = self
            .table
            .and_then(|table| table.get(&mut self.store, u64::from(function)))
            .and_then(|r| r.as_func().flatten().copied());
        let Some(func) = func else {
            return Err(wasmtime::Trap::TableOutOfBounds.into());
        };
        let typed = func
            .typed::<u32, ()>(&self.store)
            .map_err(|_| wasmtime::Trap::BadSignature)?;
        typed.call(&mut self.store, env)
    }

    /// Runs `entry` as a transaction: on success the stable-memory writes are
    /// committed (unless `keep` is false, as for queries); on failure, or
    /// when not kept, heap, globals and stable memory are as before.
    pub fn execute(&mut self, entry: EntryPoint, exec: ExecState, keep: bool) -> Executed {
        let checkpoint = self.checkpoint();
        let (result, exec, instructions) = self.call(entry, exec);
        if result.is_ok() && keep {
            self.store.data_mut().stable.commit();
            self.commit();
        } else {
            self.store.data_mut().stable.rollback();
            self.rollback(checkpoint);
        }
        Executed {
            result,
            exec,
            instructions,
        }
    }
}

/// Upgrades `old` to `compiled`: `canister_pre_upgrade` (when `pre` is
/// given) on the old instance, then `canister_post_upgrade` on a fresh one
/// over the same stable memory. All of it or nothing: on failure the old
/// code comes back with its heap and stable memory untouched.
pub fn upgrade(
    mut old: Code,
    compiled: Arc<CompiledModule>,
    pre: Option<ExecState>,
    post: ExecState,
) -> Result<(Code, Executed), (Code, Failure)> {
    let checkpoint = old.checkpoint();
    let abort = |mut old: Code, checkpoint, failure| {
        old.stable_mut().rollback();
        old.rollback(checkpoint);
        Err((old, failure))
    };
    if let Some(pre) = pre.filter(|_| old.compiled.exports_method("canister_pre_upgrade")) {
        let (result, _, _) = old.call(EntryPoint::Export("canister_pre_upgrade"), pre);
        if let Err(failure) = result {
            return abort(old, checkpoint, failure);
        }
    }
    // pre_upgrade's writes stay in the journal until post_upgrade succeeds.
    let stable = std::mem::take(old.stable_mut());
    let mut new = match Code::instantiate(compiled, stable, post.clone()) {
        Ok(new) => new,
        Err((failure, stable)) => {
            *old.stable_mut() = stable;
            return abort(old, checkpoint, failure);
        }
    };
    let executed = if new.compiled.exports_method("canister_post_upgrade") {
        let (result, exec, instructions) =
            new.call(EntryPoint::Export("canister_post_upgrade"), post);
        Executed {
            result,
            exec,
            instructions,
        }
    } else {
        Executed {
            result: Ok(()),
            exec: post,
            instructions: 0,
        }
    };
    if let Err(failure) = executed.result {
        *old.stable_mut() = new.into_stable();
        return abort(old, checkpoint, failure);
    }
    new.stable_mut().commit();
    new.commit();
    Ok((new, executed))
}

/// The state a store holds between executions.
fn idle_exec() -> ExecState {
    ExecState::new(
        Context::Start,
        Principal::anonymous(),
        Principal::anonymous(),
        0,
    )
}

/// The result of one execution.
pub struct Executed {
    pub result: Result<(), Failure>,
    /// The state after the execution (its effects, when `result` is `Ok`).
    pub exec: ExecState,
    pub instructions: u64,
}

/// Turns a wasmtime error into the IC's error code and message.
fn classify(error: &wasmtime::Error, limit: u64) -> Failure {
    if let Some(trap) = error.downcast_ref::<HostTrap>() {
        let code = match trap {
            HostTrap::Called(_) => ErrorCode::CanisterCalledTrap,
            HostTrap::ContractViolation(_) => ErrorCode::CanisterContractViolation,
        };
        return Failure {
            code,
            message: format!("{trap}."),
        };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => Failure {
            code: ErrorCode::CanisterInstructionLimitExceeded,
            message: format!(
                "Canister exceeded the limit of {limit} instructions for single message execution."
            ),
        },
        Some(trap) => Failure {
            code: ErrorCode::CanisterTrapped,
            message: format!("Canister trapped: {trap}."),
        },
        None => Failure {
            code: ErrorCode::CanisterTrapped,
            message: format!("Canister trapped: {error:#}."),
        },
    }
}
