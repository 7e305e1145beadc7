//! The ICP economy, simulated on the real canisters. Every action is a real
//! canister call: users transfer ICP on the ledger; developers create app
//! canisters and top them up through the CMC, which burns the ICP — half of
//! them as dfx did (`notify_create_canister`, `notify_top_up`), half as
//! today's tools do (ICP → cycles on the cycles ledger with
//! `notify_mint_cycles`, then the cycles ledger's `create_canister` and
//! `withdraw`) — and the apps burn the cycles doing work; holders stake neurons, follow, vote on
//! proposals that change the ICP/XDR rate, upgrade the CMC or decide
//! motions, earn daily rewards as maturity and disburse it; some neurons
//! dissolve and are disbursed. The figures are read back from the canisters
//! ([`observe`]) and checked against each other ([`reconcile`]).

pub mod observe;
pub mod reconcile;
pub mod report;
mod rng;
pub mod sales;

use candid::{Encode, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError as Icrc1TransferError};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    CyclesCanisterInitPayload, MEMO_CREATE_CANISTER, MEMO_MINT_CYCLES, MEMO_TOP_UP,
    NotifyCreateCanisterArg, NotifyError, NotifyMintCyclesArg, NotifyMintCyclesResult,
    NotifyTopUpArg, UpdateIcpXdrConversionRatePayload,
};
use nns_api::cycles_ledger::{
    CreateCanisterArgs, CreateCanisterError, CreateCanisterSuccess, FEE as CYCLES_FEE,
    WithdrawArgs, WithdrawError,
};
use nns_api::governance::{
    By, ChangeAutoStakeMaturity, ClaimOrRefresh, ClaimOrRefreshNeuronFromAccount, Configure,
    Disburse, DisburseMaturity, ExecuteNnsFunction, FolloweesForTopic, GovernanceArg,
    GovernanceError, IncreaseDissolveDelay, InstallCodeRequest, MakeProposalRequest,
    ManageNeuronCommandRequest as Command, ManageNeuronCommandResponse as Reply,
    ManageNeuronRequest, ManageNeuronResponse, Motion, Neuron, NeuronId, NeuronIdOrSubaccount,
    Operation, ProposalActionRequest, ProposalId, RegisterVote, SetFollowing, SetVisibility,
    Visibility, Vote, nns_function, staking_subaccount,
};
use nns_api::ids::{
    CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
    LEDGER_CANISTER_ID,
};
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};
use nns_harness::env::{Backend, ErrorCode, TestEnv, query_candid_as, update_candid_as};
use nns_harness::{
    APP, install_cmc, install_cycles_ledger, install_governance_with, install_index,
    install_ledger, wasm_gz_path,
};
use observe::Snapshot;
use rng::Rng;
use std::time::Duration;

pub const E8S_PER_ICP: u64 = 100_000_000;
const FEE_E8S: u64 = 10_000;
const DAY_SECONDS: u64 = 24 * 60 * 60;
const YEAR_SECONDS: f64 = 365.25 * DAY_SECONDS as f64;
/// 2026-12-01 00:00 UTC: the simulated economy starts today.
const START_SECONDS: u64 = 1_796_083_200;
/// The ICP/XDR rate at the start, in 10^-4 XDR per ICP (3.5 XDR).
const START_RATE: u64 = 35_000;
/// What creating a canister costs on a 13-node subnet.
const CANISTER_CREATION_CYCLES: u128 = 500_000_000_000;
/// Catch-all following: every topic but neuron management, governance
/// (motions) and SNS & Neurons' Fund.
const TOPIC_ALL: i32 = 0;
const TOPIC_GOVERNANCE: i32 = 4;
const TOPIC_SNS_AND_NEURONS_FUND: i32 = 14;

/// The parameters of a run; the same scenario gives the same run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub days: u32,
    pub users: u32,
    pub seed: u64,
    /// Years since governance's genesis when the run starts. The voting
    /// reward rate falls from 10 % to 5 % a year over the first eight, so
    /// this sets the rate: 0 → 10 %, 4 → 6.25 %, 8 or more → 5 %.
    pub network_age_years: f64,
    /// Work calls each app canister gets on the first day.
    pub calls_per_app: u32,
    /// How much the work grows each day, in percent.
    pub usage_growth_percent: f64,
    /// A developer tops its app up when the cycles left would last fewer
    /// days than this at the last day's burn (and then buys twice as many).
    pub runway_days: u32,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            days: 30,
            users: 40,
            seed: 1,
            network_age_years: 5.6,
            calls_per_app: 200,
            usage_growth_percent: 3.0,
            runway_days: 5,
        }
    }
}

