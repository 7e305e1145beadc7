//! The System API: the `ic0` functions a canister imports, each checked
//! against the contexts the IC allows it in.

use crate::certification::DataCertificate;
use crate::error::RejectResponse;
use crate::metering;
use crate::stable_memory::{StableMemory, WASM_PAGE};
use candid::Principal;
use wasmtime::Result;
use wasmtime::{Caller, Linker, Memory};

/// The execution contexts of the interface specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// `canister_init` and `canister_post_upgrade` (I).
    Init,
    /// `canister_pre_upgrade` (G).
    PreUpgrade,
    /// An update method (U).
    Update,
    /// A query run in replicated mode: through an update call or from another canister (RQ).
    ReplicatedQuery,
    /// A query answered by one node, with a data certificate (NRQ).
    NonReplicatedQuery,
    /// A composite query (CQ).
    CompositeQuery,
    /// A reply callback (Ry).
    ReplyCallback,
    /// A reject callback (Rt).
    RejectCallback,
    /// A cleanup callback (C).
    Cleanup,
    /// A reply callback in a composite query (CRy).
    CompositeReplyCallback,
    /// A reject callback in a composite query (CRt).
    CompositeRejectCallback,
    /// A cleanup callback in a composite query (CC).
    CompositeCleanup,
    /// `canister_inspect_message` (F).
    InspectMessage,
    /// `canister_heartbeat` or `canister_global_timer` (T).
    SystemTask,
    /// The wasm `start` function (s).
    Start,
}

impl Context {
    const fn bit(self) -> u16 {
        1 << self as u16
    }

    /// Whether the IC tracks (and so charges for) the heap pages an
    /// execution in this context writes.
    pub fn keeps_heap(self) -> bool {
        matches!(
            self,
            Self::Init
                | Self::PreUpgrade
                | Self::Update
                | Self::ReplyCallback
                | Self::RejectCallback
                | Self::Cleanup
                | Self::SystemTask
                | Self::Start
                // A composite query's graph tracks its pages: they weigh on
                // its budget, though nothing of it is kept.
                | Self::CompositeQuery
                | Self::CompositeReplyCallback
                | Self::CompositeRejectCallback
                | Self::CompositeCleanup
        )
    }

    fn name(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::PreUpgrade => "pre_upgrade",
            Self::Update => "update",
            Self::ReplicatedQuery => "replicated query",
            Self::NonReplicatedQuery => "non-replicated query",
            Self::CompositeQuery => "composite query",
            Self::ReplyCallback => "reply callback",
            Self::RejectCallback => "reject callback",
            Self::Cleanup => "cleanup",
            Self::CompositeReplyCallback => "composite reply callback",
            Self::CompositeRejectCallback => "composite reject callback",
            Self::CompositeCleanup => "composite cleanup",
            Self::InspectMessage => "inspect message",
            Self::SystemTask => "system task",
            Self::Start => "start",
        }
    }
}

const I: u16 = Context::Init.bit();
const G: u16 = Context::PreUpgrade.bit();
const U: u16 = Context::Update.bit();
const RQ: u16 = Context::ReplicatedQuery.bit();
const NRQ: u16 = Context::NonReplicatedQuery.bit();
const CQ: u16 = Context::CompositeQuery.bit();
const RY: u16 = Context::ReplyCallback.bit();
const RT: u16 = Context::RejectCallback.bit();
const C: u16 = Context::Cleanup.bit();
const CRY: u16 = Context::CompositeReplyCallback.bit();
const CRT: u16 = Context::CompositeRejectCallback.bit();
const CC: u16 = Context::CompositeCleanup.bit();
const F: u16 = Context::InspectMessage.bit();
const T: u16 = Context::SystemTask.bit();
const S: u16 = Context::Start.bit();
/// `*` in the specification: every context but `start`.
const ANY: u16 = I | G | U | RQ | NRQ | CQ | RY | RT | CRY | CRT | C | CC | F | T;
const ANY_OR_START: u16 = ANY | S;
const CALLS: u16 = U | CQ | RY | RT | CRY | CRT | T;
/// Calls from a composite query carry no cycles.
const CALLS_WITH_CYCLES: u16 = U | RY | RT | T;
const REPLY: u16 = U | RQ | NRQ | CQ | RY | RT | CRY | CRT;

/// Every `ic0` function this runtime provides; a module importing anything
/// else is refused at install.
pub const IC0_IMPORTS: &[&str] = &[
    "msg_arg_data_size",
    "msg_arg_data_copy",
    "msg_caller_size",
    "msg_caller_copy",
    "msg_reject_code",
    "msg_reject_msg_size",
    "msg_reject_msg_copy",
    "msg_deadline",
    "msg_reply_data_append",
    "msg_reply",
    "msg_reject",
    "msg_cycles_available",
    "msg_cycles_available128",
    "msg_cycles_refunded",
    "msg_cycles_refunded128",
    "msg_cycles_accept",
    "msg_cycles_accept128",
    "msg_method_name_size",
    "msg_method_name_copy",
    "accept_message",
    "canister_self_size",
    "canister_self_copy",
    "canister_cycle_balance",
    "canister_cycle_balance128",
    "canister_liquid_cycle_balance128",
    "canister_status",
    "canister_version",
    "call_new",
    "call_on_cleanup",
    "call_data_append",
    "call_with_best_effort_response",
    "call_cycles_add",
    "call_cycles_add128",
    "call_perform",
    "stable_size",
    "stable_grow",
    "stable_write",
    "stable_read",
    "stable64_size",
    "stable64_grow",
    "stable64_write",
    "stable64_read",
    "root_key_size",
    "root_key_copy",
    "certified_data_set",
    "data_certificate_present",
    "data_certificate_size",
    "data_certificate_copy",
    "time",
    "global_timer_set",
    "performance_counter",
    "is_controller",
    "in_replicated_execution",
    "cost_call",
    "cost_create_canister",
    "mint_cycles128",
    "cycles_burn128",
    "debug_print",
    "trap",
];

