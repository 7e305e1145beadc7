//! The management canister (`aaaaa-aa`) of each subnet: the methods
//! canisters and users call to create, install, configure, stop and delete
//! canisters.

use crate::error::{ErrorCode, RejectResponse, not_controller, not_found};
use crate::ic::messages::{Origin, Request};
use crate::ic::state::{INITIAL_CYCLES, Status, StopRequest};
use crate::ic::subnet::SubnetKind;
use crate::ic::{Ic, InstallMode};
use crate::system_api::fees;
use candid::utils::ArgumentEncoder;
use candid::{CandidType, Decode, Encode, Nat, Principal, encode_args};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterStatusResult, CanisterStatusType, ChunkHash,
    CreateCanisterArgs, FetchCanisterLogsArgs, FetchCanisterLogsResult, InstallChunkedCodeArgs,
    InstallCodeArgs, LogVisibility, MemoryMetrics, ProvisionalCreateCanisterWithCyclesArgs,
    ProvisionalTopUpCanisterArgs, QueryStats, StatusVisibility, UninstallCodeArgs,
    UpdateSettingsArgs, UploadChunkArgs,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// How the management canister answers a call.
enum Answer {
    Reply {
        bytes: Vec<u8>,
        /// Attached cycles kept; the rest is refunded.
        cycles_accepted: u128,
    },
    /// `stop_canister` answers once the canister has stopped.
    Later,
}

fn reply(value: impl ArgumentEncoder) -> Answer {
    Answer::Reply {
        bytes: encode_args(value).expect("management results encode"),
        cycles_accepted: 0,
    }
}

/// The wasm chunk store's limits: chunks of at most 1 MiB, 100 of them.
const MAX_CHUNK_BYTES: usize = 1 << 20;
const MAX_CHUNKS: usize = 100;