impl Scenario {
    pub fn validate(&self) -> Result<(), String> {
        if self.users < 6 {
            return Err(format!("at least 6 users are needed, not {}", self.users));
        }
        if self.users > 60_000 {
            return Err(format!("at most 60 000 users, not {}", self.users));
        }
        if self.days == 0 {
            return Err("at least one day".into());
        }
        if !(0.0..=100.0).contains(&self.network_age_years) {
            return Err("the network's age is between 0 and 100 years".into());
        }
        if !(-50.0..=100.0).contains(&self.usage_growth_percent) {
            return Err("usage growth is between -50 % and 100 % a day".into());
        }
        Ok(())
    }
}

/// A user who staked a neuron.
struct Holder {
    owner: Principal,
    neuron: u64,
    /// Locked a week and dissolving from the start: disbursed when dissolved.
    short: bool,
    /// Votes itself on motions instead of following the leader.
    independent: bool,
    auto_stake: bool,
    disbursed: bool,
}

/// A developer's application canister.
struct App {
    developer: Principal,
    canister: Principal,
    /// Paid through the cycles ledger (ICP → cycles there → the canister),
    /// as `icp cycles mint` and `icp deploy` do; else straight through the
    /// CMC, as dfx did.
    via_cycles_ledger: bool,
}

/// What the simulated users did, as counts: the workload, not the figures
/// the report is made of (those come from the canisters).
#[derive(Clone, Debug, Default)]
pub struct Activity {
    pub transfers: u64,
    pub transfers_refused_for_funds: u64,
    pub work_calls: u64,
    pub work_calls_refused_frozen: u64,
    pub top_ups: u64,
    /// ICP converted into cycles on the cycles ledger (`notify_mint_cycles`).
    pub cycles_mints: u64,
    pub proposals_made: u64,
    pub direct_votes: u64,
    pub maturity_disbursements: u64,
    pub neurons_disbursed: u64,
}

pub struct Economy {
    pub env: TestEnv,
    pub scenario: Scenario,
    rng: Rng,
    pub(crate) users: Vec<Principal>,
    leader: Principal,
    leader_neuron: u64,
    holders: Vec<Holder>,
    apps: Vec<App>,
    pub activity: Activity,
    /// The projects' decentralization sales, in the order proposed.
    pub sales: Vec<sales::ProjectSale>,
    pub sale_activity: sales::SaleActivity,
    /// (sale, buyer) of participations beyond what a sale took.
    sales_over_maximum: Vec<(Principal, Principal)>,
    /// The state when the canisters were installed, before anyone acted.
    pub start: Snapshot,
}

fn user(n: u32) -> Principal {
    let b = n.to_be_bytes();
    Principal::from_slice(&[0xec, b[1], b[2], b[3], 0x01])
}

fn icp(e8s: u64) -> Nat {
    Nat::from(e8s)
}