/// Why an execution stopped early because of the System API.
#[derive(Debug)]
pub enum HostTrap {
    /// The canister called `ic0.trap`.
    Called(String),
    /// The canister broke the System API's contract.
    ContractViolation(String),
}

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Called(message) => {
                write!(f, "Canister called `ic0.trap` with message: '{message}'")
            }
            Self::ContractViolation(message) => write!(f, "Canister violated contract: {message}"),
        }
    }
}

impl std::error::Error for HostTrap {}

fn violation<T>(message: impl Into<String>) -> Result<T> {
    Err(HostTrap::ContractViolation(message.into()).into())
}

/// What a canister's call or callback has sent back so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Reply(Vec<u8>),
    Reject(String),
}

impl Response {
    /// The answer as its receiver sees it: a `msg_reject` is a CANISTER_REJECT.
    pub fn into_outcome(self) -> std::result::Result<Vec<u8>, RejectResponse> {
        match self {
            Self::Reply(bytes) => Ok(bytes),
            Self::Reject(message) => Err(RejectResponse::canister_reject(message)),
        }
    }
}

/// A call the canister made (`call_new` … `call_perform`).
#[derive(Clone, Debug)]
pub struct OutgoingCall {
    pub callee: Principal,
    pub method: String,
    pub arg: Vec<u8>,
    pub cycles: u128,
    pub reply: (u32, u32),
    pub reject: (u32, u32),
    pub cleanup: Option<(u32, u32)>,
    /// `Some` for a best-effort call, with its timeout in seconds.
    pub timeout_seconds: Option<u32>,
}

/// Everything one execution sees and produces. The runtime fills it before
/// the execution and reads the effects back after it; a trap discards them.
#[derive(Clone, Debug)]
pub struct ExecState {
    pub context: Context,
    pub canister_id: Principal,
    pub caller: Principal,
    pub arg: Vec<u8>,
    pub method_name: String,
    pub time: u64,
    pub controllers: Vec<Principal>,
    pub canister_version: u64,
    /// 1 running, 2 stopping, 3 stopped.
    pub status: u32,
    pub balance: u128,
    /// Cycles the balance may not fall below (freezing threshold reserve).
    pub frozen_reserve: u128,
    pub cycles_available: u128,
    pub cycles_accepted: u128,
    pub cycles_refunded: u128,
    pub cycles_minted: u128,
    pub cycles_burned: u128,
    pub may_mint_cycles: bool,
    pub reject_code: u32,
    pub reject_message: String,
    /// Whether this call context has been answered (before or during this execution).
    pub responded: bool,
    pub response: Option<Response>,
    pub reply_buffer: Vec<u8>,
    pub certified_data: Vec<u8>,
    /// Present only in non-replicated queries.
    pub data_certificate: Option<DataCertificate>,
    pub global_timer: u64,
    pub instruction_limit: u64,
    /// Instructions of earlier executions of the same call context.
    pub call_context_instructions: u64,
    /// `ic0.msg_deadline`: the deadline of the call context's best-effort
    /// call (ns), 0 for a guaranteed response.
    pub deadline: u64,
    pub pending_call: Option<OutgoingCall>,
    pub calls: Vec<OutgoingCall>,
    pub message_accepted: bool,
    pub logs: Vec<Vec<u8>>,
}

impl ExecState {
    pub fn new(context: Context, canister_id: Principal, caller: Principal, time: u64) -> Self {
        Self {
            context,
            canister_id,
            caller,
            arg: Vec::new(),
            method_name: String::new(),
            time,
            controllers: Vec::new(),
            canister_version: 0,
            status: 1,
            balance: 0,
            frozen_reserve: 0,
            cycles_available: 0,
            cycles_accepted: 0,
            cycles_refunded: 0,
            cycles_minted: 0,
            cycles_burned: 0,
            may_mint_cycles: false,
            reject_code: 0,
            reject_message: String::new(),
            responded: false,
            response: None,
            reply_buffer: Vec::new(),
            certified_data: Vec::new(),
            data_certificate: None,
            global_timer: 0,
            instruction_limit: 0,
            call_context_instructions: 0,
            deadline: 0,
            pending_call: None,
            calls: Vec::new(),
            message_accepted: false,
            logs: Vec::new(),
        }
    }

    fn liquid_balance(&self) -> u128 {
        self.balance.saturating_sub(self.frozen_reserve)
    }
}

/// The data of a canister's wasmtime store.
pub struct Env {
    pub stable: StableMemory,
    pub memory: Option<Memory>,
    pub exec: ExecState,
}

