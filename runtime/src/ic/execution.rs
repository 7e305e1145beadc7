//! Message delivery: a round runs every queued request on its callee and
//! every response in its caller's callback, then the system tasks that are
//! due; each execution's calls and answers become the next round's messages.

use crate::canister::{EntryPoint, Executed, Failure};
use crate::error::{ErrorCode, RejectResponse, no_wasm, not_found};
use crate::ic::Ic;
use crate::ic::messages::{
    CallContext, CallContextId, Callback, Closure, Message, Origin, Request, Response,
};
use crate::ic::state::Status;
use crate::system_api::{Context, ExecState, fees};
use candid::Principal;

/// The entry point a request runs, once the callee is known to accept it.
struct Target {
    export: String,
    context: Context,
    limit: u64,
}

impl Ic {
    /// One round: the messages queued at its start, then heartbeats and due
    /// global timers. Messages sent during the round wait for the next one.
    pub(crate) fn execute_round(&mut self) {
        // Deadlines are checked when a round starts: time moves only between rounds.
        self.messages.time_out_calls(self.time);
        for message in self.messages.take_round() {
            match message {
                Message::Request(request) => self.execute_request(request),
                Message::Response(response) => self.execute_response(response),
            }
        }
        self.run_system_tasks();
    }

    /// Whether `canister_id` accepts a message now (exists, runs, has code).
    pub(crate) fn check_accepts_messages(
        &self,
        canister_id: Principal,
    ) -> Result<(), RejectResponse> {
        let canister = self
            .canisters
            .get(&canister_id)
            .ok_or_else(|| not_found(canister_id))?;
        match canister.status {
            Status::Running => {}
            Status::Stopping(_) => {
                return Err(RejectResponse::new(
                    ErrorCode::CanisterStopping,
                    format!("Canister {canister_id} is stopping"),
                ));
            }
            Status::Stopped => {
                return Err(RejectResponse::new(
                    ErrorCode::CanisterStopped,
                    format!("Canister {canister_id} is stopped"),
                ));
            }
        }
        if canister.code.is_none() {
            return Err(no_wasm(canister_id));
        }
        Ok(())
    }

    /// The update method `method`, or else the query `method` run replicated.
    /// A composite query cannot run replicated: the IC refuses it (IC0527).
    fn resolve(&self, canister_id: Principal, method: &str) -> Result<Target, RejectResponse> {
        self.check_accepts_messages(canister_id)?;
        let code = self.canisters[&canister_id]
            .code
            .as_ref()
            .expect("checked above");
        let update = format!("canister_update {method}");
        if code.compiled.exports_method(&update) {
            return Ok(Target {
                export: update,
                context: Context::Update,
                limit: self.limits(&canister_id).update,
            });
        }
        let query = format!("canister_query {method}");
        if code.compiled.exports_method(&query) {
            return Ok(Target {
                export: query,
                context: Context::ReplicatedQuery,
                limit: self.limits(&canister_id).query,
            });
        }
        if code
            .compiled
            .exports_method(&format!("canister_composite_query {method}"))
        {
            // The replica's words, without the usual "Error from Canister" prefix.
            return Err(RejectResponse::new(
                ErrorCode::CompositeQueryCalledInReplicatedMode,
                "Composite query cannot be called in replicated mode",
            ));
        }
        Err(RejectResponse::new(
            ErrorCode::CanisterMethodNotFound,
            format!("Error from Canister {canister_id}: Canister has no update method '{method}'."),
        ))
    }

    fn execute_request(&mut self, request: Request) {
        if request.receiver == Principal::management_canister()
            || self.topology.is_subnet_id(&request.receiver)
        {
            return self.execute_management(request);
        }
        let Request {
            sender,
            receiver,
            method,
            arg,
            cycles,
            origin,
            deadline,
            ..
        } = request;
        let target = match self
            .resolve(receiver, &method)
            .and_then(|target| self.check_not_frozen(receiver).map(|()| target))
        {
            Ok(target) => target,
            // Nothing ran: every attached cycle goes back.
            Err(reject) => return self.messages.respond(origin, Err(reject), cycles),
        };
        let context_id = self.messages.new_call_context(CallContext {
            canister: receiver,
            origin,
            caller: sender,
            cycles_available: cycles,
            responded: false,
            outstanding_calls: 0,
            instructions: 0,
            deadline: context_deadline(target.context, deadline),
        });
        let canister = self.canisters.get_mut(&receiver).expect("resolved");
        let mut exec =
            canister.exec_state(receiver, target.context, sender, self.time, target.limit);
        exec.arg = arg;
        exec.cycles_available = cycles;
        exec.deadline = context_deadline(target.context, deadline);
        let keep = target.context == Context::Update;
        let code = canister.code.as_mut().expect("resolved");
        let executed = code.execute(EntryPoint::Export(&target.export), exec, keep);
        self.conclude(receiver, context_id, executed, keep);
    }