impl Economy {
    /// The NNS on `backend`, wired as on mainnet (governance mints and
    /// controls the ledger and the CMC), with the scenario's users, their
    /// neurons and their app canisters.
    pub fn boot(backend: Backend, scenario: Scenario) -> Result<Self, String> {
        scenario.validate()?;
        let mut rng = Rng::new(scenario.seed);
        let mut env = TestEnv::new(backend);
        env.set_time(nns_harness::env::Time::from_nanos_since_unix_epoch(
            START_SECONDS * 1_000_000_000,
        ));
        let users: Vec<Principal> = (0..scenario.users).map(user).collect();
        let leader = users[0];
        let balances: Vec<(Principal, u64)> = users
            .iter()
            .enumerate()
            .map(|(i, &u)| {
                let icp = if i == 0 {
                    200_000
                } else {
                    rng.between(1_000, 20_000)
                };
                (u, icp * E8S_PER_ICP)
            })
            .collect();
        install_ledger(&mut env, balances.iter().copied());
        // Wallets read histories from the index, which follows the ledger.
        install_index(&mut env, LEDGER_CANISTER_ID, None);
        let age_seconds = (scenario.network_age_years * YEAR_SECONDS) as u64;
        install_governance_with(
            &mut env,
            GovernanceArg {
                genesis_timestamp_seconds: Some(START_SECONDS.saturating_sub(age_seconds)),
                ..Default::default()
            },
        );
        install_cmc(&mut env, START_RATE, None);
        install_cycles_ledger(&mut env, []);
        env.charge_application_canisters();
        let start = Snapshot::take(&mut env, &[]);

        let mut economy = Self {
            env,
            scenario,
            rng,
            users,
            leader,
            leader_neuron: 0,
            holders: vec![],
            apps: vec![],
            activity: Activity::default(),
            sales: vec![],
            sale_activity: sales::SaleActivity::default(),
            sales_over_maximum: vec![],
            start,
        };
        economy.leader_neuron = economy.stake(leader, 150_000 * E8S_PER_ICP, 2 * 365)?;
        // Public, as a neuron others follow must be.
        let public = SetVisibility {
            visibility: Some(Visibility::Public as i32),
        };
        let leader_neuron = economy.leader_neuron;
        economy.configure(leader, leader_neuron, Operation::SetVisibility(public))?;
        let developers = (economy.scenario.users / 5).max(1) as usize;
        for (i, &(owner, balance)) in balances.iter().enumerate().skip(1 + developers) {
            let h = i as u64;
            let short = h % 8 == 7;
            let (percent, days) = if short {
                (economy.rng.between(10, 30), 0)
            } else {
                (
                    economy.rng.between(20, 60),
                    economy.rng.between(183, 2 * 365),
                )
            };
            let neuron = economy.stake(owner, balance / 100 * percent, days)?;
            let independent = h % 4 == 3;
            let auto_stake = h % 3 == 1;
            if short {
                economy.configure(owner, neuron, Operation::StartDissolving {})?;
            } else if !independent {
                // Catch-all following does not reach motions (nor SNS &
                // Neurons' Fund proposals): those are followed explicitly,
                // in one `SetFollowing`, as the NNS dapp does.
                let leader = NeuronId {
                    id: economy.leader_neuron,
                };
                let topic_following = [TOPIC_ALL, TOPIC_GOVERNANCE, TOPIC_SNS_AND_NEURONS_FUND]
                    .into_iter()
                    .map(|topic| FolloweesForTopic {
                        topic: Some(topic),
                        followees: Some(vec![leader]),
                    })
                    .collect();
                economy.command(
                    owner,
                    neuron,
                    Command::SetFollowing(SetFollowing {
                        topic_following: Some(topic_following),
                    }),
                )?;
            }
            // Some holders lend their maturity to the Neurons' Fund.
            if !short && h.is_multiple_of(5) {
                economy.configure(owner, neuron, Operation::JoinCommunityFund {})?;
            }
            if auto_stake {
                let setting = ChangeAutoStakeMaturity {
                    requested_setting_for_auto_stake_maturity: true,
                };
                economy.configure(owner, neuron, Operation::ChangeAutoStakeMaturity(setting))?;
            }
            economy.holders.push(Holder {
                owner,
                neuron,
                short,
                independent,
                auto_stake,
                disbursed: false,
            });
        }
        economy.add_sale_modules()?;
        for d in 1..=developers {
            let developer = economy.users[d];
            let via_cycles_ledger = d % 2 == 0;
            let canister = economy.create_app(developer, via_cycles_ledger)?;
            economy.apps.push(App {
                developer,
                canister,
                via_cycles_ledger,
            });
        }
        Ok(economy)
    }

    pub fn app_canisters(&self) -> Vec<Principal> {
        self.apps.iter().map(|a| a.canister).collect()
    }

    /// The accounts of every neuron, as governance reports them.
    pub fn neurons(&mut self) -> Result<Vec<Neuron>, String> {
        let owners: Vec<(Principal, u64)> = std::iter::once((self.leader, self.leader_neuron))
            .chain(self.holders.iter().map(|h| (h.owner, h.neuron)))
            .collect();
        owners
            .into_iter()
            .map(|(owner, id)| self.full_neuron(owner, id))
            .collect()
    }