/// The IC's fees on a 13-node subnet (see the README's figures).
pub mod fees {
    pub const UPDATE_MESSAGE_EXECUTION: u128 = 5_000_000;
    pub const INSTRUCTION: u128 = 1;
    pub const XNET_CALL: u128 = 260_000;
    pub const XNET_BYTE_TRANSMISSION: u128 = 1_000;
    pub const CANISTER_CREATION: u128 = 500_000_000_000;
    pub const INGRESS_MESSAGE_RECEPTION: u128 = 1_200_000;
    pub const INGRESS_BYTE_RECEPTION: u128 = 2_000;
    /// Storage: cycles per GiB held for one second.
    pub const GIB_STORAGE_PER_SECOND: u128 = 127_000;

    /// What holding `bytes` for `nanos` nanoseconds costs.
    pub fn storage(bytes: u64, nanos: u64) -> u128 {
        u128::from(bytes) * u128::from(nanos) * GIB_STORAGE_PER_SECOND
            / (1_u128 << 30)
            / 1_000_000_000
    }

    /// What receiving an ingress message costs the canister it is for.
    pub fn ingress(method_len: u64, arg_len: u64) -> u128 {
        INGRESS_MESSAGE_RECEPTION
            + INGRESS_BYTE_RECEPTION * (u128::from(method_len) + u128::from(arg_len))
    }

    /// The balance a canister holding `bytes` keeps back, so that it can pay
    /// its storage for `freezing_threshold_seconds`: below it, it is frozen.
    pub fn freezing_reserve(bytes: u64, freezing_threshold_seconds: u64) -> u128 {
        u128::from(bytes) * u128::from(freezing_threshold_seconds) * GIB_STORAGE_PER_SECOND
            / (1_u128 << 30)
    }

    /// What one replicated execution of `instructions` costs.
    pub fn execution(instructions: u64) -> u128 {
        UPDATE_MESSAGE_EXECUTION + INSTRUCTION * u128::from(instructions)
    }

    /// What sending a call costs, by its method name and argument lengths.
    pub fn call(method_len: u64, arg_len: u64) -> u128 {
        XNET_CALL + XNET_BYTE_TRANSMISSION * (u128::from(method_len) + u128::from(arg_len))
    }
}

type Ctx<'a> = Caller<'a, Env>;

/// Refuses a call the context does not allow; charges the call's fixed
/// overhead (see [`metering`]).
fn check(caller: &mut Ctx, allowed: u16, name: &str) -> Result<()> {
    check_charging(caller, allowed, name, 0)
}

/// [`check`], charging `extra` instructions with the overhead: one update
/// of the fuel where the hottest calls (stable reads and writes) made two.
fn check_charging(caller: &mut Ctx, allowed: u16, name: &str, extra: u64) -> Result<()> {
    // Charged first, as on the IC, even for a call the context forbids.
    let instructions = metering::system_api_overhead(name).saturating_add(extra);
    charge(caller, i64::try_from(instructions).unwrap_or(i64::MAX))?;
    let context = caller.data().exec.context;
    if allowed & context.bit() == 0 {
        return violation(format!(
            "\"ic0_{name}\" cannot be executed in {} mode",
            context.name()
        ));
    }
    Ok(())
}

/// Takes `instructions` from what the message may still use (its fuel), or
/// gives them back when negative. Running out is the instruction limit.
fn charge(caller: &mut Ctx, instructions: i64) -> Result<()> {
    let fuel = caller.get_fuel()?;
    let left = i128::from(fuel) - i128::from(instructions);
    if left < 0 {
        caller.set_fuel(0)?;
        return Err(wasmtime::Trap::OutOfFuel.into());
    }
    caller.set_fuel(u64::try_from(left).unwrap_or(u64::MAX))?;
    Ok(())
}

/// Charges `bytes` moved at `per_byte` instructions each.
fn charge_bytes(caller: &mut Ctx, bytes: u64, per_byte: u64) -> Result<()> {
    charge(
        caller,
        i64::try_from(bytes.saturating_mul(per_byte)).unwrap_or(i64::MAX),
    )
}

fn memory(caller: &Ctx) -> Result<Memory> {
    match caller.data().memory {
        Some(memory) => Ok(memory),
        None => violation("the module exports no memory"),
    }
}

fn range(offset: u64, size: u64, len: usize, what: &str) -> Result<std::ops::Range<usize>> {
    match offset.checked_add(size) {
        Some(end) if end <= len as u64 => Ok(offset as usize..end as usize),
        _ => violation(format!(
            "{what}: {size} bytes at offset {offset} are out of bounds ({len})"
        )),
    }
}

fn read_heap(caller: &Ctx, src: u32, size: u32) -> Result<Vec<u8>> {
    let memory = memory(caller)?;
    let data = memory.data(caller);
    let range = range(src.into(), size.into(), data.len(), "heap read")?;
    Ok(data[range].to_vec())
}

fn write_heap(caller: &mut Ctx, dst: u32, bytes: &[u8]) -> Result<()> {
    let memory = memory(caller)?;
    let data = memory.data_mut(caller);
    let range = range(dst.into(), bytes.len() as u64, data.len(), "heap write")?;
    data[range].copy_from_slice(bytes);
    Ok(())
}

/// `*_copy(dst, offset, size)`: copies `source[offset..offset + size]` to the heap.
fn copy_to_heap(
    caller: &mut Ctx,
    dst: u32,
    offset: u32,
    size: u32,
    source: &[u8],
    what: &str,
) -> Result<()> {
    charge_bytes(caller, size.into(), 1)?;
    let range = range(offset.into(), size.into(), source.len(), what)?;
    let bytes = source[range].to_vec();
    write_heap(caller, dst, &bytes)
}

