//! The runtime's first front: an API shaped like the `pocket-ic` crate's
//! `PocketIc`, so that tests switch between the two by changing one line.
//! A thin layer over the core ([`crate::ic::Ic`]): it translates, the core
//! decides.

use crate::error::{RejectResponse, not_controller};
use crate::ic::messages::{RawEffectivePrincipal, RawMessageId};
use crate::ic::state::{CanisterLogRecord, INITIAL_CYCLES};
use crate::ic::subnet::{self, SubnetKind};
use crate::ic::{GENESIS_NANOS, Ic};
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{Encode, Principal, decode_args, encode_args};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterSettings, CanisterStatusResult, UpdateSettingsArgs,
};
use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::ic::InstallMode;

/// Whether `canister_id` is in the range of a system subnet (the NNS or the
/// Internet Identity subnet) of the default topology, where nothing is
/// charged for.
pub fn on_system_subnet(canister_id: &Principal) -> bool {
    subnet::Topology::default()
        .subnet_of(canister_id)
        .kind
        .is_system()
}

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

/// A subnet as pocket-ic's `Topology` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetConfig {
    pub subnet_kind: SubnetKind,
    /// Its canister ranges, first and last id of each.
    pub canister_ranges: Vec<CanisterIdRange>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanisterIdRange {
    pub start: Principal,
    pub end: Principal,
}

/// The subnets of this IC, as pocket-ic's `Topology`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub subnet_configs: BTreeMap<Principal, SubnetConfig>,
    pub default_effective_canister_id: Principal,
}

impl Topology {
    fn of_kind(&self, kind: SubnetKind) -> impl Iterator<Item = Principal> + '_ {
        self.subnet_configs
            .iter()
            .filter(move |(_, c)| c.subnet_kind == kind)
            .map(|(id, _)| *id)
    }

    pub fn get_nns(&self) -> Option<Principal> {
        self.of_kind(SubnetKind::Nns).next()
    }

    pub fn get_ii(&self) -> Option<Principal> {
        self.of_kind(SubnetKind::II).next()
    }

    pub fn get_app_subnets(&self) -> Vec<Principal> {
        self.of_kind(SubnetKind::Application).collect()
    }
}

/// An Internet Computer in this process.
pub struct PocketIc {
    /// Boxed: the handle stays a pointer wide, as pocket-ic's is small.
    ic: Box<Ic>,
}

impl Default for PocketIc {
    fn default() -> Self {
        Self::new()
    }
}

impl PocketIc {
    /// The NNS subnet, the Internet Identity subnet and one application
    /// subnet, at PocketIC's genesis time.
    pub fn new() -> Self {
        let ic = Box::new(Ic::new());
        debug_assert_eq!(ic.time(), GENESIS_NANOS);
        Self { ic }
    }

    /// The core underneath, for another front (the HTTP interface) to serve.
    pub fn into_core(self) -> Ic {
        *self.ic
    }

    /// The DER-encoded public key that signs this IC's certificates. Always
    /// `Some`: this IC has a root key as if it had an NNS subnet.
    pub fn root_key(&self) -> Option<Vec<u8>> {
        Some(self.ic.root_key_der())
    }

    pub fn topology(&self) -> Topology {
        let topology = self.ic.topology();
        let subnet_configs = topology
            .subnets()
            .iter()
            .map(|s| {
                let (start, end) = s.canister_range();
                let config = SubnetConfig {
                    subnet_kind: s.kind,
                    canister_ranges: vec![CanisterIdRange { start, end }],
                };
                (s.id, config)
            })
            .collect();
        Topology {
            subnet_configs,
            default_effective_canister_id: topology.default_subnet().canister_range().0,
        }
    }

    /// The subnet a canister is on, `None` if it does not exist.
    pub fn get_subnet(&self, canister_id: Principal) -> Option<Principal> {
        self.ic
            .canister_exists(canister_id)
            .then(|| self.ic.topology().subnet_of(&canister_id).id)
    }

    pub fn get_time(&self) -> Time {
        Time(self.ic.time())
    }

    /// Moves time to `time`; never backwards.
    pub fn set_time(&mut self, time: Time) {
        self.ic.set_time(time.0);
    }

    pub fn advance_time(&mut self, duration: Duration) {
        self.ic.advance_time(duration);
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
        self.create_on(None, sender, settings)
    }

    /// A canister on `subnet_id`, as pocket-ic's.
    pub fn create_canister_on_subnet(
        &mut self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        subnet_id: Principal,
    ) -> Principal {
        self.create_on(Some(subnet_id), sender, settings)
    }

