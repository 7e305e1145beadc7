//! The NNS canisters together on a test backend, with helpers for what
//! users of governance do: stake, claim, manage neurons, read balances.

use crate::env::{Backend, TestEnv, query_candid, query_candid_as, update_candid_as};
use crate::{install_governance, install_ledger};
use candid::{Nat, Principal};
use nns_api::AccountIdentifier;
use nns_api::governance::{
    By, ClaimOrRefresh, ClaimOrRefreshNeuronFromAccount, Configure, Disburse, GovernanceError,
    IncreaseDissolveDelay, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, ManageNeuronRequest, ManageNeuronResponse, Neuron,
    NeuronId, NeuronIdOrSubaccount, NeuronInfo, Operation, SetVisibility, Visibility,
    staking_subaccount,
};
use nns_api::ids::{GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{AccountBalanceArgs, Memo, Tokens, TransferArgs, TransferError};
use std::time::Duration;

pub const FEE: u64 = 10_000;
pub const ICP: u64 = 100_000_000;
pub const ONE_YEAR: u64 = 31_557_600;
pub const ONE_WEEK: u64 = 7 * 24 * 60 * 60;
/// Governance's allowance for new neurons (claims and splits): this many
/// at once (`MAX_NEURON_CREATION_SPIKE`)…
pub const NEURON_CREATION_SPIKE: u64 = 300;
/// …then one more every this many seconds
/// (`MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE`).
pub const SECONDS_PER_NEW_NEURON: u64 = 240;

pub fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0x9e, 1])
}

/// The ledger and governance (and, if asked, the CMC) at their NNS ids,
/// with the helpers that stake, claim and manage neurons.
pub struct NnsEnv {
    pub pic: TestEnv,
}

impl NnsEnv {
    /// The runtime underneath, for its instruction counters.
    pub fn into_runtime(self) -> ic_runtime::PocketIc {
        self.pic.into_runtime()
    }

    /// Users 1 to 4 hold 1 000 ICP each.
    pub fn new(backend: Backend) -> Self {
        let mut pic = TestEnv::new(backend);
        install_ledger(&mut pic, (1..=4).map(|n| (user(n), 1_000 * ICP)));
        install_governance(&mut pic, None);
        Self { pic }
    }
}

pub fn neuron_account(controller: Principal, memo: u64) -> AccountIdentifier {
    AccountIdentifier::new(
        &GOVERNANCE_CANISTER_ID,
        Some(&staking_subaccount(&controller, memo)),
    )
}

pub fn request(id: Option<u64>, command: Command) -> ManageNeuronRequest {
    ManageNeuronRequest {
        neuron_id_or_subaccount: id.map(|id| NeuronIdOrSubaccount::NeuronId(NeuronId { id })),
        command: Some(command),
        id: None,
    }
}

pub fn configure(operation: Operation) -> Command {
    Command::Configure(Configure {
        operation: Some(operation),
    })
}

pub fn disburse_all() -> Command {
    Command::Disburse(Disburse {
        to_account: None,
        amount: None,
    })
}

impl NnsEnv {
    pub fn transfer(&mut self, from: Principal, to: AccountIdentifier, e8s: u64) -> u64 {
        self.transfer_with_memo(from, to, e8s, 0)
    }

    /// A legacy transfer paying the fee; returns its block index.
    pub fn transfer_with_memo(
        &mut self,
        from: Principal,
        to: AccountIdentifier,
        e8s: u64,
        memo: u64,
    ) -> u64 {
        // Identical legacy transfers at one ledger time are duplicates.
        self.pic.advance_time(Duration::from_nanos(1));
        let args = TransferArgs {
            memo: Memo(memo),
            amount: Tokens::from_e8s(e8s),
            fee: Tokens::from_e8s(FEE),
            from_subaccount: None,
            to,
            created_at_time: None,
        };
        let (r,): (Result<u64, TransferError>,) =
            update_candid_as(&mut self.pic, LEDGER_CANISTER_ID, from, "transfer", (args,)).unwrap();
        r.unwrap()
    }

    pub fn stake(&mut self, controller: Principal, memo: u64, e8s: u64) {
        self.transfer(controller, neuron_account(controller, memo), e8s);
    }

    pub fn balance(&mut self, account: AccountIdentifier) -> u64 {
        let (tokens,): (Tokens,) = query_candid(
            &mut self.pic,
            LEDGER_CANISTER_ID,
            "account_balance",
            (AccountBalanceArgs { account },),
        )
        .unwrap();
        tokens.e8s
    }