    fn execute_response(&mut self, response: Response) {
        if self.messages.take_late_answer(&response) {
            return;
        }
        let Some(callback) = self.messages.callbacks.remove(&response.callback) else {
            // The caller was uninstalled while the call was out: the answer
            // finds no callback, but the refund is the caller's, as on the IC.
            if let Some(canister) = self.canisters.get_mut(&response.receiver) {
                canister.balance = canister.balance.saturating_add(response.refund);
            }
            return;
        };
        let id = response.receiver;
        let limit = self.limits(&id).update;
        // A deleted caller has no callback to run.
        let Some(canister) = self.canisters.get_mut(&id) else {
            return;
        };
        // Refunded cycles are the caller's again, whatever its callback does.
        canister.balance = canister.balance.saturating_add(response.refund);
        let context = self
            .messages
            .call_contexts
            .get_mut(&callback.call_context)
            .expect("a call context stays open while it has outstanding calls");
        context.outstanding_calls -= 1;
        let (kind, closure) = match response.outcome {
            Ok(_) => (Context::ReplyCallback, callback.on_reply),
            Err(_) => (Context::RejectCallback, callback.on_reject),
        };
        let mut exec = canister.exec_state(id, kind, context.caller, self.time, limit);
        match response.outcome {
            Ok(reply) => exec.arg = reply,
            Err(reject) => {
                exec.reject_code = reject.reject_code as u32;
                exec.reject_message = reject.reject_message;
            }
        }
        exec.cycles_refunded = response.refund;
        exec.cycles_available = context.cycles_available;
        exec.responded = context.responded;
        exec.call_context_instructions = context.instructions;
        exec.deadline = context.deadline;
        let reject_code = exec.reject_code;
        let caller = context.caller;
        let executed = match canister.code.as_mut() {
            Some(code) => code.execute(callback_entry(closure), exec, true),
            // Uninstalled while the call was out: as if the callback trapped.
            None => Executed {
                result: Err(Failure {
                    code: ErrorCode::CanisterWasmModuleNotFound,
                    message:
                        "Attempted to execute a message, but the canister contains no Wasm module."
                            .to_string(),
                }),
                exec,
                instructions: 0,
            },
        };
        let trapped = executed.result.is_err();
        self.conclude(id, callback.call_context, executed, true);
        if let (true, Some(cleanup)) = (trapped, callback.on_cleanup) {
            self.run_cleanup(id, cleanup, caller, reject_code);
        }
    }

    /// After a callback trapped: its cleanup runs on the state from before the callback.
    fn run_cleanup(
        &mut self,
        id: Principal,
        cleanup: Closure,
        caller: Principal,
        reject_code: u32,
    ) {
        let time = self.time;
        let charged = self.charges(&id);
        let limit = self.limits(&id).update;
        let canister = self.canisters.get_mut(&id).expect("it just ran a callback");
        let mut exec = canister.exec_state(id, Context::Cleanup, caller, time, limit);
        exec.reject_code = reject_code;
        let Some(code) = canister.code.as_mut() else {
            return;
        };
        let executed = code.execute(callback_entry(cleanup), exec, true);
        let instructions = executed.instructions;
        // A failing cleanup leaves nothing but its log lines.
        let _ = canister.finish(id, time, executed);
        if charged {
            canister.charge(fees::execution(instructions));
        }
    }