    pub fn snapshot(&mut self) -> Snapshot {
        let apps = self.app_canisters();
        Snapshot::take(&mut self.env, &apps)
    }

    /// One simulated day: the users act, then a day passes on the timers.
    pub fn run_day(&mut self, day: u32) -> Result<Snapshot, String> {
        self.transfers()?;
        self.propose_and_vote(day)?;
        self.sales_day(day)?;
        self.work_and_top_up(day)?;
        self.neuron_upkeep(day)?;
        // A day in four steps, so timers (deciding and executing proposals,
        // rewards, maturity) run as they come due.
        for _ in 0..4 {
            self.env.advance_time(Duration::from_secs(DAY_SECONDS / 4));
            self.env.tick();
            self.env.tick();
        }
        Ok(self.snapshot())
    }

    // ----- users ---------------------------------------------------------

    fn transfers(&mut self) -> Result<(), String> {
        let n = self.users.len() as u64;
        for _ in 0..n * 2 {
            let from = self.users[self.rng.between(0, n - 1) as usize];
            let to = self.users[self.rng.between(0, n - 1) as usize];
            if from == to {
                continue;
            }
            let amount = self.rng.between(1, 50 * E8S_PER_ICP);
            let arg = TransferArg {
                from_subaccount: None,
                to: Account::from(to),
                fee: None,
                created_at_time: None,
                memo: None,
                amount: icp(amount),
            };
            let (result,): (Result<Nat, Icrc1TransferError>,) = update_candid_as(
                &mut self.env,
                LEDGER_CANISTER_ID,
                from,
                "icrc1_transfer",
                (arg,),
            )
            .map_err(|e| format!("icrc1_transfer: {e}"))?;
            match result {
                Ok(_) => self.activity.transfers += 1,
                Err(Icrc1TransferError::InsufficientFunds { .. }) => {
                    self.activity.transfers_refused_for_funds += 1
                }
                Err(e) => return Err(format!("icrc1_transfer refused: {e:?}")),
            }
        }
        Ok(())
    }

    /// A legacy ICP transfer, as dfx makes them to pay the CMC.
    fn legacy_transfer(
        &mut self,
        from: Principal,
        to: AccountIdentifier,
        e8s: u64,
        memo: u64,
    ) -> Result<u64, String> {
        // Two identical legacy transfers at one ledger time are duplicates.
        self.env.advance_time(Duration::from_nanos(1));
        let args = TransferArgs {
            memo: Memo(memo),
            amount: Tokens::from_e8s(e8s),
            fee: Tokens::from_e8s(FEE_E8S),
            from_subaccount: None,
            to,
            created_at_time: None,
        };
        let (result,): (Result<u64, TransferError>,) =
            update_candid_as(&mut self.env, LEDGER_CANISTER_ID, from, "transfer", (args,))
                .map_err(|e| format!("transfer: {e}"))?;
        result.map_err(|e| format!("transfer refused: {e:?}"))
    }

    // ----- developers ----------------------------------------------------

    fn cmc_account(beneficiary: &Principal) -> AccountIdentifier {
        AccountIdentifier::new(
            &CYCLES_MINTING_CANISTER_ID,
            Some(&principal_to_subaccount(beneficiary)),
        )
    }

    /// Enough ICP, at the CMC's current rate, for `cycles` (at least 0.01 ICP).
    fn e8s_for_cycles(&mut self, cycles: u128) -> u64 {
        let rate = self.snapshot_rate();
        // cycles = e8s × rate (10^12 cycles per XDR, 10^8 e8s, 10^4 permyriad).
        let e8s = cycles.div_ceil(u128::from(rate));
        u64::try_from(e8s)
            .unwrap_or(u64::MAX)
            .max(E8S_PER_ICP / 100)
    }

    fn snapshot_rate(&mut self) -> u64 {
        let (rate,): (nns_api::cmc::IcpXdrConversionRateResponse,) =
            nns_harness::env::query_candid(
                &mut self.env,
                CYCLES_MINTING_CANISTER_ID,
                "get_icp_xdr_conversion_rate",
                (),
            )
            .expect("the CMC answers");
        rate.data.xdr_permyriad_per_icp
    }