    pub fn total_supply(&mut self) -> u64 {
        let (supply,): (Nat,) =
            query_candid(&mut self.pic, LEDGER_CANISTER_ID, "icrc1_total_supply", ()).unwrap();
        u64::try_from(supply.0).unwrap()
    }

    pub fn manage_as(
        &mut self,
        caller: Principal,
        request: ManageNeuronRequest,
    ) -> Result<Reply, GovernanceError> {
        let (response,): (ManageNeuronResponse,) = update_candid_as(
            &mut self.pic,
            GOVERNANCE_CANISTER_ID,
            caller,
            "manage_neuron",
            (request,),
        )
        .unwrap();
        match response.command.expect("a reply names its command") {
            Reply::Error(e) => Err(e),
            reply => Ok(reply),
        }
    }

    pub fn manage(
        &mut self,
        caller: Principal,
        id: u64,
        command: Command,
    ) -> Result<Reply, GovernanceError> {
        self.manage_as(caller, request(Some(id), command))
    }

    pub fn claim(&mut self, controller: Principal, memo: u64) -> Result<u64, GovernanceError> {
        let by = By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
            controller: Some(controller),
            memo,
        });
        match self.manage_as(
            controller,
            request(
                None,
                Command::ClaimOrRefresh(ClaimOrRefresh { by: Some(by) }),
            ),
        )? {
            Reply::ClaimOrRefresh(r) => Ok(r.refreshed_neuron_id.unwrap().id),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    pub fn full_neuron(&mut self, caller: Principal, id: u64) -> Result<Neuron, GovernanceError> {
        let (r,): (Result<Neuron, GovernanceError>,) = query_candid_as(
            &mut self.pic,
            GOVERNANCE_CANISTER_ID,
            caller,
            "get_full_neuron",
            (id,),
        )
        .unwrap();
        r
    }

    /// The full neuron, read as whichever test user controls it.
    pub fn neuron(&mut self, id: u64) -> Neuron {
        (1..=9)
            .find_map(|n| self.full_neuron(user(n), id).ok())
            .expect("the neuron exists and a test user controls it")
    }

    pub fn neuron_info(&mut self, id: u64) -> NeuronInfo {
        let (r,): (Result<NeuronInfo, GovernanceError>,) = query_candid(
            &mut self.pic,
            GOVERNANCE_CANISTER_ID,
            "get_neuron_info",
            (id,),
        )
        .unwrap();
        r.unwrap()
    }

    pub fn now_seconds(&self) -> u64 {
        self.pic.get_time().as_nanos_since_unix_epoch() / 1_000_000_000
    }

    pub fn stake_of_account(&mut self, neuron: &Neuron) -> u64 {
        let subaccount: [u8; 32] = neuron.account.as_slice().try_into().unwrap();
        self.balance(AccountIdentifier::new(
            &GOVERNANCE_CANISTER_ID,
            Some(&subaccount),
        ))
    }

    /// A neuron of `controller` holding `e8s`, dissolved and ready to disburse.
    /// Makes neuron `id` public, so that neurons of others may follow it.
    pub fn make_public(&mut self, controller: Principal, id: u64) {
        let public = SetVisibility {
            visibility: Some(Visibility::Public as i32),
        };
        self.manage(controller, id, configure(Operation::SetVisibility(public)))
            .unwrap();
    }

    /// A neuron staked with `e8s`, not dissolving, its delay raised by a
    /// year: eligible to vote and propose; public, so that others may
    /// follow it.
    pub fn locked_neuron(&mut self, controller: Principal, memo: u64, e8s: u64) -> u64 {
        self.stake(controller, memo, e8s);
        let id = self.claim(controller, memo).unwrap();
        let delay = IncreaseDissolveDelay {
            additional_dissolve_delay_seconds: ONE_YEAR as u32,
        };
        self.manage(
            controller,
            id,
            configure(Operation::IncreaseDissolveDelay(delay)),
        )
        .unwrap();
        self.make_public(controller, id);
        id
    }

    pub fn dissolved_neuron(&mut self, controller: Principal, memo: u64, e8s: u64) -> u64 {
        self.stake(controller, memo, e8s);
        let id = self.claim(controller, memo).unwrap();
        self.manage(controller, id, configure(Operation::StartDissolving {}))
            .unwrap();
        self.pic.advance_time(Duration::from_secs(ONE_WEEK));
        id
    }
}

pub fn error_type(result: Result<Reply, GovernanceError>) -> i32 {
    result.expect_err("the command is refused").error_type
}
