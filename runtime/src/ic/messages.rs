//! Messages in flight: the queue of requests and responses between
//! canisters, the call contexts that wait for answers, the callbacks that
//! receive them, and the status of ingress messages.

use crate::error::RejectResponse;
use candid::Principal;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub type CallContextId = u64;
pub type CallbackId = u64;

/// What a request or call context eventually answers: bytes or a reject.
pub type Outcome = Result<Vec<u8>, RejectResponse>;

/// Where the answer of a call context goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An ingress message; its answer goes into the ingress history.
    Ingress(Vec<u8>),
    /// A call from a canister; its answer runs one of the caller's callbacks.
    Canister {
        caller: Principal,
        callback: CallbackId,
    },
    /// A timer or heartbeat: nobody waits for an answer.
    SystemTask,
}

/// One message being answered by a canister: it stays open while it has
/// outstanding calls, even after it has been answered.
#[derive(Clone, Debug)]
pub struct CallContext {
    pub canister: Principal,
    pub origin: Origin,
    /// What `msg_caller` returns in every execution of this context.
    pub caller: Principal,
    /// Cycles attached to the message and not accepted yet.
    pub cycles_available: u128,
    pub responded: bool,
    pub outstanding_calls: u32,
    /// Instructions of the context's executions so far (`performance_counter(1)`).
    pub instructions: u64,
    /// When the caller stops waiting (`ic0.msg_deadline`, ns): set only for
    /// an update method called with a best-effort response, 0 otherwise.
    pub deadline: u64,
}

/// A (function table index, environment) pair given to `call_new` or `call_on_cleanup`.
pub type Closure = (u32, u32);

/// What to run on the caller when the answer to one of its calls arrives.
#[derive(Clone, Debug)]
pub struct Callback {
    pub call_context: CallContextId,
    pub on_reply: Closure,
    pub on_reject: Closure,
    pub on_cleanup: Option<Closure>,
    /// For a best-effort call, the time (ns) after which the caller gets a
    /// timeout instead of the answer; 0 for a guaranteed response.
    pub deadline: u64,
}

#[derive(Clone, Debug)]
pub struct Request {
    pub sender: Principal,
    pub receiver: Principal,
    pub method: String,
    pub arg: Vec<u8>,
    pub cycles: u128,
    pub origin: Origin,
    /// The caller's deadline for a best-effort call, 0 for a guaranteed one.
    pub deadline: u64,
    /// For an ingress message sent over HTTP, the effective canister id of
    /// its URL: for the management canister, it names the subnet.
    pub effective_canister_id: Option<Principal>,
}

#[derive(Clone, Debug)]
pub struct Response {
    /// The canister that made the call.
    pub receiver: Principal,
    pub callback: CallbackId,
    pub outcome: Outcome,
    /// Attached cycles the callee did not accept.
    pub refund: u128,
}

#[derive(Clone, Debug)]
pub enum Message {
    Request(Request),
    Response(Response),
}

/// The effective principal of an ingress message, as pocket-ic names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RawEffectivePrincipal {
    None,
    SubnetId(Vec<u8>),
    CanisterId(Vec<u8>),
}

/// The id of an ingress message submitted with `submit_call`, as pocket-ic's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawMessageId {
    pub effective_principal: RawEffectivePrincipal,
    pub message_id: Vec<u8>,
}

/// Everything in flight between executions.
#[derive(Default)]
pub struct Messages {
    /// One queue for the whole IC: it keeps every (sender, receiver) pair's
    /// requests in the order they were sent, as the IC guarantees.
    queue: VecDeque<Message>,
    pub call_contexts: BTreeMap<CallContextId, CallContext>,
    pub callbacks: BTreeMap<CallbackId, Callback>,
    /// Callbacks answered by a timeout: their real answer, should it come,
    /// is dropped.
    timed_out: BTreeSet<CallbackId>,
    /// Ingress messages by id: `None` while being processed.
    ingress: BTreeMap<Vec<u8>, Option<Outcome>>,
    /// Ingress messages submitted or answered since the end of the last
    /// round, whose status the certified state updates.
    touched_ingress: Vec<Vec<u8>>,
    next_id: u64,
}

impl Messages {
    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn push(&mut self, message: Message) {
        self.queue.push_back(message);
    }

    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// The messages of one round: everything queued now. What they send
    /// waits for the next round.
    pub fn take_round(&mut self) -> Vec<Message> {
        self.queue.drain(..).collect()
    }

    /// Queues an ingress message and returns its id.
    pub fn submit_ingress(
        &mut self,
        receiver: Principal,
        sender: Principal,
        method: &str,
        arg: Vec<u8>,
    ) -> Vec<u8> {
        // A request id is a hash; a counter keeps equal messages apart.
        let nonce = self.fresh_id();
        let mut hasher = Sha256::new();
        hasher.update(nonce.to_be_bytes());
        hasher.update(receiver.as_slice());
        hasher.update(sender.as_slice());
        hasher.update(method.as_bytes());
        hasher.update(&arg);
        let message_id = hasher.finalize().to_vec();
        self.submit_ingress_with_id(message_id.clone(), None, receiver, sender, method, arg);
        message_id
    }

