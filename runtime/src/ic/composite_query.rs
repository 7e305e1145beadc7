//! Composite queries: a non-replicated query that calls the queries and
//! composite queries of other canisters. As the replica's query handler
//! does, the whole call graph runs at once, depth first, one call after the
//! other; each canister it touches sees the graph's own writes, and all of
//! them are discarded when the answer is known.

use crate::canister::{EntryPoint, Executed, Scratch, limits};
use crate::certification::DataCertificate;
use crate::error::{ErrorCode, RejectResponse};
use crate::ic::Ic;
use crate::ic::execution::callback_entry;
use crate::ic::messages::Outcome;
use crate::system_api::{Context, OutgoingCall};
use candid::Principal;
use std::collections::{BTreeMap, VecDeque};

/// The replica's limit on nested calls below the first composite query.
const MAX_DEPTH: usize = 6;

/// One evaluation of a call graph.
struct Graph {
    /// Canisters whose composite queries or callbacks ran, with what undoes them.
    scratch: BTreeMap<Principal, Scratch>,
    /// Instructions left for the whole graph: one query's limit, as the
    /// replica's `max_query_call_graph_instructions`.
    instructions_left: u64,
}

/// What a call in the graph produced; `Err` ends the whole graph.
type Answer = Result<Outcome, RejectResponse>;

impl Ic {
    /// Runs the composite query `method` of `canister_id` with everything
    /// it calls, then undoes all of it.
    pub(crate) fn composite_query(
        &mut self,
        canister_id: Principal,
        sender: Principal,
        method: &str,
        arg: Vec<u8>,
        certificate: DataCertificate,
    ) -> Outcome {
        let mut graph = Graph {
            scratch: BTreeMap::new(),
            instructions_left: limits::QUERY,
        };
        let certificate = Some(certificate);
        let answer =
            self.run_composite(&mut graph, canister_id, sender, method, arg, certificate, 0);
        for (id, scratch) in graph.scratch {
            if let Some(code) = self.canisters.get_mut(&id).and_then(|c| c.code.as_mut()) {
                code.end_scratch(scratch);
            }
        }
        answer.and_then(|outcome| outcome)
    }

    /// A call from a composite query (or its callbacks) to `callee`, `depth`
    /// calls below the first composite query.
    fn graph_call(
        &mut self,
        graph: &mut Graph,
        caller: Principal,
        call: OutgoingCall,
        depth: usize,
    ) -> Answer {
        if depth > MAX_DEPTH {
            return Err(RejectResponse::new(
                ErrorCode::QueryCallGraphTooDeep,
                "Composite query calls exceeded the maximum call depth.",
            ));
        }
        let callee = call.callee;
        if callee == Principal::management_canister() {
            return Ok(Err(RejectResponse::new(
                ErrorCode::CanisterMethodNotFound,
                format!(
                    "Composite queries cannot call the management canister's method '{}'.",
                    call.method
                ),
            )));
        }
        if let Err(reject) = self.check_accepts_messages(callee) {
            return Ok(Err(reject));
        }
        let code = self.canisters[&callee].code.as_ref().expect("checked");
        let export = format!("canister_query {}", call.method);
        if code.compiled.exports_method(&export) {
            return self.graph_query(graph, callee, caller, &export, call.arg);
        }
        if code
            .compiled
            .exports_method(&format!("canister_composite_query {}", call.method))
        {
            return self.run_composite(graph, callee, caller, &call.method, call.arg, None, depth);
        }
        // Update methods among them: a composite query calls queries only.
        Ok(Err(RejectResponse::new(
            ErrorCode::CanisterMethodNotFound,
            format!(
                "Error from Canister {callee}: Canister has no query method '{}'.",
                call.method
            ),
        )))
    }

    /// A plain query called from the graph: non-replicated, on a throw-away copy.
    fn graph_query(
        &mut self,
        graph: &mut Graph,
        callee: Principal,
        caller: Principal,
        export: &str,
        arg: Vec<u8>,
    ) -> Answer {
        let limit = self.graph_limit(graph)?;
        let time = self.time;
        let canister = self.canisters.get_mut(&callee).expect("checked");
        let mut exec =
            canister.exec_state(callee, Context::NonReplicatedQuery, caller, time, limit);
        exec.arg = arg;
        let code = canister.code.as_mut().expect("checked");
        let executed = code.execute(EntryPoint::Export(export), exec, false);
        graph.instructions_left -= executed.instructions;
        Ok(answer_of(callee, executed))
    }