    fn create_on(
        &mut self,
        subnet: Option<Principal>,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
    ) -> Principal {
        let sender = sender.unwrap_or_else(Principal::anonymous);
        self.ic
            .create_canister_on(subnet, sender, settings, INITIAL_CYCLES)
            .unwrap_or_else(|| panic!("no canister id is left on subnet {subnet:?}"))
    }

    pub fn create_canister_with_id(
        &mut self,
        sender: Option<Principal>,
        settings: Option<CanisterSettings>,
        canister_id: Principal,
    ) -> Result<Principal, String> {
        let sender = sender.unwrap_or_else(Principal::anonymous);
        self.ic
            .create_canister_with_id(sender, settings, canister_id)
    }

    pub fn canister_exists(&self, canister_id: Principal) -> bool {
        self.ic.canister_exists(canister_id)
    }

    /// A figure of the canister, or `default` if it does not exist.
    fn read<T>(
        &self,
        canister_id: Principal,
        default: T,
        f: impl FnOnce(&crate::ic::state::Canister) -> T,
    ) -> T {
        self.ic.canister(canister_id).map_or(default, f)
    }

    pub fn get_controllers(&self, canister_id: Principal) -> Vec<Principal> {
        self.read(canister_id, vec![], |c| c.controllers().to_vec())
    }

    pub fn cycle_balance(&self, canister_id: Principal) -> u128 {
        self.read(canister_id, 0, |c| c.balance)
    }

    pub fn add_cycles(&mut self, canister_id: Principal, amount: u128) -> u128 {
        let canister = self
            .ic
            .canister_mut(canister_id)
            .expect("the canister exists");
        canister.balance = canister.balance.saturating_add(amount);
        canister.balance
    }

    /// Cycles the canister minted with `ic0.mint_cycles128`.
    pub fn cycles_minted(&self, canister_id: Principal) -> u128 {
        self.read(canister_id, 0, |c| c.cycles_minted)
    }

    /// Off by default. On, every canister outside the system subnets (see
    /// [`on_system_subnet`]) pays the 13-node application-subnet prices:
    /// `fees::execution` for every replicated execution after install,
    /// `fees::call` for every call sent, `fees::ingress` for every ingress
    /// message and `fees::storage` for its memory over time; what is charged
    /// is burned. The NNS canisters, at their well-known ids, pay nothing, as
    /// on the IC's NNS subnet.
    pub fn set_cycle_charging(&mut self, enabled: bool) {
        self.ic.set_cycle_charging(enabled);
    }

    /// Cycles the canister burned: with `ic0.cycles_burn128` and as fees.
    pub fn cycles_burned(&self, canister_id: Principal) -> u128 {
        self.read(canister_id, 0, |c| c.cycles_burned)
    }

    /// Cycles burned by all canisters that exist.
    pub fn total_cycles_burned(&self) -> u128 {
        self.ic.canisters().map(|(_, c)| c.cycles_burned).sum()
    }

    /// Instructions (wasm fuel) used by the canister's latest replicated
    /// execution: an update, callback, timer, install or upgrade, whether it
    /// succeeded or trapped.
    pub fn last_execution_instructions(&self, canister_id: Principal) -> u64 {
        self.read(canister_id, 0, |c| c.last_execution_instructions)
    }

    /// The most instructions one of the canister's replicated executions
    /// used since the last call of this method (or since it was created).
    pub fn take_largest_execution_instructions(&mut self, canister_id: Principal) -> u64 {
        self.ic
            .canister_mut(canister_id)
            .map_or(0, |c| std::mem::take(&mut c.largest_execution_instructions))
    }

    /// Replicated executions of all canisters (messages, callbacks, timers,
    /// installs) since they were created or the state was loaded.
    pub fn total_executions(&self) -> u64 {
        self.ic.canisters().map(|(_, c)| c.executions).sum()
    }

    /// Instructions used by all of the canister's replicated executions.
    pub fn total_instructions(&self, canister_id: Principal) -> u64 {
        self.read(canister_id, 0, |c| c.total_instructions)
    }

    /// The committed stable memory of a canister.
    pub fn get_stable_memory(&self, canister_id: Principal) -> Vec<u8> {
        self.read(canister_id, vec![], |c| {
            c.code
                .as_ref()
                .map(|code| code.stable().to_vec())
                .unwrap_or_default()
        })
    }