fn write_u128(caller: &mut Ctx, dst: u32, value: u128) -> Result<()> {
    write_heap(caller, dst, &value.to_le_bytes())
}

fn u128_of(high: i64, low: i64) -> u128 {
    (u128::from(high as u64) << 64) | u128::from(low as u64)
}

fn principal_of(bytes: &[u8], what: &str) -> Result<Principal> {
    if bytes.len() > 29 {
        return violation(format!(
            "{what}: a principal has at most 29 bytes, not {}",
            bytes.len()
        ));
    }
    Ok(Principal::from_slice(bytes))
}

fn instructions_used(caller: &Ctx) -> u64 {
    let limit = caller.data().exec.instruction_limit;
    limit.saturating_sub(caller.get_fuel().unwrap_or(limit))
}

/// Adds every `ic0` function to `linker`.
pub fn link(linker: &mut Linker<Env>) -> Result<()> {
    link_message(linker)?;
    link_cycles(linker)?;
    link_calls(linker)?;
    link_stable(linker)?;
    link_misc(linker)?;
    Ok(())
}

fn link_message(linker: &mut Linker<Env>) -> Result<()> {
    const ARG: u16 = I | U | RQ | NRQ | CQ | RY | CRY | F;
    linker.func_wrap("ic0", "msg_arg_data_size", |mut c: Ctx| -> Result<u32> {
        check(&mut c, ARG, "msg_arg_data_size")?;
        Ok(c.data().exec.arg.len() as u32)
    })?;
    linker.func_wrap(
        "ic0",
        "msg_arg_data_copy",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check(&mut c, ARG, "msg_arg_data_copy")?;
            let arg = std::mem::take(&mut c.data_mut().exec.arg);
            let result = copy_to_heap(&mut c, dst, offset, size, &arg, "msg_arg_data_copy");
            c.data_mut().exec.arg = arg;
            result
        },
    )?;
    linker.func_wrap("ic0", "msg_caller_size", |mut c: Ctx| -> Result<u32> {
        check(&mut c, ANY, "msg_caller_size")?;
        Ok(c.data().exec.caller.as_slice().len() as u32)
    })?;
    linker.func_wrap(
        "ic0",
        "msg_caller_copy",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check(&mut c, ANY, "msg_caller_copy")?;
            let caller = c.data().exec.caller;
            copy_to_heap(
                &mut c,
                dst,
                offset,
                size,
                caller.as_slice(),
                "msg_caller_copy",
            )
        },
    )?;
    linker.func_wrap("ic0", "msg_reject_code", |mut c: Ctx| -> Result<u32> {
        check(&mut c, RY | RT | CRY | CRT | C, "msg_reject_code")?;
        Ok(c.data().exec.reject_code)
    })?;
    linker.func_wrap("ic0", "msg_reject_msg_size", |mut c: Ctx| -> Result<u32> {
        check(&mut c, RT | CRT, "msg_reject_msg_size")?;
        Ok(c.data().exec.reject_message.len() as u32)
    })?;
    linker.func_wrap(
        "ic0",
        "msg_reject_msg_copy",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check(&mut c, RT | CRT, "msg_reject_msg_copy")?;
            let message = c.data().exec.reject_message.clone();
            copy_to_heap(
                &mut c,
                dst,
                offset,
                size,
                message.as_bytes(),
                "msg_reject_msg_copy",
            )
        },
    )?;
    linker.func_wrap("ic0", "msg_deadline", |mut c: Ctx| -> Result<u64> {
        check(
            &mut c,
            U | RQ | NRQ | CQ | RY | RT | CRY | CRT,
            "msg_deadline",
        )?;
        Ok(c.data().exec.deadline)
    })?;
    linker.func_wrap(
        "ic0",
        "msg_reply_data_append",
        |mut c: Ctx, src: u32, size: u32| {
            check(&mut c, REPLY, "msg_reply_data_append")?;
            charge_bytes(&mut c, size.into(), metering::BYTE_TRANSMISSION)?;
            if c.data().exec.responded {
                return violation("msg_reply_data_append: the call has already been answered");
            }
            let bytes = read_heap(&c, src, size)?;
            c.data_mut().exec.reply_buffer.extend_from_slice(&bytes);
            Ok(())
        },
    )?;
    linker.func_wrap("ic0", "msg_reply", |mut c: Ctx| {
        check(&mut c, REPLY, "msg_reply")?;
        let exec = &mut c.data_mut().exec;
        if exec.responded {
            return violation("msg_reply: the call has already been answered");
        }
        exec.responded = true;
        exec.response = Some(Response::Reply(std::mem::take(&mut exec.reply_buffer)));
        Ok(())
    })?;
    linker.func_wrap("ic0", "msg_reject", |mut c: Ctx, src: u32, size: u32| {
        check(&mut c, REPLY, "msg_reject")?;
        charge_bytes(&mut c, size.into(), metering::BYTE_TRANSMISSION)?;
        if c.data().exec.responded {
            return violation("msg_reject: the call has already been answered");
        }
        let message = String::from_utf8_lossy(&read_heap(&c, src, size)?).into_owned();
        let exec = &mut c.data_mut().exec;
        exec.responded = true;
        exec.response = Some(Response::Reject(message));
        Ok(())
    })?;
    linker.func_wrap("ic0", "msg_method_name_size", |mut c: Ctx| -> Result<u32> {
        check(&mut c, F, "msg_method_name_size")?;
        Ok(c.data().exec.method_name.len() as u32)
    })?;
    linker.func_wrap(
        "ic0",
        "msg_method_name_copy",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check(&mut c, F, "msg_method_name_copy")?;
            let name = c.data().exec.method_name.clone();
            copy_to_heap(
                &mut c,
                dst,
                offset,
                size,
                name.as_bytes(),
                "msg_method_name_copy",
            )
        },
    )?;
    linker.func_wrap("ic0", "accept_message", |mut c: Ctx| {
        check(&mut c, F, "accept_message")?;
        if std::mem::replace(&mut c.data_mut().exec.message_accepted, true) {
            return violation("accept_message: the message is already accepted");
        }
        Ok(())
    })?;
    Ok(())
}