fn install_mode(mode: CanisterInstallMode) -> InstallMode {
    match mode {
        CanisterInstallMode::Install => InstallMode::Install,
        CanisterInstallMode::Reinstall => InstallMode::Reinstall,
        CanisterInstallMode::Upgrade(flags) => InstallMode::Upgrade {
            skip_pre_upgrade: flags.and_then(|f| f.skip_pre_upgrade).unwrap_or(false),
        },
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode<T: CandidType + DeserializeOwned>(method: &str, arg: &[u8]) -> Result<T, RejectResponse> {
    Decode!(arg, T).map_err(|e| {
        RejectResponse::new(
            ErrorCode::InvalidManagementPayload,
            format!("Error decoding candid for ic00 method {method}: {e}"),
        )
    })
}

impl Ic {
    /// A query to the management canister (`fetch_canister_logs`), answered
    /// by one node, as over the HTTP interface.
    pub fn management_query(
        &self,
        sender: Principal,
        method: &str,
        arg: &[u8],
    ) -> Result<Vec<u8>, RejectResponse> {
        match method {
            "fetch_canister_logs" => {
                let args: FetchCanisterLogsArgs = decode(method, arg)?;
                let id = args.canister_id;
                let canister = self.canisters.get(&id).ok_or_else(|| not_found(id))?;
                let visible = canister.is_controller(&sender)
                    || match &canister.settings.log_visibility {
                        LogVisibility::Controllers => false,
                        LogVisibility::Public => true,
                        LogVisibility::AllowedViewers(viewers) => viewers.contains(&sender),
                    };
                if !visible {
                    return Err(RejectResponse::new(
                        ErrorCode::CanisterRejectedMessage,
                        format!(
                            "Caller {sender} is not allowed to query ic00 method fetch_canister_logs"
                        ),
                    ));
                }
                let records = canister
                    .logs()
                    .iter()
                    .map(|r| ic_management_canister_types::CanisterLogRecord {
                        idx: r.idx,
                        timestamp_nanos: r.timestamp_nanos,
                        content: r.content.clone(),
                    })
                    .collect();
                Ok(Encode!(&FetchCanisterLogsResult {
                    canister_log_records: records
                })
                .expect("logs encode"))
            }
            _ => Err(RejectResponse::new(
                ErrorCode::CanisterMethodNotFound,
                format!("Query method {method} not found."),
            )),
        }
    }

    /// Runs a request to the management canister and answers it (now, or
    /// for `stop_canister` possibly later).
    pub(crate) fn execute_management(&mut self, request: Request) {
        let cycles = request.cycles;
        let origin = request.origin.clone();
        match self.management_method(request) {
            Ok(Answer::Reply {
                bytes,
                cycles_accepted,
            }) => self
                .messages
                .respond(origin, Ok(bytes), cycles - cycles_accepted),
            Ok(Answer::Later) => {}
            Err(reject) => self.messages.respond(origin, Err(reject), cycles),
        }
    }

    fn management_method(&mut self, request: Request) -> Result<Answer, RejectResponse> {
        let Request {
            sender,
            receiver,
            method,
            arg,
            cycles,
            origin,
            effective_canister_id,
            ..
        } = request;
        let from_canister = matches!(origin, Origin::Canister { .. });
        let creation_subnet = match effective_canister_id {
            // Over HTTP, the effective canister id names the subnet.
            Some(effective) if !from_canister => self.topology.subnet_of(&effective).id,
            _ => self.creation_subnet(receiver, sender, from_canister)?,
        };
        let only_canisters = |method: &str| {
            RejectResponse::new(
                ErrorCode::CanisterRejectedMessage,
                format!("ic00 method {method} can not be called via ingress messages"),
            )
        };
        match method.as_str() {
            "create_canister" => {
                if !from_canister {
                    return Err(only_canisters(&method));
                }
                let args: CreateCanisterArgs = decode(&method, &arg)?;
                let id = self
                    .fresh_canister_id(&creation_subnet)
                    .ok_or_else(|| subnet_full(&creation_subnet))?;
                // When charging, the new canister's subnet takes the creation
                // fee from the cycles attached, and burns it.
                let fee = if self.charges(&id) {
                    fees::CANISTER_CREATION
                } else {
                    0
                };
                if cycles < fee {
                    return Err(RejectResponse::new(
                        ErrorCode::InsufficientCyclesForCreateCanister,
                        format!(
                            "Creating a canister requires a fee of {fee} that is deducted from the canister's initial balance but only {cycles} cycles were received with the create_canister request."
                        ),
                    ));
                }
                self.insert_canister(id, sender, args.settings, cycles);
                self.canisters
                    .get_mut(&id)
                    .expect("just created")
                    .charge(fee);
                Ok(Answer::Reply {
                    bytes: Encode!(&CanisterIdRecord { canister_id: id }).unwrap(),
                    cycles_accepted: cycles,
                })
            }
            "provisional_create_canister_with_cycles" => {
                let args: ProvisionalCreateCanisterWithCyclesArgs = decode(&method, &arg)?;
                let amount = match args.amount {
                    Some(amount) => nat_to_u128(&amount)?,
                    None => INITIAL_CYCLES,
                };
                let id = match args.specified_id {
                    Some(id) if self.canisters.contains_key(&id) => {
                        return Err(RejectResponse::new(
                            ErrorCode::CanisterIdAlreadyExists,
                            format!("Canister {id} is already installed"),
                        ));
                    }
                    Some(id) => id,
                    None => self
                        .fresh_canister_id(&creation_subnet)
                        .ok_or_else(|| subnet_full(&creation_subnet))?,
                };
                self.insert_canister(id, sender, args.settings, amount);
                Ok(reply((CanisterIdRecord { canister_id: id },)))
            }
            "install_code" => {
                let args: InstallCodeArgs = decode(&method, &arg)?;
                let mode = install_mode(args.mode);
                self.install_code(args.canister_id, mode, &args.wasm_module, args.arg, sender)?;
                Ok(reply(()))
            }
            "upload_chunk" => {
                let args: UploadChunkArgs = decode(&method, &arg)?;
                let canister = self.controlled(args.canister_id, sender, &method)?;
                if args.chunk.len() > MAX_CHUNK_BYTES {
                    return Err(RejectResponse::new(
                        ErrorCode::InvalidManagementPayload,
                        format!(
                            "Error from Wasm chunk store: Chunk size {} is larger than the maximum allowed {MAX_CHUNK_BYTES}.",
                            args.chunk.len()
                        ),
                    ));
                }
                let hash: [u8; 32] = Sha256::digest(&args.chunk).into();
                if !canister.chunks.contains_key(&hash) && canister.chunks.len() >= MAX_CHUNKS {
                    return Err(RejectResponse::new(
                        ErrorCode::InvalidManagementPayload,
                        format!(
                            "Error from Wasm chunk store: Wasm chunk store is full: it holds at most {MAX_CHUNKS} chunks."
                        ),
                    ));
                }
                canister.chunks.insert(hash, args.chunk);
                Ok(reply((ChunkHash {
                    hash: hash.to_vec(),
                },)))
            }
            "stored_chunks" => {
                let args: CanisterIdRecord = decode(&method, &arg)?;
                let canister = self.controlled(args.canister_id, sender, &method)?;
                let hashes: Vec<ChunkHash> = canister
                    .chunks
                    .keys()
                    .map(|hash| ChunkHash {
                        hash: hash.to_vec(),
                    })
                    .collect();
                Ok(reply((hashes,)))
            }
            "clear_chunk_store" => {
                let args: CanisterIdRecord = decode(&method, &arg)?;
                self.controlled(args.canister_id, sender, &method)?
                    .chunks
                    .clear();
                Ok(reply(()))
            }
            "install_chunked_code" => {
                let args: InstallChunkedCodeArgs = decode(&method, &arg)?;
                let store = args.store_canister.unwrap_or(args.target_canister);
                self.controlled(args.target_canister, sender, &method)?;
                let chunks = &self.controlled(store, sender, &method)?.chunks;
                let mut wasm = Vec::new();
                for ChunkHash { hash } in &args.chunk_hashes_list {
                    let chunk = <[u8; 32]>::try_from(hash.as_slice())
                        .ok()
                        .and_then(|hash| chunks.get(&hash))
                        .ok_or_else(|| {
                            RejectResponse::new(
                                ErrorCode::InvalidManagementPayload,
                                format!(
                                    "Error from Wasm chunk store: Chunk with hash {} was not found in the chunk store of canister {store}.",
                                    hex_of(hash)
                                ),
                            )
                        })?;
                    if wasm.len() + chunk.len() > crate::module::MAX_WASM_BYTES {
                        return Err(RejectResponse::new(
                            ErrorCode::InvalidManagementPayload,
                            format!(
                                "Error from Wasm chunk store: the chunks make a module of more than {} bytes.",
                                crate::module::MAX_WASM_BYTES
                            ),
                        ));
                    }
                    wasm.extend_from_slice(chunk);
                }
                let actual = Sha256::digest(&wasm);
                if actual.as_slice() != args.wasm_module_hash.as_slice() {
                    return Err(RejectResponse::new(
                        ErrorCode::InvalidManagementPayload,
                        format!(
                            "Error from Wasm chunk store: Wasm module hash {} does not match given hash {}.",
                            hex_of(&actual),
                            hex_of(&args.wasm_module_hash)
                        ),
                    ));
                }
                let mode = install_mode(args.mode);
                self.install_code(args.target_canister, mode, &wasm, args.arg, sender)?;
                Ok(reply(()))
            }
            "update_settings" => {
                let args: UpdateSettingsArgs = decode(&method, &arg)?;
                let canister = self.controlled(args.canister_id, sender, &method)?;
                canister.update_settings(args.settings);
                canister.version += 1;
                Ok(reply(()))
            }
            "canister_status" => {
                let args: CanisterIdRecord = decode(&method, &arg)?;
                Ok(reply((self.status_of(args.canister_id, sender)?,)))
            }
            "start_canister" => {
                let args: CanisterIdRecord = decode(&method, &arg)?;
                self.start(args.canister_id, sender)?;
                Ok(reply(()))
            }
            "stop_canister" => {
                let args: CanisterIdRecord = decode(&method, &arg)?;
                self.stop(args.canister_id, sender, StopRequest { origin, cycles })
            }
            "delete_canister" => {
                let args: CanisterIdRecord = decode(&method, &arg)?;
                let id = args.canister_id;
                let canister = self.controlled(id, sender, &method)?;
                if !matches!(canister.status, Status::Stopped) {
                    return Err(RejectResponse::new(
                        ErrorCode::CanisterNotStopped,
                        format!("Canister {id} must be stopped before it is deleted."),
                    ));
                }
                // Its cycles go with it, as on the IC.
                self.canisters.remove(&id);
                Ok(reply(()))
            }
            "uninstall_code" => {
                let args: UninstallCodeArgs = decode(&method, &arg)?;
                self.uninstall_code(args.canister_id, sender)?;
                Ok(reply(()))
            }
            "deposit_cycles" => {
                let args: CanisterIdRecord = decode(&method, &arg)?;
                let canister = self
                    .canisters
                    .get_mut(&args.canister_id)
                    .ok_or_else(|| not_found(args.canister_id))?;
                canister.balance = canister.balance.saturating_add(cycles);
                Ok(Answer::Reply {
                    bytes: Encode!().unwrap(),
                    cycles_accepted: cycles,
                })
            }
            "provisional_top_up_canister" => {
                let args: ProvisionalTopUpCanisterArgs = decode(&method, &arg)?;
                let amount = nat_to_u128(&args.amount)?;
                let canister = self
                    .canisters
                    .get_mut(&args.canister_id)
                    .ok_or_else(|| not_found(args.canister_id))?;
                canister.balance = canister.balance.saturating_add(amount);
                Ok(reply(()))
            }
            "raw_rand" => {
                if !from_canister {
                    return Err(only_canisters(&method));
                }
                Ok(reply((self.random_bytes(),)))
            }
            _ => Err(RejectResponse::new(
                ErrorCode::UnknownManagementMessage,
                format!("Management canister has no method '{method}'"),
            )),
        }
    }

    /// The subnet a management call addressed to `receiver` creates
    /// canisters on. `aaaaa-aa` is the caller's own subnet's management
    /// canister (for ingress, the default application subnet's); a subnet's
    /// id addresses that subnet's, which only NNS canisters may call. The
    /// NNS subnet's own creations go to the default application subnet:
    /// the CMC creates its customers' canisters there until it chooses a
    /// subnet itself.
    fn creation_subnet(
        &self,
        receiver: Principal,
        sender: Principal,
        from_canister: bool,
    ) -> Result<Principal, RejectResponse> {
        let topology = &self.topology;
        let caller_subnet = from_canister.then(|| topology.subnet_of(&sender));
        let subnet = if receiver == Principal::management_canister() {
            caller_subnet.unwrap_or(topology.default_subnet())
        } else {
            let from_nns = caller_subnet.is_some_and(|s| s.kind == SubnetKind::Nns);
            if !from_nns && caller_subnet.is_none_or(|s| s.id != receiver) {
                return Err(RejectResponse::new(
                    ErrorCode::CanisterRejectedMessage,
                    format!(
                        "Only NNS canisters may call the management canister of subnet {receiver}"
                    ),
                ));
            }
            topology
                .subnet(&receiver)
                .expect("routed here as a subnet id")
        };
        Ok(match subnet.kind {
            SubnetKind::Nns => topology.default_subnet().id,
            _ => subnet.id,
        })
    }

    /// The canister `id`, if `sender` controls it.
    /// `uninstall_code`: the canister keeps its id, controllers and cycles
    /// and loses its module, memory, certified data and timer. Every call
    /// context it has open is answered with a reject, and the answers to its
    /// outstanding calls find no callback.
    pub(crate) fn uninstall_code(
        &mut self,
        id: Principal,
        sender: Principal,
    ) -> Result<(), RejectResponse> {
        let canister = self.controlled(id, sender, "uninstall_code")?;
        canister.code = None;
        canister.certified_data.clear();
        canister.global_timer = 0;
        canister.version += 1;
        let contexts: Vec<_> = self
            .messages
            .call_contexts
            .iter()
            .filter(|(_, c)| c.canister == id)
            .map(|(&context_id, _)| context_id)
            .collect();
        for context_id in &contexts {
            let context = self
                .messages
                .call_contexts
                .remove(context_id)
                .expect("just listed");
            if !context.responded {
                let reject = RejectResponse::new(
                    ErrorCode::CanisterRejectedMessage,
                    format!("Canister {id} has been uninstalled."),
                );
                self.messages
                    .respond(context.origin, Err(reject), context.cycles_available);
            }
        }
        self.messages
            .callbacks
            .retain(|_, callback| !contexts.contains(&callback.call_context));
        Ok(())
    }

    fn controlled(
        &mut self,
        id: Principal,
        sender: Principal,
        method: &str,
    ) -> Result<&mut crate::ic::state::Canister, RejectResponse> {
        let canister = self.canisters.get_mut(&id).ok_or_else(|| not_found(id))?;
        if !canister.is_controller(&sender) {
            return Err(not_controller(id, method));
        }
        Ok(canister)
    }

    fn status_of(
        &self,
        id: Principal,
        sender: Principal,
    ) -> Result<CanisterStatusResult, RejectResponse> {
        let canister = self.canisters.get(&id).ok_or_else(|| not_found(id))?;
        let visible = canister.is_controller(&sender)
            || match &canister.settings.status_visibility {
                StatusVisibility::Controllers => false,
                StatusVisibility::Public => true,
                StatusVisibility::AllowedViewers(viewers) => viewers.contains(&sender),
            };
        if !visible {
            return Err(not_controller(id, "canister_status"));
        }
        let code = canister.code.as_ref();
        let heap = code.map_or(0, |c| c.heap_bytes() as u64);
        let stable = code.map_or(0, |c| {
            c.stable().size_pages() * crate::stable_memory::WASM_PAGE
        });
        let status = match canister.status {
            Status::Running => CanisterStatusType::Running,
            Status::Stopping(_) => CanisterStatusType::Stopping,
            Status::Stopped => CanisterStatusType::Stopped,
        };
        let zero = || Nat::from(0u8);
        Ok(CanisterStatusResult {
            status,
            ready_for_migration: false,
            version: canister.version,
            settings: canister.settings.clone(),
            module_hash: code.map(|c| c.compiled.hash.to_vec()),
            memory_size: Nat::from(heap + stable),
            memory_metrics: MemoryMetrics {
                wasm_memory_size: Nat::from(heap),
                stable_memory_size: Nat::from(stable),
                global_memory_size: zero(),
                wasm_binary_size: zero(),
                custom_sections_size: zero(),
                canister_history_size: zero(),
                wasm_chunk_store_size: zero(),
                snapshots_size: zero(),
                log_memory_store_size: zero(),
            },
            cycles: Nat::from(canister.balance),
            reserved_cycles: zero(),
            idle_cycles_burned_per_day: zero(),
            query_stats: QueryStats {
                num_calls_total: zero(),
                num_instructions_total: zero(),
                request_payload_bytes_total: zero(),
                response_payload_bytes_total: zero(),
            },
        })
    }

    fn start(&mut self, id: Principal, sender: Principal) -> Result<(), RejectResponse> {
        let canister = self.controlled(id, sender, "start_canister")?;
        let previous = std::mem::replace(&mut canister.status, Status::Running);
        if !matches!(previous, Status::Running) {
            canister.version += 1;
        }
        // Stop requests still waiting are cancelled.
        if let Status::Stopping(waiting) = previous {
            for request in waiting {
                let reject = RejectResponse::new(
                    ErrorCode::CanisterStoppingCancelled,
                    format!("Canister {id} was started before it stopped"),
                );
                self.messages
                    .respond(request.origin, Err(reject), request.cycles);
            }
        }
        Ok(())
    }

    fn stop(
        &mut self,
        id: Principal,
        sender: Principal,
        request: StopRequest,
    ) -> Result<Answer, RejectResponse> {
        let canister = self.controlled(id, sender, "stop_canister")?;
        match &mut canister.status {
            Status::Stopped => return Ok(reply(())),
            Status::Stopping(waiting) => waiting.push(request),
            Status::Running => {
                canister.status = Status::Stopping(vec![request]);
                canister.version += 1;
            }
        }
        self.finish_stopping_if_idle(id);
        Ok(Answer::Later)
    }

    /// A stopping canister without open call contexts is stopped, and the
    /// `stop_canister` calls waiting for it are answered.
    pub(crate) fn finish_stopping_if_idle(&mut self, id: Principal) {
        if self.messages.has_open_call_contexts(id) {
            return;
        }
        let Some(canister) = self.canisters.get_mut(&id) else {
            return;
        };
        if !matches!(canister.status, Status::Stopping(_)) {
            return;
        }
        let Status::Stopping(waiting) = std::mem::replace(&mut canister.status, Status::Stopped)
        else {
            unreachable!("checked above")
        };
        for request in waiting {
            self.messages
                .respond(request.origin, Ok(Encode!().unwrap()), request.cycles);
        }
    }

    /// 32 bytes from a generator seeded the same way in every instance, so
    /// that tests are reproducible.
    fn random_bytes(&mut self) -> Vec<u8> {
        self.random_draws += 1;
        let mut hasher = Sha256::new();
        hasher.update(b"ic-runtime raw_rand");
        hasher.update(self.random_draws.to_be_bytes());
        hasher.finalize().to_vec()
    }
}

fn subnet_full(subnet: &Principal) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::SubnetOversubscribed,
        format!("Subnet {subnet} has no canister id left in its range"),
    )
}

fn nat_to_u128(amount: &Nat) -> Result<u128, RejectResponse> {
    u128::try_from(amount.0.clone()).map_err(|_| {
        RejectResponse::new(
            ErrorCode::InvalidManagementPayload,
            format!("{amount} cycles do not fit in 128 bits"),
        )
    })
}