    /// ICP → `cycles` (and the fees) on the developer's cycles ledger
    /// account, through the CMC's `notify_mint_cycles`.
    fn mint_cycles(&mut self, developer: Principal, cycles: u128) -> Result<(), String> {
        // The deposit's fee and the spending operation's.
        let e8s = self.e8s_for_cycles(cycles + 2 * CYCLES_FEE);
        let block = self.legacy_transfer(
            developer,
            Self::cmc_account(&developer),
            e8s,
            MEMO_MINT_CYCLES,
        )?;
        let arg = NotifyMintCyclesArg {
            block_index: block,
            to_subaccount: None,
            deposit_memo: None,
        };
        let (minted,): (NotifyMintCyclesResult,) = update_candid_as(
            &mut self.env,
            CYCLES_MINTING_CANISTER_ID,
            developer,
            "notify_mint_cycles",
            (arg,),
        )
        .map_err(|e| format!("notify_mint_cycles: {e}"))?;
        minted.map_err(|e| format!("notify_mint_cycles refused: {e:?}"))?;
        self.activity.cycles_mints += 1;
        Ok(())
    }

    /// ICP → a new canister through the CMC (directly, or through the
    /// cycles ledger), with the app installed on it.
    fn create_app(
        &mut self,
        developer: Principal,
        via_cycles_ledger: bool,
    ) -> Result<Principal, String> {
        // The creation fee and a few days of work: the developer tops up
        // as the work goes on.
        let cycles = CANISTER_CREATION_CYCLES + 20_000_000_000;
        if via_cycles_ledger {
            self.mint_cycles(developer, cycles)?;
            let args = CreateCanisterArgs {
                from_subaccount: None,
                created_at_time: None,
                amount: Nat::from(cycles),
                creation_args: None,
            };
            let (created,): (Result<CreateCanisterSuccess, CreateCanisterError>,) =
                update_candid_as(
                    &mut self.env,
                    CYCLES_LEDGER_CANISTER_ID,
                    developer,
                    "create_canister",
                    (args,),
                )
                .map_err(|e| format!("create_canister: {e}"))?;
            let created = created.map_err(|e| format!("create_canister refused: {e:?}"))?;
            return self.install_app(created.canister_id, developer);
        }
        let e8s = self.e8s_for_cycles(cycles);
        let block = self.legacy_transfer(
            developer,
            Self::cmc_account(&developer),
            e8s,
            MEMO_CREATE_CANISTER,
        )?;
        let arg = NotifyCreateCanisterArg {
            block_index: block,
            controller: developer,
            subnet_type: None,
            subnet_selection: None,
            settings: None,
        };
        let (created,): (Result<Principal, NotifyError>,) = update_candid_as(
            &mut self.env,
            CYCLES_MINTING_CANISTER_ID,
            developer,
            "notify_create_canister",
            (arg,),
        )
        .map_err(|e| format!("notify_create_canister: {e}"))?;
        let canister = created.map_err(|e| format!("notify_create_canister refused: {e:?}"))?;
        self.install_app(canister, developer)
    }

    fn install_app(
        &mut self,
        canister: Principal,
        developer: Principal,
    ) -> Result<Principal, String> {
        let wasm = std::fs::read(wasm_gz_path(APP)).map_err(|e| format!("{APP}.wasm.gz: {e}"))?;
        self.env
            .install_canister(canister, wasm, Encode!().unwrap(), Some(developer));
        Ok(canister)
    }

    /// `cycles` from the developer's cycles ledger account to the canister.
    fn withdraw(
        &mut self,
        developer: Principal,
        canister: Principal,
        cycles: u128,
    ) -> Result<(), String> {
        let args = WithdrawArgs {
            amount: Nat::from(cycles),
            from_subaccount: None,
            to: canister,
            created_at_time: None,
        };
        let (withdrawn,): (Result<Nat, WithdrawError>,) = update_candid_as(
            &mut self.env,
            CYCLES_LEDGER_CANISTER_ID,
            developer,
            "withdraw",
            (args,),
        )
        .map_err(|e| format!("withdraw: {e}"))?;
        withdrawn.map_err(|e| format!("withdraw refused: {e:?}"))?;
        Ok(())
    }