fn link_cycles(linker: &mut Linker<Env>) -> Result<()> {
    const AVAILABLE: u16 = U | RQ | RY | RT;
    fn accept(c: &mut Ctx, wanted: u128) -> u128 {
        let exec = &mut c.data_mut().exec;
        let amount = wanted.min(exec.cycles_available - exec.cycles_accepted);
        exec.cycles_accepted += amount;
        exec.balance = exec.balance.saturating_add(amount);
        amount
    }
    fn available(c: &Ctx) -> u128 {
        let exec = &c.data().exec;
        exec.cycles_available - exec.cycles_accepted
    }
    linker.func_wrap("ic0", "msg_cycles_available", |mut c: Ctx| -> Result<u64> {
        check(&mut c, AVAILABLE, "msg_cycles_available")?;
        Ok(u64::try_from(available(&c)).unwrap_or(u64::MAX))
    })?;
    linker.func_wrap("ic0", "msg_cycles_available128", |mut c: Ctx, dst: u32| {
        check(&mut c, AVAILABLE, "msg_cycles_available128")?;
        let amount = available(&c);
        write_u128(&mut c, dst, amount)
    })?;
    linker.func_wrap("ic0", "msg_cycles_refunded", |mut c: Ctx| -> Result<u64> {
        check(&mut c, RY | RT, "msg_cycles_refunded")?;
        Ok(u64::try_from(c.data().exec.cycles_refunded).unwrap_or(u64::MAX))
    })?;
    linker.func_wrap("ic0", "msg_cycles_refunded128", |mut c: Ctx, dst: u32| {
        check(&mut c, RY | RT, "msg_cycles_refunded128")?;
        let amount = c.data().exec.cycles_refunded;
        write_u128(&mut c, dst, amount)
    })?;
    linker.func_wrap(
        "ic0",
        "msg_cycles_accept",
        |mut c: Ctx, max: u64| -> Result<u64> {
            check(&mut c, AVAILABLE, "msg_cycles_accept")?;
            Ok(accept(&mut c, max.into()) as u64)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "msg_cycles_accept128",
        |mut c: Ctx, high: i64, low: i64, dst: u32| {
            check(&mut c, AVAILABLE, "msg_cycles_accept128")?;
            let amount = accept(&mut c, u128_of(high, low));
            write_u128(&mut c, dst, amount)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "canister_cycle_balance",
        |mut c: Ctx| -> Result<u64> {
            check(&mut c, ANY, "canister_cycle_balance")?;
            Ok(u64::try_from(c.data().exec.balance).unwrap_or(u64::MAX))
        },
    )?;
    linker.func_wrap(
        "ic0",
        "canister_cycle_balance128",
        |mut c: Ctx, dst: u32| {
            check(&mut c, ANY, "canister_cycle_balance128")?;
            let balance = c.data().exec.balance;
            write_u128(&mut c, dst, balance)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "canister_liquid_cycle_balance128",
        |mut c: Ctx, dst: u32| {
            check(&mut c, ANY, "canister_liquid_cycle_balance128")?;
            let liquid = c.data().exec.liquid_balance();
            write_u128(&mut c, dst, liquid)
        },
    )?;
    linker.func_wrap("ic0", "mint_cycles128", |mut c: Ctx, high: i64, low: i64, dst: u32| {
        check(&mut c, U | RY | RT | T, "mint_cycles128")?;
        if !c.data().exec.may_mint_cycles {
            return violation("ic0.mint_cycles128 may only be called by the cycles-minting canister on the NNS subnet");
        }
        let amount = u128_of(high, low);
        let exec = &mut c.data_mut().exec;
        exec.balance = exec.balance.saturating_add(amount);
        exec.cycles_minted += amount;
        write_u128(&mut c, dst, amount)
    })?;
    linker.func_wrap(
        "ic0",
        "cycles_burn128",
        |mut c: Ctx, high: i64, low: i64, dst: u32| {
            check(&mut c, U | RY | RT | C | T, "cycles_burn128")?;
            let exec = &mut c.data_mut().exec;
            let amount = u128_of(high, low).min(exec.liquid_balance());
            exec.balance -= amount;
            exec.cycles_burned += amount;
            write_u128(&mut c, dst, amount)
        },
    )?;
    linker.func_wrap(
        "ic0",
        "cost_call",
        |mut c: Ctx, method_len: u64, payload_len: u64, dst: u32| {
            check(&mut c, ANY_OR_START, "cost_call")?;
            write_u128(&mut c, dst, fees::call(method_len, payload_len))
        },
    )?;
    linker.func_wrap("ic0", "cost_create_canister", |mut c: Ctx, dst: u32| {
        check(&mut c, ANY_OR_START, "cost_create_canister")?;
        write_u128(&mut c, dst, fees::CANISTER_CREATION)
    })?;
    Ok(())
}

fn link_calls(linker: &mut Linker<Env>) -> Result<()> {
    fn pending<'a>(c: &'a mut Ctx, name: &str) -> Result<&'a mut OutgoingCall> {
        match c.data_mut().exec.pending_call.as_mut() {
            Some(call) => Ok(call),
            None => violation(format!("ic0.{name} without a call started by ic0.call_new")),
        }
    }
    fn add_cycles(c: &mut Ctx, amount: u128) -> Result<()> {
        pending(c, "call_cycles_add128")?;
        let exec = &mut c.data_mut().exec;
        if exec.liquid_balance() < amount {
            return violation(format!(
                "ic0.call_cycles_add128: cannot attach {amount} cycles with a liquid balance of {}",
                exec.liquid_balance()
            ));
        }
        exec.balance -= amount;
        exec.pending_call.as_mut().unwrap().cycles += amount;
        Ok(())
    }
    linker.func_wrap(
        "ic0",
        "call_new",
        |mut c: Ctx,
         callee_src: u32,
         callee_size: u32,
         name_src: u32,
         name_size: u32,
         reply_fun: u32,
         reply_env: u32,
         reject_fun: u32,
         reject_env: u32| {
            check(&mut c, CALLS, "call_new")?;
            charge_bytes(&mut c, u64::from(callee_size) + u64::from(name_size), 1)?;
            let callee = principal_of(&read_heap(&c, callee_src, callee_size)?, "call_new")?;
            let method = String::from_utf8_lossy(&read_heap(&c, name_src, name_size)?).into_owned();
            let exec = &mut c.data_mut().exec;
            // A call begun and not performed is abandoned: its cycles come back.
            if let Some(abandoned) = exec.pending_call.take() {
                exec.balance = exec.balance.saturating_add(abandoned.cycles);
            }
            exec.pending_call = Some(OutgoingCall {
                callee,
                method,
                arg: Vec::new(),
                cycles: 0,
                reply: (reply_fun, reply_env),
                reject: (reject_fun, reject_env),
                cleanup: None,
                timeout_seconds: None,
            });
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "call_on_cleanup",
        |mut c: Ctx, fun: u32, env: u32| {
            check(&mut c, CALLS, "call_on_cleanup")?;
            let call = pending(&mut c, "call_on_cleanup")?;
            if call.cleanup.replace((fun, env)).is_some() {
                return violation("ic0.call_on_cleanup called twice for one call");
            }
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "call_data_append",
        |mut c: Ctx, src: u32, size: u32| {
            check(&mut c, CALLS, "call_data_append")?;
            charge_bytes(&mut c, size.into(), metering::BYTE_TRANSMISSION)?;
            pending(&mut c, "call_data_append")?;
            let bytes = read_heap(&c, src, size)?;
            pending(&mut c, "call_data_append")?
                .arg
                .extend_from_slice(&bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "call_with_best_effort_response",
        |mut c: Ctx, timeout: u32| {
            check(&mut c, CALLS, "call_with_best_effort_response")?;
            let call = pending(&mut c, "call_with_best_effort_response")?;
            if call
                .timeout_seconds
                .replace(timeout.clamp(1, 300))
                .is_some()
            {
                return violation("ic0.call_with_best_effort_response called twice for one call");
            }
            Ok(())
        },
    )?;
    linker.func_wrap("ic0", "call_cycles_add", |mut c: Ctx, amount: u64| {
        check(&mut c, CALLS_WITH_CYCLES, "call_cycles_add")?;
        add_cycles(&mut c, amount.into())
    })?;
    linker.func_wrap(
        "ic0",
        "call_cycles_add128",
        |mut c: Ctx, high: i64, low: i64| {
            check(&mut c, CALLS_WITH_CYCLES, "call_cycles_add128")?;
            add_cycles(&mut c, u128_of(high, low))
        },
    )?;
    linker.func_wrap("ic0", "call_perform", |mut c: Ctx| -> Result<u32> {
        check(&mut c, CALLS, "call_perform")?;
        let call = pending(&mut c, "call_perform")?.clone();
        let exec = &mut c.data_mut().exec;
        exec.pending_call = None;
        exec.calls.push(call);
        Ok(0)
    })?;
    Ok(())
}

fn link_stable(linker: &mut Linker<Env>) -> Result<()> {
    /// The 32-bit calls work only while stable memory fits in 4 GiB.
    const MAX_32_BIT_PAGES: u64 = 65536;
    /// The bytes moved are charged with the call's overhead (`check_charging`).
    fn stable_read(c: &mut Ctx, dst: u64, offset: u64, size: u64, name: &str) -> Result<()> {
        let memory = memory(c)?;
        let (heap, env) = memory.data_and_store_mut(c);
        let range = range(dst, size, heap.len(), name)?;
        if !env.stable.read(offset, &mut heap[range]) {
            return violation(format!("{name}: stable memory out of bounds"));
        }
        Ok(())
    }
    /// The bytes moved are charged with the call's overhead, the pages
    /// dirtied here.
    fn stable_write(c: &mut Ctx, offset: u64, src: u64, size: u64, name: &str) -> Result<()> {
        let memory = memory(c)?;
        let (heap, env) = memory.data_and_store_mut(&mut *c);
        let range = range(src, size, heap.len(), name)?;
        let Some(dirtied) = env.stable.write(offset, &heap[range]) else {
            return violation(format!("{name}: stable memory out of bounds"));
        };
        if dirtied == 0 {
            return Ok(());
        }
        charge_bytes(c, dirtied, metering::DIRTY_PAGE)
    }
    fn check_32_bit(c: &Ctx, name: &str) -> Result<()> {
        if c.data().stable.size_pages() > MAX_32_BIT_PAGES {
            return violation(format!("ic0.{name}: stable memory is larger than 4 GiB"));
        }
        Ok(())
    }
    linker.func_wrap("ic0", "stable64_size", |mut c: Ctx| -> Result<u64> {
        check(&mut c, ANY_OR_START, "stable64_size")?;
        Ok(c.data().stable.size_pages())
    })?;
    linker.func_wrap(
        "ic0",
        "stable64_grow",
        |mut c: Ctx, pages: u64| -> Result<i64> {
            check(&mut c, ANY_OR_START, "stable64_grow")?;
            Ok(c.data_mut().stable.grow(pages).map_or(-1, |old| old as i64))
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable64_write",
        |mut c: Ctx, offset: u64, src: u64, size: u64| {
            check_charging(&mut c, ANY_OR_START, "stable64_write", size)?;
            stable_write(&mut c, offset, src, size, "stable64_write")
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable64_read",
        |mut c: Ctx, dst: u64, offset: u64, size: u64| {
            check_charging(&mut c, ANY_OR_START, "stable64_read", size)?;
            stable_read(&mut c, dst, offset, size, "stable64_read")
        },
    )?;
    linker.func_wrap("ic0", "stable_size", |mut c: Ctx| -> Result<u32> {
        check(&mut c, ANY_OR_START, "stable_size")?;
        check_32_bit(&c, "stable_size")?;
        Ok(c.data().stable.size_pages() as u32)
    })?;
    linker.func_wrap(
        "ic0",
        "stable_grow",
        |mut c: Ctx, pages: u32| -> Result<i32> {
            check(&mut c, ANY_OR_START, "stable_grow")?;
            check_32_bit(&c, "stable_grow")?;
            let stable = &mut c.data_mut().stable;
            if stable.size_pages() + u64::from(pages) > MAX_32_BIT_PAGES {
                return Ok(-1);
            }
            Ok(stable.grow(pages.into()).map_or(-1, |old| old as i32))
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable_write",
        |mut c: Ctx, offset: u32, src: u32, size: u32| {
            check_charging(&mut c, ANY_OR_START, "stable_write", size.into())?;
            check_32_bit(&c, "stable_write")?;
            stable_write(
                &mut c,
                offset.into(),
                src.into(),
                size.into(),
                "stable_write",
            )
        },
    )?;
    linker.func_wrap(
        "ic0",
        "stable_read",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check_charging(&mut c, ANY_OR_START, "stable_read", size.into())?;
            check_32_bit(&c, "stable_read")?;
            stable_read(
                &mut c,
                dst.into(),
                offset.into(),
                size.into(),
                "stable_read",
            )
        },
    )?;
    debug_assert_eq!(WASM_PAGE, 65536);
    Ok(())
}

fn link_misc(linker: &mut Linker<Env>) -> Result<()> {
    linker.func_wrap("ic0", "canister_self_size", |mut c: Ctx| -> Result<u32> {
        check(&mut c, ANY, "canister_self_size")?;
        Ok(c.data().exec.canister_id.as_slice().len() as u32)
    })?;
    linker.func_wrap(
        "ic0",
        "canister_self_copy",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check(&mut c, ANY, "canister_self_copy")?;
            let id = c.data().exec.canister_id;
            copy_to_heap(
                &mut c,
                dst,
                offset,
                size,
                id.as_slice(),
                "canister_self_copy",
            )
        },
    )?;
    linker.func_wrap("ic0", "canister_status", |mut c: Ctx| -> Result<u32> {
        check(&mut c, ANY, "canister_status")?;
        Ok(c.data().exec.status)
    })?;
    linker.func_wrap("ic0", "canister_version", |mut c: Ctx| -> Result<u64> {
        check(&mut c, ANY, "canister_version")?;
        Ok(c.data().exec.canister_version)
    })?;
    // The interface specification allows the root key in replicated
    // executions only: a query answered by one node cannot vouch for it.
    const ROOT_KEY: u16 = I | G | U | RQ | RY | RT | C | T;
    linker.func_wrap("ic0", "root_key_size", |mut c: Ctx| -> Result<u32> {
        check(&mut c, ROOT_KEY, "root_key_size")?;
        Ok(crate::certification::root_key_der().len() as u32)
    })?;
    linker.func_wrap(
        "ic0",
        "root_key_copy",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check(&mut c, ROOT_KEY, "root_key_copy")?;
            let key = crate::certification::root_key_der();
            copy_to_heap(&mut c, dst, offset, size, &key, "root_key_copy")
        },
    )?;
    linker.func_wrap(
        "ic0",
        "certified_data_set",
        |mut c: Ctx, src: u32, size: u32| {
            check(&mut c, I | G | U | RY | RT | T, "certified_data_set")?;
            charge_bytes(&mut c, size.into(), 1)?;
            if size > 32 {
                return violation(format!(
                    "ic0.certified_data_set: at most 32 bytes, not {size}"
                ));
            }
            let data = read_heap(&c, src, size)?;
            c.data_mut().exec.certified_data = data;
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ic0",
        "data_certificate_present",
        |mut c: Ctx| -> Result<u32> {
            check(&mut c, ANY, "data_certificate_present")?;
            Ok(u32::from(c.data().exec.data_certificate.is_some()))
        },
    )?;
    linker.func_wrap(
        "ic0",
        "data_certificate_size",
        |mut c: Ctx| -> Result<u32> {
            check(&mut c, NRQ | CQ, "data_certificate_size")?;
            match &c.data().exec.data_certificate {
                Some(certificate) => Ok(certificate.bytes().len() as u32),
                None => violation("ic0.data_certificate_size: no certificate is present"),
            }
        },
    )?;
    linker.func_wrap(
        "ic0",
        "data_certificate_copy",
        |mut c: Ctx, dst: u32, offset: u32, size: u32| {
            check(&mut c, NRQ | CQ, "data_certificate_copy")?;
            let Some(certificate) = c.data().exec.data_certificate.clone() else {
                return violation("ic0.data_certificate_copy: no certificate is present");
            };
            copy_to_heap(
                &mut c,
                dst,
                offset,
                size,
                certificate.bytes(),
                "data_certificate_copy",
            )
        },
    )?;
    linker.func_wrap("ic0", "time", |mut c: Ctx| -> Result<u64> {
        check(&mut c, ANY, "time")?;
        Ok(c.data().exec.time)
    })?;
    linker.func_wrap(
        "ic0",
        "global_timer_set",
        |mut c: Ctx, timestamp: u64| -> Result<u64> {
            check(&mut c, I | G | U | RY | RT | C | T, "global_timer_set")?;
            Ok(std::mem::replace(
                &mut c.data_mut().exec.global_timer,
                timestamp,
            ))
        },
    )?;
    linker.func_wrap(
        "ic0",
        "performance_counter",
        |mut c: Ctx, kind: u32| -> Result<u64> {
            check(&mut c, ANY_OR_START, "performance_counter")?;
            let this_execution = instructions_used(&c);
            match kind {
                0 => Ok(this_execution),
                1 => Ok(c.data().exec.call_context_instructions + this_execution),
                _ => violation(format!(
                    "ic0.performance_counter: unknown counter type {kind}"
                )),
            }
        },
    )?;
    linker.func_wrap(
        "ic0",
        "is_controller",
        |mut c: Ctx, src: u32, size: u32| -> Result<u32> {
            check(&mut c, ANY_OR_START, "is_controller")?;
            charge_bytes(&mut c, size.into(), 1)?;
            let principal = principal_of(&read_heap(&c, src, size)?, "is_controller")?;
            Ok(u32::from(c.data().exec.controllers.contains(&principal)))
        },
    )?;
    linker.func_wrap(
        "ic0",
        "in_replicated_execution",
        |mut c: Ctx| -> Result<u32> {
            check(&mut c, ANY_OR_START, "in_replicated_execution")?;
            let context = c.data().exec.context;
            Ok(u32::from(!matches!(
                context,
                Context::NonReplicatedQuery
                    | Context::CompositeQuery
                    | Context::CompositeReplyCallback
                    | Context::CompositeRejectCallback
                    | Context::CompositeCleanup
                    | Context::InspectMessage
            )))
        },
    )?;
    linker.func_wrap("ic0", "debug_print", |mut c: Ctx, src: u32, size: u32| {
        check(&mut c, ANY_OR_START, "debug_print")?;
        charge(&mut c, metering::logging(size.into()) as i64)?;
        // Like the IC, a bad pointer here must not trap the canister.
        if let Ok(bytes) = read_heap(&c, src, size) {
            c.data_mut().exec.logs.push(bytes);
        }
        Ok(())
    })?;
    linker.func_wrap(
        "ic0",
        "trap",
        |mut c: Ctx, src: u32, size: u32| -> Result<()> {
            check(&mut c, ANY_OR_START, "trap")?;
            charge(
                &mut c,
                (u64::from(size) + metering::logging(size.into())) as i64,
            )?;
            let message = read_heap(&c, src, size).unwrap_or_default();
            Err(HostTrap::Called(String::from_utf8_lossy(&message).into_owned()).into())
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_import_is_linked() {
        let mut linker = Linker::new(crate::module::engine());
        link(&mut linker).unwrap();
        let mut store = wasmtime::Store::new(
            crate::module::engine(),
            Env {
                stable: StableMemory::default(),
                memory: None,
                exec: ExecState::new(
                    Context::Update,
                    Principal::anonymous(),
                    Principal::anonymous(),
                    0,
                ),
            },
        );
        for name in IC0_IMPORTS {
            assert!(
                linker.get(&mut store, "ic0", name).is_ok(),
                "ic0.{name} is not linked"
            );
        }
        let linked = linker.iter(&mut store).count();
        assert_eq!(linked, IC0_IMPORTS.len(), "every linked function is listed");
    }
}
