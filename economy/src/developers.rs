//! The demand side: developers create app canisters and keep them in
//! cycles, bought with ICP through the CMC — half as dfx did
//! (`notify_create_canister`, `notify_top_up`), half as today's tools do
//! (ICP → cycles on the cycles ledger with `notify_mint_cycles`, then
//! `create_canister` and `withdraw`) — and the apps serve their users:
//! mail (many small updates, each kept), social (few updates, bursts, and
//! queries, which cost nothing) and an NFT marketplace (sales paid in ICP on
//! the ledger). Each app's executed work stands for its share of the
//! network's computation: the cycles beyond what it executes are burned
//! with `ic0.cycles_burn128` (the demand multiple, stated in the report).

use crate::{CANISTER_CREATION_CYCLES, E8S_PER_ICP, Economy, FEE_E8S, icp};
use candid::{Encode, Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError as Icrc1TransferError};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    MEMO_CREATE_CANISTER, MEMO_MINT_CYCLES, MEMO_TOP_UP, NotifyCreateCanisterArg, NotifyError,
    NotifyMintCyclesArg, NotifyMintCyclesResult, NotifyTopUpArg,
};
use nns_api::cycles_ledger::{
    CreateCanisterArgs, CreateCanisterError, CreateCanisterSuccess, FEE as CYCLES_FEE,
    WithdrawArgs, WithdrawError,
};
use nns_api::ids::{CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, LEDGER_CANISTER_ID};
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};
use nns_harness::env::{ErrorCode, query_candid, update_candid_as};
use nns_harness::{APP, wasm_gz_path};
use std::time::Duration;

/// Rounds a client waits for the CMC to run again after an upgrade.
const ROUNDS_WAITING_FOR_THE_CMC: usize = 100;

/// What an app does for its users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    Mail,
    Social,
    NftMarketplace,
}

impl AppKind {
    pub fn of(index: usize) -> Self {
        [Self::Mail, Self::Social, Self::NftMarketplace][index % 3]
    }

    /// The kind's share of the network's computation (an assumption: no
    /// public split by kind of app exists).
    pub fn share_of_demand(self) -> f64 {
        match self {
            Self::Mail => 0.35,
            Self::Social => 0.25,
            Self::NftMarketplace => 0.40,
        }
    }

    /// One executed batch: (requests, hashing rounds each, bytes kept each).
    fn batch(self) -> (u32, u32, u32) {
        match self {
            Self::Mail => (100, 20, 1_024),
            Self::Social => (50, 50, 0),
            Self::NftMarketplace => (20, 100, 256),
        }
    }

    /// Batches in a quarter of `day`: social apps have a burst one day a
    /// week.
    fn batches(self, day: u32) -> u32 {
        match self {
            Self::Social if day % 7 == 5 => 4,
            _ => 1,
        }
    }
}

/// A developer's application canister.
pub struct App {
    pub developer: Principal,
    pub canister: Principal,
    pub kind: AppKind,
    /// Paid through the cycles ledger (ICP → cycles there → the canister),
    /// as `icp cycles mint` and `icp deploy` do; else straight through the
    /// CMC, as dfx did.
    pub via_cycles_ledger: bool,
}

#[derive(candid::CandidType)]
struct Batch {
    requests: u32,
    rounds: u32,
    stored_bytes: u32,
    extra_burn_cycles: Nat,
}

#[derive(candid::CandidType, candid::Deserialize)]
struct BatchReceipt {
    requests: u32,
    instructions: u64,
    burned_extra_cycles: Nat,
}