    fn work_and_top_up(&mut self, day: u32) -> Result<(), String> {
        let growth = (1.0 + self.scenario.usage_growth_percent / 100.0).powi(day as i32 - 1);
        let calls = (f64::from(self.scenario.calls_per_app) * growth).round() as u64;
        for i in 0..self.apps.len() {
            let (developer, canister) = (self.apps[i].developer, self.apps[i].canister);
            let via_cycles_ledger = self.apps[i].via_cycles_ledger;
            let before = self.env.cycle_balance(canister);
            for _ in 0..calls {
                let rounds = self.rng.between(500, 1_000) as u32;
                let result: Result<(candid::Reserved,), _> =
                    update_candid_as(&mut self.env, canister, developer, "work", (rounds,));
                match result {
                    Ok(_) => self.activity.work_calls += 1,
                    Err(e) if e.error_code == ErrorCode::CanisterOutOfCycles => {
                        self.activity.work_calls_refused_frozen += 1;
                        break;
                    }
                    Err(e) => return Err(format!("work on {canister}: {e}")),
                }
            }
            // Keep a runway: top up when the cycles left would last fewer
            // days than the scenario's, at today's burn.
            let burned_today = before.saturating_sub(self.env.cycle_balance(canister));
            let runway = u128::from(self.scenario.runway_days) * burned_today;
            if self.env.cycle_balance(canister) < runway && via_cycles_ledger {
                self.mint_cycles(developer, 2 * runway)?;
                self.withdraw(developer, canister, 2 * runway)?;
                self.activity.top_ups += 1;
            } else if self.env.cycle_balance(canister) < runway {
                let e8s = self.e8s_for_cycles(2 * runway);
                let block = self.legacy_transfer(
                    developer,
                    Self::cmc_account(&canister),
                    e8s,
                    MEMO_TOP_UP,
                )?;
                let arg = NotifyTopUpArg {
                    block_index: block,
                    canister_id: canister,
                };
                let (result,): (Result<Nat, NotifyError>,) = update_candid_as(
                    &mut self.env,
                    CYCLES_MINTING_CANISTER_ID,
                    developer,
                    "notify_top_up",
                    (arg,),
                )
                .map_err(|e| format!("notify_top_up: {e}"))?;
                result.map_err(|e| format!("notify_top_up refused: {e:?}"))?;
                self.activity.top_ups += 1;
            }
        }
        Ok(())
    }

    // ----- holders -------------------------------------------------------

    fn manage(&mut self, caller: Principal, request: ManageNeuronRequest) -> Result<Reply, String> {
        let (response,): (ManageNeuronResponse,) = update_candid_as(
            &mut self.env,
            GOVERNANCE_CANISTER_ID,
            caller,
            "manage_neuron",
            (request,),
        )
        .map_err(|e| format!("manage_neuron: {e}"))?;
        match response.command {
            Some(Reply::Error(e)) => Err(format!("manage_neuron refused: {}", e.error_message)),
            Some(reply) => Ok(reply),
            None => Err("manage_neuron answered no command".into()),
        }
    }

    fn command(
        &mut self,
        caller: Principal,
        neuron: u64,
        command: Command,
    ) -> Result<Reply, String> {
        self.manage(
            caller,
            ManageNeuronRequest {
                neuron_id_or_subaccount: Some(NeuronIdOrSubaccount::NeuronId(NeuronId {
                    id: neuron,
                })),
                command: Some(command),
                id: None,
            },
        )
    }

    fn configure(
        &mut self,
        caller: Principal,
        neuron: u64,
        operation: Operation,
    ) -> Result<(), String> {
        self.command(
            caller,
            neuron,
            Command::Configure(Configure {
                operation: Some(operation),
            }),
        )
        .map(|_| ())
    }