    /// Applies an execution for call context `context_id` and sends what it
    /// produced: its calls, its answer, or the answer of a context that can
    /// no longer reply.
    fn conclude(
        &mut self,
        id: Principal,
        context_id: CallContextId,
        executed: Executed,
        keep: bool,
    ) {
        let time = self.time;
        let instructions = executed.instructions;
        let charged = self.charges(&id);
        let canister = self.canisters.get_mut(&id).expect("it just executed");
        let outcome = if keep {
            canister
                .finish(id, time, executed)
                .inspect(|_| canister.version += 1)
        } else {
            // A replicated query keeps only its answer.
            canister.record_instructions(instructions);
            let Executed { result, exec, .. } = executed;
            result
                .map(|()| ExecState {
                    cycles_accepted: 0,
                    ..exec
                })
                .map_err(|failure| failure.into_reject(id))
        };
        let context = self
            .messages
            .call_contexts
            .get_mut(&context_id)
            .expect("the context of a running execution is open");
        context.instructions += instructions;
        let (calls, answer) = match outcome {
            Ok(exec) => {
                context.cycles_available -= exec.cycles_accepted;
                (exec.calls, exec.response.map(|r| r.into_outcome()))
            }
            // Nothing of a failed execution is kept; its error answers the
            // context if nothing else can anymore.
            Err(reject) if context.outstanding_calls == 0 && !context.responded => {
                (Vec::new(), Some(Err(reject)))
            }
            Err(_) => (Vec::new(), None),
        };
        context.outstanding_calls += calls.len() as u32;
        if charged {
            let sending: u128 = calls
                .iter()
                .map(|call| fees::call(call.method.len() as u64, call.arg.len() as u64))
                .sum();
            let canister = self.canisters.get_mut(&id).expect("it just executed");
            canister.charge(fees::execution(instructions) + sending);
        }
        if let Some(outcome) = answer {
            context.responded = true;
            let refund = std::mem::take(&mut context.cycles_available);
            let origin = context.origin.clone();
            self.messages.respond(origin, outcome, refund);
        }
        for call in calls {
            let deadline = call
                .timeout_seconds
                .map_or(0, |seconds| time + u64::from(seconds) * 1_000_000_000);
            let callback = self.messages.new_callback(Callback {
                call_context: context_id,
                on_reply: call.reply,
                on_reject: call.reject,
                on_cleanup: call.cleanup,
                deadline,
            });
            self.messages.push(Message::Request(Request {
                sender: id,
                receiver: call.callee,
                method: call.method,
                arg: call.arg,
                cycles: call.cycles,
                origin: Origin::Canister {
                    caller: id,
                    callback,
                },
                deadline,
                effective_canister_id: None,
            }));
        }
        self.close_if_done(id, context_id);
    }

    /// A context without outstanding calls is closed; if it never answered,
    /// its caller learns that it never will.
    fn close_if_done(&mut self, id: Principal, context_id: CallContextId) {
        if self.messages.call_contexts[&context_id].outstanding_calls > 0 {
            return;
        }
        let context = self
            .messages
            .call_contexts
            .remove(&context_id)
            .expect("checked above");
        if !context.responded {
            let reject = RejectResponse::new(
                ErrorCode::CanisterDidNotReply,
                format!("Error from Canister {id}: Canister did not produce a response."),
            );
            self.messages
                .respond(context.origin, Err(reject), context.cycles_available);
        }
        self.finish_stopping_if_idle(id);
    }

    /// Heartbeats, then global timers whose time has come, on running canisters.
    fn run_system_tasks(&mut self) {
        let time = self.time;
        let exports = |id: &Principal, export: &str| {
            self.canisters[id]
                .code
                .as_ref()
                .is_some_and(|code| code.compiled.exports_method(export))
        };
        // A frozen canister's heartbeats and timers wait until it is topped up.
        let running: Vec<Principal> = self
            .canisters
            .iter()
            .filter(|(id, c)| {
                c.is_running() && c.code.is_some() && self.check_not_frozen(**id).is_ok()
            })
            .map(|(id, _)| *id)
            .collect();
        let heartbeats: Vec<Principal> = running
            .iter()
            .filter(|id| exports(id, "canister_heartbeat"))
            .copied()
            .collect();
        let timers: Vec<(Principal, bool)> = running
            .iter()
            .filter(|id| {
                let timer = self.canisters[id].global_timer;
                timer != 0 && timer <= time
            })
            .map(|id| (*id, exports(id, "canister_global_timer")))
            .collect();
        for id in heartbeats {
            self.execute_system_task(id, "canister_heartbeat");
        }
        for (id, has_handler) in timers {
            // The timer is spent when it fires, whatever its execution does.
            self.canisters.get_mut(&id).expect("listed").global_timer = 0;
            if has_handler {
                self.execute_system_task(id, "canister_global_timer");
            }
        }
    }

    fn execute_system_task(&mut self, id: Principal, export: &str) {
        let context_id = self.messages.new_call_context(CallContext {
            canister: id,
            origin: Origin::SystemTask,
            caller: Principal::management_canister(),
            cycles_available: 0,
            responded: false,
            outstanding_calls: 0,
            instructions: 0,
            deadline: 0,
        });
        let time = self.time;
        let limit = self.limits(&id).update;
        let canister = self.canisters.get_mut(&id).expect("listed");
        let exec = canister.exec_state(
            id,
            Context::SystemTask,
            Principal::management_canister(),
            time,
            limit,
        );
        let code = canister.code.as_mut().expect("listed with code");
        let executed = code.execute(EntryPoint::Export(export), exec, true);
        self.conclude(id, context_id, executed, true);
    }
}

/// What `ic0.msg_deadline` returns in a call context: the caller's deadline
/// for an update method, 0 for queries, as the specification says.
fn context_deadline(context: Context, deadline: u64) -> u64 {
    if context == Context::Update {
        deadline
    } else {
        0
    }
}

pub(crate) fn callback_entry((function, env): Closure) -> EntryPoint<'static> {
    EntryPoint::Callback { function, env }
}