impl Economy {
    /// A legacy ICP transfer, as dfx makes them to pay the CMC.
    pub(crate) fn legacy_transfer(
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

    pub(crate) fn cmc_account(beneficiary: &Principal) -> AccountIdentifier {
        AccountIdentifier::new(
            &CYCLES_MINTING_CANISTER_ID,
            Some(&principal_to_subaccount(beneficiary)),
        )
    }

    /// Enough ICP, at the CMC's current rate, for `cycles` (at least 0.01 ICP).
    pub(crate) fn e8s_for_cycles(&mut self, cycles: u128) -> u64 {
        let rate = self.snapshot_rate();
        // cycles = e8s × rate (10^12 cycles per XDR, 10^8 e8s, 10^4 permyriad).
        let e8s = cycles.div_ceil(u128::from(rate));
        u64::try_from(e8s)
            .unwrap_or(u64::MAX)
            .max(E8S_PER_ICP / 100)
    }

    /// A `notify_*` call to the CMC as a client makes it: while the CMC is
    /// stopped for an upgrade (governance stops, installs and starts it
    /// over several rounds), the call is refused and made again after a
    /// round; the block index makes a repeated notification safe.
    fn notify_cmc<A, R>(&mut self, developer: Principal, method: &str, arg: A) -> Result<R, String>
    where
        A: candid::CandidType + Clone,
        R: for<'a> candid::utils::ArgumentDecoder<'a>,
    {
        for _ in 0..ROUNDS_WAITING_FOR_THE_CMC {
            match update_candid_as(
                &mut self.env,
                CYCLES_MINTING_CANISTER_ID,
                developer,
                method,
                (arg.clone(),),
            ) {
                Err(e)
                    if matches!(
                        e.error_code,
                        ErrorCode::CanisterStopped | ErrorCode::CanisterStopping
                    ) =>
                {
                    self.env.tick();
                }
                result => return result.map_err(|e| format!("{method}: {e}")),
            }
        }
        Err(format!(
            "{method}: the CMC stayed stopped for {ROUNDS_WAITING_FOR_THE_CMC} rounds"
        ))
    }

    /// The CMC's rate, read once it runs (it may be mid-upgrade).
    pub(crate) fn snapshot_rate(&mut self) -> u64 {
        for _ in 0..ROUNDS_WAITING_FOR_THE_CMC {
            let read: Result<(nns_api::cmc::IcpXdrConversionRateResponse,), _> = query_candid(
                &mut self.env,
                CYCLES_MINTING_CANISTER_ID,
                "get_icp_xdr_conversion_rate",
                (),
            );
            match read {
                Ok((rate,)) => return rate.data.xdr_permyriad_per_icp,
                Err(_) => self.env.tick(),
            }
        }
        panic!("the CMC stayed stopped for {ROUNDS_WAITING_FOR_THE_CMC} rounds");
    }

    /// ICP → `cycles` (and the fees) on the developer's cycles ledger
    /// account, through the CMC's `notify_mint_cycles`.
    pub(crate) fn mint_cycles(&mut self, developer: Principal, cycles: u128) -> Result<(), String> {
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
        let (minted,): (NotifyMintCyclesResult,) =
            self.notify_cmc(developer, "notify_mint_cycles", arg)?;
        minted.map_err(|e| format!("notify_mint_cycles refused: {e:?}"))?;
        self.activity.cycles_mints += 1;
        Ok(())
    }

    /// ICP → a new canister through the CMC (directly, or through the
    /// cycles ledger), with the app installed on it.
    pub(crate) fn create_app(
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
        let (created,): (Result<Principal, NotifyError>,) =
            self.notify_cmc(developer, "notify_create_canister", arg)?;
        let canister = created.map_err(|e| format!("notify_create_canister refused: {e:?}"))?;
        self.install_app(canister, developer)
    }

    pub(crate) fn install_app(
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
    pub(crate) fn withdraw(
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

    /// The cycles an app of `kind` is asked to burn in a quarter of `day`.
    fn quarter_demand(&self, day: u32, kind: AppKind) -> u128 {
        let s = &self.scenario;
        let of_kind = self.apps.iter().filter(|a| a.kind == kind).count().max(1);
        let day_cycles =
            s.calibration
                .cycles_burned_on_day(day, s.demand, s.demand_growth_percent_per_year);
        (day_cycles * kind.share_of_demand() / of_kind as f64 / 4.0) as u128
    }

    /// A quarter of a day of the apps: each tops up if its runway is short,
    /// then serves its batches, burning its share of the demand.
    pub(crate) fn serve_quarter(&mut self, day: u32) -> Result<(), String> {
        for i in 0..self.apps.len() {
            let (canister, developer, kind) = (
                self.apps[i].canister,
                self.apps[i].developer,
                self.apps[i].kind,
            );
            let quarter = self.quarter_demand(day, kind);
            let runway = 4 * quarter * u128::from(self.scenario.runway_days);
            if self.env.cycle_balance(canister) < runway + CANISTER_CREATION_CYCLES {
                // At zero demand the executed work still costs cycles.
                self.top_up(i, (2 * runway).max(CANISTER_CREATION_CYCLES))?;
            }
            let batches = kind.batches(day);
            let (requests, rounds, stored_bytes) = kind.batch();
            for _ in 0..batches {
                let batch = Batch {
                    requests,
                    rounds,
                    stored_bytes,
                    extra_burn_cycles: Nat::from(quarter / u128::from(batches)),
                };
                let result: Result<(BatchReceipt,), _> =
                    update_candid_as(&mut self.env, canister, developer, "serve", (batch,));
                self.activity.messages += 1;
                match result {
                    Ok((receipt,)) => {
                        self.activity.batches += 1;
                        self.activity.served_requests += u64::from(receipt.requests);
                    }
                    Err(e) if e.error_code == ErrorCode::CanisterOutOfCycles => {
                        self.activity.batches_refused_frozen += 1;
                        break;
                    }
                    Err(e) => return Err(format!("serve on {canister}: {e}")),
                }
            }
            if kind == AppKind::Social {
                // Reading is free on the IC: queries cost the app nothing.
                for _ in 0..20 {
                    let _: (candid::Reserved,) = query_candid(&mut self.env, canister, "stats", ())
                        .map_err(|e| format!("stats: {e}"))?;
                    self.activity.queries += 1;
                }
            }
        }
        Ok(())
    }

    /// `cycles` more for app `i`, bought with its developer's ICP.
    fn top_up(&mut self, i: usize, cycles: u128) -> Result<(), String> {
        let (developer, canister) = (self.apps[i].developer, self.apps[i].canister);
        let e8s = self.e8s_for_cycles(cycles + 2 * CYCLES_FEE);
        self.buy_icp_if_short(developer, e8s + 2 * FEE_E8S)?;
        if self.apps[i].via_cycles_ledger {
            self.mint_cycles(developer, cycles)?;
            self.withdraw(developer, canister, cycles)?;
        } else {
            let e8s = self.e8s_for_cycles(cycles);
            let block =
                self.legacy_transfer(developer, Self::cmc_account(&canister), e8s, MEMO_TOP_UP)?;
            let arg = NotifyTopUpArg {
                block_index: block,
                canister_id: canister,
            };
            let (result,): (Result<Nat, NotifyError>,) =
                self.notify_cmc(developer, "notify_top_up", arg)?;
            self.activity.messages += 1;
            result.map_err(|e| format!("notify_top_up refused: {e:?}"))?;
        }
        self.activity.top_ups += 1;
        Ok(())
    }

    /// A developer short of `e8s` buys ICP on the market, twice what it is
    /// short of: from the accounts holding liquid ICP, the largest first
    /// (standing for the exchanges' order books).
    fn buy_icp_if_short(&mut self, developer: Principal, e8s: u64) -> Result<(), String> {
        let balance = self.icp_balance_of(developer)?;
        if balance >= e8s {
            return Ok(());
        }
        let wanted = 2 * (e8s - balance);
        let mut left = wanted;
        for seller in 1..self.users.len() {
            let seller = self.users[seller];
            let available = self.icp_balance_of(seller)?.saturating_sub(FEE_E8S);
            let sold = available.min(left);
            if sold > 0 && self.pay(seller, developer, sold)? {
                left -= sold;
            }
            if left == 0 {
                break;
            }
        }
        if left > e8s.saturating_sub(balance) {
            return Err(format!(
                "the market holds less than the {} ICP developers want for cycles: demand beyond the liquid supply",
                wanted / E8S_PER_ICP
            ));
        }
        self.activity.icp_bought_for_cycles_e8s += wanted - left;
        Ok(())
    }

    fn icp_balance_of(&mut self, owner: Principal) -> Result<u64, String> {
        let (balance,): (Nat,) = query_candid(
            &mut self.env,
            LEDGER_CANISTER_ID,
            "icrc1_balance_of",
            (Account::from(owner),),
        )
        .map_err(|e| format!("icrc1_balance_of: {e}"))?;
        Ok(u64::try_from(balance.0).expect("balances fit in 64 bits"))
    }

    /// A day's NFT sales on the marketplaces: a buyer pays the seller in
    /// ICP and the marketplace its fee (2.5 %), and the marketplace records
    /// the sale (in its next batch).
    pub(crate) fn nft_sales(&mut self) -> Result<(), String> {
        let markets: Vec<Principal> = self
            .apps
            .iter()
            .filter(|a| a.kind == AppKind::NftMarketplace)
            .map(|a| a.developer)
            .collect();
        for market in markets {
            for _ in 0..3 {
                let buyer = self.random_account_holder();
                let seller = self.random_account_holder();
                if buyer == seller {
                    continue;
                }
                let price = self.rng.between(5, 500) * E8S_PER_ICP;
                let fee = price / 40;
                if self.pay(buyer, seller, price - fee)? && self.pay(buyer, market, fee)? {
                    self.activity.nft_sales += 1;
                }
            }
        }
        Ok(())
    }

    /// An ICRC-1 transfer of `e8s` from `from` to `to`; false if `from`
    /// has too little.
    pub(crate) fn pay(&mut self, from: Principal, to: Principal, e8s: u64) -> Result<bool, String> {
        let arg = TransferArg {
            from_subaccount: None,
            to: Account::from(to),
            fee: None,
            created_at_time: None,
            memo: None,
            amount: icp(e8s),
        };
        let (result,): (Result<Nat, Icrc1TransferError>,) = update_candid_as(
            &mut self.env,
            LEDGER_CANISTER_ID,
            from,
            "icrc1_transfer",
            (arg,),
        )
        .map_err(|e| format!("icrc1_transfer: {e}"))?;
        self.activity.messages += 1;
        match result {
            Ok(_) => Ok(true),
            Err(Icrc1TransferError::InsufficientFunds { .. }) => {
                self.activity.transfers_refused_for_funds += 1;
                Ok(false)
            }
            Err(e) => Err(format!("icrc1_transfer refused: {e:?}")),
        }
    }
}