    /// Queues an ingress message whose id its sender computed (the request
    /// id of the IC's HTTP interface); the caller ensures it is new.
    pub fn submit_ingress_with_id(
        &mut self,
        message_id: Vec<u8>,
        effective_canister_id: Option<Principal>,
        receiver: Principal,
        sender: Principal,
        method: &str,
        arg: Vec<u8>,
    ) {
        self.ingress.insert(message_id.clone(), None);
        self.touched_ingress.push(message_id.clone());
        self.push(Message::Request(Request {
            sender,
            receiver,
            method: method.to_string(),
            arg,
            cycles: 0,
            origin: Origin::Ingress(message_id),
            deadline: 0,
            effective_canister_id,
        }));
    }

    /// The messages submitted or answered since the last call, with their
    /// status now.
    pub fn clear_touched_ingress(&mut self) {
        self.touched_ingress.clear();
    }

    pub fn take_touched_ingress(&mut self) -> Vec<(Vec<u8>, Option<Outcome>)> {
        let mut touched = std::mem::take(&mut self.touched_ingress);
        touched.sort_unstable();
        touched.dedup();
        touched
            .into_iter()
            .filter_map(|id| {
                let status = self.ingress.get(&id)?.clone();
                Some((id, status))
            })
            .collect()
    }

    /// `None` for an unknown message, `Some(None)` while it is processed.
    pub fn ingress_status(&self, message_id: &[u8]) -> Option<Option<&Outcome>> {
        self.ingress.get(message_id).map(Option::as_ref)
    }

    pub fn forget_ingress(&mut self, message_id: &[u8]) {
        self.ingress.remove(message_id);
    }

    pub fn new_call_context(&mut self, context: CallContext) -> CallContextId {
        let id = self.fresh_id();
        self.call_contexts.insert(id, context);
        id
    }

    pub fn new_callback(&mut self, callback: Callback) -> CallbackId {
        let id = self.fresh_id();
        self.callbacks.insert(id, callback);
        id
    }

    /// Sends the answer of a call context (or of a management call) to `origin`.
    pub fn respond(&mut self, origin: Origin, outcome: Outcome, refund: u128) {
        match origin {
            Origin::Ingress(message_id) => {
                // A message forgotten meanwhile (expired) stays forgotten.
                if let Some(slot) = self.ingress.get_mut(&message_id) {
                    *slot = Some(outcome);
                    self.touched_ingress.push(message_id);
                }
            }
            Origin::Canister { caller, callback } => self.push(Message::Response(Response {
                receiver: caller,
                callback,
                outcome,
                refund,
            })),
            Origin::SystemTask => {}
        }
    }

    /// Answers every best-effort call whose deadline has passed by `now`
    /// and whose answer is not on its way yet with the IC's timeout reject:
    /// SYS_UNKNOWN "Call deadline has expired." (the text of the replica's
    /// `CanisterInput::DeadlineExpired`). The reject refunds nothing: as on
    /// the IC, cycles attached to a call that timed out are lost, and so is
    /// the refund of its late answer, which is dropped (`take_late_answer`).
    pub fn time_out_calls(&mut self, now: u64) {
        let due: Vec<CallbackId> = self
            .callbacks
            .iter()
            .filter(|(id, callback)| {
                callback.deadline != 0 && callback.deadline <= now && !self.timed_out.contains(id)
            })
            .map(|(&id, _)| id)
            .collect();
        if due.is_empty() {
            return;
        }
        let answered: BTreeSet<CallbackId> = self
            .queue
            .iter()
            .filter_map(|message| match message {
                Message::Response(response) => Some(response.callback),
                Message::Request(_) => None,
            })
            .collect();
        for callback in due.into_iter().filter(|id| !answered.contains(id)) {
            let context = self.callbacks[&callback].call_context;
            let caller = self.call_contexts[&context].canister;
            self.timed_out.insert(callback);
            self.push(Message::Response(Response {
                receiver: caller,
                callback,
                outcome: Err(RejectResponse::deadline_expired()),
                refund: 0,
            }));
        }
    }

    /// Whether `response` is the real answer to a call that already timed
    /// out; it is forgotten then, since nothing waits for it anymore.
    pub fn take_late_answer(&mut self, response: &Response) -> bool {
        !self.callbacks.contains_key(&response.callback)
            && self.timed_out.remove(&response.callback)
    }

    /// Whether `canister` has call contexts that are not closed yet.
    pub fn has_open_call_contexts(&self, canister: Principal) -> bool {
        self.call_contexts.values().any(|c| c.canister == canister)
    }
}