    pub fn fetch_canister_logs(
        &self,
        canister_id: Principal,
        sender: Principal,
    ) -> Result<Vec<CanisterLogRecord>, RejectResponse> {
        let canister = self.ic.canister(canister_id)?;
        if !canister.is_controller(&sender) {
            return Err(not_controller(canister_id, "fetch_canister_logs"));
        }
        Ok(canister.logs().to_vec())
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

    /// Removes the canister's module and memory, as `uninstall_code` does;
    /// `sender` (anonymous if `None`) must control it.
    pub fn uninstall_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.ic.start_round();
        self.ic
            .uninstall_code(canister_id, sender.unwrap_or_else(Principal::anonymous))
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
        if let Err(reject) = self.ic.set_stable_memory(canister_id, &data) {
            panic!("set_stable_memory: {}", reject.reject_message);
        }
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
        let mode = InstallMode::Upgrade {
            skip_pre_upgrade: false,
        };
        self.install_code(canister_id, mode, &wasm, arg, sender)
    }

    /// `install_code` of the management canister; PocketIC installs through
    /// a management call, which takes a round.
    pub fn install_code(
        &mut self,
        canister_id: Principal,
        mode: InstallMode,
        wasm: &[u8],
        arg: Vec<u8>,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.ic.start_round();
        let sender = sender.unwrap_or_else(Principal::anonymous);
        self.ic.install_code(canister_id, mode, wasm, arg, sender)
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
        let message_id = self
            .ic
            .submit_ingress(canister_id, sender, method, payload)?;
        let outcome = self.ic.run_until_answered(&message_id);
        // Its id never left this function: nobody can ask for it again.
        self.ic.forget_ingress(&message_id);
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
        let message_id = self
            .ic
            .submit_ingress(canister_id, sender, method, payload)?;
        let effective_principal = if canister_id == Principal::management_canister() {
            RawEffectivePrincipal::None
        } else {
            RawEffectivePrincipal::CanisterId(canister_id.as_slice().to_vec())
        };
        Ok(RawMessageId {
            effective_principal,
            message_id,
        })
    }

    /// Runs rounds until the message submitted as `message_id` is answered.
    pub fn await_call(&mut self, message_id: RawMessageId) -> Result<Vec<u8>, RejectResponse> {
        self.ic.run_until_answered(&message_id.message_id)
    }

    /// The answer to a submitted message, `None` while it is still in progress.
    pub fn ingress_status(
        &self,
        message_id: RawMessageId,
    ) -> Option<Result<Vec<u8>, RejectResponse>> {
        self.ic
            .ingress_status(&message_id.message_id)
            .flatten()
            .cloned()
    }

    /// A query answered by one node: nothing it writes is kept.
    pub fn query_call(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, RejectResponse> {
        self.ic.query(canister_id, sender, method, payload)
    }

    /// One round: every queued message, then heartbeats and due global timers.
    pub fn tick(&mut self) {
        self.ic.tick();
    }

    /// `update_call` to the management canister with a Candid argument.
    fn call_management<T: for<'a> ArgumentDecoder<'a>>(
        &mut self,
        sender: Option<Principal>,
        method: &str,
        arg: Vec<u8>,
    ) -> Result<T, RejectResponse> {
        let sender = sender.unwrap_or_else(Principal::anonymous);
        let bytes = self.update_call(Principal::management_canister(), sender, method, arg)?;
        Ok(decode_args(&bytes).unwrap_or_else(|e| panic!("{method}: undecodable result: {e}")))
    }

    fn call_management_on(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
        method: &str,
    ) -> Result<(), RejectResponse> {
        let arg = Encode!(&CanisterIdRecord { canister_id }).unwrap();
        self.call_management(sender, method, arg)
    }

    /// `canister_status` of the management canister, as `sender`.
    pub fn canister_status(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<CanisterStatusResult, RejectResponse> {
        let arg = Encode!(&CanisterIdRecord { canister_id }).unwrap();
        self.call_management(sender, "canister_status", arg)
            .map(|(status,)| status)
    }

    pub fn start_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.call_management_on(canister_id, sender, "start_canister")
    }

    /// Stops the canister, waiting (running rounds) until its open call contexts close.
    pub fn stop_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.call_management_on(canister_id, sender, "stop_canister")
    }

    pub fn delete_canister(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
    ) -> Result<(), RejectResponse> {
        self.call_management_on(canister_id, sender, "delete_canister")
    }

    pub fn update_canister_settings(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
        settings: CanisterSettings,
    ) -> Result<(), RejectResponse> {
        let arg = Encode!(&UpdateSettingsArgs {
            canister_id,
            settings,
            sender_canister_version: None,
        })
        .unwrap();
        self.call_management(sender, "update_settings", arg)
    }

    pub fn set_controllers(
        &mut self,
        canister_id: Principal,
        sender: Option<Principal>,
        new_controllers: Vec<Principal>,
    ) -> Result<(), RejectResponse> {
        let settings = CanisterSettings {
            controllers: Some(new_controllers),
            ..CanisterSettings::default()
        };
        self.update_canister_settings(canister_id, sender, settings)
    }
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