    /// One composite query's call context: the method, then each of its
    /// calls in order with the callback its answer runs, until it answers.
    #[allow(clippy::too_many_arguments)]
    fn run_composite(
        &mut self,
        graph: &mut Graph,
        callee: Principal,
        caller: Principal,
        method: &str,
        arg: Vec<u8>,
        certificate: Option<DataCertificate>,
        depth: usize,
    ) -> Answer {
        let limit = self.graph_limit(graph)?;
        let time = self.time;
        let canister = self.canisters.get_mut(&callee).expect("checked");
        let mut exec = canister.exec_state(callee, Context::CompositeQuery, caller, time, limit);
        exec.arg = arg;
        exec.data_certificate = certificate;
        let code = canister.code.as_mut().expect("checked");
        graph
            .scratch
            .entry(callee)
            .or_insert_with(|| code.begin_scratch());
        let export = format!("canister_composite_query {method}");
        let executed = code.execute(EntryPoint::Export(&export), exec, true);
        graph.instructions_left -= executed.instructions;
        let Executed { result, exec, .. } = executed;
        if let Err(failure) = result {
            return Ok(Err(failure.into_reject(callee)));
        }
        // Once answered, the rest of its calls cannot change the answer.
        if let Some(response) = exec.response {
            return Ok(response.into_outcome());
        }
        let mut calls: VecDeque<OutgoingCall> = exec.calls.into();
        while let Some(call) = calls.pop_front() {
            let cleanup = call.cleanup;
            let (on_reply, on_reject) = (call.reply, call.reject);
            let outcome = self.graph_call(graph, callee, call, depth + 1)?;
            let executed =
                self.graph_callback(graph, callee, caller, outcome, on_reply, on_reject)?;
            match executed.result {
                Ok(()) => {
                    if let Some(response) = executed.exec.response {
                        return Ok(response.into_outcome());
                    }
                    calls.extend(executed.exec.calls);
                }
                Err(failure) => {
                    if let Some(cleanup) = cleanup {
                        self.graph_cleanup(graph, callee, caller, cleanup)?;
                    }
                    // The failure answers the context if nothing else can.
                    if calls.is_empty() {
                        return Ok(Err(failure.into_reject(callee)));
                    }
                }
            }
        }
        Ok(Err(RejectResponse::new(
            ErrorCode::CanisterDidNotReply,
            format!("Error from Canister {callee}: Canister did not produce a response."),
        )))
    }

    /// The reply or reject callback that `outcome` runs on `id`.
    fn graph_callback(
        &mut self,
        graph: &mut Graph,
        id: Principal,
        caller: Principal,
        outcome: Outcome,
        on_reply: (u32, u32),
        on_reject: (u32, u32),
    ) -> Result<Executed, RejectResponse> {
        let limit = self.graph_limit(graph)?;
        let time = self.time;
        let canister = self.canisters.get_mut(&id).expect("it made the call");
        let (context, closure) = match outcome {
            Ok(_) => (Context::CompositeReplyCallback, on_reply),
            Err(_) => (Context::CompositeRejectCallback, on_reject),
        };
        let mut exec = canister.exec_state(id, context, caller, time, limit);
        match outcome {
            Ok(reply) => exec.arg = reply,
            Err(reject) => {
                exec.reject_code = reject.reject_code as u32;
                exec.reject_message = reject.reject_message;
            }
        }
        let code = canister.code.as_mut().expect("it made the call");
        let executed = code.execute(callback_entry(closure), exec, true);
        graph.instructions_left -= executed.instructions;
        Ok(executed)
    }

    /// After a callback trapped: its cleanup, on the state from before it.
    fn graph_cleanup(
        &mut self,
        graph: &mut Graph,
        id: Principal,
        caller: Principal,
        cleanup: (u32, u32),
    ) -> Result<(), RejectResponse> {
        let limit = self.graph_limit(graph)?;
        let time = self.time;
        let canister = self.canisters.get_mut(&id).expect("it made the call");
        let exec = canister.exec_state(id, Context::CompositeCleanup, caller, time, limit);
        let code = canister.code.as_mut().expect("it made the call");
        // A failing cleanup leaves nothing behind.
        let executed = code.execute(callback_entry(cleanup), exec, true);
        graph.instructions_left -= executed.instructions;
        Ok(())
    }

    /// The instruction limit of the graph's next execution: a query's,
    /// or what the graph has left. An exhausted graph fails as a whole.
    fn graph_limit(&self, graph: &Graph) -> Result<u64, RejectResponse> {
        match graph.instructions_left {
            0 => Err(RejectResponse::new(
                ErrorCode::QueryCallGraphTotalInstructionLimitExceeded,
                "Composite query calls exceeded the instruction limit.",
            )),
            left => Ok(left.min(limits::QUERY)),
        }
    }
}

/// The answer of a plain query's execution.
pub(crate) fn answer_of(id: Principal, executed: Executed) -> Outcome {
    executed.result.map_err(|f| f.into_reject(id))?;
    match executed.exec.response {
        Some(response) => response.into_outcome(),
        None => Err(RejectResponse::new(
            ErrorCode::CanisterDidNotReply,
            format!("Error from Canister {id}: Canister did not produce a response."),
        )),
    }
}