    /// Stakes `e8s` in a new neuron of `owner`, locked `days` more than the
    /// week a new neuron starts with.
    fn stake(&mut self, owner: Principal, e8s: u64, days: u64) -> Result<u64, String> {
        let to = Account {
            owner: GOVERNANCE_CANISTER_ID,
            subaccount: Some(staking_subaccount(&owner, 0)),
        };
        let arg = TransferArg {
            from_subaccount: None,
            to,
            fee: None,
            created_at_time: None,
            memo: None,
            amount: icp(e8s),
        };
        let (result,): (Result<Nat, Icrc1TransferError>,) = update_candid_as(
            &mut self.env,
            LEDGER_CANISTER_ID,
            owner,
            "icrc1_transfer",
            (arg,),
        )
        .map_err(|e| format!("icrc1_transfer: {e}"))?;
        result.map_err(|e| format!("staking transfer refused: {e:?}"))?;
        let claim = ManageNeuronRequest {
            neuron_id_or_subaccount: None,
            command: Some(Command::ClaimOrRefresh(ClaimOrRefresh {
                by: Some(By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
                    controller: Some(owner),
                    memo: 0,
                })),
            })),
            id: None,
        };
        let Reply::ClaimOrRefresh(claimed) = self.claim(owner, claim)? else {
            return Err("a claim answered another command".into());
        };
        let neuron = claimed
            .refreshed_neuron_id
            .ok_or("a claim names its neuron")?
            .id;
        if days > 0 {
            let delay = IncreaseDissolveDelay {
                additional_dissolve_delay_seconds: (days * DAY_SECONDS) as u32,
            };
            self.configure(owner, neuron, Operation::IncreaseDissolveDelay(delay))?;
        }
        Ok(neuron)
    }

    /// A claim; when governance's allowance for new neurons is used up (more
    /// than 300 at once), time passes until it is full again.
    fn claim(&mut self, owner: Principal, claim: ManageNeuronRequest) -> Result<Reply, String> {
        use nns_harness::nns::{NEURON_CREATION_SPIKE, SECONDS_PER_NEW_NEURON};
        loop {
            let (response,): (ManageNeuronResponse,) = update_candid_as(
                &mut self.env,
                GOVERNANCE_CANISTER_ID,
                owner,
                "manage_neuron",
                (claim.clone(),),
            )
            .map_err(|e| format!("manage_neuron: {e}"))?;
            match response.command {
                Some(Reply::Error(e))
                    if e.error_type == nns_api::governance::ErrorType::Unavailable as i32 =>
                {
                    self.env.advance_time(Duration::from_secs(
                        NEURON_CREATION_SPIKE * SECONDS_PER_NEW_NEURON,
                    ));
                    self.env.tick();
                }
                Some(Reply::Error(e)) => {
                    return Err(format!("manage_neuron refused: {}", e.error_message));
                }
                Some(reply) => return Ok(reply),
                None => return Err("manage_neuron answered no command".into()),
            }
        }
    }

    fn full_neuron(&mut self, owner: Principal, id: u64) -> Result<Neuron, String> {
        let (neuron,): (Result<Neuron, GovernanceError>,) = query_candid_as(
            &mut self.env,
            GOVERNANCE_CANISTER_ID,
            owner,
            "get_full_neuron",
            (id,),
        )
        .map_err(|e| format!("get_full_neuron: {e}"))?;
        neuron.map_err(|e| format!("get_full_neuron refused: {}", e.error_message))
    }

    fn propose(
        &mut self,
        proposer: (Principal, u64),
        action: ProposalActionRequest,
        title: &str,
    ) -> Result<u64, String> {
        let request = MakeProposalRequest {
            url: "https://forum.example/economy".into(),
            title: Some(title.into()),
            action: Some(action),
            summary: format!("{title}, proposed in the simulated economy."),
        };
        let Reply::MakeProposal(made) = self.command(
            proposer.0,
            proposer.1,
            Command::MakeProposal(Box::new(request)),
        )?
        else {
            return Err("a proposal answered another command".into());
        };
        self.activity.proposals_made += 1;
        Ok(made.proposal_id.ok_or("a proposal has an id")?.id)
    }

    fn vote(&mut self, voter: (Principal, u64), proposal: u64, vote: Vote) -> Result<(), String> {
        self.command(
            voter.0,
            voter.1,
            Command::RegisterVote(RegisterVote {
                vote: vote as i32,
                proposal: Some(ProposalId { id: proposal }),
            }),
        )
        .map(|_| ())
    }

    /// Every third day the leader proposes a new ICP/XDR rate (a random walk
    /// of up to ±8 %); every fourth, a holder proposes a motion that the
    /// leader, and so its followers, back or oppose; halfway through, the
    /// leader proposes upgrading the CMC.
    fn propose_and_vote(&mut self, day: u32) -> Result<(), String> {
        let leader = (self.leader, self.leader_neuron);
        if day % 3 == 1 {
            let rate = self.snapshot_rate();
            let change = self.rng.between(0, 16) as i64 - 8;
            let rate = (rate as i64 * (100 + change) / 100).max(1) as u64;
            let payload = UpdateIcpXdrConversionRatePayload {
                data_source: "simulation".into(),
                timestamp_seconds: self.env.get_time().as_nanos_since_unix_epoch() / 1_000_000_000,
                xdr_permyriad_per_icp: rate,
                reason: None,
            };
            let action = ProposalActionRequest::ExecuteNnsFunction(ExecuteNnsFunction {
                nns_function: nns_function::ICP_XDR_CONVERSION_RATE,
                payload: Encode!(&payload).unwrap().into(),
            });
            self.propose(leader, action, "Set the ICP/XDR rate")?;
        }
        if day % 4 == 2 {
            let voters: Vec<usize> = (0..self.holders.len())
                .filter(|&i| !self.holders[i].short)
                .collect();
            if !voters.is_empty() {
                let h =
                    &self.holders[voters[self.rng.between(0, voters.len() as u64 - 1) as usize]];
                let proposer = (h.owner, h.neuron);
                let action = ProposalActionRequest::Motion(Motion {
                    motion_text: format!("Motion of day {day}"),
                });
                let id = self.propose(proposer, action, "A motion")?;
                let vote = if self.rng.chance(60) {
                    Vote::Yes
                } else {
                    Vote::No
                };
                if proposer != leader {
                    self.vote(leader, id, vote)?;
                }
                self.independents_vote(id);
            }
        }
        if day == self.scenario.days.div_ceil(2) {
            let wasm =
                std::fs::read(wasm_gz_path("cmc")).map_err(|e| format!("cmc.wasm.gz: {e}"))?;
            let action = ProposalActionRequest::InstallCode(InstallCodeRequest {
                canister_id: Some(CYCLES_MINTING_CANISTER_ID),
                install_mode: Some(3),
                wasm_module: Some(wasm.into()),
                arg: Some(Encode!(&None::<CyclesCanisterInitPayload>).unwrap().into()),
                skip_stopping_before_installing: None,
            });
            self.propose(leader, action, "Upgrade the cycles-minting canister")?;
        }
        Ok(())
    }

    /// About half the independent holders vote on `motion`, each its own way.
    fn independents_vote(&mut self, motion: u64) {
        for i in 0..self.holders.len() {
            let h = &self.holders[i];
            if !h.independent || h.short || self.rng.chance(50) {
                continue;
            }
            let voter = (h.owner, h.neuron);
            let vote = if self.rng.chance(50) {
                Vote::Yes
            } else {
                Vote::No
            };
            // The proposer has voted already, and a decided motion takes no
            // more votes: those are refused, as they should be.
            if self.vote(voter, motion, vote).is_ok() {
                self.activity.direct_votes += 1;
            }
        }
    }

    /// Holders without auto-stake disburse their maturity once a week (it is
    /// minted a week later); dissolved neurons are disbursed.
    fn neuron_upkeep(&mut self, day: u32) -> Result<(), String> {
        let now = self.env.get_time().as_nanos_since_unix_epoch() / 1_000_000_000;
        for i in 0..self.holders.len() {
            let (owner, id) = (self.holders[i].owner, self.holders[i].neuron);
            if self.holders[i].disbursed {
                continue;
            }
            let neuron = self.full_neuron(owner, id)?;
            let dissolved = matches!(
                neuron.dissolve_state,
                Some(nns_api::governance::DissolveState::WhenDissolvedTimestampSeconds(t)) if t <= now
            );
            if self.holders[i].short && dissolved {
                self.command(
                    owner,
                    id,
                    Command::Disburse(Disburse {
                        to_account: None,
                        amount: None,
                    }),
                )?;
                self.holders[i].disbursed = true;
                self.activity.neurons_disbursed += 1;
                continue;
            }
            let weekly = (day as usize + i).is_multiple_of(7);
            if weekly
                && !self.holders[i].auto_stake
                && neuron.maturity_e8s_equivalent >= E8S_PER_ICP
            {
                self.command(
                    owner,
                    id,
                    Command::DisburseMaturity(DisburseMaturity {
                        percentage_to_disburse: 100,
                        to_account: None,
                        to_account_identifier: None,
                    }),
                )?;
                self.activity.maturity_disbursements += 1;
            }
        }
        Ok(())
    }
}
